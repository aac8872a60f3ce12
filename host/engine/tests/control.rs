//! Table tests for control turns: terminate, suspend, resume, rewind.

mod support;

use support::*;
use weft_core::{EventKind, HistoryEvent, Json, RuntimeStatus, ScheduleId, Timestamp};
use weft_engine::{Action, EngineError, Outcome, Replay, TurnOutcome, apply_control};

/// Calls A then B; a failure of either ends the run as Failed.
fn failing_flow(r: &mut Replay) -> Result<TurnOutcome, EngineError> {
    r.start()?;
    let mut out = String::new();
    for name in ["A", "B"] {
        let h = r.call_activity(name, j("null"))?;
        match r.poll_any(&[h])? {
            None => return Ok(TurnOutcome::Waiting),
            Some((_, Outcome::Completed(v))) => out.push_str(v.as_str()),
            Some((_, Outcome::Failed(f))) => return Ok(TurnOutcome::Failed(f)),
        }
    }
    Ok(TurnOutcome::Completed(Json::from_value(&out)))
}

fn run(
    stored: &mut Vec<HistoryEvent>,
    now: u64,
    messages: Vec<HistoryEvent>,
) -> weft_engine::TurnOutput {
    let mut r = Replay::new(me(), stored.clone());
    r.begin_turn(Timestamp(now), messages);
    let outcome = failing_flow(&mut r).unwrap();
    let out = r.finish_turn(outcome).unwrap();
    stored.extend(out.new_events.clone());
    out
}

#[test]
fn terminate_records_the_reason_and_cancels_open_timers() {
    fn waits(r: &mut Replay) -> Result<Option<String>, EngineError> {
        r.start()?;
        let t = r.create_timer(Timestamp(99_000))?;
        Ok(r.poll_any(&[t])?.map(|_| "fired".into()))
    }
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], waits);
    let out = apply_control(
        &me(),
        &h,
        RuntimeStatus::Running,
        Timestamp(20),
        &EventKind::ExecutionTerminated {
            reason: Some("stop".into()),
            recurse: false,
        },
    )
    .unwrap();
    assert_eq!(out.status, RuntimeStatus::Terminated);
    assert_eq!(
        types(&out.new_events),
        [
            "OrchestratorStarted",
            "ExecutionTerminated",
            "OrchestratorCompleted",
            "ExecutionCompleted"
        ]
    );
    assert!(matches!(
        &out.new_events[3].kind,
        EventKind::ExecutionCompleted { status: RuntimeStatus::Terminated, result: Some(r), .. } if r.as_str() == "\"stop\""
    ));
    assert_eq!(
        out.actions,
        vec![Action::CancelTimer {
            id: ScheduleId(0),
            fire_at: Timestamp(99_000)
        }]
    );
    // Not for a finished instance.
    let term = EventKind::ExecutionTerminated {
        reason: None,
        recurse: false,
    };
    assert!(apply_control(&me(), &h, RuntimeStatus::Completed, Timestamp(20), &term).is_none());
}

#[test]
fn suspend_and_resume_only_apply_in_the_right_status() {
    let h = Vec::new();
    let s = EventKind::ExecutionSuspended { reason: None };
    let r = EventKind::ExecutionResumed { reason: None };
    assert_eq!(
        apply_control(&me(), &h, RuntimeStatus::Running, Timestamp(1), &s)
            .unwrap()
            .status,
        RuntimeStatus::Suspended
    );
    assert_eq!(
        apply_control(&me(), &h, RuntimeStatus::Pending, Timestamp(1), &s)
            .unwrap()
            .status,
        RuntimeStatus::Suspended
    );
    assert!(apply_control(&me(), &h, RuntimeStatus::Suspended, Timestamp(1), &s).is_none());
    assert!(apply_control(&me(), &h, RuntimeStatus::Running, Timestamp(1), &r).is_none());
    assert_eq!(
        apply_control(&me(), &h, RuntimeStatus::Suspended, Timestamp(1), &r)
            .unwrap()
            .status,
        RuntimeStatus::Running
    );
}

#[test]
fn a_suspend_episode_does_not_change_what_replay_produces() {
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], sequence_like);
    let s = apply_control(
        &me(),
        &h,
        RuntimeStatus::Running,
        Timestamp(15),
        &EventKind::ExecutionSuspended { reason: None },
    );
    h.extend(s.unwrap().new_events);
    let r = apply_control(
        &me(),
        &h,
        RuntimeStatus::Suspended,
        Timestamp(16),
        &EventKind::ExecutionResumed { reason: None },
    );
    h.extend(r.unwrap().new_events);
    let t = turn(&mut h, 20, vec![completed(0, "1")], sequence_like);
    assert_eq!(t.outcome, TurnOutcome::Completed(Json::from_value("1")));
}

