//! Table tests for entity operations and critical sections: what each
//! command records and the work it causes, how completions resolve, the
//! locking rules, the releases every ending makes, byte identity of a kept
//! and a replayed run, and the nondeterminism rules (a changed lock set, a
//! changed operation, a changed entity).

mod support;

use support::*;
use weft_core::{
    EntityId, EventKind, ExecutionId, Failure, HistoryEvent, ParentInstance, RuntimeStatus,
    ScheduleId, Timestamp,
};
use weft_engine::{
    Action, EngineError, LOCKING_RULES_VIOLATION, Outcome, Replay, TurnOutcome, apply_control,
};

fn e(text: &str) -> EntityId {
    EntityId::parse(text).unwrap()
}

fn owner(id: u32) -> ParentInstance {
    ParentInstance {
        instance_id: me(),
        execution_id: ExecutionId("e1".into()),
        schedule_id: ScheduleId(id),
    }
}

fn entity_done(id: u32, result: &str) -> HistoryEvent {
    HistoryEvent::new(
        Timestamp(0),
        EventKind::EntityOperationCompleted {
            scheduled_id: ScheduleId(id),
            result: j(result),
        },
    )
}

fn granted(id: u32) -> HistoryEvent {
    HistoryEvent::new(
        Timestamp(0),
        EventKind::EntityLockGranted {
            scheduled_id: ScheduleId(id),
        },
    )
}

fn wait(r: &mut Replay, h: u32) -> Result<Option<Outcome>, EngineError> {
    Ok(r.poll_any(&[h])?.map(|(_, o)| o))
}

/// A transfer: lock both accounts (given in reverse order), read the
/// source, move one unit, release.
fn transfer(r: &mut Replay) -> Result<Option<String>, EngineError> {
    r.start()?;
    let lock = r.lock_entities(&[
        "@account@b".into(),
        "@Account@a".into(),
        "@account@b".into(),
    ])?;
    if wait(r, lock)?.is_none() {
        return Ok(None);
    }
    let get = r.call_entity("@account@a", "get", j("null"))?;
    let Some(Outcome::Completed(balance)) = wait(r, get)? else {
        return Ok(None);
    };
    let w = r.call_entity("@account@a", "withdraw", j("1"))?;
    let d = r.call_entity("@account@b", "deposit", j("1"))?;
    if wait(r, w)?.is_none() || wait(r, d)?.is_none() {
        return Ok(None);
    }
    r.unlock_entities()?;
    r.signal_entity("@audit@log", "note", j("\"moved\""))?;
    Ok(Some(balance.as_str().to_owned()))
}

#[test]
fn a_section_requests_sorted_locks_calls_inside_and_releases() {
    let mut h = Vec::new();
    let t1 = turn(&mut h, 10, vec![start_event("null")], transfer);
    assert_eq!(
        types(&t1.new_events),
        [
            "OrchestratorStarted",
            "ExecutionStarted",
            "EntityLockRequested",
            "OrchestratorCompleted"
        ]
    );
    assert_eq!(
        t1.actions,
        vec![Action::RequestLocks {
            entities: vec![e("@account@a"), e("@account@b")],
            owner: owner(0),
        }],
        "sorted, names lower-cased, duplicates removed; the schedule ID names the section"
    );
    let t2 = turn(&mut h, 20, vec![granted(0)], transfer);
    assert_eq!(
        t2.actions,
        vec![Action::CallEntity {
            entity: e("@account@a"),
            operation: "get".into(),
            input: j("null"),
            caller: owner(1),
        }]
    );
    let t3 = turn(&mut h, 30, vec![entity_done(1, "5")], transfer);
    assert_eq!(t3.actions.len(), 2, "withdraw and deposit go out together");
    let t4 = turn(
        &mut h,
        40,
        vec![entity_done(3, "null"), entity_done(2, "null")],
        transfer,
    );
    assert_eq!(
        t4.outcome,
        TurnOutcome::Completed(weft_core::Json::from_value("5"))
    );
    assert_eq!(
        t4.actions,
        vec![
            Action::ReleaseLocks {
                entities: vec![e("@account@a"), e("@account@b")],
                owner: owner(0),
            },
            Action::SignalEntity {
                entity: e("@audit@log"),
                operation: "note".into(),
                input: j("\"moved\""),
            },
        ],
        "the explicit release, then the signal; the ending releases nothing more"
    );
    assert!(types(&t4.new_events).contains(&"EntityUnlockSent"));
}

