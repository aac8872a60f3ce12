//! Task hubs: listed from the backend, deleted whole,
//! reusable, and a handle made before its hub was deleted writes nothing.

use super::common::backend::{Backend, Sut};
use super::common::*;
use weft_core::RuntimeStatus;
use weft_store::{Hub, InstanceFilter, OpOutcome, StoreError};

fn hub(name: &str) -> Hub {
    Hub::new(name).unwrap()
}

fn names(store: &Sut) -> Vec<String> {
    store
        .hubs()
        .unwrap()
        .iter()
        .map(|h| h.to_string())
        .collect()
}

fn traces(store: &Sut) -> usize {
    let s = snapshot(store);
    s.instances.len() + s.inboxes.len() + s.queue.len() + s.timers.len()
}

pub fn hubs_are_listed_and_deleted_whole<B: Backend>() {
    let (place, default) = B::fresh();
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
    drop(billing);

    // A new handle uses it again from empty.
    let billing = default.hub(&hub("billing")).unwrap();
    let Ok(OpOutcome::Created { .. }) = one(&billing, create("a", "e2", 5)) else {
        panic!("a deleted hub can be used again");
    };
    assert_eq!(names(&default), ["Sales2", "billing", "default"]);
    assert_eq!(billing.instance_count().unwrap(), 1);
    assert_eq!(
        billing.instance(&id("a")).unwrap().unwrap().execution_id,
        exec("e2")
    );
    assert_eq!(billing.inbox(&id("a")).unwrap().len(), 1);

    // Deleted for good: the backend opened again does not bring it back.
    assert!(default.delete_hub(&hub("Sales2")).unwrap());
    drop((default, billing, sales));
    let reopened = B::reopen(&place);
    assert_eq!(names(&reopened), ["billing", "default"]);
    assert_eq!(snapshot(&reopened), default_before);
}

pub fn a_hub_can_delete_itself_and_start_again<B: Backend>() {
    let (_place, store) = B::fresh();
    populate(&store, "a", 1, RuntimeStatus::Completed);
    assert!(store.delete_hub(store.task_hub()).unwrap());
    assert!(store.hubs().unwrap().is_empty());
    assert_eq!(store.instance_count().unwrap(), 0);
    assert_eq!(traces(&store), 0);

    // Opening the hub again gives the same empty hub as a fresh backend.
    let again = store.hub(&Hub::default_hub()).unwrap();
    assert_eq!(names(&store), ["default"]);
    assert_eq!(again.instance_count().unwrap(), 0);
    populate(&again, "a", 1, RuntimeStatus::Running);
    assert_eq!(store.instance_count().unwrap(), 1, "both handles see it");
}

pub fn a_handle_made_before_its_hub_was_deleted_writes_nothing<B: Backend>() {
    let (_place, default) = B::fresh();
    let old = default.hub(&hub("billing")).unwrap();
    populate(&old, "a", 1, RuntimeStatus::Running);
    assert!(default.delete_hub(&hub("billing")).unwrap());

    // Work still in flight through the old handle must not recreate the hub.
    let err = old.commit(vec![create("b", "e1", 2)]).unwrap_err();
    assert!(
        matches!(err, StoreError::HubDeleted(ref h) if h == "billing"),
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
    assert_eq!(new.instance_count().unwrap(), 1);
}
