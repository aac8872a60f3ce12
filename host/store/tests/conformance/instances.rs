//! Instances, messages, timers, listing, components by digest, task hubs
//! as namespaces, the outbox, continue-as-new and entities.

use super::common::backend::Backend;
use super::common::*;
use weft_core::{EventKind, RuntimeStatus, Timestamp};
use weft_store::{InstanceFilter, Op, OpError, OpOutcome, StoreError, TimerEntry, TurnWrite};

use RuntimeStatus::*;

pub fn create_conflict_and_replace_terminal<B: Backend>() {
    let (_dir, store) = B::fresh();
    let a = id("a");

    let Ok(OpOutcome::Created { inbox_seq }) = one(&store, create("a", "e1", 100)) else {
        panic!("first create must succeed");
    };
    assert_eq!(
        store.instance(&a).unwrap().unwrap(),
        record("a", "e1", Pending, 100)
    );
    let inbox = store.inbox(&a).unwrap();
    assert_eq!(inbox, vec![(inbox_seq, start_message("e1"))]);

    // Not terminal: conflict, and nothing changes.
    assert_eq!(
        one(&store, create("a", "e2", 200)),
        Err(OpError::Conflict(Pending))
    );
    run_turn(&store, "a", 2, Running);
    assert_eq!(
        one(&store, create("a", "e2", 200)),
        Err(OpError::Conflict(Running))
    );
    let rec = store.instance(&a).unwrap().unwrap();
    assert_eq!(
        (rec.execution_id.0.as_str(), rec.status, rec.history_len),
        ("e1", Running, 2)
    );
    assert_eq!(store.inbox(&a).unwrap().len(), 1);

    // Give it a timer, then finish it.
    let mut t = turn(&rec, 1, Completed);
    t.timers.push(timer("a", "e1", 1, 5_000));
    one(&store, Op::Turn(t)).unwrap();
    one(
        &store,
        Op::RaiseEvent {
            instance: a.clone(),
            message: event_raised("late"),
        },
    )
    .unwrap_err();
    assert_eq!(store.timers().unwrap().len(), 1);

    // Terminal: replaced, with history, inbox and timers of the old run gone.
    let Ok(OpOutcome::Created { inbox_seq: seq2 }) = one(&store, create("a", "e2", 300)) else {
        panic!("create over a terminal instance must succeed");
    };
    assert!(seq2 > inbox_seq);
    assert_eq!(
        store.instance(&a).unwrap().unwrap(),
        record("a", "e2", Pending, 300)
    );
    assert!(store.history(&a).unwrap().is_empty());
    assert_eq!(store.inbox(&a).unwrap(), vec![(seq2, start_message("e2"))]);
    assert!(store.timers().unwrap().is_empty());

    // The indexes moved with the row: one entry, under the new status and time.
    let all = list_all(&store, &InstanceFilter::default(), 10);
    assert_eq!(all.len(), 1);
    let completed = InstanceFilter {
        statuses: vec![Completed],
        ..Default::default()
    };
    assert!(list_all(&store, &completed, 10).is_empty());
    let pending = InstanceFilter {
        statuses: vec![Pending],
        ..Default::default()
    };
    assert_eq!(list_all(&store, &pending, 10)[0].created, Timestamp(300));

    // A create must not carry history.
    let mut bad = record("b", "e1", Pending, 1);
    bad.history_len = 3;
    let op = Op::CreateInstance {
        record: bad,
        start: start_message("e1"),
    };
    assert!(matches!(one(&store, op), Err(OpError::Invalid(_))));
    assert!(store.instance(&id("b")).unwrap().is_none());
}