#[test]
fn a_kept_and_a_replayed_section_record_identical_histories() {
    let arrivals = [
        vec![start_event("null")],
        vec![granted(0)],
        vec![entity_done(1, "5")],
        vec![entity_done(2, "null"), entity_done(3, "null")],
    ];
    let mut replayed = Vec::new();
    for (i, a) in arrivals.iter().enumerate() {
        turn(&mut replayed, 10 * (i as u64 + 1), a.clone(), transfer);
    }
    let mut kept = Vec::new();
    let mut r = Replay::new(me(), Vec::new());
    for (i, a) in arrivals.iter().enumerate() {
        r.begin_turn(Timestamp(10 * (i as u64 + 1)), a.clone());
        // The kept run resumes where it blocked: the code is the same
        // function, run once over all turns by re-entering at each wait.
        let out = match i {
            0 => {
                r.start().unwrap();
                let lock = r
                    .lock_entities(&[
                        "@account@b".into(),
                        "@Account@a".into(),
                        "@account@b".into(),
                    ])
                    .unwrap();
                assert!(wait(&mut r, lock).unwrap().is_none());
                r.finish_turn(TurnOutcome::Waiting)
            }
            1 => {
                assert!(wait(&mut r, 0).unwrap().is_some());
                let get = r.call_entity("@account@a", "get", j("null")).unwrap();
                assert!(wait(&mut r, get).unwrap().is_none());
                r.finish_turn(TurnOutcome::Waiting)
            }
            2 => {
                assert!(wait(&mut r, 1).unwrap().is_some());
                let w = r.call_entity("@account@a", "withdraw", j("1")).unwrap();
                r.call_entity("@account@b", "deposit", j("1")).unwrap();
                assert!(wait(&mut r, w).unwrap().is_none());
                r.finish_turn(TurnOutcome::Waiting)
            }
            _ => {
                assert!(wait(&mut r, 2).unwrap().is_some());
                assert!(wait(&mut r, 3).unwrap().is_some());
                r.unlock_entities().unwrap();
                r.signal_entity("@audit@log", "note", j("\"moved\""))
                    .unwrap();
                r.finish_turn(TurnOutcome::Completed(weft_core::Json::from_value("5")))
            }
        }
        .unwrap();
        kept.extend(out.new_events);
    }
    assert_eq!(
        serde_json::to_string(&kept).unwrap(),
        serde_json::to_string(&replayed).unwrap()
    );
}

/// Breaks every locking rule once, and records what each attempt gave.
fn rule_breaker(r: &mut Replay) -> Result<Option<String>, EngineError> {
    r.start()?;
    let mut seen = Vec::new();
    let mut note = |r: &mut Replay, h: u32| -> Result<(), EngineError> {
        seen.push(match r.poll_any(&[h])? {
            Some((_, Outcome::Failed(f))) => f.error_type,
            Some((_, Outcome::Completed(_))) => "ok".into(),
            None => "pending".into(),
        });
        Ok(())
    };
    let empty = r.lock_entities(&[])?;
    note(r, empty)?;
    let bad = r.lock_entities(&["not-an-entity".into()])?;
    note(r, bad)?;
    let lock = r.lock_entities(&["@e@a".into(), "@e@b".into()])?;
    // Before the grant: calling a locked entity is refused.
    let early = r.call_entity("@e@a", "op", j("null"))?;
    note(r, early)?;
    if r.poll_any(&[lock])?.is_none() {
        return Ok(None);
    }
    let nested = r.lock_entities(&["@e@c".into()])?;
    note(r, nested)?;
    let unlocked = r.call_entity("@e@c", "op", j("null"))?;
    note(r, unlocked)?;
    let signal = r.signal_entity("@e@a", "op", j("null"))?;
    note(r, signal)?;
    let child = r.call_sub_orchestrator("Child", None, j("null"), false)?;
    note(r, child)?;
    let first = r.call_entity("@e@a", "op", j("null"))?;
    let second = r.call_entity("@e@a", "op", j("null"))?;
    note(r, second)?;
    // Allowed inside: a signal to an entity outside the set, a detached start.
    let outside = r.signal_entity("@e@z", "op", j("null"))?;
    note(r, outside)?;
    if r.poll_any(&[first])?.is_none() {
        return Ok(None);
    }
    Ok(Some(seen.join(",")))
}

