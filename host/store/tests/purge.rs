//! Purge on the redb file only: a store of layout 1 is migrated on open.
//! The backend-neutral purge cases are in the conformance suite.

mod common;

use common::*;
use weft_core::RuntimeStatus::Completed;
use weft_store::{Op, OpOutcome, Store};

fn purge(instance: &str) -> Op {
    Op::Purge {
        instance: id(instance),
    }
}

/// A store written with layout 1 (no `activities_by_instance`) is migrated on
/// open, so purging finds the work items queued before the upgrade.
#[test]
fn layout_1_is_migrated_and_its_work_items_are_purged() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    {
        let store = Store::open(&path).unwrap();
        populate(&store, "a", 1, Completed);
        populate(&store, "b", 1, Completed);
    }
    {
        // Turn the file back into layout 1.
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        let index: redb::TableDefinition<(&str, u64), ()> =
            redb::TableDefinition::new("default/activities_by_instance");
        assert!(txn.delete_table(index).unwrap());
        {
            let meta: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("default/meta");
            let mut meta = txn.open_table(meta).unwrap();
            meta.insert("format_version", 1).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.activity_queue().unwrap().len(), 4);
    assert_eq!(
        one(&store, purge("a")),
        Ok(OpOutcome::Purged { instances: 1 })
    );
    assert!(store.instance(&id("a")).unwrap().is_none());
    assert!(store.history(&id("a")).unwrap().is_empty());
    let queue = store.activity_queue().unwrap();
    assert_eq!(queue.len(), 2);
    assert!(queue.iter().all(|(_, w)| w.instance == id("b")));
}
