//! A frozen store file, checked into the repository, read back by the
//! current build: every stored shape of both value formats (history events of
//! every kind, inbox messages, instance rows with and without a parent, work
//! items of first attempts and retries, timers). A change to the stored
//! format that would misread existing files fails here.
//!
//! `golden/v2.redb` was written by `cargo test -p weft-store --test golden --
//! --ignored write_the_golden_file` at format version 2. Never regenerate it
//! for a change that should stay readable: add a new file instead.

mod common;

use common::*;
use std::path::PathBuf;
use weft_core::{
    EventKind, Failure, HistoryEvent, Message, ParentInstance, RuntimeStatus, ScheduleId, Timestamp,
};
use weft_store::{Op, OpOutcome, Store};

fn golden() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/v2.redb")
}

fn ev(t: u64, kind: EventKind) -> HistoryEvent {
    HistoryEvent::new(Timestamp(t), kind)
}

fn parent_ref() -> ParentInstance {
    ParentInstance {
        instance_id: id("parent"),
        execution_id: exec("e1"),
        schedule_id: ScheduleId(3),
    }
}

/// The parent's history: one event of every kind (versions 1 and 2).
fn parent_history() -> Vec<HistoryEvent> {
    let big = json(r#"{"n":12345678901234567890,"k":1,"k":2}"#);
    vec![
        ev(1, EventKind::OrchestratorStarted),
        ev(
            1,
            EventKind::ExecutionStarted {
                name: "Orchestrator".into(),
                input: big.clone(),
                execution_id: exec("e1"),
                component: "sha256:abc".into(),
                parent: None,
            },
        ),
        ev(
            1,
            EventKind::TaskScheduled {
                id: ScheduleId(0),
                name: "A".into(),
                input: json("1"),
                attempt: None,
            },
        ),
        ev(
            1,
            EventKind::TaskScheduled {
                id: ScheduleId(1),
                name: "A".into(),
                input: json("1"),
                attempt: Some(2),
            },
        ),
        ev(
            1,
            EventKind::TimerCreated {
                id: ScheduleId(2),
                fire_at: Timestamp(9_000),
            },
        ),
        ev(
            1,
            EventKind::SubOrchestrationInstanceCreated {
                id: ScheduleId(3),
                name: "Child".into(),
                instance_id: id("parent:3"),
                input: json("[1]"),
                detached: false,
            },
        ),
        ev(
            1,
            EventKind::SubOrchestrationInstanceCreated {
                id: ScheduleId(4),
                name: "Job".into(),
                instance_id: id("job"),
                input: json("{}"),
                detached: true,
            },
        ),
        ev(
            1,
            EventKind::EventSent {
                id: ScheduleId(5),
                instance_id: id("other"),
                name: "Ping".into(),
                input: json("null"),
            },
        ),
        ev(1, EventKind::OrchestratorCompleted),
        ev(2, EventKind::OrchestratorStarted),
        ev(
            2,
            EventKind::TaskCompleted {
                scheduled_id: ScheduleId(0),
                result: big,
            },
        ),
        ev(
            2,
            EventKind::TaskFailed {
                scheduled_id: ScheduleId(1),
                failure: Failure {
                    details: Some(json(r#"{"x":1}"#)),
                    non_retriable: true,
                    ..Failure::new("T", "m")
                },
            },
        ),
        ev(
            2,
            EventKind::TimerFired {
                timer_id: ScheduleId(2),
                fire_at: Timestamp(9_000),
            },
        ),
        ev(
            2,
            EventKind::SubOrchestrationInstanceCompleted {
                scheduled_id: ScheduleId(3),
                result: json(r#""c""#),
            },
        ),
        ev(
            2,
            EventKind::SubOrchestrationInstanceFailed {
                scheduled_id: ScheduleId(3),
                failure: Failure::new("ChildBroke", "no"),
            },
        ),
        ev(
            2,
            EventKind::EventRaised {
                name: "Go".into(),
                input: json("true"),
            },
        ),
        ev(
            2,
            EventKind::ExecutionSuspended {
                reason: Some("s".into()),
            },
        ),
        ev(2, EventKind::ExecutionResumed { reason: None }),
        ev(
            2,
            EventKind::ExecutionRewound {
                reason: None,
                voided: vec![ScheduleId(1)],
            },
        ),
        ev(
            2,
            EventKind::ExecutionTerminated {
                reason: Some("t".into()),
                recurse: false,
            },
        ),
        ev(
            2,
            EventKind::ExecutionTerminated {
                reason: None,
                recurse: true,
            },
        ),
        ev(2, EventKind::OrchestratorCompleted),
        ev(
            2,
            EventKind::ExecutionCompleted {
                status: RuntimeStatus::ContinuedAsNew,
                result: Some(json("5")),
                failure: None,
            },
        ),
    ]
}

fn child_record() -> weft_store::InstanceRecord {
    let mut r = record("parent:3", "c1", RuntimeStatus::Running, 10);
    r.parent = Some(parent_ref());
    r.custom_status = Some(json(r#""child""#));
    r
}

fn child_start() -> Message {
    Message::new(ev(
        10,
        EventKind::ExecutionStarted {
            name: "Child".into(),
            input: json("[1]"),
            execution_id: exec("c1"),
            component: "sha256:abc".into(),
            parent: Some(parent_ref()),
        },
    ))
}

/// Writes the file the test reads (run by hand, with `--ignored`).
#[test]
#[ignore]
fn write_the_golden_file() {
    let path = golden();
    let _ = std::fs::remove_file(&path);
    let store = Store::open(&path).unwrap();
    one(&store, create("parent", "e1", 1)).unwrap();
    let rec = store.instance(&id("parent")).unwrap().unwrap();
    let mut t = turn(&rec, 0, RuntimeStatus::Running);
    t.new_events = parent_history();
    t.record.history_len = t.new_events.len() as u32;
    let mut retry = work("parent", "e1", 1);
    retry.attempt = 2;
    t.activities = vec![work("parent", "e1", 0), retry];
    t.timers = vec![timer("parent", "e1", 2, 9_000)];
    let Ok(OpOutcome::TurnCommitted { .. }) = one(&store, Op::Turn(t)) else {
        panic!()
    };
    one(
        &store,
        Op::CreateInstance {
            record: child_record(),
            start: child_start(),
        },
    )
    .unwrap();
    one(
        &store,
        Op::RaiseEvent {
            instance: id("parent"),
            message: event_raised("late"),
        },
    )
    .unwrap();
}

#[test]
fn the_frozen_file_reads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("weft.redb");
    std::fs::copy(golden(), &copy).expect("the golden file is in the repository");
    let store = Store::open(&copy).unwrap();

    assert_eq!(store.history(&id("parent")).unwrap(), parent_history());
    let parent = store.instance(&id("parent")).unwrap().unwrap();
    assert_eq!(
        (parent.status, parent.history_len, parent.parent),
        (RuntimeStatus::Running, 23, None)
    );
    let child = store.instance(&id("parent:3")).unwrap().unwrap();
    assert_eq!(child, child_record());

    let inbox = store.inbox(&id("parent:3")).unwrap();
    assert_eq!(
        inbox.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>(),
        [child_start()]
    );
    let inbox = store.inbox(&id("parent")).unwrap();
    assert_eq!(inbox.last().unwrap().1, event_raised("late"));

    let queue = store.activity_queue().unwrap();
    let attempts: Vec<(u32, u32)> = queue
        .iter()
        .map(|(_, w)| (w.scheduled_id.0, w.attempt))
        .collect();
    assert_eq!(attempts, [(0, 1), (1, 2)]);
    assert_eq!(store.timers().unwrap(), [timer("parent", "e1", 2, 9_000)]);
}
