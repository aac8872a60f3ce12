//! The frozen store file of format version 3 (entities), read back by the
//! current build: every entity history event an orchestration records, an
//! entity row with state and lock holder, an entity row without state, and
//! the three kinds of entity inbox message. A change to the stored format
//! that would misread existing files fails here (`golden.rs` holds the
//! version 2 file).
//!
//! `golden/v3.redb` was written by `cargo test -p weft-store --test
//! golden_v3 -- --ignored write_the_golden_file` at format version 3. Never
//! regenerate it for a change that should stay readable: add a new file.

mod common;

use common::*;
use std::path::PathBuf;
use weft_core::{
    EntityId, EventKind, Failure, HistoryEvent, Message, ParentInstance, RuntimeStatus, ScheduleId,
    Timestamp,
};
use weft_store::{EntityRecord, EntityWrite, Op, OpOutcome, Store};

fn golden() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/v3.redb")
}

fn ev(t: u64, kind: EventKind) -> HistoryEvent {
    HistoryEvent::new(Timestamp(t), kind)
}

fn entity(text: &str) -> EntityId {
    EntityId::parse(text).unwrap()
}

fn section() -> ParentInstance {
    ParentInstance {
        instance_id: id("holder"),
        execution_id: exec("e1"),
        schedule_id: ScheduleId(2),
    }
}

/// The orchestration's history: one event of every entity kind.
fn history() -> Vec<HistoryEvent> {
    let (a, b) = (entity("@account@a"), entity("@account@b"));
    vec![
        ev(1, EventKind::OrchestratorStarted),
        ev(
            1,
            EventKind::ExecutionStarted {
                name: "Transfer".into(),
                input: json("{}"),
                execution_id: exec("e1"),
                component: "sha256:abc".into(),
                parent: None,
            },
        ),
        ev(
            1,
            EventKind::EntityOperationSignaled {
                id: ScheduleId(0),
                entity: entity("@counter@"),
                operation: "add".into(),
                input: json("1"),
            },
        ),
        ev(
            1,
            EventKind::EntityOperationCalled {
                id: ScheduleId(1),
                entity: entity("@counter@"),
                operation: "get".into(),
                input: json("null"),
            },
        ),
        ev(
            1,
            EventKind::EntityLockRequested {
                id: ScheduleId(2),
                entities: vec![a.clone(), b.clone()],
            },
        ),
        ev(1, EventKind::OrchestratorCompleted),
        ev(2, EventKind::OrchestratorStarted),
        ev(
            2,
            EventKind::EntityOperationCompleted {
                scheduled_id: ScheduleId(1),
                result: json("1"),
            },
        ),
        ev(
            2,
            EventKind::EntityLockGranted {
                scheduled_id: ScheduleId(2),
            },
        ),
        ev(
            2,
            EventKind::EntityOperationCalled {
                id: ScheduleId(3),
                entity: a.clone(),
                operation: "withdraw".into(),
                input: json("5"),
            },
        ),
        ev(
            2,
            EventKind::EntityOperationFailed {
                scheduled_id: ScheduleId(3),
                failure: Failure::new("account.InsufficientFunds", "balance 0"),
            },
        ),
        ev(
            2,
            EventKind::EntityUnlockSent {
                id: ScheduleId(4),
                section: ScheduleId(2),
                entities: vec![a, b],
            },
        ),
        ev(2, EventKind::OrchestratorCompleted),
    ]
}

fn locked_row() -> EntityRecord {
    EntityRecord {
        entity: entity("@account@a"),
        state: Some(json(r#"{"balance":12345678901234567890}"#)),
        locked_by: Some(section()),
        last_operation: Timestamp(7),
    }
}

fn empty_row() -> EntityRecord {
    EntityRecord {
        entity: entity("@counter@"),
        state: None,
        locked_by: None,
        last_operation: Timestamp(8),
    }
}

/// The three kinds of message an entity's inbox holds.
fn entity_inbox() -> Vec<Message> {
    vec![
        Message::new(ev(
            3,
            EventKind::EntityOperationRequested {
                operation: "deposit".into(),
                input: json("5"),
                caller: None,
            },
        )),
        Message::new(ev(
            4,
            EventKind::EntityOperationRequested {
                operation: "get".into(),
                input: json("null"),
                caller: Some(section()),
            },
        )),
        Message::new(ev(
            5,
            EventKind::EntityLockRequest {
                owner: section(),
                entities: vec![entity("@account@a"), entity("@account@b")],
                position: 0,
            },
        )),
        Message::new(ev(6, EventKind::EntityUnlockRequest { owner: section() })),
    ]
}

fn commit_row(store: &Store, record: EntityRecord) {
    let write = EntityWrite {
        record,
        consumed_inbox: Vec::new(),
        outbox: Vec::new(),
    };
    let Ok(OpOutcome::TurnCommitted { .. }) = one(store, Op::EntityTurn(write)) else {
        panic!("entity turn not committed")
    };
}

/// Writes the file the test reads (run by hand, with `--ignored`).
#[test]
#[ignore]
fn write_the_golden_file() {
    let path = golden();
    let _ = std::fs::remove_file(&path);
    let store = Store::open(&path).unwrap();
    one(&store, create("holder", "e1", 1)).unwrap();
    let rec = store.instance(&id("holder")).unwrap().unwrap();
    let mut t = turn(&rec, 0, RuntimeStatus::Running);
    t.new_events = history();
    t.record.history_len = t.new_events.len() as u32;
    let Ok(OpOutcome::TurnCommitted { .. }) = one(&store, Op::Turn(t)) else {
        panic!()
    };
    commit_row(&store, locked_row());
    commit_row(&store, empty_row());
    for message in entity_inbox() {
        one(
            &store,
            Op::SignalEntity {
                entity: entity("@account@a"),
                message,
            },
        )
        .unwrap();
    }
}

#[test]
fn the_frozen_file_reads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("weft.redb");
    std::fs::copy(golden(), &copy).expect("the golden file is in the repository");
    let store = Store::open(&copy).unwrap();

    assert_eq!(store.history(&id("holder")).unwrap(), history());
    assert_eq!(
        store.entity(&entity("@account@a")).unwrap(),
        Some(locked_row())
    );
    assert_eq!(
        store.entity(&entity("@counter@")).unwrap(),
        Some(empty_row())
    );
    let inbox = store
        .inbox(&entity("@account@a").instance_id())
        .unwrap()
        .into_iter()
        .map(|(_, m)| m)
        .collect::<Vec<_>>();
    assert_eq!(inbox, entity_inbox());
}
