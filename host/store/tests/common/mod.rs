//! Builders shared by the store's test suites.
#![allow(dead_code)]

use std::path::PathBuf;

use tempfile::TempDir;
use weft_core::{
    EventKind, ExecutionId, HistoryEvent, InstanceId, Json, Message, RuntimeStatus, ScheduleId,
    Timestamp,
};
use weft_store::{
    ActivityWork, InstanceRecord, Op, OpOutcome, OpResult, Store, TimerEntry, TimerKey, TurnWrite,
};

/// A store in a fresh temporary directory (removed when the `TempDir` drops).
pub fn fresh() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db_path(&dir)).unwrap();
    (dir, store)
}

pub fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("weft.redb")
}

pub fn id(s: &str) -> InstanceId {
    InstanceId::new(s).unwrap()
}

pub fn exec(s: &str) -> ExecutionId {
    ExecutionId(s.to_owned())
}

pub fn json(s: &str) -> Json {
    Json::parse(s).unwrap()
}

pub fn record(
    instance: &str,
    execution: &str,
    status: RuntimeStatus,
    created: u64,
) -> InstanceRecord {
    InstanceRecord {
        instance_id: id(instance),
        name: "Orchestrator".into(),
        execution_id: exec(execution),
        status,
        input: json(r#"{"n":1}"#),
        output: None,
        custom_status: None,
        created: Timestamp(created),
        updated: Timestamp(created),
        component: "sha256:abc".into(),
        history_len: 0,
    }
}

pub fn start_message(execution: &str) -> Message {
    Message::new(HistoryEvent::new(
        Timestamp(1),
        EventKind::ExecutionStarted {
            name: "Orchestrator".into(),
            input: json("null"),
            execution_id: exec(execution),
            component: "sha256:abc".into(),
        },
    ))
}

/// `CreateInstance` of a Pending instance created at `created`.
pub fn create(instance: &str, execution: &str, created: u64) -> Op {
    Op::CreateInstance {
        record: record(instance, execution, RuntimeStatus::Pending, created),
        start: start_message(execution),
    }
}

/// `n` filler history events.
pub fn events(n: usize) -> Vec<HistoryEvent> {
    (0..n)
        .map(|i| {
            let kind = if i % 2 == 0 {
                EventKind::OrchestratorStarted
            } else {
                EventKind::OrchestratorCompleted
            };
            HistoryEvent::new(Timestamp(10 + i as u64), kind)
        })
        .collect()
}

/// A turn on the current `rec` that appends `n` events and sets `status`;
/// everything else empty. Mutate the result for more.
pub fn turn(rec: &InstanceRecord, n: usize, status: RuntimeStatus) -> TurnWrite {
    let mut next = rec.clone();
    next.status = status;
    next.history_len = rec.history_len + n as u32;
    next.updated = Timestamp(rec.updated.0 + 1);
    TurnWrite {
        instance: rec.instance_id.clone(),
        expected_execution: rec.execution_id.clone(),
        expected_history_len: rec.history_len,
        new_events: events(n),
        consumed_inbox: Vec::new(),
        record: next,
        activities: Vec::new(),
        timers: Vec::new(),
        cancel_timers: Vec::new(),
    }
}

pub fn work(instance: &str, execution: &str, scheduled: u32) -> ActivityWork {
    ActivityWork {
        instance: id(instance),
        execution: exec(execution),
        scheduled_id: ScheduleId(scheduled),
        name: "SayHello".into(),
        input: json(r#""Tokyo""#),
        component: "sha256:abc".into(),
    }
}

pub fn timer_key(instance: &str, timer: u32, fire_at: u64) -> TimerKey {
    TimerKey {
        fire_at: Timestamp(fire_at),
        instance: id(instance),
        timer_id: ScheduleId(timer),
    }
}

pub fn timer(instance: &str, execution: &str, timer: u32, fire_at: u64) -> TimerEntry {
    TimerEntry {
        key: timer_key(instance, timer, fire_at),
        execution: exec(execution),
    }
}

pub fn task_completed(execution: Option<&str>, scheduled: u32) -> Message {
    Message {
        execution: execution.map(exec),
        event: HistoryEvent::new(
            Timestamp(20),
            EventKind::TaskCompleted {
                scheduled_id: ScheduleId(scheduled),
                result: json(r#""Hello Tokyo""#),
            },
        ),
    }
}

pub fn timer_fired(execution: &str, timer: u32, fire_at: u64) -> Message {
    Message::for_execution(
        exec(execution),
        HistoryEvent::new(
            Timestamp(fire_at),
            EventKind::TimerFired {
                timer_id: ScheduleId(timer),
                fire_at: Timestamp(fire_at),
            },
        ),
    )
}

pub fn event_raised(name: &str) -> Message {
    Message::new(HistoryEvent::new(
        Timestamp(30),
        EventKind::EventRaised {
            name: name.into(),
            input: json("42"),
        },
    ))
}

/// Commits one op and returns its answer.
pub fn one(store: &Store, op: Op) -> OpResult {
    store.commit(vec![op]).unwrap().pop().unwrap()
}

/// Commits a turn built from the stored record and returns the new record.
pub fn run_turn(store: &Store, instance: &str, n: usize, status: RuntimeStatus) -> InstanceRecord {
    let rec = store.instance(&id(instance)).unwrap().unwrap();
    let t = turn(&rec, n, status);
    let next = t.record.clone();
    assert!(matches!(
        one(store, Op::Turn(t)),
        Ok(OpOutcome::TurnCommitted { .. })
    ));
    next
}
