//! Crash consistency: a child process commits batches in a loop and is killed
//! with SIGKILL at an arbitrary moment; the parent reopens the file and checks
//! that every acknowledged batch is there, whole, and no batch is there in part.
//!
//! The child is this test binary, re-run with a filter that selects
//! `crash_child` and an environment variable that tells it where to write.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use weft_core::RuntimeStatus;
use weft_store::{InstanceFilter, Op, OpOutcome, Store};

const CHILD_DB: &str = "WEFT_STORE_CRASH_CHILD_DB";
const CHILD_ROUND: &str = "WEFT_STORE_CRASH_CHILD_ROUND";
const EVENTS_PER_INSTANCE: u32 = 5;

fn name(round: u32, k: u32) -> String {
    format!("r{round}-{k:05}")
}

/// One batch: create instance k, two turns on it (with an activity and a
/// timer), an event for it, and an event for instance k-1 (so the batch spans
/// two instances).
fn batch(round: u32, k: u32) -> Vec<Op> {
    let n = name(round, k);
    let fresh = record(&n, "e1", RuntimeStatus::Pending, 1_000 + u64::from(k));
    let mut first = turn(&fresh, 3, RuntimeStatus::Running);
    first.activities = vec![work(&n, "e1", 0)];
    first.timers = vec![timer(&n, "e1", 1, 10_000 + u64::from(k))];
    let second = turn(&first.record, 2, RuntimeStatus::Running);
    let mut ops = vec![
        create(&n, "e1", 1_000 + u64::from(k)),
        Op::Turn(first),
        Op::Turn(second),
        Op::RaiseEvent {
            instance: id(&n),
            message: event_raised("own"),
        },
    ];
    if k > 0 {
        ops.push(Op::RaiseEvent {
            instance: id(&name(round, k - 1)),
            message: event_raised("next"),
        });
    }
    ops
}

/// The child: does nothing unless started by the parent below.
#[test]
fn crash_child() {
    let Ok(db) = std::env::var(CHILD_DB) else {
        return;
    };
    let round: u32 = std::env::var(CHILD_ROUND).unwrap().parse().unwrap();
    let store = Store::open(Path::new(&db)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    for k in 0.. {
        for answer in store.commit(batch(round, k)).unwrap() {
            answer.unwrap();
        }
        println!("acked {k}");
        if Instant::now() > deadline {
            break; // the parent is gone; don't run forever
        }
    }
}

#[test]
fn sigkill_mid_commit_keeps_acknowledged_batches_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let exe = std::env::current_exe().unwrap();
    let mut inbox_seq_floor = 0;
    for round in 0..6u32 {
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DB, &path)
            .env(CHILD_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let target = 10 + 7 * round;
        let mut acked = None;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut read_ack = |line: std::io::Result<String>| -> Option<u32> {
            let k = line.unwrap().strip_prefix("acked ")?.parse().unwrap();
            acked = Some(k);
            Some(k)
        };
        for line in lines.by_ref() {
            if read_ack(line).is_some_and(|k| k >= target) {
                break;
            }
        }
        // Vary the moment of the kill within the next commit.
        std::thread::sleep(Duration::from_micros(u64::from(round) * 450));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Acknowledgements printed before the kill but not read yet.
        for line in lines {
            read_ack(line);
        }
        let acked = acked.expect("the child acknowledged batches");

        let store = Store::open(&path).unwrap();
        let present = check_invariants(&store, round);
        eprintln!(
            "round {round}: {} acknowledged, {present} present",
            acked + 1
        );
        assert!(
            present == acked + 1 || present == acked + 2,
            "round {round}: {present} batches present, {} acknowledged",
            acked + 1
        );
        // Sequence numbers continue above everything stored.
        let Ok(OpOutcome::Created { inbox_seq }) =
            one(&store, create(&format!("probe-{round}"), "e1", 1))
        else {
            panic!()
        };
        assert!(inbox_seq > inbox_seq_floor);
        let max_stored = store
            .all_inboxes()
            .unwrap()
            .into_iter()
            .flat_map(|(_, m)| m.into_iter().map(|(s, _)| s))
            .max()
            .unwrap();
        assert_eq!(inbox_seq, max_stored, "the probe got the highest seq");
        inbox_seq_floor = inbox_seq;
    }
}

/// Checks the invariants over the whole store and returns how many batches of
/// `round` are present.
fn check_invariants(store: &Store, round: u32) -> u32 {
    let mut records = Vec::new();
    let mut token = None;
    loop {
        let (page, next) = store
            .list_instances(&InstanceFilter::default(), 50, token.as_deref())
            .unwrap();
        records.extend(page);
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let names: std::collections::HashSet<String> =
        records.iter().map(|r| r.instance_id.to_string()).collect();
    assert_eq!(names.len(), records.len(), "each instance listed once");

    for r in records
        .iter()
        .filter(|r| !r.instance_id.as_str().starts_with("probe"))
    {
        let n = r.instance_id.as_str();
        assert_eq!(r.history_len, EVENTS_PER_INSTANCE, "{n}: partial batch");
        assert_eq!(
            store.history(&r.instance_id).unwrap().len() as u32,
            r.history_len,
            "{n}"
        );
        // Own start + own event, plus "next" when the following batch committed.
        let (round_of, k) = n[1..].split_once('-').unwrap();
        let next = format!("r{round_of}-{:05}", k.parse::<u32>().unwrap() + 1);
        let expected = 2 + usize::from(names.contains(&next));
        assert_eq!(
            store.inbox(&r.instance_id).unwrap().len(),
            expected,
            "{n}: partial batch"
        );
    }
    for (instance, _) in store.all_inboxes().unwrap() {
        assert!(
            names.contains(instance.as_str()),
            "inbox of missing {instance}"
        );
    }
    let queue = store.activity_queue().unwrap();
    let timers = store.timers().unwrap();
    let batches = records
        .iter()
        .filter(|r| !r.instance_id.as_str().starts_with("probe"))
        .count();
    assert_eq!(queue.len(), batches, "one work item per batch");
    assert_eq!(timers.len(), batches, "one timer per batch");
    for (_, w) in &queue {
        assert!(names.contains(w.instance.as_str()));
    }
    for t in &timers {
        assert!(names.contains(t.key.instance.as_str()));
    }
    // Batches of this round form a prefix 0..n.
    let prefix = format!("r{round}-");
    let present = names.iter().filter(|n| n.starts_with(&prefix)).count() as u32;
    for k in 0..present {
        assert!(
            names.contains(&name(round, k)),
            "batch {k} of round {round} missing"
        );
    }
    present
}

/// The store file is exclusively one handle's while it is open: a second
/// open (another host on the same file) is refused, and says why.
#[test]
fn a_second_open_of_the_file_is_refused_while_it_is_open() {
    let (dir, store) = fresh();
    let err = match weft_store::Store::open(&db_path(&dir)) {
        Err(e) => e,
        Ok(_) => panic!("a second open of an open store file must fail"),
    };
    assert!(matches!(err, weft_store::StoreError::InUse { .. }), "{err}");
    assert_eq!(err.kind(), weft_store::ErrorKind::Retryable);
    drop(store);
    weft_store::Store::open(&db_path(&dir)).unwrap();
}
