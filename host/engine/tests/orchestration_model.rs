//! Table tests for the commands of the orchestration model beyond activities
//! and timers: sub-orchestrations (waited on and detached), sent events,
//! continue-as-new, retries' attempt numbers and deterministic GUIDs. Each
//! kind is checked for what it records, the work it causes, how it resolves,
//! byte-identity of a kept and a replayed run, and its nondeterminism rule.

mod support;

use support::*;
use weft_core::{
    EventKind, ExecutionId, Failure, HistoryEvent, InstanceId, ParentInstance, ScheduleId,
    Timestamp,
};
use weft_engine::{Action, EngineError, Outcome, Replay, TurnOutcome, TurnOutput};

fn child_completed(id: u32, result: &str) -> HistoryEvent {
    HistoryEvent::new(
        Timestamp(0),
        EventKind::SubOrchestrationInstanceCompleted {
            scheduled_id: ScheduleId(id),
            result: j(result),
        },
    )
}

fn child_failed(id: u32, failure: Failure) -> HistoryEvent {
    HistoryEvent::new(
        Timestamp(0),
        EventKind::SubOrchestrationInstanceFailed {
            scheduled_id: ScheduleId(id),
            failure,
        },
    )
}

/// Two children (default ID, then an explicit one), waited on in turn.
fn two_children(r: &mut Replay) -> Result<Option<String>, EngineError> {
    r.start()?;
    let a = r.call_sub_orchestrator("Child", None, j("1"), false)?;
    let b = r.call_sub_orchestrator("Child", Some("child-b"), j("2"), false)?;
    let mut out = String::new();
    for h in [a, b] {
        match r.poll_any(&[h])? {
            None => return Ok(None),
            Some((_, Outcome::Completed(v))) => out.push_str(v.as_str()),
            Some((_, Outcome::Failed(f))) => out.push_str(&format!("[{}]", f.error_type)),
        }
    }
    Ok(Some(out))
}

fn parent(id: u32) -> Option<ParentInstance> {
    Some(ParentInstance {
        instance_id: me(),
        execution_id: ExecutionId("e1".into()),
        schedule_id: ScheduleId(id),
    })
}

#[test]
fn children_start_through_the_outbox_and_resolve_on_their_reports() {
    let mut h = Vec::new();
    let t1 = turn(&mut h, 10, vec![start_event("null")], two_children);
    assert_eq!(
        types(&t1.new_events),
        [
            "OrchestratorStarted",
            "ExecutionStarted",
            "SubOrchestrationInstanceCreated",
            "SubOrchestrationInstanceCreated",
            "OrchestratorCompleted"
        ]
    );
    assert_eq!(
        t1.actions,
        vec![
            Action::StartOrchestration {
                id: ScheduleId(0),
                instance: InstanceId::new("me:0").unwrap(),
                name: "Child".into(),
                input: j("1"),
                parent: parent(0),
            },
            Action::StartOrchestration {
                id: ScheduleId(1),
                instance: InstanceId::new("child-b").unwrap(),
                name: "Child".into(),
                input: j("2"),
                parent: parent(1),
            },
        ]
    );
    // The second child reports first; the code still sees them in its order.
    let boom = Failure::new("ChildBroke", "details follow");
    let t2 = turn(&mut h, 20, vec![child_failed(1, boom)], two_children);
    assert_eq!(t2.outcome, TurnOutcome::Waiting);
    let t3 = turn(&mut h, 30, vec![child_completed(0, "\"a\"")], two_children);
    assert_eq!(
        t3.outcome,
        TurnOutcome::Completed(weft_core::Json::from_value("\"a\"[ChildBroke]"))
    );
    assert!(
        t3.actions.is_empty(),
        "replayed starts are not started again"
    );
    // A second report for the same child is dropped.
    let mut r = Replay::new(me(), h.clone());
    let before = r.history_len();
    r.begin_turn(Timestamp(40), vec![child_completed(0, "\"again\"")]);
    assert_eq!(
        r.history_len(),
        before + 1,
        "only OrchestratorStarted is added"
    );
}

