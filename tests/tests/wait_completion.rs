//! Start-and-wait (R-2.7; reference §2.15 "Wait for completion"): `timeout`
//! and `pollingInterval` on the start and restart routes. examples.rs covers
//! Completed (200 + output), Failed (200 + status) and running past the
//! timeout (202); here: an instance terminated while the request waits, the
//! parameter rules, and that a refused request starts nothing.

use serde_json::json;
use std::time::{Duration, Instant};
use weft_tests::http::Api;
use weft_tests::paths;
use weft_tests::server::serve;

#[test]
fn a_wait_ends_with_the_status_when_the_instance_is_terminated_meanwhile() {
    let (_dir, server) = serve(&paths::components(), &[]);
    let api = server.api();
    let waiter = {
        let api = api.clone();
        std::thread::spawn(move || {
            let t0 = Instant::now();
            let r = api.post(
                "orchestrators/Approval/watched?timeout=30&pollingInterval=1",
                r#"{"timeoutSeconds":3600}"#,
            );
            (r, t0.elapsed())
        })
    };
    api.wait_approval_waiting("watched");
    api.control("watched", "terminate", "?reason=cancelled")
        .expect(202);
    let (r, took) = waiter.join().unwrap();
    r.expect(200);
    let s = r.json();
    assert_eq!(
        (&s["instanceId"], &s["runtimeStatus"], &s["output"]),
        (&json!("watched"), &json!("Terminated"), &json!("cancelled")),
        "{s}"
    );
    assert!(
        took < Duration::from_secs(20),
        "the wait ended with the instance: {took:?}"
    );

    // timeout=0: no wait, the usual 202; pollingInterval alone: no wait either.
    for q in ["timeout=0", "pollingInterval=1"] {
        let r = api.post(
            &format!("orchestrators/Approval?{q}"),
            r#"{"timeoutSeconds":3600}"#,
        );
        r.expect(202);
        assert!(r.json()["statusQueryGetUri"].is_string(), "{q}: {}", r.body);
    }
}

/// The instance IDs of the default hub.
fn all_ids(api: &Api) -> Vec<String> {
    api.list_ids("")
}

#[test]
fn an_invalid_wait_parameter_is_refused_before_anything_starts() {
    let (_dir, server) = serve(&paths::components(), &[]);
    let api = server.api();
    for (i, q) in [
        "timeout=1&pollingInterval=5",
        "timeout=abc",
        "timeout=-1",
        "pollingInterval=NaN",
    ]
    .iter()
    .enumerate()
    {
        let r = api.post(&format!("orchestrators/HelloSequence/bad{i}?{q}"), "");
        r.expect(400);
        assert!(r.error().contains("timeout") || r.error().contains("pollingInterval"));
        api.status(&format!("bad{i}")).expect(404);
    }
    assert_eq!(
        all_ids(&api),
        Vec::<String>::new(),
        "a refused start started nothing"
    );

    api.start_ok("HelloSequence", Some("done"), "");
    api.wait_output("done", weft_tests::poll::DEADLINE);
    api.control("done", "restart", "?timeout=1&pollingInterval=5")
        .expect(400);
    assert_eq!(all_ids(&api), ["done"], "a refused restart started nothing");
}
