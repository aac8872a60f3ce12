//! Table tests for the replay engine: (history, commands) -> decisions.
//!
//! Each test plays the role of the runtime: it calls the engine the way guest
//! code would, across turns, and checks what is recorded and returned. A "replay"
//! is a fresh `Replay` over the committed history running the same code again,
//! which must produce exactly the same answers and the same events.

mod support;

use support::*;
use weft_core::{EventKind, Failure, Json, RuntimeStatus, ScheduleId, Timestamp};
use weft_engine::{Action, EngineError, Outcome, Replay, TurnOutcome};

/// A tiny deterministic "orchestrator": calls A, B, C in sequence and returns the
/// concatenated results. Returns None while waiting.
fn sequence(r: &mut Replay) -> Result<Option<String>, EngineError> {
    r.start()?;
    let mut out = String::new();
    for name in ["A", "B", "C"] {
        let h = r.call_activity(name, j("null"))?;
        match r.poll_any(&[h])? {
            None => return Ok(None),
            Some((_, Outcome::Completed(v))) => out.push_str(v.as_str()),
            Some((_, Outcome::Failed(f))) => panic!("unexpected failure {f}"),
        }
    }
    Ok(Some(out))
}

#[test]
fn sequence_records_one_episode_per_wake_up() {
    let mut h = Vec::new();
    let t1 = turn(&mut h, 10, vec![start_event("null")], sequence);
    assert_eq!(
        types(&t1.new_events),
        [
            "OrchestratorStarted",
            "ExecutionStarted",
            "TaskScheduled",
            "OrchestratorCompleted"
        ]
    );
    assert_eq!(
        t1.actions,
        vec![Action::ScheduleActivity {
            id: ScheduleId(0),
            name: "A".into(),
            input: j("null"),
            attempt: 1,
        }]
    );
    assert_eq!(t1.outcome, TurnOutcome::Waiting);

    let t2 = turn(&mut h, 20, vec![completed(0, "\"a\"")], sequence);
    assert_eq!(
        types(&t2.new_events),
        [
            "OrchestratorStarted",
            "TaskCompleted",
            "TaskScheduled",
            "OrchestratorCompleted"
        ]
    );
    let t3 = turn(&mut h, 30, vec![completed(1, "\"b\"")], sequence);
    assert_eq!(t3.actions.len(), 1);
    let t4 = turn(&mut h, 40, vec![completed(2, "\"c\"")], sequence);
    assert_eq!(
        t4.outcome,
        TurnOutcome::Completed(Json::from_value("\"a\"\"b\"\"c\""))
    );
    assert_eq!(
        types(&t4.new_events),
        [
            "OrchestratorStarted",
            "TaskCompleted",
            "OrchestratorCompleted",
            "ExecutionCompleted"
        ]
    );
    assert!(
        t4.actions.is_empty(),
        "replayed commands produce no new work"
    );
    // Episode times are the OrchestratorStarted timestamps.
    let starts: Vec<u64> = h
        .iter()
        .filter(|e| matches!(e.kind, EventKind::OrchestratorStarted))
        .map(|e| e.timestamp.0)
        .collect();
    assert_eq!(starts, [10, 20, 30, 40]);
}

#[test]
fn a_kept_instance_and_a_replayed_one_record_identical_histories() {
    // Replayed: a fresh Replay per turn (done by `turn`).
    let mut replayed = Vec::new();
    turn(&mut replayed, 10, vec![start_event("null")], sequence);
    turn(&mut replayed, 20, vec![completed(0, "1")], sequence);
    turn(&mut replayed, 30, vec![completed(1, "2")], sequence);
    turn(&mut replayed, 40, vec![completed(2, "3")], sequence);

    // Kept in memory: one Replay across turns, the code resumed where it waited.
    let mut r = Replay::new(me(), Vec::new());
    let mut kept = Vec::new();
    r.begin_turn(Timestamp(10), vec![start_event("null")]);
    r.start().unwrap();
    let mut out = String::new();
    let msgs = [completed(0, "1"), completed(1, "2"), completed(2, "3")];
    let mut now = 10;
    for (i, name) in ["A", "B", "C"].into_iter().enumerate() {
        let h = r.call_activity(name, j("null")).unwrap();
        assert_eq!(r.poll_any(&[h]).unwrap(), None);
        kept.extend(r.finish_turn(TurnOutcome::Waiting).unwrap().new_events);
        now += 10;
        r.begin_turn(Timestamp(now), vec![msgs[i].clone()]);
        let (_, Outcome::Completed(v)) = r.poll_any(&[h]).unwrap().unwrap() else {
            panic!()
        };
        out.push_str(v.as_str());
    }
    kept.extend(
        r.finish_turn(TurnOutcome::Completed(Json::from_value(&out)))
            .unwrap()
            .new_events,
    );
    assert_eq!(kept, replayed);
}