#[test]
fn a_kept_and_a_replayed_parent_record_identical_histories() {
    let arrivals = [
        vec![start_event("null")],
        vec![child_completed(1, "\"b\"")],
        vec![child_completed(0, "\"a\"")],
    ];
    let mut replayed = Vec::new();
    for (i, a) in arrivals.iter().enumerate() {
        turn(&mut replayed, 10 * (i as u64 + 1), a.clone(), two_children);
    }
    // Kept: one Replay across turns, the code re-run from the top each time
    // is what `turn` does; here the engine state is kept instead.
    let mut kept_history = Vec::new();
    let mut r = Replay::new(me(), Vec::new());
    for (i, a) in arrivals.iter().enumerate() {
        r.begin_turn(Timestamp(10 * (i as u64 + 1)), a.clone());
        let out = match i {
            0 => {
                r.start().unwrap();
                let x = r
                    .call_sub_orchestrator("Child", None, j("1"), false)
                    .unwrap();
                let y = r
                    .call_sub_orchestrator("Child", Some("child-b"), j("2"), false)
                    .unwrap();
                assert!(r.poll_any(&[x]).unwrap().is_none());
                assert_eq!((x, y), (0, 1));
                r.finish_turn(TurnOutcome::Waiting)
            }
            1 => {
                assert!(r.poll_any(&[0]).unwrap().is_none());
                r.finish_turn(TurnOutcome::Waiting)
            }
            _ => {
                assert!(r.poll_any(&[0]).unwrap().is_some());
                assert!(r.poll_any(&[1]).unwrap().is_some());
                r.finish_turn(TurnOutcome::Completed(j("\"\\\"a\\\"\\\"b\\\"\"")))
            }
        }
        .unwrap();
        kept_history.extend(out.new_events);
    }
    let enc = |h: &[HistoryEvent]| serde_json::to_string(h).unwrap();
    assert_eq!(enc(&kept_history), enc(&replayed));
}

#[test]
fn a_changed_child_name_is_nondeterminism() {
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], two_children);
    let mut r = Replay::new(me(), h);
    r.begin_turn(Timestamp(20), Vec::new());
    r.start().unwrap();
    let err = r
        .call_sub_orchestrator("Other", None, j("1"), false)
        .unwrap_err();
    let EngineError::Nondeterminism(d) = err else {
        panic!("expected nondeterminism, got {err}")
    };
    assert!(d.recorded.contains("'Child'"), "{d}");
    assert!(d.attempted.contains("'Other'"), "{d}");
    // A detached start where a waited one was recorded also diverges.
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], two_children);
    let mut r = Replay::new(me(), h);
    r.begin_turn(Timestamp(20), Vec::new());
    r.start().unwrap();
    assert!(matches!(
        r.call_sub_orchestrator("Child", None, j("1"), true),
        Err(EngineError::Nondeterminism(_))
    ));
}

#[test]
fn a_detached_start_resolves_at_once_with_the_child_id_and_no_parent() {
    let code: Code = |r| {
        r.start()?;
        let h = r.call_sub_orchestrator("Job", None, j("{}"), true)?;
        match r.poll_any(&[h])? {
            Some((_, Outcome::Completed(v))) => Ok(Some(v.as_str().to_owned())),
            other => panic!("{other:?}"),
        }
    };
    let mut h = Vec::new();
    let t = turn(&mut h, 10, vec![start_event("null")], code);
    assert_eq!(
        t.outcome,
        TurnOutcome::Completed(weft_core::Json::from_value("\"me:0\""))
    );
    assert!(matches!(
        &t.actions[..],
        [Action::StartOrchestration { parent: None, .. }]
    ));
}

