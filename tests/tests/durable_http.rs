//! Durable HTTP (issue 9 §3), end to end on the real binary with the
//! `http-poll` example against a loopback server: the 202 + Location
//! pattern followed on durable timers (also across a SIGKILL between
//! polls), egress refused for hosts not on the allow-list, and a body over
//! the cap.

use serde_json::{Value, json};
use std::time::Duration;
use weft_tests::poll_target::PollTarget;
use weft_tests::server::Server;
use weft_tests::{history, paths, poll, store};

const WAIT: Duration = Duration::from_secs(30);

fn serve(target: &PollTarget) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let components = paths::component_set(&dir.path().join("components"), &["http-poll.wasm"]);
    let grant = format!("127.0.0.1:{}", target.port);
    let server = Server::start_with(dir.path(), &components, &["--allow-http", &grant]);
    (dir, server)
}

fn count(h: &[Value], event: &str) -> usize {
    h.iter().filter(|e| e["eventType"] == event).count()
}

#[test]
fn a_202_is_polled_on_durable_timers_until_the_final_answer() {
    let target = PollTarget::start(1);
    let (dir, mut server) = serve(&target);
    let api = server.api();
    let input = json!({ "url": target.url("/start") }).to_string();
    let id = api.start_ok("HttpPoll", Some("poll"), &input);
    assert_eq!(
        api.wait_output(&id, WAIT),
        json!({"done": true, "polls": 2})
    );
    assert_eq!(
        target.requests(),
        ["GET /start", "GET /status", "GET /status"]
    );
    let h = api.history(&id);
    assert_eq!(count(&h, "TaskScheduled"), 3, "{h:?}");
    assert_eq!(count(&h, "TimerCreated"), 2, "Retry-After honoured: {h:?}");
    let scheduled = h
        .iter()
        .find(|e| e["eventType"] == "TaskScheduled")
        .unwrap();
    assert_eq!(scheduled["name"], "BuiltIn::HttpActivity");
    server.stop();
    let host = store::InProcess::open(server.store(), &dir.path().join("components"));
    let h = host.history(&id);
    history::assert_well_formed(&id, &h);
    host.check_replay(&id).expect("replays byte for byte");
}

#[test]
fn polling_resumes_after_a_sigkill_between_polls() {
    let target = PollTarget::start(2);
    let (_dir, mut server) = serve(&target);
    let api = server.api();
    let input = json!({ "url": target.url("/start") }).to_string();
    let id = api.start_ok("HttpPoll", Some("poll-kill"), &input);
    poll::until("the first poll's timer", WAIT, || {
        let h = api.history(&id);
        match count(&h, "TimerCreated") {
            0 => Err(format!("{h:?}")),
            _ => Ok(()),
        }
    });
    server.kill();
    server.restart();
    let api = server.api();
    assert_eq!(
        api.wait_output(&id, WAIT),
        json!({"done": true, "polls": 2})
    );
    assert_eq!(
        target.requests(),
        ["GET /start", "GET /status", "GET /status"],
        "no request repeated or lost across the kill"
    );
}

#[test]
fn hosts_off_the_allow_list_and_bodies_over_the_cap_fail_clearly() {
    let target = PollTarget::start(1);
    let other = PollTarget::start(1);
    let (_dir, server) = serve(&target);
    let api = server.api();
    for (id, url, needle) in [
        (
            "denied",
            other.url("/start"),
            format!("127.0.0.1:{}", other.port),
        ),
        (
            "local-name",
            format!("http://localhost:{}/start", target.port),
            format!("localhost:{}", target.port),
        ),
    ] {
        let input = json!({ "url": url }).to_string();
        let id = api.start_ok("HttpPoll", Some(id), &input);
        let s = api.wait_done(&id, WAIT);
        assert_eq!(s["runtimeStatus"], "Failed", "{s}");
        let out = s["output"].to_string();
        assert!(out.contains("weft.HttpEgressDenied"), "{out}");
        assert!(
            out.contains(&needle) && out.contains("--allow-http"),
            "{out}"
        );
    }
    assert!(
        other.requests().is_empty(),
        "a refused request never reaches the network"
    );
    let input = json!({ "url": target.url("/big") }).to_string();
    let id = api.start_ok("HttpPoll", Some("big"), &input);
    let s = api.wait_done(&id, WAIT);
    assert_eq!(s["runtimeStatus"], "Failed", "{s}");
    let out = s["output"].to_string();
    assert!(
        out.contains("weft.HttpResponseTooLarge") && out.contains("--max-http-response"),
        "{out}"
    );
    server.assert_no_panics();
}
