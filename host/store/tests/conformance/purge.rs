//! Purge: by ID and by filter, only ever terminal instances, and all
//! of an instance or nothing of it.

use std::collections::BTreeSet;

use super::common::backend::{Backend, Sut};
use super::common::*;
use weft_core::{RuntimeStatus, Timestamp};
use weft_store::{InstanceFilter, Op, OpError, OpOutcome};

use RuntimeStatus::*;

const NON_TERMINAL: [RuntimeStatus; 4] = [Pending, Running, ContinuedAsNew, Suspended];
const TERMINAL: [RuntimeStatus; 3] = [Completed, Failed, Terminated];

fn purge(instance: &str) -> Op {
    Op::Purge {
        instance: id(instance),
    }
}

fn purged(n: u64) -> Result<OpOutcome, OpError> {
    Ok(OpOutcome::Purged { instances: n })
}

/// The parts of a snapshot that belong to `instance`.
fn traces_of(store: &Sut, instance: &str) -> usize {
    let i = id(instance);
    usize::from(store.instance(&i).unwrap().is_some())
        + store.history(&i).unwrap().len()
        + store.inbox(&i).unwrap().len()
        + store
            .activity_queue()
            .unwrap()
            .iter()
            .filter(|(_, w)| w.instance == i)
            .count()
        + store
            .timers()
            .unwrap()
            .iter()
            .filter(|t| t.key.instance == i)
            .count()
        + store
            .list_instances(
                &InstanceFilter {
                    id_prefix: Some(instance.into()),
                    ..Default::default()
                },
                10,
                None,
            )
            .unwrap()
            .0
            .len()
}

pub fn purge_by_id_deletes_everything_of_a_terminal_instance_and_nothing_else<B: Backend>() {
    let (_dir, store) = B::fresh();
    populate(&store, "done", 100, Completed);
    populate(&store, "other", 100, Completed);
    populate(&store, "live", 200, Running);
    assert!(traces_of(&store, "done") > 10);
    let queue_before = store.activity_queue().unwrap();
    let done_work: Vec<u64> = queue_before
        .iter()
        .filter(|(_, w)| w.instance == id("done"))
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(done_work.len(), 2);

    // Take "done" out of a snapshot to know exactly what must remain.
    let mut expected = snapshot(&store);
    expected.count -= 1;
    let at = expected
        .instances
        .iter()
        .position(|r| r.instance_id == id("done"))
        .unwrap();
    expected.instances.remove(at);
    expected.histories.remove(at);
    expected.inboxes.retain(|(i, _)| *i != id("done"));
    expected.queue.retain(|(_, w)| w.instance != id("done"));
    expected.timers.retain(|t| t.key.instance != id("done"));

    assert_eq!(one(&store, purge("done")), purged(1));
    assert_eq!(traces_of(&store, "done"), 0);
    assert_eq!(snapshot(&store), expected, "other instances are untouched");
    let completed = InstanceFilter {
        statuses: vec![Completed],
        ..Default::default()
    };
    assert_eq!(ids_matching(&store, &completed), ["other"]);

    // Late results for its deleted work items and timers are dropped.
    assert_eq!(
        one(
            &store,
            Op::CompleteActivity {
                queue_seq: done_work[0],
                message: task_completed(Some("e1"), 0),
            }
        ),
        Ok(OpOutcome::Dropped)
    );
    assert_eq!(
        one(
            &store,
            Op::FireTimer {
                key: timer_key("done", 2, 5_100),
                message: timer_fired("e1", 2, 5_100),
            }
        ),
        Ok(OpOutcome::Dropped)
    );
    assert_eq!(traces_of(&store, "done"), 0);

    // Gone is gone; the ID can be started again from nothing.
    assert_eq!(one(&store, purge("done")), Err(OpError::NotFound));
    assert!(matches!(
        one(&store, create("done", "e2", 300)),
        Ok(OpOutcome::Created { .. })
    ));
    assert_eq!(store.inbox(&id("done")).unwrap().len(), 1);
    assert!(store.history(&id("done")).unwrap().is_empty());
}

