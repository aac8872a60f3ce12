//! Bad input gets a clear 4xx and changes nothing (R-1.5, R-2.1, R-2.6,
//! R-3.6; reference Appendix A). Each test ends by stopping the server and
//! listing the store: only the instances the test meant to create exist.

use serde_json::json;
use weft_tests::http::Api;
use weft_tests::paths;
use weft_tests::poll::DEADLINE;
use weft_tests::server::Server;
use weft_tests::{history, store};

fn serve() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &paths::components());
    (dir, server)
}

/// Stops the server and fails the test unless the store holds exactly `expected`.
fn assert_store_holds(server: &mut Server, expected: &[&str]) {
    let status = server.stop();
    assert!(
        status.success(),
        "weft serve exited with {status} on SIGTERM"
    );
    let mut ids: Vec<String> = store::instances(server.store())
        .into_iter()
        .map(|r| r.instance_id.as_str().to_owned())
        .collect();
    ids.sort();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(ids, want, "the store should hold exactly these instances");
}

/// The ID was never stored: its status is 404.
#[track_caller]
fn assert_absent(api: &Api, id: &str) {
    let r = api.status(id);
    assert_eq!(
        r.status, 404,
        "instance '{id}' should not exist after a rejected request; status route says {} {}",
        r.status, r.body
    );
}

#[test]
fn unknown_orchestrator_is_400_naming_it_and_the_known_ones() {
    let (_dir, mut server) = serve();
    let api = server.api();
    let r = api.start("NoSuchOrchestrator", Some("ghost"), "1");
    r.expect(400);
    let msg = r.error();
    assert!(msg.contains("NoSuchOrchestrator"), "{msg}");
    for known in ["HelloSequence", "FanOutFanIn", "Approval", "Monitor"] {
        assert!(msg.contains(known), "the error should list {known}: {msg}");
    }
    assert_absent(&api, "ghost");
    // Without an explicit ID, too.
    api.start("NoSuchOrchestrator", None, "").expect(400);
    assert_store_holds(&mut server, &[]);
}

#[test]
fn invalid_instance_ids_are_400_naming_the_rule() {
    let (_dir, mut server) = serve();
    let api = server.api();
    let too_long = "x".repeat(257);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "257 characters",
            too_long,
            "257 characters long; the limit is 256",
        ),
        ("leading '@'", "@entity".into(), "must not start with '@'"),
        ("'#'", "a#b".into(), "must not contain '#'"),
        ("'?'", "a?b".into(), "must not contain '?'"),
        ("'\\'", "a\\b".into(), "must not contain '\\\\'"),
        ("'/'", "a/b".into(), "must not contain '/'"),
        (
            "a control char",
            "a\u{1}b".into(),
            "must not contain '\\u{1}'",
        ),
        ("a newline", "a\nb".into(), "must not contain '\\n'"),
    ];
    for (rule, id, expected) in &cases {
        let r = api.start("HelloSequence", Some(id), "");
        assert_eq!(
            r.status, 400,
            "starting with an ID with {rule} should be 400; got {} {}",
            r.status, r.body
        );
        let msg = r.error();
        assert!(
            msg.contains(expected),
            "the error for {rule} should say {expected:?}; got {msg:?}"
        );
        let r = api.raise(id, "Approval", "true");
        assert_eq!(r.status, 400, "raiseEvent to an ID with {rule}: {}", r.body);
        let r = api.status(id);
        assert_eq!(r.status, 400, "status of an ID with {rule}: {}", r.body);
    }
    // '.' and '..' would be normalised out of every URL the server returns for
    // them: refused at start. (Sent raw: an HTTP client normalises them too.)
    for id in [".", ".."] {
        let (status, body) = raw_post(&server, &format!("orchestrators/HelloSequence/{id}"));
        assert_eq!(status, 400, "starting {id:?}: {body}");
        assert!(
            body.contains("must not be") && body.contains("path steps"),
            "{body}"
        );
    }
    // The boundary: 256 characters is fine, counted in characters, not bytes.
    let longest = "y".repeat(256);
    api.start_ok("HelloSequence", Some(&longest), "");
    api.wait_output(&longest, DEADLINE);
    let accents = "é".repeat(256);
    api.start_ok("HelloSequence", Some(&accents), "");
    api.wait_output(&accents, DEADLINE);
    let r = api.start("HelloSequence", Some(&"é".repeat(257)), "");
    r.expect(400);
    assert!(r.error().contains("257 characters"), "{}", r.error());
    assert_store_holds(&mut server, &[&longest, &accents]);
}

