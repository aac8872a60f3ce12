//! Builders shared by the store's test suites.
#![allow(dead_code)]

pub mod backend;

use std::path::PathBuf;

use tempfile::TempDir;
use weft_core::{
    EventKind, ExecutionId, HistoryEvent, InstanceId, Json, Message, RuntimeStatus, ScheduleId,
    Timestamp,
};
use weft_store::{
    ActivityWork, Inbox, InstanceFilter, InstancePage, InstanceRecord, Op, OpOutcome, OpResult,
    Store, StoreError, TimerEntry, TimerKey, TurnWrite,
};

/// What the helpers below need, from a [`Store`] (the redb-only suites) or
/// from a backend under test through the `Storage` trait (conformance).
pub trait Api {
    fn commit(&self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError>;
    fn instance(&self, id: &InstanceId) -> Result<Option<InstanceRecord>, StoreError>;
    fn history(&self, id: &InstanceId) -> Result<Vec<HistoryEvent>, StoreError>;
    fn inbox(&self, id: &InstanceId) -> Result<Inbox, StoreError>;
    fn all_inboxes(&self) -> Result<Vec<(InstanceId, Inbox)>, StoreError>;
    fn activity_queue(&self) -> Result<Vec<(u64, ActivityWork)>, StoreError>;
    fn timers(&self) -> Result<Vec<TimerEntry>, StoreError>;
    fn list_instances(
        &self,
        filter: &InstanceFilter,
        top: usize,
        continuation: Option<&str>,
    ) -> Result<InstancePage, StoreError>;
    fn instance_count(&self) -> Result<u64, StoreError>;
}

macro_rules! api_for {
    ($t:ty) => {
        impl Api for $t {
            fn commit(&self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError> {
                <$t>::commit(self, ops)
            }
            fn instance(&self, id: &InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
                <$t>::instance(self, id)
            }
            fn history(&self, id: &InstanceId) -> Result<Vec<HistoryEvent>, StoreError> {
                <$t>::history(self, id)
            }
            fn inbox(&self, id: &InstanceId) -> Result<Inbox, StoreError> {
                <$t>::inbox(self, id)
            }
            fn all_inboxes(&self) -> Result<Vec<(InstanceId, Inbox)>, StoreError> {
                <$t>::all_inboxes(self)
            }
            fn activity_queue(&self) -> Result<Vec<(u64, ActivityWork)>, StoreError> {
                <$t>::activity_queue(self)
            }
            fn timers(&self) -> Result<Vec<TimerEntry>, StoreError> {
                <$t>::timers(self)
            }
            fn list_instances(
                &self,
                filter: &InstanceFilter,
                top: usize,
                continuation: Option<&str>,
            ) -> Result<InstancePage, StoreError> {
                <$t>::list_instances(self, filter, top, continuation)
            }
            fn instance_count(&self) -> Result<u64, StoreError> {
                <$t>::instance_count(self)
            }
        }
    };
}
api_for!(Store);
api_for!(backend::Sut);

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
        parent: None,
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
            parent: None,
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
        continue_as_new: None,
        outbox: Vec::new(),
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
        attempt: 1,
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
pub fn one(store: &impl Api, op: Op) -> OpResult {
    store.commit(vec![op]).unwrap().pop().unwrap()
}

/// Commits a turn built from the stored record and returns the new record.
pub fn run_turn(
    store: &impl Api,
    instance: &str,
    n: usize,
    status: RuntimeStatus,
) -> InstanceRecord {
    let rec = store.instance(&id(instance)).unwrap().unwrap();
    let t = turn(&rec, n, status);
    let next = t.record.clone();
    assert!(matches!(
        one(store, Op::Turn(t)),
        Ok(OpOutcome::TurnCommitted { .. })
    ));
    next
}

/// An instance with something in every table: created at `created`, one turn
/// (3 events, two queued activities, two timers, Running), an external event
/// in its inbox, then a last turn (2 events) to `status`.
pub fn populate(store: &impl Api, instance: &str, created: u64, status: RuntimeStatus) {
    one(store, create(instance, "e1", created)).unwrap();
    let rec = store.instance(&id(instance)).unwrap().unwrap();
    let mut t = turn(&rec, 3, RuntimeStatus::Running);
    t.activities = vec![work(instance, "e1", 0), work(instance, "e1", 1)];
    t.timers = vec![
        timer(instance, "e1", 2, 5_000 + created),
        timer(instance, "e1", 3, 9_000 + created),
    ];
    assert!(matches!(
        one(store, Op::Turn(t)),
        Ok(OpOutcome::TurnCommitted { .. })
    ));
    one(
        store,
        Op::RaiseEvent {
            instance: id(instance),
            message: event_raised("poke"),
        },
    )
    .unwrap();
    run_turn(store, instance, 2, status);
}

/// Everything a hub holds, as the public API shows it.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub count: u64,
    pub instances: Vec<InstanceRecord>,
    pub histories: Vec<Vec<HistoryEvent>>,
    pub inboxes: Vec<(InstanceId, weft_store::Inbox)>,
    pub queue: Vec<(u64, ActivityWork)>,
    pub timers: Vec<TimerEntry>,
}

pub fn snapshot(store: &impl Api) -> Snapshot {
    let instances = list_every(store, &InstanceFilter::default());
    Snapshot {
        count: store.instance_count().unwrap(),
        histories: instances
            .iter()
            .map(|r| store.history(&r.instance_id).unwrap())
            .collect(),
        instances,
        inboxes: store.all_inboxes().unwrap(),
        queue: store.activity_queue().unwrap(),
        timers: store.timers().unwrap(),
    }
}

/// Every instance matching `filter`, through all pages.
pub fn list_every(store: &impl Api, filter: &InstanceFilter) -> Vec<InstanceRecord> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (page, next) = store.list_instances(filter, 50, token.as_deref()).unwrap();
        out.extend(page);
        match next {
            Some(t) => token = Some(t),
            None => return out,
        }
    }
}

/// The IDs of every instance matching `filter`, in listing order.
pub fn ids_matching(store: &impl Api, filter: &InstanceFilter) -> Vec<String> {
    list_every(store, filter)
        .into_iter()
        .map(|r| r.instance_id.to_string())
        .collect()
}