pub fn purge_by_id_refuses_a_non_terminal_instance_and_deletes_nothing<B: Backend>() {
    let (_dir, store) = B::fresh();
    for (i, status) in NON_TERMINAL.into_iter().enumerate() {
        populate(&store, &format!("n{i}"), 10, status);
    }
    let before = snapshot(&store);
    for (i, status) in NON_TERMINAL.into_iter().enumerate() {
        assert_eq!(
            one(&store, purge(&format!("n{i}"))),
            Err(OpError::WrongStatus(status))
        );
    }
    assert_eq!(one(&store, purge("nobody")), Err(OpError::NotFound));
    assert_eq!(snapshot(&store), before);

    for (i, status) in TERMINAL.into_iter().enumerate() {
        populate(&store, &format!("t{i}"), 10, status);
        assert_eq!(one(&store, purge(&format!("t{i}"))), purged(1), "{status}");
    }
    assert_eq!(snapshot(&store), before);
}

/// One instance per (status, created time), named `<status>-<created>`.
fn fixture<B: Backend>() -> (B::Place, Sut, Vec<(String, RuntimeStatus, u64)>) {
    let (dir, store) = B::fresh();
    let mut all = Vec::new();
    for status in RuntimeStatus::ALL {
        for created in [100, 200, 300] {
            let name = format!("{status}-{created}");
            populate(&store, &name, created, status);
            all.push((name, status, created));
        }
    }
    (dir, store, all)
}

pub fn purge_matching_never_deletes_a_non_terminal_instance<B: Backend>() {
    let filters = [
        vec![],
        vec![Running],
        vec![Pending, Suspended, ContinuedAsNew],
        RuntimeStatus::ALL.to_vec(),
        vec![Running, Completed],
        vec![Failed, Failed, Suspended],
        vec![Terminated],
    ];
    for statuses in filters {
        let (_dir, store, all) = fixture::<B>();
        let filter = InstanceFilter {
            statuses: statuses.clone(),
            ..Default::default()
        };
        let expected: BTreeSet<String> = all
            .iter()
            .filter(|(_, s, _)| s.is_terminal() && (statuses.is_empty() || statuses.contains(s)))
            .map(|(n, _, _)| n.clone())
            .collect();
        let answer = one(
            &store,
            Op::PurgeMatching {
                filter,
                limit: 1_000,
            },
        );
        assert_eq!(answer, purged(expected.len() as u64), "{statuses:?}");
        let left: BTreeSet<String> = ids_matching(&store, &InstanceFilter::default())
            .into_iter()
            .collect();
        for (name, status, _) in &all {
            let gone = expected.contains(name);
            assert_eq!(!left.contains(name), gone, "{statuses:?}: {name}");
            if gone {
                assert_eq!(traces_of(&store, name), 0, "{name}");
            } else {
                assert!(traces_of(&store, name) > 0, "{name}");
            }
            if !status.is_terminal() {
                assert!(left.contains(name), "{statuses:?} purged {name}");
            }
        }
        assert_eq!(
            store.instance_count().unwrap(),
            (all.len() - expected.len()) as u64
        );
    }
}

