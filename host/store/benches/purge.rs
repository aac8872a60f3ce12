//! Purge and listing cost on a large hub.
//!
//! `cargo bench -p weft-store --bench purge` prints:
//! - the time to purge 10,000 Completed instances (20 history events, an inbox
//!   message, a queued activity and a timer each), as one `PurgeMatching` op,
//!   as `PurgeMatching` ops of 1,000, and as 10,000 `Purge` ops in one batch;
//!   each figure is one durable commit (or ten), fsync included;
//! - the time to list 100 instances out of 100,000 filtered by status and
//!   created time, first page and a later page, and unfiltered.
//!
//! Targets (R-2.10, R-2.4): purge of 10,000 well under 2 s; a filtered page of
//! 100 under 10 ms. `cargo test --benches` runs it once on smaller numbers.

use std::time::{Duration, Instant};

use weft_core::{
    EventKind, ExecutionId, HistoryEvent, InstanceId, Json, Message, RuntimeStatus, ScheduleId,
    Timestamp,
};
use weft_store::{
    ActivityWork, InstanceFilter, InstanceRecord, Op, OpOutcome, Store, TimerEntry, TimerKey,
    TurnWrite,
};

const EVENTS: usize = 20;
const T0: u64 = 1_700_000_000_000;

fn record(i: usize, status: RuntimeStatus) -> InstanceRecord {
    InstanceRecord {
        instance_id: InstanceId::new(format!("inst-{i:08}")).unwrap(),
        name: "Orchestrator".into(),
        execution_id: ExecutionId(format!("e{i}")),
        status,
        input: Json::parse(r#"{"city":"Tokyo"}"#).unwrap(),
        output: None,
        custom_status: None,
        created: Timestamp(T0 + i as u64),
        updated: Timestamp(T0 + i as u64),
        component: "sha256:0123456789abcdef".into(),
        history_len: 0,
        parent: None,
    }
}

fn create(i: usize, status: RuntimeStatus) -> Op {
    let r = record(i, status);
    let start = Message::new(HistoryEvent::new(
        r.created,
        EventKind::ExecutionStarted {
            name: r.name.clone(),
            input: r.input.clone(),
            execution_id: r.execution_id.clone(),
            component: r.component.clone(),
            parent: None,
        },
    ));
    Op::CreateInstance { record: r, start }
}

/// The whole life of instance `i` in one turn: 20 events, ending Completed,
/// leaving one activity queued and one timer set.
fn finish(i: usize) -> Op {
    let r = record(i, RuntimeStatus::Pending);
    let events = (0..EVENTS)
        .map(|k| {
            let kind = match k % 4 {
                0 => EventKind::OrchestratorStarted,
                1 => EventKind::TaskScheduled {
                    id: ScheduleId(k as u32),
                    name: "SayHello".into(),
                    input: Json::parse(r#""Tokyo""#).unwrap(),
                    attempt: None,
                },
                2 => EventKind::TaskCompleted {
                    scheduled_id: ScheduleId(k as u32 - 1),
                    result: Json::parse(r#""Hello Tokyo""#).unwrap(),
                },
                _ => EventKind::OrchestratorCompleted,
            };
            HistoryEvent::new(Timestamp(T0 + k as u64), kind)
        })
        .collect();
    let mut next = r.clone();
    next.status = RuntimeStatus::Completed;
    next.history_len = EVENTS as u32;
    Op::Turn(TurnWrite {
        instance: r.instance_id.clone(),
        expected_execution: r.execution_id.clone(),
        expected_history_len: 0,
        new_events: events,
        consumed_inbox: Vec::new(),
        record: next,
        activities: vec![ActivityWork {
            instance: r.instance_id.clone(),
            execution: r.execution_id.clone(),
            scheduled_id: ScheduleId(99),
            name: "SayHello".into(),
            input: Json::parse(r#""Tokyo""#).unwrap(),
            component: r.component.clone(),
            attempt: 1,
        }],
        timers: vec![TimerEntry {
            key: TimerKey {
                fire_at: Timestamp(T0 + 3_600_000),
                instance: r.instance_id.clone(),
                timer_id: ScheduleId(100),
            },
            execution: r.execution_id,
        }],
        cancel_timers: Vec::new(),
        continue_as_new: None,
        outbox: Vec::new(),
    })
}

/// A store holding `n` Completed instances as `finish` leaves them.
fn completed_hub(n: usize) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("purge.redb")).unwrap();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1_000) {
        let ops = chunk
            .iter()
            .flat_map(|&i| [create(i, RuntimeStatus::Pending), finish(i)])
            .collect();
        for answer in store.commit(ops).unwrap() {
            answer.unwrap();
        }
    }
    assert_eq!(store.instance_count().unwrap(), n as u64);
    (dir, store)
}

fn purged(answer: &weft_store::OpResult) -> u64 {
    match answer {
        Ok(OpOutcome::Purged { instances }) => *instances,
        other => panic!("purge answered {other:?}"),
    }
}

fn check_empty(store: &Store) {
    assert_eq!(store.instance_count().unwrap(), 0);
    assert!(store.activity_queue().unwrap().is_empty());
    assert!(store.timers().unwrap().is_empty());
    assert!(store.all_inboxes().unwrap().is_empty());
}

fn bench_purge(n: usize) {
    let completed = InstanceFilter {
        statuses: vec![RuntimeStatus::Completed],
        ..Default::default()
    };

    let (_dir, store) = completed_hub(n);
    let t = Instant::now();
    let answers = store
        .commit(vec![Op::PurgeMatching {
            filter: completed.clone(),
            limit: n,
        }])
        .unwrap();
    let one_op = t.elapsed();
    assert_eq!(purged(&answers[0]), n as u64);
    check_empty(&store);
    report(
        &format!("purge {n} x {EVENTS} events, 1 PurgeMatching op"),
        one_op,
        n,
    );

    let (_dir, store) = completed_hub(n);
    let t = Instant::now();
    let mut total = 0;
    loop {
        let answers = store
            .commit(vec![Op::PurgeMatching {
                filter: completed.clone(),
                limit: 1_000,
            }])
            .unwrap();
        let got = purged(&answers[0]);
        total += got;
        if got < 1_000 {
            break;
        }
    }
    let chunked = t.elapsed();
    assert_eq!(total, n as u64);
    check_empty(&store);
    report(
        &format!("purge {n} x {EVENTS} events, PurgeMatching by 1,000"),
        chunked,
        n,
    );

    let (_dir, store) = completed_hub(n);
    let ops = (0..n)
        .map(|i| Op::Purge {
            instance: InstanceId::new(format!("inst-{i:08}")).unwrap(),
        })
        .collect();
    let t = Instant::now();
    let answers = store.commit(ops).unwrap();
    let by_id = t.elapsed();
    assert!(answers.iter().all(|a| purged(a) == 1));
    check_empty(&store);
    report(
        &format!("purge {n} x {EVENTS} events, {n} Purge ops"),
        by_id,
        n,
    );
}

fn report(what: &str, took: Duration, n: usize) {
    println!(
        "{what:<48} {:>9.1} ms total {:>7.1} us/instance",
        took.as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e6 / n as f64
    );
}

fn bench_list(n: usize, rounds: u32) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("list.redb")).unwrap();
    // Statuses cycle through all seven; created times are one ms apart.
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let ops = chunk
            .iter()
            .map(|&i| create(i, RuntimeStatus::ALL[i % RuntimeStatus::ALL.len()]))
            .collect();
        store.commit(ops).unwrap();
    }
    assert_eq!(store.instance_count().unwrap(), n as u64);

    // Completed or Failed, created in the middle 20% of the range.
    let filtered = InstanceFilter {
        statuses: vec![RuntimeStatus::Completed, RuntimeStatus::Failed],
        created_from: Some(Timestamp(T0 + (n as u64) * 4 / 10)),
        created_to: Some(Timestamp(T0 + (n as u64) * 6 / 10)),
        ..Default::default()
    };
    let (_, token) = store.list_instances(&filtered, 100, None).unwrap();
    let token = token.expect("more than one page");
    let cases = [
        ("filtered by status and time, first page", &filtered, None),
        (
            "filtered by status and time, second page",
            &filtered,
            Some(token.as_str()),
        ),
        ("unfiltered, first page", &InstanceFilter::default(), None),
    ];
    for (what, filter, token) in cases {
        let mut worst = Duration::ZERO;
        let mut total = Duration::ZERO;
        for _ in 0..rounds {
            let t = Instant::now();
            let (page, _) = store.list_instances(filter, 100, token).unwrap();
            let took = t.elapsed();
            assert_eq!(page.len(), 100);
            assert!(page.iter().all(|r| filter.matches(r)));
            worst = worst.max(took);
            total += took;
        }
        println!(
            "list 100 of {n}, {what:<42} {:>7.3} ms mean {:>7.3} ms max",
            (total / rounds).as_secs_f64() * 1e3,
            worst.as_secs_f64() * 1e3
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    if quick {
        bench_purge(1_000);
        bench_list(10_000, 3);
    } else {
        bench_purge(10_000);
        bench_list(100_000, 200);
    }
}