pub fn turn_writes_everything_and_is_fenced<B: Backend>() {
    let (_dir, store) = B::fresh();
    let a = id("a");
    let Ok(OpOutcome::Created {
        inbox_seq: start_seq,
    }) = one(&store, create("a", "e1", 100))
    else {
        panic!()
    };
    let raised = one(
        &store,
        Op::RaiseEvent {
            instance: a.clone(),
            message: event_raised("x"),
        },
    );
    let Ok(OpOutcome::Delivered {
        inbox_seq: raised_seq,
    }) = raised
    else {
        panic!()
    };

    let rec = store.instance(&a).unwrap().unwrap();
    let mut t = turn(&rec, 4, Running);
    t.consumed_inbox = vec![start_seq];
    t.activities = vec![work("a", "e1", 0), work("a", "e1", 1)];
    t.timers = vec![timer("a", "e1", 2, 9_000)];
    t.record.custom_status = Some(json(r#""working""#));
    let expected_events = t.new_events.clone();
    let Ok(OpOutcome::TurnCommitted { activity_seqs, .. }) = one(&store, Op::Turn(t.clone()))
    else {
        panic!()
    };
    assert_eq!(activity_seqs.len(), 2);
    assert!(activity_seqs[0] < activity_seqs[1]);

    let after = store.instance(&a).unwrap().unwrap();
    assert_eq!(after, t.record);
    assert_eq!(store.history(&a).unwrap(), expected_events);
    assert_eq!(
        store.inbox(&a).unwrap(),
        vec![(raised_seq, event_raised("x"))]
    );
    let queue = store.activity_queue().unwrap();
    assert_eq!(
        queue,
        vec![
            (activity_seqs[0], work("a", "e1", 0)),
            (activity_seqs[1], work("a", "e1", 1))
        ]
    );
    assert_eq!(store.timers().unwrap(), vec![timer("a", "e1", 2, 9_000)]);

    // Replaying the same turn (stale history length) is rejected and writes nothing.
    let stale = one(&store, Op::Turn(t.clone()));
    assert_eq!(
        stale,
        Err(OpError::Stale {
            instance: a.clone(),
            expected_execution: exec("e1"),
            expected_history_len: 0,
            found_execution: exec("e1"),
            found_history_len: 4,
        })
    );
    // Wrong execution: also stale.
    let mut other = turn(&after, 1, Running);
    other.expected_execution = exec("e0");
    other.record.execution_id = exec("e0");
    assert!(matches!(
        one(&store, Op::Turn(other)),
        Err(OpError::Stale { .. })
    ));
    // Unknown instance.
    let mut ghost = turn(&after, 1, Running);
    ghost.instance = id("ghost");
    ghost.record.instance_id = id("ghost");
    assert_eq!(one(&store, Op::Turn(ghost)), Err(OpError::NotFound));
    // Self-contradicting turn: history_len does not match the new events.
    let mut invalid = turn(&after, 2, Running);
    invalid.record.history_len = 99;
    assert!(matches!(
        one(&store, Op::Turn(invalid)),
        Err(OpError::Invalid(_))
    ));
    // A turn touching another instance's timer.
    let mut foreign = turn(&after, 1, Running);
    foreign.timers.push(timer("b", "e1", 1, 1));
    assert!(matches!(
        one(&store, Op::Turn(foreign)),
        Err(OpError::Invalid(_))
    ));

    assert_eq!(store.instance(&a).unwrap().unwrap(), after);
    assert_eq!(store.history(&a).unwrap().len(), 4);
    assert_eq!(store.activity_queue().unwrap().len(), 2);
    assert_eq!(store.timers().unwrap().len(), 1);
    assert_eq!(store.inbox(&a).unwrap().len(), 1);

    // The next turn appends after the first.
    let next = run_turn(&store, "a", 3, Running);
    assert_eq!(next.history_len, 7);
    let history = store.history(&a).unwrap();
    assert_eq!(history.len(), 7);
    assert_eq!(history[..4], expected_events[..]);
}

pub fn activity_completion_is_deduplicated<B: Backend>() {
    let (_dir, store) = B::fresh();
    let a = id("a");
    one(&store, create("a", "e1", 1)).unwrap();
    let rec = store.instance(&a).unwrap().unwrap();
    let mut t = turn(&rec, 2, Running);
    t.consumed_inbox = store.inbox(&a).unwrap().iter().map(|(s, _)| *s).collect();
    t.activities = vec![work("a", "e1", 0)];
    let Ok(OpOutcome::TurnCommitted { activity_seqs, .. }) = one(&store, Op::Turn(t)) else {
        panic!()
    };
    let seq = activity_seqs[0];

    let complete = || Op::CompleteActivity {
        queue_seq: seq,
        message: task_completed(Some("e1"), 0),
    };
    // Twice in one batch and once more later: delivered exactly once.
    let results = store.commit(vec![complete(), complete()]).unwrap();
    assert!(matches!(results[0], Ok(OpOutcome::Delivered { .. })));
    assert_eq!(results[1], Ok(OpOutcome::Dropped));
    assert_eq!(one(&store, complete()), Ok(OpOutcome::Dropped));

    let inbox = store.inbox(&a).unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].1, task_completed(Some("e1"), 0));
    assert!(store.activity_queue().unwrap().is_empty());
}

pub fn messages_for_an_old_execution_or_finished_instance_are_dropped<B: Backend>() {
    let (_dir, store) = B::fresh();
    let a = id("a");
    one(&store, create("a", "e1", 1)).unwrap();
    let rec = store.instance(&a).unwrap().unwrap();
    let mut t = turn(&rec, 2, Running);
    t.activities = vec![work("a", "e1", 0), work("a", "e1", 1), work("a", "e1", 2)];
    t.timers = vec![timer("a", "e1", 3, 50)];
    let Ok(OpOutcome::TurnCommitted {
        activity_seqs: s, ..
    }) = one(&store, Op::Turn(t))
    else {
        panic!()
    };

    // A result that names another execution than its work item's.
    let mismatched = Op::CompleteActivity {
        queue_seq: s[0],
        message: task_completed(Some("e0"), 0),
    };
    assert_eq!(one(&store, mismatched), Ok(OpOutcome::Dropped));
    assert_eq!(
        store.activity_queue().unwrap().len(),
        2,
        "the work item is consumed"
    );

    // The instance finishes: results for it are dropped, and the work item goes.
    run_turn(&store, "a", 1, Failed);
    let late = Op::CompleteActivity {
        queue_seq: s[1],
        message: task_completed(Some("e1"), 1),
    };
    assert_eq!(one(&store, late), Ok(OpOutcome::Dropped));

    // Restarted as e2: the old execution's result is dropped.
    one(&store, create("a", "e2", 2)).unwrap();
    let inbox_before = store.inbox(&a).unwrap();
    let old = Op::CompleteActivity {
        queue_seq: s[2],
        message: task_completed(None, 2),
    };
    assert_eq!(one(&store, old), Ok(OpOutcome::Dropped));
    assert_eq!(store.inbox(&a).unwrap(), inbox_before);
    assert!(store.activity_queue().unwrap().is_empty());

    // A timer of e1 re-created under e2's name but fired for e1 is dropped too.
    let rec = store.instance(&a).unwrap().unwrap();
    let mut t = turn(&rec, 1, Running);
    t.timers = vec![TimerEntry {
        key: timer_key("a", 3, 60),
        execution: exec("e2"),
    }];
    one(&store, Op::Turn(t)).unwrap();
    let fired = Op::FireTimer {
        key: timer_key("a", 3, 60),
        message: timer_fired("e1", 3, 60),
    };
    assert_eq!(one(&store, fired), Ok(OpOutcome::Dropped));
    assert!(store.timers().unwrap().is_empty());
    assert_eq!(store.inbox(&a).unwrap(), inbox_before);

    // Work item of an instance that no longer exists at all.
    let fired = Op::FireTimer {
        key: timer_key("zz", 1, 1),
        message: timer_fired("e1", 1, 1),
    };
    assert_eq!(one(&store, fired), Ok(OpOutcome::Dropped));
}