#[test]
fn each_locking_rule_fails_its_call_at_once_and_records_nothing() {
    let mut h = Vec::new();
    let t1 = turn(&mut h, 10, vec![start_event("null")], rule_breaker);
    let t2 = turn(&mut h, 20, vec![granted(0)], rule_breaker);
    // Only the lock request, the allowed call and the outside signal are recorded.
    let recorded: Vec<String> = h
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::EntityLockRequested { .. }
                    | EventKind::EntityOperationCalled { .. }
                    | EventKind::EntityOperationSignaled { .. }
                    | EventKind::SubOrchestrationInstanceCreated { .. }
            )
        })
        .map(|e| e.kind.describe())
        .collect();
    assert_eq!(
        recorded,
        [
            "EntityLockRequested #0 on [@e@a, @e@b]",
            "EntityOperationCalled #1 'op' on '@e@a'",
            "EntityOperationSignaled #2 'op' on '@e@z'",
        ]
    );
    assert_eq!(t1.actions.len(), 1);
    assert_eq!(t2.outcome, TurnOutcome::Waiting);
    let t3 = turn(&mut h, 30, vec![entity_done(1, "null")], rule_breaker);
    let v = LOCKING_RULES_VIOLATION;
    let expected = format!("{v},weft.InvalidEntityId,{v},{v},{v},{v},{v},{v},ok");
    assert_eq!(
        t3.outcome,
        TurnOutcome::Completed(weft_core::Json::from_value(&expected))
    );
    // It ended inside its section: the ending releases it.
    assert_eq!(
        t3.actions,
        vec![Action::ReleaseLocks {
            entities: vec![e("@e@a"), e("@e@b")],
            owner: owner(0),
        }]
    );
}

fn lock_and_fail(r: &mut Replay) -> Result<Option<String>, EngineError> {
    r.start()?;
    let lock = r.lock_entities(&["@e@a".into()])?;
    // Fails (or continues as new) before the grant has even arrived.
    let _ = lock;
    Ok(Some("x".into()))
}

#[test]
fn every_ending_releases_the_open_section_granted_or_not() {
    let release = Action::ReleaseLocks {
        entities: vec![e("@e@a")],
        owner: owner(0),
    };
    for outcome in [
        TurnOutcome::Failed(Failure::new("Boom", "it broke")),
        TurnOutcome::ContinuedAsNew {
            input: j("1"),
            preserve_unprocessed_events: false,
        },
        TurnOutcome::Completed(j("1")),
    ] {
        let mut r = Replay::new(me(), Vec::new());
        r.begin_turn(Timestamp(10), vec![start_event("null")]);
        lock_and_fail(&mut r).unwrap();
        let out = r.finish_turn(outcome.clone()).unwrap();
        assert_eq!(
            out.actions,
            vec![
                Action::RequestLocks {
                    entities: vec![e("@e@a")],
                    owner: owner(0)
                },
                release.clone()
            ],
            "{outcome:?}"
        );
    }
    // Terminate (no code runs) releases it from the history alone, and so
    // does the host when it stops an instance itself (`release_held`).
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], |r| {
        r.start()?;
        let lock = r.lock_entities(&["@e@a".into()])?;
        Ok(r.poll_any(&[lock])?.map(|_| String::new()))
    });
    let control = EventKind::ExecutionTerminated {
        reason: None,
        recurse: false,
    };
    let out = apply_control(&me(), &h, RuntimeStatus::Running, Timestamp(20), &control).unwrap();
    assert_eq!(out.actions, vec![release.clone()]);
    assert_eq!(weft_engine::release_held(&me(), &h), Some(release));
    // A released section is not released again.
    turn(&mut h, 30, vec![granted(0)], |r| {
        r.start()?;
        let lock = r.lock_entities(&["@e@a".into()])?;
        r.poll_any(&[lock])?;
        r.unlock_entities()?;
        r.unlock_entities()?; // outside a section: nothing
        Ok(None)
    });
    assert_eq!(weft_engine::release_held(&me(), &h), None);
    assert_eq!(
        h.iter()
            .filter(|e| matches!(e.kind, EventKind::EntityUnlockSent { .. }))
            .count(),
        1
    );
}

#[test]
fn a_changed_lock_set_operation_or_entity_is_nondeterminism() {
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], transfer);
    turn(&mut h, 20, vec![granted(0)], transfer);
    let changes: [Code; 3] = [
        |r| {
            r.start()?;
            r.lock_entities(&["@account@a".into(), "@account@c".into()])?;
            Ok(None)
        },
        |r| {
            r.start()?;
            let l = r.lock_entities(&["@account@a".into(), "@account@b".into()])?;
            r.poll_any(&[l])?;
            r.call_entity("@account@a", "balance", j("null"))?;
            Ok(None)
        },
        |r| {
            r.start()?;
            let l = r.lock_entities(&["@account@a".into(), "@account@b".into()])?;
            r.poll_any(&[l])?;
            r.call_entity("@account@b", "get", j("null"))?;
            Ok(None)
        },
    ];
    for (i, code) in changes.into_iter().enumerate() {
        let mut r = Replay::new(me(), h.clone());
        r.begin_turn(Timestamp(30), Vec::new());
        let err = code(&mut r).expect_err("diverges");
        let EngineError::Nondeterminism(d) = err else {
            panic!("change {i}: {err:?}")
        };
        assert!(
            d.recorded.starts_with("EntityLockRequested")
                || d.recorded.starts_with("EntityOperationCalled"),
            "change {i}: {d}"
        );
    }
    // The same code with another input is not a change (inputs are not compared).
    let mut r = Replay::new(me(), h.clone());
    r.begin_turn(Timestamp(30), Vec::new());
    r.start().unwrap();
    let l = r
        .lock_entities(&["@account@b".into(), "@account@a".into()])
        .unwrap();
    r.poll_any(&[l]).unwrap();
    r.call_entity("@account@a", "get", j("\"other\"")).unwrap();
}

