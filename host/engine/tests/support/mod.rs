//! Builders shared by the engine's table tests.
#![allow(dead_code)]

use weft_core::{
    EventKind, ExecutionId, Failure, HistoryEvent, InstanceId, Json, ScheduleId, Timestamp,
};
use weft_engine::{EngineError, Replay, TurnOutcome};

pub fn j(s: &str) -> Json {
    Json::parse(s).unwrap()
}

pub fn start_event(input: &str) -> HistoryEvent {
    HistoryEvent::new(
        Timestamp(1000),
        EventKind::ExecutionStarted {
            name: "Orch".into(),
            input: j(input),
            execution_id: ExecutionId("e1".into()),
            component: "sha256:x".into(),
            parent: None,
        },
    )
}

pub fn completed(id: u32, result: &str) -> HistoryEvent {
    HistoryEvent::new(
        Timestamp(0),
        EventKind::TaskCompleted {
            scheduled_id: ScheduleId(id),
            result: j(result),
        },
    )
}

pub fn failed(id: u32, msg: &str) -> HistoryEvent {
    HistoryEvent::new(
        Timestamp(0),
        EventKind::TaskFailed {
            scheduled_id: ScheduleId(id),
            failure: Failure::new("Boom", msg),
        },
    )
}

pub fn fired(id: u32) -> HistoryEvent {
    HistoryEvent::new(
        Timestamp(0),
        EventKind::TimerFired {
            timer_id: ScheduleId(id),
            fire_at: Timestamp(0),
        },
    )
}

pub fn raised(name: &str, input: &str) -> HistoryEvent {
    HistoryEvent::new(
        Timestamp(0),
        EventKind::EventRaised {
            name: name.into(),
            input: j(input),
        },
    )
}

/// The instance every table test runs as.
pub fn me() -> InstanceId {
    InstanceId::new("me").unwrap()
}

pub fn types(events: &[HistoryEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.type_name()).collect()
}

pub type Code = fn(&mut Replay) -> Result<Option<String>, EngineError>;

/// Runs `code` for one turn with `messages` and returns the output; the history
/// is carried in `stored` like a store would.
pub fn turn(
    stored: &mut Vec<HistoryEvent>,
    now: u64,
    messages: Vec<HistoryEvent>,
    code: Code,
) -> weft_engine::TurnOutput {
    let mut r = Replay::new(me(), stored.clone());
    r.begin_turn(Timestamp(now), messages);
    let outcome = match code(&mut r).unwrap() {
        None => TurnOutcome::Waiting,
        Some(v) => TurnOutcome::Completed(Json::from_value(&v)),
    };
    let out = r.finish_turn(outcome).unwrap();
    stored.extend(out.new_events.clone());
    out
}