pub fn timers_insert_cancel_fire<B: Backend>() {
    let (_dir, store) = B::fresh();
    let a = id("a");
    one(&store, create("a", "e1", 1)).unwrap();
    one(&store, create("b", "e1", 1)).unwrap();
    let rec = store.instance(&a).unwrap().unwrap();
    let mut t = turn(&rec, 2, Running);
    t.timers = vec![
        timer("a", "e1", 1, 300),
        timer("a", "e1", 2, 100),
        timer("a", "e1", 3, 200),
    ];
    one(&store, Op::Turn(t)).unwrap();
    let rec_b = store.instance(&id("b")).unwrap().unwrap();
    let mut t = turn(&rec_b, 2, Running);
    t.timers = vec![timer("b", "e1", 1, 150)];
    one(&store, Op::Turn(t)).unwrap();

    let due: Vec<u64> = store
        .timers()
        .unwrap()
        .iter()
        .map(|t| t.key.fire_at.0)
        .collect();
    assert_eq!(
        due,
        vec![100, 150, 200, 300],
        "timers are read in due order"
    );

    // Cancel one, and re-set another to a new due time.
    let rec = store.instance(&a).unwrap().unwrap();
    let mut t = turn(&rec, 1, Running);
    t.cancel_timers = vec![timer_key("a", 3, 200), timer_key("a", 9, 1)];
    t.timers = vec![timer("a", "e1", 1, 400)];
    one(&store, Op::Turn(t)).unwrap();
    let keys: Vec<(u64, String, u32)> = store
        .timers()
        .unwrap()
        .into_iter()
        .map(|t| {
            (
                t.key.fire_at.0,
                t.key.instance.to_string(),
                t.key.timer_id.0,
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            (100, "a".into(), 2),
            (150, "b".into(), 1),
            (400, "a".into(), 1)
        ]
    );

    // Fire: delivered once; a second fire and a fire of a cancelled timer drop.
    let fire = || Op::FireTimer {
        key: timer_key("a", 2, 100),
        message: timer_fired("e1", 2, 100),
    };
    assert!(matches!(
        one(&store, fire()),
        Ok(OpOutcome::Delivered { .. })
    ));
    assert_eq!(one(&store, fire()), Ok(OpOutcome::Dropped));
    let cancelled = Op::FireTimer {
        key: timer_key("a", 3, 200),
        message: timer_fired("e1", 3, 200),
    };
    assert_eq!(one(&store, cancelled), Ok(OpOutcome::Dropped));
    let inbox = store.inbox(&a).unwrap();
    assert_eq!(inbox.last().unwrap().1, timer_fired("e1", 2, 100));
    assert_eq!(
        inbox
            .iter()
            .filter(|(_, m)| matches!(m.kind(), EventKind::TimerFired { .. }))
            .count(),
        1
    );
    assert_eq!(store.timers().unwrap().len(), 2);
}

pub fn raise_event_needs_a_live_instance<B: Backend>() {
    let (_dir, store) = B::fresh();
    let a = id("a");
    let raise = |i: &str| Op::RaiseEvent {
        instance: id(i),
        message: event_raised("go"),
    };
    assert_eq!(one(&store, raise("a")), Err(OpError::NotFound));
    one(&store, create("a", "e1", 1)).unwrap();
    let Ok(OpOutcome::Delivered { inbox_seq }) = one(&store, raise("a")) else {
        panic!()
    };
    assert_eq!(
        store.inbox(&a).unwrap().last().unwrap(),
        &(inbox_seq, event_raised("go"))
    );
    run_turn(&store, "a", 1, Suspended);
    assert!(matches!(
        one(&store, raise("a")),
        Ok(OpOutcome::Delivered { .. })
    ));
    run_turn(&store, "a", 1, Terminated);
    assert_eq!(one(&store, raise("a")), Err(OpError::Gone(Terminated)));
    assert_eq!(store.inbox(&a).unwrap().len(), 3);
}

pub fn a_rejected_op_leaves_no_trace_while_its_neighbours_commit<B: Backend>() {
    let (_dir, store) = B::fresh();
    one(&store, create("a", "e1", 1)).unwrap();
    let a_before = store.instance(&id("a")).unwrap().unwrap();
    let a_inbox = store.inbox(&id("a")).unwrap();
    let stats_before = store.stats();

    let mut stale = turn(&a_before, 3, Running);
    stale.expected_history_len = 1;
    stale.activities = vec![work("a", "e1", 0)];
    stale.timers = vec![timer("a", "e1", 1, 10)];
    let results = store
        .commit(vec![
            create("b", "e1", 2),
            Op::RaiseEvent {
                instance: id("b"),
                message: event_raised("sees b"),
            },
            create("a", "e9", 3),
            Op::Turn(stale),
            Op::RaiseEvent {
                instance: id("nobody"),
                message: event_raised("x"),
            },
            create("c", "e1", 4),
        ])
        .unwrap();
    assert!(matches!(results[0], Ok(OpOutcome::Created { .. })));
    assert!(
        matches!(results[1], Ok(OpOutcome::Delivered { .. })),
        "ops see earlier ops"
    );
    assert_eq!(results[2], Err(OpError::Conflict(Pending)));
    assert!(matches!(results[3], Err(OpError::Stale { .. })));
    assert_eq!(results[4], Err(OpError::NotFound));
    assert!(matches!(results[5], Ok(OpOutcome::Created { .. })));
    assert_eq!(store.stats().commits, stats_before.commits + 1);

    assert_eq!(store.instance(&id("a")).unwrap().unwrap(), a_before);
    assert_eq!(store.inbox(&id("a")).unwrap(), a_inbox);
    assert!(store.history(&id("a")).unwrap().is_empty());
    assert!(store.activity_queue().unwrap().is_empty());
    assert!(store.timers().unwrap().is_empty());
    assert!(store.instance(&id("nobody")).unwrap().is_none());
    assert_eq!(store.inbox(&id("b")).unwrap().len(), 2);
    assert!(store.instance(&id("c")).unwrap().is_some());
    let ids: Vec<String> = list_all(&store, &InstanceFilter::default(), 10)
        .into_iter()
        .map(|r| r.instance_id.to_string())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
}

pub fn reopen_keeps_everything_and_sequences_keep_increasing<B: Backend>() {
    let (place, store) = B::fresh();
    let (inbox_max, activity_max, snapshot);
    {
        one(&store, create("a", "e1", 1)).unwrap();
        let rec = store.instance(&id("a")).unwrap().unwrap();
        let mut t = turn(&rec, 3, Running);
        t.activities = vec![work("a", "e1", 0)];
        t.timers = vec![timer("a", "e1", 1, 77)];
        let Ok(OpOutcome::TurnCommitted { activity_seqs, .. }) = one(&store, Op::Turn(t)) else {
            panic!()
        };
        let Ok(OpOutcome::Delivered { inbox_seq }) = one(
            &store,
            Op::RaiseEvent {
                instance: id("a"),
                message: event_raised("e"),
            },
        ) else {
            panic!()
        };
        one(
            &store,
            Op::PutComponent {
                digest: "sha256:abc".into(),
                bytes: vec![0, 97, 115, 109],
            },
        )
        .unwrap();
        (inbox_max, activity_max) = (inbox_seq, activity_seqs[0]);
        snapshot = (
            store.instance(&id("a")).unwrap(),
            store.history(&id("a")).unwrap(),
            store.all_inboxes().unwrap(),
            store.activity_queue().unwrap(),
            store.timers().unwrap(),
        );
    }
    drop(store);
    let store = B::reopen(&place);
    assert_eq!(store.instance(&id("a")).unwrap(), snapshot.0);
    assert_eq!(store.history(&id("a")).unwrap(), snapshot.1);
    assert_eq!(store.all_inboxes().unwrap(), snapshot.2);
    assert_eq!(store.activity_queue().unwrap(), snapshot.3);
    assert_eq!(store.timers().unwrap(), snapshot.4);
    assert_eq!(
        store.component("sha256:abc").unwrap(),
        Some(vec![0, 97, 115, 109])
    );
    assert_eq!(store.component("sha256:none").unwrap(), None);

    let Ok(OpOutcome::Created { inbox_seq }) = one(&store, create("b", "e1", 2)) else {
        panic!()
    };
    assert!(
        inbox_seq > inbox_max,
        "inbox seq {inbox_seq} repeats after reopen"
    );
    let rec = store.instance(&id("b")).unwrap().unwrap();
    let mut t = turn(&rec, 1, Running);
    t.activities = vec![work("b", "e1", 0)];
    let Ok(OpOutcome::TurnCommitted { activity_seqs, .. }) = one(&store, Op::Turn(t)) else {
        panic!()
    };
    assert!(
        activity_seqs[0] > activity_max,
        "activity seq repeats after reopen"
    );
}

pub fn put_component_is_idempotent<B: Backend>() {
    let (_dir, store) = B::fresh();
    let put = |b: &[u8]| Op::PutComponent {
        digest: "d".into(),
        bytes: b.to_vec(),
    };
    assert_eq!(one(&store, put(b"first")), Ok(OpOutcome::Done));
    assert_eq!(one(&store, put(b"first")), Ok(OpOutcome::Done));
    assert_eq!(
        store.component("d").unwrap().as_deref(),
        Some(&b"first"[..])
    );
}

pub fn all_inboxes_groups_by_instance<B: Backend>() {
    let (_dir, store) = B::fresh();
    store
        .commit(vec![
            create("b", "e1", 1),
            create("a", "e1", 1),
            Op::RaiseEvent {
                instance: id("b"),
                message: event_raised("1"),
            },
            create("c", "e1", 1),
        ])
        .unwrap();
    let rec = store.instance(&id("c")).unwrap().unwrap();
    let mut t: TurnWrite = turn(&rec, 1, Running);
    t.consumed_inbox = store
        .inbox(&id("c"))
        .unwrap()
        .iter()
        .map(|(s, _)| *s)
        .collect();
    one(&store, Op::Turn(t)).unwrap();
    let all = store.all_inboxes().unwrap();
    let shape: Vec<(String, usize)> = all.iter().map(|(i, m)| (i.to_string(), m.len())).collect();
    assert_eq!(shape, vec![("a".into(), 1), ("b".into(), 2)]);
    assert!(all[1].1[0].0 < all[1].1[1].0);
}

/// Pages through a listing, checking page sizes and that tokens end it.
fn list_all(
    store: &impl Api,
    filter: &InstanceFilter,
    top: usize,
) -> Vec<weft_store::InstanceRecord> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (page, next) = store.list_instances(filter, top, token.as_deref()).unwrap();
        assert!(page.len() <= top);
        out.extend(page.iter().cloned());
        match next {
            Some(t) => {
                assert_eq!(page.len(), top, "only a full page has a continuation");
                token = Some(t);
            }
            None => return out,
        }
    }
}

