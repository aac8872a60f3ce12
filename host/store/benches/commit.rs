//! Commit cost: how long one durable batch takes, by batch size.
//!
//! `cargo bench -p weft-store` prints, per shape, the mean time per commit
//! and per op. Numbers depend on the disk's fsync latency.

use std::time::{Duration, Instant};

use weft_core::{
    EventKind, ExecutionId, HistoryEvent, InstanceId, Json, Message, RuntimeStatus, ScheduleId,
    Timestamp,
};
use weft_store::{ActivityWork, InstanceRecord, Op, Store, TurnWrite};

fn create(i: usize) -> Op {
    let execution = ExecutionId(format!("e{i}"));
    Op::CreateInstance {
        record: InstanceRecord {
            instance_id: InstanceId::new(format!("bench-{i:08}")).unwrap(),
            name: "Orchestrator".into(),
            execution_id: execution.clone(),
            status: RuntimeStatus::Pending,
            input: Json::parse(r#"{"city":"Tokyo"}"#).unwrap(),
            output: None,
            custom_status: None,
            created: Timestamp(1_700_000_000_000 + i as u64),
            updated: Timestamp(1_700_000_000_000 + i as u64),
            component: "sha256:0123456789abcdef".into(),
            history_len: 0,
            parent: None,
        },
        start: Message::new(HistoryEvent::new(
            Timestamp(1_700_000_000_000),
            EventKind::ExecutionStarted {
                name: "Orchestrator".into(),
                input: Json::parse(r#"{"city":"Tokyo"}"#).unwrap(),
                execution_id: execution,
                component: "sha256:0123456789abcdef".into(),
                parent: None,
            },
        )),
    }
}

/// A first turn: four history events, one activity, status Running.
fn turn(i: usize) -> Op {
    let Op::CreateInstance { record, .. } = create(i) else {
        unreachable!()
    };
    let event = |kind| HistoryEvent::new(Timestamp(1_700_000_000_001), kind);
    let input = Json::parse(r#""Tokyo""#).unwrap();
    let mut next = record.clone();
    next.status = RuntimeStatus::Running;
    next.history_len = 4;
    Op::Turn(TurnWrite {
        instance: record.instance_id.clone(),
        expected_execution: record.execution_id.clone(),
        expected_history_len: 0,
        new_events: vec![
            event(EventKind::OrchestratorStarted),
            event(EventKind::ExecutionStarted {
                name: "Orchestrator".into(),
                input: record.input.clone(),
                execution_id: record.execution_id.clone(),
                component: record.component.clone(),
                parent: None,
            }),
            event(EventKind::TaskScheduled {
                id: ScheduleId(0),
                name: "SayHello".into(),
                input: input.clone(),
                attempt: None,
            }),
            event(EventKind::OrchestratorCompleted),
        ],
        consumed_inbox: Vec::new(),
        record: next,
        activities: vec![ActivityWork {
            instance: record.instance_id.clone(),
            execution: record.execution_id.clone(),
            scheduled_id: ScheduleId(0),
            name: "SayHello".into(),
            input,
            component: record.component,
            attempt: 1,
        }],
        timers: Vec::new(),
        cancel_timers: Vec::new(),
        continue_as_new: None,
        outbox: Vec::new(),
    })
}

fn raise(i: usize) -> Op {
    Op::RaiseEvent {
        instance: InstanceId::new(format!("bench-{i:08}")).unwrap(),
        message: Message::new(HistoryEvent::new(
            Timestamp(1_700_000_000_000),
            EventKind::EventRaised {
                name: "Approval".into(),
                input: Json::parse("true").unwrap(),
            },
        )),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.redb")).unwrap();
    let rounds = if quick { 2 } else { 20 };
    let mut next = 0;
    for size in [1usize, 100, 1000] {
        let mut create_time = Duration::ZERO;
        let mut turn_time = Duration::ZERO;
        let mut raise_time = Duration::ZERO;
        for _ in 0..rounds {
            let ids: Vec<usize> = (next..next + size).collect();
            next += size;
            let ops = ids.iter().map(|&i| create(i)).collect();
            let t = Instant::now();
            store.commit(ops).unwrap();
            create_time += t.elapsed();
            let ops = ids.iter().map(|&i| turn(i)).collect();
            let t = Instant::now();
            store.commit(ops).unwrap();
            turn_time += t.elapsed();
            let ops = ids.iter().map(|&i| raise(i)).collect();
            let t = Instant::now();
            store.commit(ops).unwrap();
            raise_time += t.elapsed();
        }
        for (what, total) in [
            ("CreateInstance", create_time),
            ("Turn", turn_time),
            ("RaiseEvent", raise_time),
        ] {
            let per_commit = total / rounds;
            println!(
                "{size:>5} x {what:<15} {:>9.3} ms/commit {:>8.2} us/op",
                per_commit.as_secs_f64() * 1e3,
                per_commit.as_secs_f64() * 1e6 / size as f64
            );
        }
    }
}