#[test]
fn an_invalid_child_id_fails_the_task_and_records_nothing() {
    let code: Code = |r| {
        r.start()?;
        let h = r.call_sub_orchestrator("Job", Some("a/b"), j("{}"), false)?;
        match r.poll_any(&[h])? {
            Some((_, Outcome::Failed(f))) => Ok(Some(f.error_type)),
            other => panic!("{other:?}"),
        }
    };
    let mut h = Vec::new();
    let t = turn(&mut h, 10, vec![start_event("null")], code);
    assert_eq!(
        t.outcome,
        TurnOutcome::Completed(weft_core::Json::from_value("weft.InvalidInstanceId"))
    );
    assert!(t.actions.is_empty());
    assert!(!types(&h).contains(&"SubOrchestrationInstanceCreated"));
}

#[test]
fn sent_events_are_recorded_resolve_at_once_and_diverge_on_a_new_name() {
    let code: Code = |r| {
        r.start()?;
        r.send_event("other", "Ping", j("[1]"))?;
        Ok(Some("sent".into()))
    };
    let mut h = Vec::new();
    let t = turn(&mut h, 10, vec![start_event("null")], code);
    assert!(types(&t.new_events).contains(&"EventSent"));
    assert_eq!(
        t.actions,
        vec![Action::SendEvent {
            instance: InstanceId::new("other").unwrap(),
            name: "Ping".into(),
            input: j("[1]"),
        }]
    );
    // Replayed with a different event name: nondeterminism.
    let stored: Vec<HistoryEvent> = h[..h.len() - 2].to_vec();
    let mut r = Replay::new(me(), stored);
    r.begin_turn(Timestamp(20), Vec::new());
    r.start().unwrap();
    assert!(matches!(
        r.send_event("other", "Pong", j("[1]")),
        Err(EngineError::Nondeterminism(_))
    ));
}

/// Waits for event `Go` then continues as new with the event's payload.
fn continue_on_go(r: &mut Replay, preserve: bool) -> TurnOutput {
    r.start().unwrap();
    let go = r.wait_for_event("Go").unwrap();
    match r.poll_any(&[go]).unwrap() {
        Some((_, Outcome::Completed(v))) => {
            r.continue_as_new(v, preserve);
            let outcome = r.outcome_of(Ok(j("null")));
            r.finish_turn(outcome).unwrap()
        }
        _ => r.finish_turn(TurnOutcome::Waiting).unwrap(),
    }
}