pub fn list_instances_filters_and_pages<B: Backend>() {
    let (_dir, store) = B::fresh();
    // 60 instances; created times repeat (ties are ordered by ID); statuses vary.
    let statuses = [Pending, Running, Completed, Failed, Terminated, Suspended];
    let mut expected = Vec::new();
    let mut ops = Vec::new();
    for i in 0..60u64 {
        let name = format!(
            "{}-{:02}",
            if i % 3 == 0 { "order" } else { "user" },
            (i * 37) % 60
        );
        let created = 1_000 + (i / 4) * 10;
        ops.push(create(&name, "e1", created));
        expected.push((created, name, statuses[i as usize % statuses.len()]));
    }
    store.commit(ops).unwrap();
    for (_, name, status) in &expected {
        if *status != Pending {
            run_turn(&store, name, 1, *status);
        }
    }
    expected.sort();

    let keys = |records: Vec<weft_store::InstanceRecord>| -> Vec<(u64, String, RuntimeStatus)> {
        records
            .into_iter()
            .map(|r| (r.created.0, r.instance_id.to_string(), r.status))
            .collect()
    };
    let check = |filter: InstanceFilter| {
        let want: Vec<_> = expected
            .iter()
            .filter(|(c, n, s)| {
                filter.created_from.is_none_or(|t| *c >= t.0)
                    && filter.created_to.is_none_or(|t| *c <= t.0)
                    && (filter.statuses.is_empty() || filter.statuses.contains(s))
                    && filter.id_prefix.as_deref().is_none_or(|p| n.starts_with(p))
            })
            .cloned()
            .collect();
        for top in [1, 7, 60, 100] {
            assert_eq!(
                keys(list_all(&store, &filter, top)),
                want,
                "{filter:?} top {top}"
            );
        }
        want.len()
    };

    assert_eq!(check(InstanceFilter::default()), 60);
    assert_eq!(
        check(InstanceFilter {
            statuses: vec![Running],
            ..Default::default()
        }),
        10
    );
    assert_eq!(
        check(InstanceFilter {
            statuses: vec![Failed, Running, Failed],
            ..Default::default()
        }),
        20
    );
    let range = InstanceFilter {
        created_from: Some(Timestamp(1_030)),
        created_to: Some(Timestamp(1_080)),
        ..Default::default()
    };
    assert_eq!(check(range.clone()), 24, "both ends inclusive");
    assert_eq!(
        check(InstanceFilter {
            id_prefix: Some("order".into()),
            ..Default::default()
        }),
        20
    );
    let all_of_it = InstanceFilter {
        statuses: vec![Completed, Pending, Suspended],
        id_prefix: Some("user-".into()),
        ..range
    };
    assert!(check(all_of_it) > 0);
    assert_eq!(
        check(InstanceFilter {
            created_from: Some(Timestamp(5_000)),
            ..Default::default()
        }),
        0
    );
    assert_eq!(
        check(InstanceFilter {
            created_from: Some(Timestamp(2)),
            created_to: Some(Timestamp(1)),
            ..Default::default()
        }),
        0
    );

    // A short page of a longer listing carries a token; a malformed token is a caller error.
    let filter = InstanceFilter {
        statuses: vec![Running],
        ..Default::default()
    };
    let (first, token) = store.list_instances(&filter, 3, None).unwrap();
    assert_eq!(first.len(), 3);
    assert!(token.is_some());

    for bad in ["nonsense", "1zz", ""] {
        let err = store.list_instances(&filter, 3, Some(bad)).unwrap_err();
        assert!(
            matches!(err, StoreError::BadContinuation(_)),
            "{bad}: {err}"
        );
        assert_eq!(err.kind(), weft_store::ErrorKind::Caller);
    }
}

