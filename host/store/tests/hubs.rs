//! Task hubs on the redb file: one writer per hub over one shared
//! database. The backend-neutral hub cases are in the conformance suite.

mod common;

use std::sync::Arc;

use common::*;
use weft_store::{Hub, InstanceFilter, OpOutcome, Store, Writer};

fn hub(name: &str) -> Hub {
    Hub::new(name).unwrap()
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
