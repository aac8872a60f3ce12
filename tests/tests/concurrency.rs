//! Management requests racing each other over real HTTP (threads released
//! together by a barrier): one instance per ID however many starts race,
//! every concurrently raised event delivered to its own instance, and
//! duplicate control requests applied once.

use serde_json::json;
use std::sync::Barrier;
use weft_tests::http::Reply;
use weft_tests::poll::DEADLINE;
use weft_tests::server::{Server, serve};
use weft_tests::{history, paths, store};

/// Runs `f(i)` for `i in 0..n` on `n` threads released at once; the replies in order of `i`.
fn race(n: usize, f: impl Fn(usize) -> Reply + Sync) -> Vec<Reply> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (f, barrier) = (&f, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn codes(replies: &[Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status).collect()
}

/// Stops the server and reads the histories of `ids`, checking each is well formed.
fn stopped_histories(server: &mut Server, ids: &[String]) -> Vec<Vec<weft_core::HistoryEvent>> {
    assert!(server.stop().success());
    server.assert_no_panics();
    ids.iter()
        .map(|id| {
            let h = store::history(server.store(), id);
            history::assert_well_formed(id, &h);
            h
        })
        .collect()
}

#[test]
fn a_hundred_concurrent_starts_of_one_id_create_one_instance() {
    let (_dir, mut server) = serve(&paths::components(), &[]);
    let api = server.api();
    let replies = race(100, |i| {
        api.start(
            "Approval",
            Some("one"),
            &format!(r#"{{"timeoutSeconds":{}}}"#, 3600 + i),
        )
    });
    let winners: Vec<usize> = (0..100).filter(|&i| replies[i].status == 202).collect();
    let conflicts = replies.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (winners.len(), conflicts),
        (1, 99),
        "one start creates the instance, 99 conflict; codes: {:?}",
        codes(&replies)
    );
    // The instance is the winner's: its input.
    let s = api.wait_approval_waiting("one");
    assert_eq!(s["input"], json!({"timeoutSeconds": 3600 + winners[0]}));
    api.raise("one", "Approval", "true").expect(202);
    assert_eq!(api.wait_output("one", DEADLINE), "approved");

    let h = stopped_histories(&mut server, &["one".to_owned()]);
    assert_eq!(history::count(&h[0], "ExecutionStarted"), 1);
    assert_eq!(store::instance_count(server.store(), "default"), 1);
}

#[test]
fn fifty_waiting_instances_each_get_their_concurrent_event() {
    let (_dir, mut server) = serve(&paths::components(), &[]);
    let api = server.api();
    let ids: Vec<String> = (0..50).map(|i| format!("a-{i:02}")).collect();
    for id in &ids {
        api.start_ok("Approval", Some(id), r#"{"timeoutSeconds":3600}"#);
    }
    for id in &ids {
        api.wait_approval_waiting(id);
    }
    // Even ones are approved, odd ones rejected: each must get its own event.
    let replies = race(50, |i| {
        api.raise(
            &ids[i],
            "Approval",
            if i % 2 == 0 { "true" } else { "false" },
        )
    });
    assert!(
        codes(&replies).iter().all(|&c| c == 202),
        "{:?}",
        codes(&replies)
    );
    for (i, id) in ids.iter().enumerate() {
        let want = if i % 2 == 0 { "approved" } else { "rejected" };
        assert_eq!(api.wait_output(id, DEADLINE), want, "{id}");
    }
    for h in stopped_histories(&mut server, &ids) {
        assert_eq!(history::count(&h, "EventRaised"), 1);
    }
}

#[test]
fn duplicate_control_requests_racing_each_other_apply_once() {
    let (_dir, mut server) = serve(&paths::components(), &[]);
    let api = server.api();
    for id in ["susp", "term"] {
        api.start_ok("Approval", Some(id), r#"{"timeoutSeconds":3600}"#);
        api.wait_approval_waiting(id);
    }
    // Twenty suspends: accepted or refused as already Suspended, never a 5xx;
    // the instance is suspended once.
    let replies = race(20, |i| {
        api.control("susp", "suspend", &format!("?reason=s{i}"))
    });
    assert!(
        codes(&replies).iter().all(|&c| c == 202 || c == 409),
        "{:?}",
        codes(&replies)
    );
    api.wait_status("susp", "Suspended");
    // Twenty terminates: the first to be applied wins, its reason is the output.
    let replies = race(20, |i| {
        api.control("term", "terminate", &format!("?reason=t{i}"))
    });
    assert!(
        codes(&replies).iter().all(|&c| c == 202 || c == 410),
        "{:?}",
        codes(&replies)
    );
    let s = api.wait_status("term", "Terminated");
    // Duplicates still queued when it ended are consumed without effect: after
    // more work on the server (the other instance's), it is unchanged.
    let ids = ["susp".to_owned(), "term".to_owned()];
    api.control("susp", "resume", "").expect(202);
    api.wait_status("susp", "Running");
    api.raise("susp", "Approval", "true").expect(202);
    assert_eq!(api.wait_output("susp", DEADLINE), "approved");
    assert_eq!(api.status("term").json(), s);

    let h = stopped_histories(&mut server, &ids);
    assert_eq!(
        history::count(&h[0], "ExecutionSuspended"),
        1,
        "{}",
        history::outline(&h[0])
    );
    assert_eq!(
        history::count(&h[1], "ExecutionTerminated"),
        1,
        "{}",
        history::outline(&h[1])
    );
    let reason = h[1].iter().find_map(|e| match &e.kind {
        weft_core::EventKind::ExecutionTerminated { reason, .. } => reason.clone(),
        _ => None,
    });
    assert_eq!(
        reason.as_deref(),
        s["output"].as_str(),
        "the output is the applied request's reason"
    );
}