pub fn task_hubs_share_the_backend_and_nothing_else<B: Backend>() {
    let (place, default) = B::fresh();
    {
        assert_eq!(default.task_hub().as_str(), "default");
        let other = default
            .hub(&weft_store::Hub::new("billing").unwrap())
            .unwrap();
        one(&default, create("a", "e1", 1)).unwrap();
        assert!(other.instance(&id("a")).unwrap().is_none());
        assert!(matches!(
            one(&other, create("a", "e2", 2)),
            Ok(OpOutcome::Created { .. })
        ));
        assert_eq!(
            default.instance(&id("a")).unwrap().unwrap().execution_id,
            exec("e1")
        );
        assert_eq!(
            other.instance(&id("a")).unwrap().unwrap().execution_id,
            exec("e2")
        );
    }
    drop(default);
    let reopened = B::reopen(&place);
    let other = reopened
        .hub(&weft_store::Hub::new("billing").unwrap())
        .unwrap();
    assert_eq!(
        other.instance(&id("a")).unwrap().unwrap().execution_id,
        exec("e2")
    );
    assert!(weft_store::Hub::new("a/b").is_err());
    assert!(weft_store::Hub::new("").is_err());
}

/// A message from a parent's turn to child `c` or elsewhere.
fn child_start(child: &str, parent: &str, refused: bool) -> weft_store::Outgoing {
    let mut rec = record(child, "c1", Pending, 50);
    rec.parent = Some(weft_core::ParentInstance {
        instance_id: id(parent),
        execution_id: exec("e1"),
        schedule_id: weft_core::ScheduleId(0),
    });
    weft_store::Outgoing::Start {
        record: Box::new(rec),
        start: start_message("c1"),
        refused: refused.then(|| task_completed(Some("e1"), 0)),
    }
}