/// Sends `POST {BASE}/{path}` exactly as written (no URL normalisation).
fn raw_post(server: &Server, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let endpoint = server.endpoint();
    let authority = endpoint.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(authority).unwrap();
    write!(
        s,
        "POST /runtime/webhooks/durabletask/{path} HTTP/1.1\r\nhost: {authority}\r\n\
         content-length: 0\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let status = reply[9..12].parse().unwrap();
    (status, reply)
}

#[test]
fn malformed_json_is_400_and_changes_nothing() {
    let (_dir, mut server) = serve();
    let api = server.api();
    for body in [r#"{"a":"#, "[1,2", "tru", r#"{"timeoutSeconds":60}x"#] {
        let r = api.start("Approval", Some("bad-json"), body);
        r.expect(400);
        assert!(
            r.error().contains("not valid JSON"),
            "body {body:?}: {}",
            r.error()
        );
        assert_absent(&api, "bad-json");
    }
    let r = api.post(
        "orchestrators/Approval/bad-utf8",
        vec![b'"', 0xff, 0xfe, b'"'],
    );
    r.expect(400);
    assert_absent(&api, "bad-utf8");

    // A malformed event body is refused and the waiting instance is untouched.
    let id = api.start_ok("Approval", Some("waits"), r#"{"timeoutSeconds":60}"#);
    api.wait_for(&id, "waiting for approval", DEADLINE, |s| {
        s["customStatus"] == "waiting for approval"
    });
    let r = api.raise(&id, "Approval", "{not json");
    r.expect(400);
    assert!(r.error().contains("not valid JSON"), "{}", r.error());
    let s = api.status(&id);
    s.expect(202);
    assert_eq!(s.json()["runtimeStatus"], "Running");
    api.raise(&id, "Approval", "true").expect(202);
    assert_eq!(api.wait_output(&id, DEADLINE), "approved");
    assert_store_holds(&mut server, &["waits"]);
}

#[test]
fn unknown_instance_is_404_for_status_and_raise_event() {
    let (_dir, mut server) = serve();
    let api = server.api();
    let r = api.status("nobody");
    r.expect(404);
    let r = api.raise("nobody", "Approval", "true");
    r.expect(404);
    assert!(r.error().contains("nobody"), "{}", r.error());
    // Raising to an unknown ID does not create it.
    assert_absent(&api, "nobody");
    assert_store_holds(&mut server, &[]);
}

#[test]
fn raise_event_to_a_completed_instance_is_410_and_changes_nothing() {
    let (_dir, mut server) = serve();
    let api = server.api();
    let id = api.start_ok("HelloSequence", Some("finished"), "");
    let before = api.wait_done(&id, DEADLINE);
    assert_eq!(before["runtimeStatus"], "Completed");
    let r = api.raise(&id, "Approval", "true");
    r.expect(410);
    assert!(r.error().contains("Completed"), "{}", r.error());
    // Body checks come after the state check, as in Durable Functions.
    api.raise(&id, "Approval", "{oops").expect(410);
    let after = api.status(&id);
    after.expect(200);
    assert_eq!(
        after.json(),
        before,
        "the completed instance must not change"
    );
    let len = {
        server.stop();
        store::history(server.store(), &id).len()
    };
    server.restart();
    let api = server.api();
    api.raise(&id, "Approval", "true").expect(410);
    server.stop();
    assert_eq!(
        store::history(server.store(), &id).len(),
        len,
        "a refused event must not reach the history"
    );
}

#[test]
fn starting_a_running_id_is_409_and_the_running_instance_is_untouched() {
    let (_dir, mut server) = serve();
    let api = server.api();
    let id = api.start_ok("Approval", Some("busy"), r#"{"timeoutSeconds":60}"#);
    api.wait_for(&id, "Running", DEADLINE, |s| {
        s["runtimeStatus"] == "Running"
    });
    let before = api.status(&id).json();
    let r = api.start("Approval", Some(&id), r#"{"timeoutSeconds":1}"#);
    r.expect(409);
    let msg = r.error();
    assert!(
        msg.contains("busy") && msg.contains("already exists"),
        "the conflict should name the instance: {msg}"
    );
    let now = api.status(&id).json();
    assert_eq!(now["input"], json!({"timeoutSeconds": 60}), "{now}");
    assert_eq!(now["createdTime"], before["createdTime"]);
    api.raise(&id, "Approval", "true").expect(202);
    assert_eq!(api.wait_output(&id, DEADLINE), "approved");
    assert_store_holds(&mut server, &["busy"]);
}

#[test]
fn starting_a_completed_id_is_202_and_a_fresh_run() {
    let (_dir, mut server) = serve();
    let api = server.api();
    let id = api.start_ok("FanOutFanIn", Some("again"), "3");
    assert_eq!(api.wait_output(&id, DEADLINE), json!(3));
    let r = api.start("FanOutFanIn", Some(&id), "5");
    r.expect(202);
    assert_eq!(r.json()["id"], "again");
    let s = api.wait_for(&id, "the second run (input 5) to complete", DEADLINE, |s| {
        s["input"] == json!(5) && s["runtimeStatus"] == "Completed"
    });
    assert_eq!(s["output"], json!(10), "FanOutFanIn(5) = 0+1+2+3+4");
    server.stop();
    // The history is the new execution's alone.
    let h = store::history(server.store(), &id);
    history::assert_well_formed(&id, &h);
    assert_eq!(
        history::count(&h, "TaskScheduled"),
        5,
        "{}",
        history::outline(&h)
    );

    // Again and again, each start right after the previous run finished.
    server.restart();
    let api = server.api();
    for n in 6..12u64 {
        api.start_ok("FanOutFanIn", Some(&id), &n.to_string());
        let s = api.wait_for(
            &id,
            &format!("run with input {n} to finish"),
            DEADLINE,
            |s| {
                s["input"] == json!(n)
                    && s["runtimeStatus"] != "Running"
                    && s["runtimeStatus"] != "Pending"
            },
        );
        assert_eq!(s["runtimeStatus"], "Completed", "{s}");
        assert_eq!(s["output"], json!(n * (n - 1) / 2), "{s}");
    }
    server.stop();
    let h = store::history(server.store(), &id);
    history::assert_well_formed(&id, &h);
    assert_eq!(
        history::count(&h, "TaskScheduled"),
        11,
        "{}",
        history::outline(&h)
    );
}

#[test]
fn concurrent_starts_of_one_id_create_it_once() {
    let (_dir, mut server) = serve();
    let api = server.api();
    let codes: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let api = api.clone();
                s.spawn(move || {
                    let input = format!(r#"{{"timeoutSeconds":{}}}"#, 60 + i);
                    api.start("Approval", Some("once"), &input).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = codes.iter().filter(|c| **c == 202).count();
    let conflicts = codes.iter().filter(|c| **c == 409).count();
    assert_eq!(
        (created, conflicts),
        (1, 15),
        "exactly one start creates the instance, the others conflict; codes: {codes:?}"
    );
    api.raise("once", "Approval", "true").expect(202);
    assert_eq!(api.wait_output("once", DEADLINE), "approved");
    assert_store_holds(&mut server, &["once"]);
    let h = store::history(server.store(), "once");
    history::assert_well_formed("once", &h);
    assert_eq!(history::count(&h, "ExecutionStarted"), 1);
}

#[test]
fn raise_event_without_json_content_type_is_400() {
    let (_dir, server) = serve();
    let api = server.api();
    let id = api.start_ok("Approval", Some("typed"), r#"{"timeoutSeconds":60}"#);
    api.wait_for(&id, "waiting for approval", DEADLINE, |s| {
        s["customStatus"] == "waiting for approval"
    });
    let url = format!("{}/instances/typed/raiseEvent/Approval", api.base);
    let r = reqwest::blocking::Client::new()
        .post(&url)
        .header("content-type", "text/plain")
        .body("true")
        .send()
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        400,
        "Durable Functions answers 400 when Content-Type is not application/json (Appendix A)"
    );
    // The refused event was not delivered: the instance still waits, and a
    // proper one decides it.
    let s = api.status(&id).json();
    assert_eq!(s["runtimeStatus"], "Running", "{s}");
    api.raise(&id, "Approval", "false").expect(202);
    assert_eq!(api.wait_output(&id, DEADLINE), "rejected");
}

#[test]
fn json_nested_too_deep_is_400() {
    let (_dir, mut server) = serve();
    let api = server.api();
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let r = api.start("HelloSequence", Some("deep"), deep.as_str());
    r.expect(400);
    assert!(r.error().contains("nested"), "{}", r.error());
    assert_absent(&api, "deep");
    let deep_obj = format!("{}1{}", r#"{"a":"#.repeat(100), "}".repeat(100));
    api.start("HelloSequence", Some("deep"), deep_obj.as_str())
        .expect(400);
    assert_absent(&api, "deep");
    // Brackets inside strings are not nesting.
    let in_string = json!("[".repeat(200)).to_string();
    api.start_ok("HelloSequence", Some("brackets"), &in_string);
    // 64 levels are allowed.
    let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
    api.start_ok("HelloSequence", Some("shallow"), &ok);
    api.wait_output("shallow", DEADLINE);
    api.wait_output("brackets", DEADLINE);
    assert_store_holds(&mut server, &["brackets", "shallow"]);
}

#[test]
fn body_over_1_mib_is_413() {
    let (_dir, mut server) = serve();
    let api = server.api();
    let huge = json!("x".repeat(1024 * 1024 + 16)).to_string();
    let r = api.start("HelloSequence", Some("huge"), huge.as_str());
    r.expect(413);
    assert_absent(&api, "huge");
    // A large body under the limit is fine.
    let big = json!("x".repeat(512 * 1024)).to_string();
    api.start_ok("HelloSequence", Some("big"), &big);
    let s = api.wait_done("big", DEADLINE);
    assert_eq!(s["runtimeStatus"], "Completed");
    assert_eq!(s["input"].as_str().map(str::len), Some(512 * 1024));
    // An oversized event body is refused too.
    let id = api.start_ok("Approval", Some("waits"), r#"{"timeoutSeconds":60}"#);
    api.raise(&id, "Approval", huge.as_str()).expect(413);
    api.raise(&id, "Approval", "false").expect(202);
    assert_eq!(api.wait_output(&id, DEADLINE), "rejected");
    assert_store_holds(&mut server, &["big", "waits"]);
}

#[test]
fn a_broken_component_is_skipped_and_named_in_the_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let components = dir.path().join("components");
    std::fs::create_dir(&components).unwrap();
    for f in ["hello-sequence.wasm", "fan-out-fan-in.wasm"] {
        std::fs::copy(paths::components().join(f), components.join(f)).unwrap();
    }
    std::fs::write(
        components.join("broken.wasm"),
        b"\0asm this is not a component",
    )
    .unwrap();
    let mut server = Server::start(dir.path(), &components);
    let api = server.api();
    let id = api.start_ok("HelloSequence", None, "");
    assert_eq!(
        api.wait_output(&id, DEADLINE),
        json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );
    assert_eq!(
        api.wait_output(&api.start_ok("FanOutFanIn", None, "4"), DEADLINE),
        json!(6)
    );
    server.stop();
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("broken.wasm"))
        .unwrap_or_else(|| panic!("the log should name broken.wasm:\n{log}"));
    assert!(line.contains("ERROR"), "logged as an error: {line}");
    let (_, reason) = line
        .split_once("component not loaded:")
        .unwrap_or_else(|| panic!("the log line should say the component was not loaded: {line}"));
    assert!(
        reason.trim().len() > 5,
        "the log line should say why broken.wasm did not load: {line}"
    );
}