#[test]
fn continue_as_new_ends_the_execution_and_carries_unprocessed_events_in_order() {
    let events = vec![
        start_event("0"),
        raised("late", "1"),
        raised("Other", "2"),
        raised("go", "7"),
        raised("late", "3"),
    ];
    let mut r = Replay::new(me(), Vec::new());
    r.begin_turn(Timestamp(10), events.clone());
    let out = continue_on_go(&mut r, true);
    assert_eq!(
        out.outcome,
        TurnOutcome::ContinuedAsNew {
            input: j("7"),
            preserve_unprocessed_events: true
        }
    );
    let last = out.new_events.last().unwrap();
    assert!(
        matches!(&last.kind, EventKind::ExecutionCompleted { status, result: Some(r), .. }
            if *status == weft_core::RuntimeStatus::ContinuedAsNew && r.as_str() == "7"),
        "{last:?}"
    );
    let next = out.next_execution.expect("a next execution");
    assert_eq!(next.input, j("7"));
    let carried: Vec<(String, String)> = next
        .carried
        .iter()
        .map(|e| match &e.kind {
            EventKind::EventRaised { name, input } => (name.clone(), input.as_str().to_owned()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        carried,
        [
            ("late".to_owned(), "1".to_owned()),
            ("Other".to_owned(), "2".to_owned()),
            ("late".to_owned(), "3".to_owned())
        ],
        "every unprocessed event, in arrival order"
    );
    // Without preserving, they are dropped (and named for the log).
    let mut r = Replay::new(me(), Vec::new());
    r.begin_turn(Timestamp(10), events);
    let out = continue_on_go(&mut r, false);
    assert!(out.next_execution.unwrap().carried.is_empty());
    assert_eq!(out.unconsumed_events, ["Other", "late", "late"]);
}

#[test]
fn continue_as_new_where_the_history_recorded_more_work_is_nondeterminism() {
    // Recorded: the code scheduled activity A. Now it continues as new at once.
    let mut h = Vec::new();
    let schedule_a: Code = |r| {
        r.start()?;
        let a = r.call_activity("A", j("null"))?;
        r.poll_any(&[a]).map(|_| None)
    };
    turn(&mut h, 10, vec![start_event("null")], schedule_a);
    let mut r = Replay::new(me(), h);
    r.begin_turn(Timestamp(20), Vec::new());
    r.start().unwrap();
    r.continue_as_new(j("1"), true);
    let outcome = r.outcome_of(Ok(j("null")));
    let d = r.finish_turn(outcome).unwrap_err();
    assert!(d.recorded.contains("TaskScheduled"), "{d}");
    // A failure after asking to continue as new fails the instance instead.
    let r = Replay::new(me(), Vec::new());
    assert!(matches!(
        r.outcome_of(Err(Failure::new("E", "m"))),
        TurnOutcome::Failed(_)
    ));
}

#[test]
fn a_retry_records_its_attempt_and_a_changed_retry_target_diverges() {
    let code: Code = |r| {
        r.start()?;
        let a = r.call_activity("Charge", j("1"))?;
        if r.poll_any(&[a])?.is_none() {
            return Ok(None);
        }
        let b = r.call_activity_attempt("Charge", j("1"), 2)?;
        Ok(r.poll_any(&[b])?.map(|_| "ok".to_owned()))
    };
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], code);
    let t = turn(&mut h, 20, vec![failed(0, "flaky")], code);
    assert_eq!(
        t.actions,
        vec![Action::ScheduleActivity {
            id: ScheduleId(1),
            name: "Charge".into(),
            input: j("1"),
            attempt: 2,
        }]
    );
    assert!(h.iter().any(|e| matches!(
        e.kind,
        EventKind::TaskScheduled {
            attempt: Some(2),
            ..
        }
    )));
    // The retry now targets another activity: nondeterminism at #1.
    let mut r = Replay::new(me(), h);
    r.begin_turn(Timestamp(30), Vec::new());
    r.start().unwrap();
    let a = r.call_activity("Charge", j("1")).unwrap();
    r.poll_any(&[a]).unwrap();
    assert!(matches!(
        r.call_activity_attempt("Refund", j("1"), 2),
        Err(EngineError::Nondeterminism(_))
    ));
}

#[test]
fn guids_are_the_same_on_every_replay_and_differ_between_calls() {
    let code: Code = |r| {
        r.start()?;
        let (a, b) = (r.new_guid(), r.new_guid());
        let t = r.create_timer(Timestamp(50))?;
        if r.poll_any(&[t])?.is_none() {
            return Ok(None);
        }
        Ok(Some(format!("{a} {b} {}", r.new_guid())))
    };
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], code);
    let done = turn(&mut h, 60, vec![fired(0)], code);
    let TurnOutcome::Completed(v) = done.outcome else {
        panic!()
    };
    let text: String = serde_json::from_str(v.as_str()).unwrap();
    let ids: Vec<&str> = text.split(' ').collect();
    assert_eq!(ids.len(), 3);
    assert!(ids[0] != ids[1] && ids[1] != ids[2]);
    // Replayed from the stored history: the same values.
    let mut again = h[..h.len() - 3].to_vec();
    let redo = turn(&mut again, 60, vec![fired(0)], code);
    assert_eq!(redo.outcome, TurnOutcome::Completed(v));
}
