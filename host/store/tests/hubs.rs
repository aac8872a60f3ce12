//! Task hubs: listed from the file, deleted whole, reusable,
//! and one writer per hub over one shared database.

mod common;

use std::sync::Arc;

use common::*;
use weft_core::RuntimeStatus;
use weft_store::{Hub, InstanceFilter, OpOutcome, Store, Writer};

fn hub(name: &str) -> Hub {
    Hub::new(name).unwrap()
}

fn names(store: &Store) -> Vec<String> {
    store
        .hubs()
        .unwrap()
        .iter()
        .map(|h| h.to_string())
        .collect()
}

#[test]
fn hubs_are_listed_and_deleted_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let default = Store::open(&path).unwrap();
    assert_eq!(names(&default), ["default"]);
    let billing = default.hub(&hub("billing")).unwrap();
    let sales = default.hub(&hub("Sales2")).unwrap();
    assert_eq!(names(&default), ["Sales2", "billing", "default"]);
    assert_eq!(
        names(&billing),
        names(&default),
        "any handle lists them all"
    );

    populate(&default, "a", 1, RuntimeStatus::Running);
    populate(&billing, "a", 1, RuntimeStatus::Running);
    populate(&billing, "b", 2, RuntimeStatus::Completed);
    one(
        &billing,
        weft_store::Op::PutComponent {
            digest: "d".into(),
            bytes: b"wasm".to_vec(),
        },
    )
    .unwrap();
    populate(&sales, "s", 1, RuntimeStatus::Failed);
    let default_before = snapshot(&default);
    let sales_before = snapshot(&sales);
    assert_eq!(billing.instance_count().unwrap(), 2);

    assert!(default.delete_hub(&hub("billing")).unwrap());
    assert_eq!(names(&default), ["Sales2", "default"]);
    assert!(
        !default.delete_hub(&hub("billing")).unwrap(),
        "already gone"
    );
    assert!(!default.delete_hub(&hub("nosuchhub")).unwrap());
    assert_eq!(snapshot(&default), default_before);
    assert_eq!(snapshot(&sales), sales_before);

    // The old handle sees an empty hub.
    assert_eq!(billing.instance_count().unwrap(), 0);
    assert!(billing.instance(&id("a")).unwrap().is_none());
    assert!(billing.history(&id("a")).unwrap().is_empty());
    assert!(billing.inbox(&id("a")).unwrap().is_empty());
    assert!(billing.all_inboxes().unwrap().is_empty());
    assert!(billing.activity_queue().unwrap().is_empty());
    assert!(billing.timers().unwrap().is_empty());
    assert!(billing.component("d").unwrap().is_none());
    let filtered = InstanceFilter {
        statuses: vec![RuntimeStatus::Completed],
        ..Default::default()
    };
    assert!(ids_matching(&billing, &filtered).is_empty());
    assert!(ids_matching(&billing, &InstanceFilter::default()).is_empty());
    assert_eq!(
        names(&default),
        ["Sales2", "default"],
        "reads create nothing"
    );

    // The old handle may not write (that would re-create the hub behind the
    // deleter's back); a new handle uses it again from empty.
    assert!(billing.commit(vec![create("a", "e2", 5)]).is_err());
    drop(billing);
    let billing = default.hub(&hub("billing")).unwrap();
    let Ok(OpOutcome::Created { inbox_seq }) = one(&billing, create("a", "e2", 5)) else {
        panic!("a deleted hub can be used again");
    };
    assert_eq!(inbox_seq, 1, "a re-created hub starts its counters afresh");
    assert_eq!(names(&default), ["Sales2", "billing", "default"]);
    assert_eq!(billing.instance_count().unwrap(), 1);
    assert_eq!(
        billing.instance(&id("a")).unwrap().unwrap().execution_id,
        exec("e2")
    );

    // Deleted for good: a reopened file does not bring it back.
    assert!(default.delete_hub(&hub("Sales2")).unwrap());
    drop((default, billing, sales));
    let reopened = Store::open(&path).unwrap();
    assert_eq!(names(&reopened), ["billing", "default"]);
    assert_eq!(snapshot(&reopened), default_before);
}

#[test]
fn a_hub_can_delete_itself_and_start_again() {
    let (_dir, store) = fresh();
    populate(&store, "a", 1, RuntimeStatus::Completed);
    assert!(store.delete_hub(store.task_hub()).unwrap());
    assert!(store.hubs().unwrap().is_empty());
    assert_eq!(store.instance_count().unwrap(), 0);
    assert_eq!(traces(&store), 0);

    // Opening the hub again gives the same empty hub as a fresh file.
    let again = store.hub(&Hub::default_hub()).unwrap();
    assert_eq!(names(&store), ["default"]);
    assert_eq!(again.instance_count().unwrap(), 0);
    populate(&again, "a", 1, RuntimeStatus::Running);
    assert_eq!(store.instance_count().unwrap(), 1, "both handles see it");
}

fn traces(store: &Store) -> usize {
    let s = snapshot(store);
    s.instances.len() + s.inboxes.len() + s.queue.len() + s.timers.len()
}

/// A host runs one dispatcher per hub: each hub has its own handle and writer,
/// all over the one database, committing concurrently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_writer_per_hub_over_one_database() {
    let (_dir, store) = fresh();
    let hubs: Vec<Arc<Store>> = ["default", "east", "west"]
        .into_iter()
        .map(|h| Arc::new(store.hub(&hub(h)).unwrap()))
        .collect();
    let writers: Vec<_> = hubs.iter().map(|s| Writer::spawn(s.clone())).collect();
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let writer = writers[i % 3].clone();
            tokio::spawn(async move {
                let answer = writer
                    .submit(create(&format!("i-{i:03}"), "e1", i as u64))
                    .await;
                (i, answer)
            })
        })
        .collect();
    for task in tasks {
        let (i, answer) = task.await.unwrap();
        assert!(
            matches!(answer, Ok(Ok(OpOutcome::Created { .. }))),
            "{i}: {answer:?}"
        );
    }
    for (h, s) in hubs.iter().enumerate() {
        assert_eq!(s.instance_count().unwrap(), 100);
        let ids = ids_matching(s.as_ref(), &InstanceFilter::default());
        assert!(
            ids.iter()
                .all(|n| n[2..].parse::<usize>().unwrap() % 3 == h),
            "hub {h} holds only its own instances"
        );
    }
    // `store` (the first handle) and hubs[0] are the same hub.
    assert_eq!(store.instance_count().unwrap(), 100);
}

#[test]
fn a_handle_made_before_its_hub_was_deleted_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let default = Store::open(&db_path(&dir)).unwrap();
    let old = default.hub(&hub("billing")).unwrap();
    populate(&old, "a", 1, RuntimeStatus::Running);
    assert!(default.delete_hub(&hub("billing")).unwrap());

    // Work still in flight through the old handle must not recreate the hub.
    let err = old.commit(vec![create("b", "e1", 2)]).unwrap_err();
    assert!(
        matches!(err, weft_store::StoreError::HubDeleted(ref h) if h == "billing"),
        "{err}"
    );
    assert_eq!(names(&default), ["default"]);

    // A new handle starts the hub again, empty.
    let new = default.hub(&hub("billing")).unwrap();
    assert_eq!(new.instance_count().unwrap(), 0);
    assert!(matches!(
        one(&new, create("b", "e1", 2)),
        Ok(OpOutcome::Created { .. })
    ));
    assert!(
        old.commit(vec![create("c", "e1", 3)]).is_err(),
        "the old handle stays refused"
    );
}
