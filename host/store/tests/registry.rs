//! The redb file's component registry: a store of the old layout (bytes
//! per hub) is readable and migrates. The backend-neutral registry cases are
//! in the conformance suite.

mod common;

use common::*;
use weft_core::Timestamp;
use weft_store::{ComponentRecord, Op, Store};

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

#[test]
fn components_of_the_old_layout_are_read_then_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db_path(&dir)).unwrap();
    // The old layout: bytes in the hub's own `components` table.
    store
        .commit(vec![Op::PutComponent {
            digest: "sha256:old".into(),
            bytes: b"old!".to_vec(),
        }])
        .unwrap();
    assert_eq!(
        store.component("sha256:old").unwrap().as_deref(),
        Some(&b"old!"[..])
    );
    assert_eq!(
        store.legacy_components().unwrap(),
        vec![("sha256:old".to_owned(), b"old!".to_vec())]
    );
    store
        .put_component(&record("sha256:old", &["A"], 1), b"old!")
        .unwrap();
    store.drop_legacy_components().unwrap();
    assert!(store.legacy_components().unwrap().is_empty());
    assert_eq!(
        store.component("sha256:old").unwrap().as_deref(),
        Some(&b"old!"[..])
    );
}