fn deliver(instance: &str, message: weft_core::Message) -> weft_store::Outgoing {
    weft_store::Outgoing::Deliver {
        instance: id(instance),
        message,
    }
}

pub fn outbox_is_written_with_the_turn_or_not_at_all<B: Backend>() {
    let (_dir, store) = B::fresh();
    one(&store, create("p", "e1", 1)).unwrap();
    let rec = run_turn(&store, "p", 2, Running);

    // A stale turn writes none of its outbox.
    let mut stale = turn(&rec, 1, Running);
    stale.expected_history_len = 7;
    stale.outbox = vec![child_start("c", "p", true), deliver("p", event_raised("x"))];
    assert!(matches!(
        one(&store, Op::Turn(stale)),
        Err(OpError::Stale { .. })
    ));
    assert!(store.instance(&id("c")).unwrap().is_none());

    let mut t = turn(&rec, 1, Running);
    t.outbox = vec![
        child_start("c", "p", true),
        // The parent's own ID is never free: refused back to the parent.
        child_start("p", "p", true),
        deliver("c", event_raised("hello")),
        // Unknown instance, and an execution the target does not run: dropped.
        deliver("nobody", event_raised("lost")),
        deliver("c", task_completed(Some("other"), 3)),
    ];
    let Ok(OpOutcome::TurnCommitted { delivered, .. }) = one(&store, Op::Turn(t)) else {
        panic!("the turn commits whatever its outbox meets")
    };
    let shape: Vec<(String, &str)> = delivered
        .iter()
        .map(|(i, _, m)| (i.to_string(), m.kind().type_name()))
        .collect();
    assert_eq!(
        shape,
        [
            ("c".into(), "ExecutionStarted"),
            ("p".into(), "TaskCompleted"),
            ("c".into(), "EventRaised"),
        ]
    );
    let child = store.instance(&id("c")).unwrap().unwrap();
    assert_eq!(child.parent.as_ref().unwrap().instance_id, id("p"));
    let inbox: Vec<u64> = store
        .inbox(&id("c"))
        .unwrap()
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(inbox, [delivered[0].1, delivered[2].1]);
    assert_eq!(
        store.inbox(&id("p")).unwrap().last().unwrap().0,
        delivered[1].1
    );

    // A child ID taken by an unfinished instance is refused to the sender.
    let rec = store.instance(&id("p")).unwrap().unwrap();
    let mut again = turn(&rec, 1, Running);
    again.outbox = vec![child_start("c", "p", true)];
    let Ok(OpOutcome::TurnCommitted { delivered, .. }) = one(&store, Op::Turn(again)) else {
        panic!()
    };
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].0, id("p"));
    assert_eq!(store.instance(&id("c")).unwrap().unwrap(), child);

    // Reports reach a parent only while it runs the execution they name.
    let crec = store.instance(&id("c")).unwrap().unwrap();
    let mut done = turn(&crec, 1, Completed);
    done.outbox = vec![
        deliver("p", task_completed(Some("e1"), 0)),
        deliver("p", task_completed(Some("e0"), 0)),
    ];
    let Ok(OpOutcome::TurnCommitted { delivered, .. }) = one(&store, Op::Turn(done)) else {
        panic!()
    };
    assert_eq!(delivered.len(), 1);
}