#[test]
fn duplicate_and_unknown_completions_are_recorded_once() {
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], sequence);
    // The same result twice in one batch, and a completion for a task never scheduled.
    let t = turn(
        &mut h,
        20,
        vec![completed(0, "1"), completed(0, "1"), completed(7, "9")],
        sequence,
    );
    assert_eq!(
        types(&t.new_events),
        [
            "OrchestratorStarted",
            "TaskCompleted",
            "TaskScheduled",
            "OrchestratorCompleted"
        ]
    );
    // And again in a later turn.
    let t = turn(&mut h, 30, vec![completed(0, "1")], sequence);
    assert_eq!(
        types(&t.new_events),
        ["OrchestratorStarted", "OrchestratorCompleted"]
    );
    assert!(t.actions.is_empty());
}

#[test]
fn changed_activity_name_is_nondeterminism_naming_the_event() {
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], sequence);
    turn(&mut h, 20, vec![completed(0, "1")], sequence);
    // New code calls X where the history recorded B (index 6).
    let mut r = Replay::new(me(), h.clone());
    r.begin_turn(Timestamp(30), vec![completed(1, "2")]);
    r.start().unwrap();
    let a = r.call_activity("A", j("null")).unwrap();
    r.poll_any(&[a]).unwrap().unwrap();
    let err = r.call_activity("X", j("null")).unwrap_err();
    let EngineError::Nondeterminism(d) = err else {
        panic!("{err:?}")
    };
    assert_eq!(h[d.index].kind.type_name(), "TaskScheduled");
    assert_eq!(d.index, 6);
    assert_eq!(d.recorded, "TaskScheduled #1 'B'");
    assert_eq!(d.attempted, "scheduled TaskScheduled #1 'X'");
    let msg = d.to_string();
    assert!(
        msg.contains("history event 6") && msg.contains("'B'") && msg.contains("'X'"),
        "{msg}"
    );
    // Every later call fails too, and finishing the turn refuses to commit anything.
    assert!(r.poll_any(&[a]).is_err());
    assert!(r.finish_turn(TurnOutcome::Waiting).is_err());
}

#[test]
fn timer_where_an_activity_was_recorded_is_nondeterminism() {
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], sequence);
    let mut r = Replay::new(me(), h);
    r.begin_turn(Timestamp(20), vec![]);
    r.start().unwrap();
    let err = r.create_timer(Timestamp(99)).unwrap_err();
    assert!(
        matches!(err, EngineError::Nondeterminism(ref d) if d.index == 2),
        "{err:?}"
    );
}

#[test]
fn skipping_a_recorded_task_is_nondeterminism() {
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], sequence);
    let mut r = Replay::new(me(), h);
    r.begin_turn(Timestamp(20), vec![completed(0, "1")]);
    r.start().unwrap();
    let d = r.finish_turn(TurnOutcome::Completed(j("1"))).unwrap_err();
    assert_eq!(d.index, 2);
    assert!(d.attempted.contains("finished without scheduling"), "{d}");
}

#[test]
fn fan_out_resolves_in_history_order_and_fan_in_waits_for_all() {
    fn fan(r: &mut Replay) -> Result<Option<String>, EngineError> {
        r.start()?;
        let hs: Vec<_> = (0..3)
            .map(|i| r.call_activity("W", j(&i.to_string())))
            .collect::<Result<_, _>>()?;
        let mut pending = hs.clone();
        let mut order = Vec::new();
        while !pending.is_empty() {
            match r.poll_any(&pending)? {
                None => return Ok(None),
                Some((h, _)) => {
                    order.push(h.to_string());
                    pending.retain(|&p| p != h);
                }
            }
        }
        Ok(Some(order.join(",")))
    }
    let mut h = Vec::new();
    let t = turn(&mut h, 10, vec![start_event("null")], fan);
    assert_eq!(t.actions.len(), 3);
    turn(&mut h, 20, vec![completed(2, "2")], fan);
    let t = turn(&mut h, 30, vec![completed(0, "0"), completed(1, "1")], fan);
    assert_eq!(t.outcome, TurnOutcome::Completed(Json::from_value("2,0,1")));
}

#[test]
fn race_returns_the_first_and_the_loser_timer_is_cancelled_live() {
    fn race(r: &mut Replay) -> Result<Option<String>, EngineError> {
        r.start()?;
        let now = r.now();
        let ev = r.wait_for_event("Approval")?;
        let timer = r.create_timer(Timestamp(now.0 + 60_000))?;
        match r.poll_any(&[ev, timer])? {
            None => Ok(None),
            Some((w, Outcome::Completed(v))) if w == ev => {
                r.cancel(timer)?;
                Ok(Some(format!("event {v}")))
            }
            Some(_) => {
                r.cancel(ev)?;
                Ok(Some("timed out".into()))
            }
        }
    }
    let mut h = Vec::new();
    let t = turn(&mut h, 10, vec![start_event("null")], race);
    assert_eq!(
        t.actions,
        vec![Action::CreateTimer {
            id: ScheduleId(0),
            fire_at: Timestamp(60_010)
        }]
    );
    // Event names match case-insensitively.
    let t = turn(&mut h, 20, vec![raised("APPROVAL", "true")], race);
    assert_eq!(
        t.outcome,
        TurnOutcome::Completed(Json::from_value("event true"))
    );
    assert_eq!(
        t.actions,
        vec![Action::CancelTimer {
            id: ScheduleId(0),
            fire_at: Timestamp(60_010)
        }]
    );

    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], race);
    let t = turn(&mut h, 60_010, vec![fired(0)], race);
    assert_eq!(
        t.outcome,
        TurnOutcome::Completed(Json::from_value("timed out"))
    );
    assert!(t.actions.is_empty());
}

