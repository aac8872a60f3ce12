//! The group-commit writer: many concurrent callers, few commits, each caller
//! gets its own answer.

mod common;

use std::sync::Arc;

use common::*;
use weft_store::{Op, OpError, OpOutcome, Store, Writer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_submits_share_few_commits() {
    let (_dir, store) = fresh();
    let store = Arc::new(store);
    let writer = Writer::spawn(store.clone());
    let before = store.stats();

    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let writer = writer.clone();
            tokio::spawn(async move {
                // Every tenth caller asks for something that is rejected.
                let op = if i % 10 == 9 {
                    Op::RaiseEvent {
                        instance: id(&format!("ghost-{i}")),
                        message: event_raised("x"),
                    }
                } else {
                    create(&format!("i-{i:04}"), "e1", i)
                };
                (i, writer.submit(op).await)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }

    let after = store.stats();
    let commits = after.commits - before.commits;
    assert_eq!(after.ops - before.ops, 1000);
    assert!(commits <= 100, "1000 submits took {commits} commits");
    eprintln!("1000 concurrent submits: {commits} commits");

    let mut seqs = std::collections::HashSet::new();
    for (i, answer) in answers {
        let answer = answer.expect("no storage failure");
        if i % 10 == 9 {
            assert_eq!(answer, Err(OpError::NotFound), "caller {i}");
            continue;
        }
        let Ok(OpOutcome::Created { inbox_seq }) = answer else {
            panic!("caller {i} got {answer:?}");
        };
        // The answer is this caller's own: its instance's start message has that seq.
        let inbox = store.inbox(&id(&format!("i-{i:04}"))).unwrap();
        assert_eq!(inbox, vec![(inbox_seq, start_message("e1"))], "caller {i}");
        assert!(seqs.insert(inbox_seq));
    }
    assert_eq!(seqs.len(), 900);
}

#[tokio::test]
async fn submit_many_keeps_order_and_sees_its_own_ops() {
    let (_dir, store) = fresh();
    let store = Arc::new(store);
    let writer = Writer::spawn(store.clone());
    let answers = writer
        .submit_many(vec![
            Op::RaiseEvent {
                instance: id("a"),
                message: event_raised("early"),
            },
            create("a", "e1", 1),
            Op::RaiseEvent {
                instance: id("a"),
                message: event_raised("on time"),
            },
            create("a", "e2", 2),
        ])
        .await
        .unwrap();
    assert_eq!(answers[0], Err(OpError::NotFound));
    assert!(matches!(answers[1], Ok(OpOutcome::Created { .. })));
    assert!(matches!(answers[2], Ok(OpOutcome::Delivered { .. })));
    assert!(matches!(answers[3], Err(OpError::Conflict(_))));
    assert!(writer.submit_many(Vec::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_thread_and_releases_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = Arc::new(Store::open(&path).unwrap());
    let writer = Writer::spawn(store.clone());
    let second = writer.clone();
    second.submit(create("a", "e1", 1)).await.unwrap().unwrap();
    drop(writer);
    second.submit(create("b", "e1", 1)).await.unwrap().unwrap();
    drop(second); // joins the thread, which drops its Arc<Store>
    drop(store);
    let reopened = Store::open(&path).unwrap();
    assert!(reopened.instance(&id("b")).unwrap().is_some());
}