pub fn rewind_in_the_outbox_rewinds_a_failed_child_or_starts_it<B: Backend>() {
    let (_dir, store) = B::fresh();
    one(&store, create("p", "e1", 1)).unwrap();
    one(&store, create("c", "c0", 1)).unwrap();
    run_turn(&store, "c", 2, Failed);
    let rec = run_turn(&store, "p", 2, Running);
    let rewind = |child: &str| weft_store::Outgoing::Rewind {
        instance: id(child),
        rewind: weft_core::Message::new(weft_core::HistoryEvent::new(
            Timestamp(3),
            EventKind::ExecutionRewound {
                reason: None,
                voided: Vec::new(),
            },
        )),
        start: Box::new(child_start(child, "p", false)),
    };
    let mut t = turn(&rec, 1, Running);
    t.outbox = vec![rewind("c"), rewind("gone")];
    let Ok(OpOutcome::TurnCommitted { delivered, .. }) = one(&store, Op::Turn(t)) else {
        panic!()
    };
    let shape: Vec<(String, &str)> = delivered
        .iter()
        .map(|(i, _, m)| (i.to_string(), m.kind().type_name()))
        .collect();
    assert_eq!(
        shape,
        [
            ("c".into(), "ExecutionRewound"),
            ("gone".into(), "ExecutionStarted"),
        ]
    );
    // The failed child keeps its execution and history: it is rewound, not replaced.
    let c = store.instance(&id("c")).unwrap().unwrap();
    assert_eq!((c.execution_id, c.history_len), (exec("c0"), 2));
}

pub fn continue_as_new_replaces_the_history_and_keeps_the_inbox<B: Backend>() {
    let (_dir, store) = B::fresh();
    one(&store, create("a", "e1", 1)).unwrap();
    let start_seq = store.inbox(&id("a")).unwrap()[0].0;
    let rec = run_turn(&store, "a", 3, Running);
    let Ok(OpOutcome::Delivered { inbox_seq: late }) = one(
        &store,
        Op::RaiseEvent {
            instance: id("a"),
            message: event_raised("late"),
        },
    ) else {
        panic!()
    };

    // Refused unless the record is another execution with an empty history.
    let mut bad = turn(&rec, 0, ContinuedAsNew);
    bad.continue_as_new = Some(vec![start_message("e2")]);
    assert!(matches!(
        one(&store, Op::Turn(bad)),
        Err(OpError::Invalid(_))
    ));
    assert_eq!(store.history(&id("a")).unwrap().len(), 3);

    let mut t = turn(&rec, 0, ContinuedAsNew);
    t.record.execution_id = exec("e2");
    t.record.history_len = 0;
    t.consumed_inbox = vec![start_seq];
    t.continue_as_new = Some(vec![start_message("e2"), event_raised("carried")]);
    let Ok(OpOutcome::TurnCommitted { delivered, .. }) = one(&store, Op::Turn(t)) else {
        panic!()
    };
    assert_eq!(delivered.len(), 2);
    assert!(store.history(&id("a")).unwrap().is_empty());
    let row = store.instance(&id("a")).unwrap().unwrap();
    assert_eq!(
        (row.execution_id.clone(), row.status, row.history_len),
        (exec("e2"), ContinuedAsNew, 0)
    );
    // The event that arrived during the last episode stays, before the new start.
    let inbox: Vec<u64> = store
        .inbox(&id("a"))
        .unwrap()
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(inbox, [late, delivered[0].1, delivered[1].1]);
    // The next execution's turns are fenced on it.
    let next = run_turn(&store, "a", 2, Running);
    assert_eq!(next.history_len, 2);
}

/// Runs every case above against each backend listed: `module: Backend`.
fn entity(text: &str) -> weft_core::EntityId {
    weft_core::EntityId::parse(text).unwrap()
}

fn operation(op: &str, caller: Option<weft_core::ParentInstance>) -> weft_core::Message {
    weft_core::Message::new(weft_core::HistoryEvent::new(
        Timestamp(40),
        EventKind::EntityOperationRequested {
            operation: op.into(),
            input: json("1"),
            caller,
        },
    ))
}

fn entity_row(text: &str, state: Option<&str>, at: u64) -> weft_store::EntityRecord {
    weft_store::EntityRecord {
        entity: entity(text),
        state: state.map(json),
        locked_by: None,
        last_operation: Timestamp(at),
    }
}

pub fn entity_messages_wait_in_its_inbox_and_a_turn_commits_state_and_outbox<B: Backend>() {
    let (place, store) = B::fresh();
    let counter = entity("@counter@a");
    let me = counter.instance_id();
    // A client's signal, and a message in an orchestration's outbox: both
    // reach the entity's inbox although no row exists yet.
    let Ok(OpOutcome::Delivered { inbox_seq: first }) = one(
        &store,
        Op::SignalEntity {
            entity: counter.clone(),
            message: operation("add", None),
        },
    ) else {
        panic!("a signal is always delivered")
    };
    one(&store, create("o", "e1", 100)).unwrap();
    let rec = run_turn(&store, "o", 2, Running);
    let caller = weft_core::ParentInstance {
        instance_id: id("o"),
        execution_id: rec.execution_id.clone(),
        schedule_id: weft_core::ScheduleId(0),
    };
    let mut t = turn(&rec, 1, Running);
    t.outbox.push(weft_store::Outgoing::Deliver {
        instance: me.clone(),
        message: operation("get", Some(caller.clone())),
    });
    let Ok(OpOutcome::TurnCommitted { delivered, .. }) = one(&store, Op::Turn(t)) else {
        panic!("turn commits")
    };
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].0, me);
    assert!(
        store.entity(&counter).unwrap().is_none(),
        "no row before its first turn"
    );
    let inbox = store.inbox(&me).unwrap();
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[0].0, first);
    assert!(
        store.all_inboxes().unwrap().iter().any(|(i, _)| *i == me),
        "recovery finds entity inboxes"
    );

    // The entity's turn: state, both messages consumed, the answer to the caller.
    let answer = weft_core::Message::for_execution(
        rec.execution_id.clone(),
        weft_core::HistoryEvent::new(
            Timestamp(50),
            EventKind::EntityOperationCompleted {
                scheduled_id: weft_core::ScheduleId(0),
                result: json("1"),
            },
        ),
    );
    let write = weft_store::EntityWrite {
        record: entity_row("@counter@a", Some("1"), 50),
        consumed_inbox: inbox.iter().map(|(s, _)| *s).collect(),
        outbox: vec![weft_store::Outgoing::Deliver {
            instance: id("o"),
            message: answer.clone(),
        }],
    };
    let Ok(OpOutcome::TurnCommitted { delivered, .. }) = one(&store, Op::EntityTurn(write)) else {
        panic!("entity turn commits")
    };
    assert_eq!(delivered.len(), 1);
    assert!(store.inbox(&me).unwrap().is_empty());
    assert!(
        store
            .inbox(&id("o"))
            .unwrap()
            .iter()
            .any(|(_, m)| *m == answer)
    );
    drop(store);
    let store = B::reopen(&place);
    assert_eq!(
        store.entity(&counter).unwrap(),
        Some(entity_row("@counter@a", Some("1"), 50)),
        "the row survives a reopen"
    );
}