fn sequence_like(r: &mut Replay) -> Result<Option<String>, EngineError> {
    r.start()?;
    let h = r.call_activity("A", j("null"))?;
    Ok(r.poll_any(&[h])?.map(|(_, o)| match o {
        Outcome::Completed(v) => v.as_str().to_owned(),
        Outcome::Failed(f) => f.message,
    }))
}

#[test]
fn rewind_reruns_only_the_failed_activity_and_the_instance_completes() {
    let mut h = Vec::new();
    run(&mut h, 10, vec![start_event("null")]);
    run(&mut h, 20, vec![completed(0, "\"a\"")]);
    let failed_turn = run(&mut h, 30, vec![failed(1, "flaky")]);
    assert!(matches!(failed_turn.outcome, TurnOutcome::Failed(_)));

    let out = apply_control(
        &me(),
        &h,
        RuntimeStatus::Failed,
        Timestamp(40),
        &EventKind::ExecutionRewound {
            reason: Some("retry".into()),
            voided: vec![],
        },
    )
    .unwrap();
    assert_eq!(out.status, RuntimeStatus::Running);
    assert_eq!(
        out.actions,
        vec![Action::ScheduleActivity {
            id: ScheduleId(1),
            name: "B".into(),
            input: j("null"),
            attempt: 1,
        }],
        "only B runs again; A's result is kept"
    );
    assert!(
        matches!(&out.new_events[1].kind, EventKind::ExecutionRewound { voided, .. } if voided == &[ScheduleId(1)])
    );
    h.extend(out.new_events);

    // B's new result arrives; the replay skips the voided failure and finishes.
    let done = run(&mut h, 50, vec![completed(1, "\"b\"")]);
    assert_eq!(
        done.outcome,
        TurnOutcome::Completed(Json::from_value("\"a\"\"b\""))
    );
    assert!(
        done.actions.is_empty(),
        "nothing is scheduled again on replay"
    );
    // Rewinding something that did not fail does nothing.
    let rw = EventKind::ExecutionRewound {
        reason: None,
        voided: vec![],
    };
    assert!(apply_control(&me(), &h, RuntimeStatus::Completed, Timestamp(60), &rw).is_none());
}

#[test]
fn rewind_twice_voids_each_failure_once() {
    let mut h = Vec::new();
    run(&mut h, 10, vec![start_event("null")]);
    run(&mut h, 20, vec![completed(0, "1")]);
    run(&mut h, 30, vec![failed(1, "first")]);
    let rw = EventKind::ExecutionRewound {
        reason: None,
        voided: vec![],
    };
    h.extend(
        apply_control(&me(), &h, RuntimeStatus::Failed, Timestamp(40), &rw)
            .unwrap()
            .new_events,
    );
    let again = run(&mut h, 50, vec![failed(1, "second")]);
    assert!(matches!(again.outcome, TurnOutcome::Failed(ref f) if f.message == "second"));
    let out = apply_control(&me(), &h, RuntimeStatus::Failed, Timestamp(60), &rw).unwrap();
    assert_eq!(out.actions.len(), 1);
    h.extend(out.new_events);
    let done = run(&mut h, 70, vec![completed(1, "2")]);
    assert_eq!(done.outcome, TurnOutcome::Completed(Json::from_value("12")));
}

#[test]
fn rewind_recreates_timers_that_had_not_fired() {
    fn timer_then_fail(r: &mut Replay) -> Result<Option<String>, EngineError> {
        r.start()?;
        let t = r.create_timer(Timestamp(5_000))?;
        let a = r.call_activity("A", j("null"))?;
        match r.poll_any(&[a])? {
            None => Ok(None),
            Some(_) => Ok(r.poll_any(&[t])?.map(|_| "done".into())),
        }
    }
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], timer_then_fail);
    let mut r = Replay::new(me(), h.clone());
    r.begin_turn(Timestamp(20), vec![failed(1, "x")]);
    r.start().unwrap();
    let _ = r.create_timer(Timestamp(5_000)).unwrap();
    let a = r.call_activity("A", j("null")).unwrap();
    let Some((_, Outcome::Failed(f))) = r.poll_any(&[a]).unwrap() else {
        panic!()
    };
    h.extend(r.finish_turn(TurnOutcome::Failed(f)).unwrap().new_events);
    let out = apply_control(
        &me(),
        &h,
        RuntimeStatus::Failed,
        Timestamp(30),
        &EventKind::ExecutionRewound {
            reason: None,
            voided: vec![],
        },
    )
    .unwrap();
    assert!(out.actions.contains(&Action::CreateTimer {
        id: ScheduleId(0),
        fire_at: Timestamp(5_000)
    }));
    assert!(out.actions.contains(&Action::ScheduleActivity {
        id: ScheduleId(1),
        name: "A".into(),
        input: j("null"),
        attempt: 1,
    }));
}
