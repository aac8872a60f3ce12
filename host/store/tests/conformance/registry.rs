//! The component registry: stored once per digest, current
//! per name, removal re-points names, no task hub owns it; and moving an
//! instance onto another version is fenced on what was checked.

use super::common::backend::{Backend, Sut};
use super::common::*;
use weft_core::{RuntimeStatus, Timestamp};
use weft_store::{ComponentRecord, Hub, InstanceFilter, InstanceRecord, NameKind, Op, OpError};

fn record(digest: &str, orchestrators: &[&str], deployed: u64) -> ComponentRecord {
    ComponentRecord {
        digest: digest.to_owned(),
        orchestrators: orchestrators.iter().map(|s| s.to_string()).collect(),
        activities: vec!["Act".to_owned()],
        entities: vec!["counter".to_owned()],
        capabilities: vec!["stdio".to_owned()],
        size: 4,
        deployed: Timestamp(deployed),
    }
}

fn current(store: &Sut, kind: NameKind, name: &str) -> Option<String> {
    store
        .current_components()
        .unwrap()
        .into_iter()
        .find(|(k, n, _)| *k == kind && n == name)
        .map(|(_, _, d)| d)
}

pub fn deploys_are_stored_once_and_the_last_new_one_is_current<B: Backend>() {
    let (_place, store) = B::fresh();
    assert!(
        store
            .put_component(&record("sha256:a", &["A", "B"], 1), b"aaaa")
            .unwrap()
    );
    assert!(
        store
            .put_component(&record("sha256:b", &["B"], 2), b"bbbb")
            .unwrap()
    );
    // The same digest again changes nothing, not even the current names.
    assert!(
        !store
            .put_component(&record("sha256:a", &["A", "B"], 3), b"aaaa")
            .unwrap()
    );
    assert_eq!(
        current(&store, NameKind::Orchestrator, "A").as_deref(),
        Some("sha256:a")
    );
    assert_eq!(
        current(&store, NameKind::Orchestrator, "B").as_deref(),
        Some("sha256:b")
    );
    assert_eq!(
        current(&store, NameKind::Activity, "Act").as_deref(),
        Some("sha256:b")
    );
    let listed = store.registered_components().unwrap();
    assert_eq!(
        listed,
        vec![
            record("sha256:a", &["A", "B"], 1),
            record("sha256:b", &["B"], 2)
        ]
    );
    assert_eq!(
        store.component("sha256:a").unwrap().as_deref(),
        Some(&b"aaaa"[..])
    );
    assert_eq!(store.component("sha256:none").unwrap(), None);

    // Removing the current version of a name makes the previous one current;
    // a name nobody else serves is no longer served.
    assert!(store.remove_component("sha256:b").unwrap());
    assert!(!store.remove_component("sha256:b").unwrap());
    assert_eq!(
        current(&store, NameKind::Orchestrator, "B").as_deref(),
        Some("sha256:a")
    );
    assert!(store.remove_component("sha256:a").unwrap());
    assert!(store.current_components().unwrap().is_empty());
    assert!(store.registered_components().unwrap().is_empty());
    assert_eq!(store.component("sha256:a").unwrap(), None);
}

pub fn no_task_hub_owns_the_registry<B: Backend>() {
    let (place, store) = B::fresh();
    let other = store.hub(&Hub::new("other").unwrap()).unwrap();
    other
        .put_component(&record("sha256:a", &["A"], 1), b"aaaa")
        .unwrap();
    let hubs: Vec<String> = store
        .hubs()
        .unwrap()
        .iter()
        .map(|h| h.to_string())
        .collect();
    assert_eq!(hubs, ["default", "other"], "the registry is not a hub");
    assert!(store.delete_hub(&Hub::default_hub()).unwrap());
    assert!(store.delete_hub(&Hub::new("other").unwrap()).unwrap());
    assert_eq!(store.registered_components().unwrap().len(), 1);
    assert_eq!(
        store.component("sha256:a").unwrap().as_deref(),
        Some(&b"aaaa"[..])
    );
    // Readable through a fresh open too.
    drop((store, other));
    let store = B::reopen(&place);
    assert_eq!(
        current(&store, NameKind::Orchestrator, "A").as_deref(),
        Some("sha256:a")
    );
}

pub fn repin_is_fenced_on_the_history_it_was_checked_against<B: Backend>() {
    let (_place, store) = B::fresh();
    one(&store, create("a", "e1", 10)).unwrap();
    let rec = run_turn(&store, "a", 3, RuntimeStatus::Running);
    let repin = |history_len: u32, from: &str| Op::Repin {
        instance: id("a"),
        execution: exec("e1"),
        history_len,
        from: from.into(),
        to: "sha256:new".into(),
    };
    // Checked against an older history, or another digest: refused, unchanged.
    assert!(matches!(
        one(&store, repin(rec.history_len - 1, "sha256:abc")),
        Err(OpError::Stale { .. })
    ));
    assert!(matches!(
        one(&store, repin(rec.history_len, "sha256:other")),
        Err(OpError::Stale { .. })
    ));
    assert_eq!(store.instance(&id("a")).unwrap().unwrap(), rec);
    // As checked: only the component changes, and listing by it finds it.
    one(&store, repin(rec.history_len, "sha256:abc")).unwrap();
    let moved = store.instance(&id("a")).unwrap().unwrap();
    assert_eq!(moved.component, "sha256:new");
    assert_eq!(
        InstanceRecord {
            component: rec.component.clone(),
            ..moved.clone()
        },
        rec
    );
    let on = |digest: &str| {
        let filter = InstanceFilter {
            component: Some(digest.into()),
            ..Default::default()
        };
        store.list_instances(&filter, 10, None).unwrap().0.len()
    };
    assert_eq!((on("sha256:new"), on("sha256:abc")), (1, 0));
    // A turn computed on the old code before the move lands after it: refused,
    // nothing written (the host reloads the instance onto the new code).
    assert_eq!(
        one(&store, Op::Turn(turn(&rec, 1, RuntimeStatus::Running))),
        Err(OpError::Repinned {
            instance: id("a"),
            ran_on: "sha256:abc".into(),
            pinned: "sha256:new".into(),
        })
    );
    assert_eq!(store.instance(&id("a")).unwrap().unwrap(), moved);
    assert_eq!(
        store.history(&id("a")).unwrap().len(),
        rec.history_len as usize
    );
    // A finished instance is not moved.
    run_turn(&store, "a", 1, RuntimeStatus::Completed);
    let done = store.instance(&id("a")).unwrap().unwrap();
    assert!(matches!(
        one(&store, repin(done.history_len, "sha256:new")),
        Err(OpError::Gone(RuntimeStatus::Completed))
    ));
}