pub fn entities_list_by_name_time_and_page_and_clean_removes_only_empty_ones<B: Backend>() {
    let (_place, store) = B::fresh();
    let rows = [
        ("@account@a", Some("1"), 10),
        ("@account@b", None, 20),
        ("@account@c", Some("3"), 30),
        ("@account@d", None, 40),
        ("@accounts@x", Some("5"), 50),
        ("@counter@z", Some("6"), 60),
    ];
    for (text, state, at) in rows {
        let write = weft_store::EntityWrite {
            record: entity_row(text, state, at),
            consumed_inbox: Vec::new(),
            outbox: Vec::new(),
        };
        one(&store, Op::EntityTurn(write)).unwrap();
    }
    // A message waits for the stateless @account@d: it is not empty.
    one(
        &store,
        Op::SignalEntity {
            entity: entity("@account@d"),
            message: operation("add", None),
        },
    )
    .unwrap();
    let ids = |q: &weft_store::EntityQuery| -> (Vec<String>, Option<String>) {
        let (page, next) = store.list_entities(q).unwrap();
        (page.iter().map(|r| r.entity.to_string()).collect(), next)
    };
    let name = |n: &str| weft_store::EntityQuery {
        name: Some(n.into()),
        ..Default::default()
    };
    assert_eq!(ids(&name("account")).0, ["@account@a", "@account@c"]);
    assert_eq!(
        ids(&weft_store::EntityQuery {
            include_empty: true,
            ..name("account")
        })
        .0,
        ["@account@a", "@account@b", "@account@c", "@account@d"]
    );
    assert_eq!(
        ids(&weft_store::EntityQuery {
            last_operation_from: Some(Timestamp(25)),
            last_operation_to: Some(Timestamp(55)),
            ..Default::default()
        })
        .0,
        ["@account@c", "@accounts@x"]
    );
    // Pages of two, continued after the last ID.
    let mut q = weft_store::EntityQuery {
        top: 2,
        ..Default::default()
    };
    let mut all = Vec::new();
    loop {
        let (page, next) = ids(&q);
        all.extend(page);
        match next {
            Some(after) => q.after = Some(after),
            None => break,
        }
    }
    assert_eq!(
        all,
        ["@account@a", "@account@c", "@accounts@x", "@counter@z"]
    );

    assert_eq!(
        one(&store, Op::CleanEntities { limit: 100 }),
        Ok(OpOutcome::Purged { instances: 1 }),
        "only @account@b has no state, no lock and no message waiting"
    );
    assert!(store.entity(&entity("@account@b")).unwrap().is_none());
    assert!(store.entity(&entity("@account@d")).unwrap().is_some());
}

/// A turn that consumed an inbox message another turn already took ran on
/// a stale view: refused with `Consumed`, nothing written; so is a turn
/// that names a message that never was.
pub fn a_turn_may_consume_each_message_once<B: Backend>() {
    let (_dir, store) = B::fresh();
    let a = id("a");
    let Ok(OpOutcome::Created { inbox_seq }) = one(&store, create("a", "e1", 100)) else {
        panic!()
    };
    let rec = store.instance(&a).unwrap().unwrap();
    let mut t = turn(&rec, 2, Running);
    t.consumed_inbox = vec![inbox_seq];
    assert!(matches!(
        one(&store, Op::Turn(t)),
        Ok(OpOutcome::TurnCommitted { .. })
    ));
    // The same message again, on the current row: refused.
    let rec = store.instance(&a).unwrap().unwrap();
    let mut again = turn(&rec, 2, Running);
    again.consumed_inbox = vec![inbox_seq];
    assert_eq!(
        one(&store, Op::Turn(again.clone())),
        Err(OpError::Consumed {
            instance: a.clone(),
            seq: inbox_seq,
        })
    );
    again.consumed_inbox = vec![inbox_seq + 1000];
    assert_eq!(
        one(&store, Op::Turn(again)),
        Err(OpError::Consumed {
            instance: a.clone(),
            seq: inbox_seq + 1000,
        })
    );
    assert_eq!(store.instance(&a).unwrap().unwrap(), rec, "nothing written");
    assert_eq!(store.history(&a).unwrap().len(), 2);
}