/// Locks one entity, runs activity A inside the section; `"failed"` when A
/// failed (the test then ends the turn as a failure).
fn section_with_activity(r: &mut Replay) -> Result<Option<String>, EngineError> {
    r.start()?;
    let lock = r.lock_entities(&["@e@a".into()])?;
    if wait(r, lock)?.is_none() {
        return Ok(None);
    }
    let a = r.call_activity("A", j("null"))?;
    match wait(r, a)? {
        None => Ok(None),
        Some(Outcome::Completed(v)) => Ok(Some(v.as_str().to_owned())),
        Some(Outcome::Failed(_)) => Ok(Some("failed".into())),
    }
}

#[test]
fn a_rewind_requests_the_open_sections_locks_again() {
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], section_with_activity);
    turn(&mut h, 20, vec![granted(0)], section_with_activity);
    // A fails: the instance fails, and its section is released.
    let mut r = Replay::new(me(), h.clone());
    r.begin_turn(Timestamp(30), vec![failed(1, "down")]);
    assert_eq!(
        section_with_activity(&mut r).unwrap().as_deref(),
        Some("failed")
    );
    let out = r
        .finish_turn(TurnOutcome::Failed(Failure::new("Down", "A failed")))
        .unwrap();
    assert!(out.actions.contains(&Action::ReleaseLocks {
        entities: vec![e("@e@a")],
        owner: owner(0)
    }));
    h.extend(out.new_events);
    // The rewind runs A again and asks for the lock again.
    let rewind = EventKind::ExecutionRewound {
        reason: None,
        voided: Vec::new(),
    };
    let out = apply_control(&me(), &h, RuntimeStatus::Failed, Timestamp(40), &rewind).unwrap();
    assert!(
        out.actions.contains(&Action::RequestLocks {
            entities: vec![e("@e@a")],
            owner: owner(0)
        }),
        "{:?}",
        out.actions
    );
    assert!(
        out.actions
            .iter()
            .any(|a| matches!(a, Action::ScheduleActivity { name, .. } if name == "A"))
    );
    h.extend(out.new_events);
    // The second grant is a duplicate: the code goes on as before.
    let t = turn(
        &mut h,
        50,
        vec![granted(0), completed(1, "\"done\"")],
        section_with_activity,
    );
    assert!(
        matches!(t.outcome, TurnOutcome::Completed(_)),
        "{:?}",
        t.outcome
    );
}

/// Calls `withdraw` on an entity and returns its result, `"failed"` when it failed.
fn withdraw(r: &mut Replay) -> Result<Option<String>, EngineError> {
    r.start()?;
    let c = r.call_entity("@account@a", "withdraw", j("5"))?;
    Ok(match wait(r, c)? {
        None => None,
        Some(Outcome::Completed(v)) => Some(v.as_str().to_owned()),
        Some(Outcome::Failed(_)) => Some("failed".into()),
    })
}

#[test]
fn a_rewind_calls_a_failed_entity_operation_again() {
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], withdraw);
    let mut r = Replay::new(me(), h.clone());
    let failed_call = HistoryEvent::new(
        Timestamp(0),
        EventKind::EntityOperationFailed {
            scheduled_id: ScheduleId(0),
            failure: Failure::new("account.InsufficientFunds", "balance 0"),
        },
    );
    r.begin_turn(Timestamp(20), vec![failed_call]);
    assert_eq!(withdraw(&mut r).unwrap().as_deref(), Some("failed"));
    h.extend(
        r.finish_turn(TurnOutcome::Failed(Failure::new("Broke", "no money")))
            .unwrap()
            .new_events,
    );
    let rewind = EventKind::ExecutionRewound {
        reason: None,
        voided: Vec::new(),
    };
    let out = apply_control(&me(), &h, RuntimeStatus::Failed, Timestamp(30), &rewind).unwrap();
    assert_eq!(
        out.actions,
        vec![Action::CallEntity {
            entity: e("@account@a"),
            operation: "withdraw".into(),
            input: j("5"),
            caller: owner(0),
        }]
    );
    h.extend(out.new_events);
    let t = turn(&mut h, 40, vec![entity_done(0, "1")], withdraw);
    assert_eq!(t.outcome, TurnOutcome::Completed(j("\"1\"")));
}