#[test]
fn events_raised_before_a_wait_are_buffered_fifo_per_name() {
    fn two(r: &mut Replay) -> Result<Option<String>, EngineError> {
        r.start()?;
        let mut out = Vec::new();
        for _ in 0..2 {
            let e = r.wait_for_event("x")?;
            match r.poll_any(&[e])? {
                None => return Ok(None),
                Some((_, Outcome::Completed(v))) => out.push(v.as_str().to_owned()),
                Some(_) => unreachable!(),
            }
        }
        Ok(Some(out.join(",")))
    }
    let mut h = Vec::new();
    // Both arrive with the start (before any wait), plus one for another name.
    let t = turn(
        &mut h,
        10,
        vec![
            raised("X", "1"),
            raised("y", "0"),
            start_event("null"),
            raised("x", "2"),
        ],
        two,
    );
    assert_eq!(
        t.new_events[1].kind.type_name(),
        "ExecutionStarted",
        "the start is delivered first"
    );
    assert_eq!(t.outcome, TurnOutcome::Completed(Json::from_value("1,2")));
}

#[test]
fn current_time_is_the_episode_start_and_never_goes_back() {
    fn clock(r: &mut Replay) -> Result<Option<String>, EngineError> {
        r.start()?;
        let t0 = r.now().0;
        let tm = r.create_timer(Timestamp(t0 + 5))?;
        if r.poll_any(&[tm])?.is_none() {
            return Ok(None);
        }
        Ok(Some(format!("{t0},{}", r.now().0)))
    }
    let mut h = Vec::new();
    turn(&mut h, 100, vec![start_event("null")], clock);
    // The host's clock went backwards: the episode time stays at 100.
    let t = turn(&mut h, 50, vec![fired(0)], clock);
    assert_eq!(
        t.outcome,
        TurnOutcome::Completed(Json::from_value("100,100"))
    );
}

#[test]
fn failure_reaches_the_code_and_an_unhandled_one_fails_the_execution() {
    fn handles(r: &mut Replay) -> Result<Option<String>, EngineError> {
        r.start()?;
        let h = r.call_activity("A", j("null"))?;
        match r.poll_any(&[h])? {
            None => Ok(None),
            Some((_, Outcome::Failed(f))) => Ok(Some(format!("{}|{}", f.error_type, f.message))),
            Some(_) => Ok(Some("ok".into())),
        }
    }
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], handles);
    let t = turn(&mut h, 20, vec![failed(0, "bad")], handles);
    assert_eq!(
        t.outcome,
        TurnOutcome::Completed(Json::from_value("Boom|bad"))
    );

    let mut r = Replay::new(me(), Vec::new());
    r.begin_turn(Timestamp(1), vec![start_event("null")]);
    r.start().unwrap();
    let out = r
        .finish_turn(TurnOutcome::Failed(Failure::new("Panic", "boom")))
        .unwrap();
    let last = out.new_events.last().unwrap();
    assert!(
        matches!(&last.kind, EventKind::ExecutionCompleted { status: RuntimeStatus::Failed, failure: Some(f), .. } if f.message == "boom")
    );
}

#[test]
fn finishing_cancels_pending_timers() {
    fn leaves_timer(r: &mut Replay) -> Result<Option<String>, EngineError> {
        r.start()?;
        r.create_timer(Timestamp(9_999))?;
        Ok(Some("done".into()))
    }
    let mut h = Vec::new();
    let t = turn(&mut h, 10, vec![start_event("null")], leaves_timer);
    assert_eq!(
        t.actions,
        vec![
            Action::CreateTimer {
                id: ScheduleId(0),
                fire_at: Timestamp(9_999)
            },
            Action::CancelTimer {
                id: ScheduleId(0),
                fire_at: Timestamp(9_999)
            }
        ]
    );
}

#[test]
fn guest_misuse_is_reported() {
    let mut r = Replay::new(me(), Vec::new());
    r.begin_turn(Timestamp(1), vec![start_event("null")]);
    r.start().unwrap();
    assert_eq!(r.poll_any(&[]), Err(EngineError::EmptyWait));
    assert_eq!(r.poll_any(&[3]), Err(EngineError::UnknownHandle(3)));
    assert!(
        r.set_custom_status(Some(Json::from_value(&"x".repeat(20_000))))
            .is_err()
    );
    assert!(r.set_custom_status(Some(j("{\"step\":1}"))).is_ok());
    let mut r = Replay::new(me(), Vec::new());
    r.begin_turn(Timestamp(1), vec![]);
    assert_eq!(r.start(), Err(EngineError::NotStarted));
}