pub fn purge_matching_honours_time_range_prefix_and_limit<B: Backend>() {
    let (_dir, store, all) = fixture::<B>();
    // Both ends inclusive: 200..=300 takes the 200s and 300s of terminal statuses.
    let range = InstanceFilter {
        created_from: Some(Timestamp(200)),
        created_to: Some(Timestamp(300)),
        statuses: vec![Completed, Failed, Running],
        ..Default::default()
    };
    // Limit: oldest first, 3 at a time (4 match: Completed and Failed at 200 and 300).
    let op = |limit| Op::PurgeMatching {
        filter: range.clone(),
        limit,
    };
    assert_eq!(one(&store, op(0)), purged(0));
    assert_eq!(one(&store, op(3)), purged(3));
    let left = ids_matching(&store, &range);
    assert_eq!(
        left,
        ["Running-200", "Failed-300", "Running-300"],
        "the oldest went first: (created, id) order"
    );
    assert_eq!(one(&store, op(3)), purged(1));
    assert_eq!(one(&store, op(3)), purged(0));
    for (name, status, created) in &all {
        let gone = [Completed, Failed].contains(status) && *created >= 200;
        assert_eq!(store.instance(&id(name)).unwrap().is_none(), gone, "{name}");
    }

    // Only before 100 (inclusive), only IDs starting with "Terminated".
    let filter = InstanceFilter {
        created_to: Some(Timestamp(100)),
        id_prefix: Some("Terminated".into()),
        ..Default::default()
    };
    assert_eq!(
        one(&store, Op::PurgeMatching { filter, limit: 100 }),
        purged(1)
    );
    assert!(store.instance(&id("Terminated-100")).unwrap().is_none());
    assert!(store.instance(&id("Terminated-200")).unwrap().is_some());
    assert!(store.instance(&id("Completed-100")).unwrap().is_some());

    // An empty range purges nothing.
    let empty = InstanceFilter {
        created_from: Some(Timestamp(301)),
        ..Default::default()
    };
    let reversed = InstanceFilter {
        created_from: Some(Timestamp(300)),
        created_to: Some(Timestamp(100)),
        ..Default::default()
    };
    for filter in [empty, reversed] {
        assert_eq!(
            one(&store, Op::PurgeMatching { filter, limit: 100 }),
            purged(0)
        );
    }
    assert_eq!(store.instance_count().unwrap(), 21 - 5);
}

pub fn rejected_purges_in_a_batch_leave_no_trace_while_neighbours_commit<B: Backend>() {
    let (_dir, store) = B::fresh();
    populate(&store, "live", 1, Running);
    populate(&store, "old", 2, Failed);
    let live_before = (
        store.instance(&id("live")).unwrap(),
        store.history(&id("live")).unwrap(),
        store.inbox(&id("live")).unwrap(),
    );
    let traces = traces_of(&store, "live");

    let rec = store.instance(&id("live")).unwrap().unwrap();
    let finish = turn(&rec, 1, Completed);
    let results = store
        .commit(vec![
            purge("live"),
            purge("nobody"),
            purge("old"),
            Op::RaiseEvent {
                instance: id("live"),
                message: event_raised("still here"),
            },
            create("new", "e1", 3),
            purge("new"),
            Op::PurgeMatching {
                filter: InstanceFilter::default(),
                limit: 10,
            },
        ])
        .unwrap();
    assert_eq!(results[0], Err(OpError::WrongStatus(Running)));
    assert_eq!(results[1], Err(OpError::NotFound));
    assert_eq!(results[2], purged(1));
    assert!(matches!(results[3], Ok(OpOutcome::Delivered { .. })));
    assert!(matches!(results[4], Ok(OpOutcome::Created { .. })));
    assert_eq!(results[5], Err(OpError::WrongStatus(Pending)));
    assert_eq!(
        results[6],
        purged(0),
        "old already went earlier in the batch"
    );

    assert_eq!(store.instance(&id("live")).unwrap(), live_before.0);
    assert_eq!(store.history(&id("live")).unwrap(), live_before.1);
    assert_eq!(
        store.inbox(&id("live")).unwrap().len(),
        live_before.2.len() + 1
    );
    assert_eq!(traces_of(&store, "live"), traces + 1);
    assert_eq!(traces_of(&store, "old"), 0);
    assert!(store.instance(&id("new")).unwrap().is_some());
    assert_eq!(store.instance_count().unwrap(), 2);

    // Later ops see earlier ones: finish it, then purge it, in one batch.
    let results = store.commit(vec![Op::Turn(finish), purge("live")]).unwrap();
    assert!(matches!(results[0], Ok(OpOutcome::TurnCommitted { .. })));
    assert_eq!(results[1], purged(1));
    assert_eq!(traces_of(&store, "live"), 0);
    assert_eq!(ids_matching(&store, &InstanceFilter::default()), ["new"]);
}
