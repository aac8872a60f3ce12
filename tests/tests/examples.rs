//! Every example component end to end over HTTP, and the shape of the start
//! and status routes (reference §1.2–§1.4).

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use weft_tests::http::{Api, encode};
use weft_tests::paths;
use weft_tests::poll::DEADLINE;
use weft_tests::server::Server;

fn serve() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &paths::components());
    (dir, server)
}

/// `YYYY-MM-DDTHH:MM:SSZ`, Durable Functions' `createdTime` format.
fn assert_df_time(field: &str, v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string: {v}"));
    let ok = s.len() == 20
        && s.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            19 => c == 'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(
        ok,
        "{field} should look like 2026-01-02T03:04:05Z; got {s:?}"
    );
}

/// A management URL: `path`, optionally followed by a query string (Durable
/// Functions appends `taskHub=...` and friends); the query must contain each of
/// `params`.
#[track_caller]
fn assert_url(what: &str, actual: Option<&str>, path: &str, params: &[&str]) {
    let actual = actual.unwrap_or_else(|| panic!("{what} is missing"));
    let (p, query) = actual.split_once('?').unwrap_or((actual, ""));
    assert_eq!(p, path, "{what}: {actual}");
    let pairs: Vec<&str> = query.split('&').collect();
    for want in params {
        assert!(pairs.contains(want), "{what} should have {want}: {actual}");
    }
}

fn is_generated_id(id: &str) -> bool {
    id.len() == 32
        && id
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// Waits until `id` is Running with the custom status `"waiting for approval"`,
/// and checks the in-progress status reply: 202, Location, Retry-After 5.
fn wait_for_approval_wait(api: &Api, id: &str) {
    api.wait_for(
        id,
        "Running with customStatus \"waiting for approval\"",
        DEADLINE,
        |s| s["runtimeStatus"] == "Running" && s["customStatus"] == "waiting for approval",
    );
    let r = api.status(id);
    r.expect(202);
    assert_url(
        "Location of a running instance's status reply",
        r.header("location").as_deref(),
        &format!("{}/instances/{}", api.base, encode(id)),
        &[],
    );
    assert_eq!(r.header("retry-after").as_deref(), Some("5"));
    let s = r.json();
    assert_eq!(s["name"], "Approval");
    assert_eq!(s["output"], Value::Null, "no output while running: {s}");
}

#[test]
fn hello_sequence_start_reply_status_reply_and_output() {
    let (_dir, server) = serve();
    let api = server.api();

    let r = api.start("HelloSequence", None, "");
    r.expect(202);
    let body = r.json();
    let id = body["id"].as_str().expect("id").to_owned();
    assert!(
        is_generated_id(&id),
        "a generated ID is 32 lowercase hex digits; got {id:?}"
    );
    let status_uri = format!("{}/instances/{id}", api.base);
    assert_eq!(r.header("retry-after").as_deref(), Some("10"));
    let url = |k: &str| body[k].as_str();
    assert_url(
        "statusQueryGetUri",
        url("statusQueryGetUri"),
        &status_uri,
        &[],
    );
    assert_eq!(
        r.header("location").as_deref(),
        url("statusQueryGetUri"),
        "Location is the status URL"
    );
    assert_url(
        "purgeHistoryDeleteUri",
        url("purgeHistoryDeleteUri"),
        &status_uri,
        &[],
    );
    assert_url(
        "sendEventPostUri",
        url("sendEventPostUri"),
        &format!("{status_uri}/raiseEvent/{{eventName}}"),
        &[],
    );
    assert_url(
        "terminatePostUri",
        url("terminatePostUri"),
        &format!("{status_uri}/terminate"),
        &["reason={text}"],
    );

    // Follow Location like a Durable Functions client: 202 until done, then 200.
    let location = r.header("location").unwrap();
    let done = weft_tests::poll::until("the Location URL to answer 200", DEADLINE, || {
        let s = api.get_url(&location);
        match s.status {
            200 => Ok(s.json()),
            202 => Err(format!("202 {}", s.body)),
            other => panic!("status route answered {other}: {}", s.body),
        }
    });
    assert_eq!(done["name"], "HelloSequence");
    assert_eq!(done["instanceId"], id.as_str());
    assert_eq!(done["runtimeStatus"], "Completed");
    assert_eq!(done["input"], Value::Null, "no body means input null");
    assert_eq!(done["customStatus"], Value::Null);
    assert_eq!(
        done["output"],
        json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );
    assert_df_time("createdTime", &done["createdTime"]);
    assert_df_time("lastUpdatedTime", &done["lastUpdatedTime"]);
    assert!(
        done["lastUpdatedTime"].as_str() >= done["createdTime"].as_str(),
        "lastUpdatedTime before createdTime: {done}"
    );
    let fields: Vec<&str> = done
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    for f in [
        "name",
        "instanceId",
        "runtimeStatus",
        "input",
        "customStatus",
        "output",
        "createdTime",
        "lastUpdatedTime",
    ] {
        assert!(fields.contains(&f), "status body lacks {f}: {done}");
    }
    // A finished instance's status reply has no polling headers.
    let again = api.status(&id);
    again.expect(200);
    assert_eq!(again.header("retry-after"), None);
}

#[test]
fn explicit_instance_id_round_trips() {
    let (_dir, server) = serve();
    let api = server.api();
    // Spaces and ':' are allowed in IDs; the URLs must carry them encoded.
    let id = "order 42:eu-west";
    let r = api.start("FanOutFanIn", Some(id), "10");
    r.expect(202);
    let body = r.json();
    assert_eq!(body["id"], id);
    let status_uri = format!("{}/instances/{}", api.base, encode(id));
    let location = r.header("location");
    assert_url("Location", location.as_deref(), &status_uri, &[]);
    assert_url(
        "statusQueryGetUri",
        body["statusQueryGetUri"].as_str(),
        &status_uri,
        &[],
    );

    let done = api.wait_done(id, DEADLINE);
    assert_eq!(done["instanceId"], id);
    assert_eq!(done["input"], json!(10));
    assert_eq!(done["runtimeStatus"], "Completed");
    assert_eq!(done["output"], json!(45), "FanOutFanIn(10) = 0+1+..+9");
    // The Location URL works as given.
    api.get_url(&location.unwrap()).expect(200);
}

#[test]
fn fan_out_fan_in_sums_its_activities() {
    let (_dir, server) = serve();
    let api = server.api();
    let ten = api.start_ok("FanOutFanIn", None, "10");
    let zero = api.start_ok("FanOutFanIn", None, "0");
    let hundred = api.start_ok("FanOutFanIn", None, "100");
    let thousand = api.start_ok("FanOutFanIn", None, "1000");
    assert_eq!(api.wait_output(&ten, DEADLINE), json!(45));
    assert_eq!(api.wait_output(&zero, DEADLINE), json!(0));
    assert_eq!(api.wait_output(&hundred, DEADLINE), json!(4950));
    assert_eq!(api.wait_output(&thousand, DEADLINE), json!(499500));
}

#[test]
fn approval_approved_and_rejected_by_event_names_in_any_case() {
    let (_dir, server) = serve();
    let api = server.api();
    let input = r#"{"timeoutSeconds":60}"#;
    let yes = api.start_ok("Approval", Some("approve-me"), input);
    let no = api.start_ok("Approval", Some("reject-me"), input);
    wait_for_approval_wait(&api, &yes);
    wait_for_approval_wait(&api, &no);

    let r = api.raise(&yes, "APPROVAL", "true");
    r.expect(202);
    assert_eq!(r.body, "", "raiseEvent answers 202 with an empty body");
    api.raise(&no, "approval", "false").expect(202);

    let s = api.wait_done(&yes, DEADLINE);
    assert_eq!(s["runtimeStatus"], "Completed", "{s}");
    assert_eq!(s["output"], "approved");
    assert_eq!(s["customStatus"], Value::Null, "cleared once decided: {s}");
    assert_eq!(s["input"], json!({"timeoutSeconds": 60}));
    assert_eq!(api.wait_output(&no, DEADLINE), "rejected");
}

#[test]
fn approval_times_out_on_its_durable_timer() {
    let (_dir, server) = serve();
    let api = server.api();
    let t0 = Instant::now();
    let id = api.start_ok("Approval", None, r#"{"timeoutSeconds":1}"#);
    assert_eq!(api.wait_output(&id, DEADLINE), "timed out");
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "timed out after {:?}, before its 1 s timer",
        t0.elapsed()
    );
}

#[test]
fn event_raised_before_the_orchestrator_waits_is_buffered() {
    let (_dir, server) = serve();
    let api = server.api();
    // Raise in the same breath as the start: the event is committed before (or
    // while) the first turn runs, and must be delivered to the later wait.
    let names = ["Approval", "APPROVAL", "approval", "aPpRoVaL"];
    let mut ids = Vec::new();
    for i in 0..10 {
        let id = format!("early-{i}");
        api.start_ok("Approval", Some(&id), r#"{"timeoutSeconds":60}"#);
        let data = if i % 2 == 0 { "true" } else { "false" };
        api.raise(&id, names[i % names.len()], data).expect(202);
        ids.push((id, if i % 2 == 0 { "approved" } else { "rejected" }));
    }
    for (id, expected) in ids {
        assert_eq!(api.wait_output(&id, DEADLINE), expected, "instance {id}");
    }
}

#[test]
fn monitor_polls_with_durable_sleeps_until_ready() {
    let (_dir, server) = serve();
    let api = server.api();
    let id = api.start_ok(
        "Monitor",
        None,
        r#"{"intervalSeconds":1,"maxChecks":5,"readyAfter":2}"#,
    );
    let s = api.wait_done(&id, DEADLINE);
    assert_eq!(s["runtimeStatus"], "Completed", "{s}");
    assert_eq!(s["output"], json!({"ready": true, "checks": 2}));
    assert_eq!(s["customStatus"], json!({"checks": 2}));
}

#[test]
fn buffered_events_are_delivered_in_arrival_order() {
    let (_dir, server) = serve();
    let api = server.api();
    // Two answers in a row, before (or while) it waits: the first one is the
    // decision. The second finds the instance waiting (202, buffered and never
    // read) or already finished (410).
    let mut ids = Vec::new();
    for i in 0..8 {
        let (first, second, expected) = if i % 2 == 0 {
            ("true", "false", "approved")
        } else {
            ("false", "true", "rejected")
        };
        let id = api.start_ok("Approval", None, r#"{"timeoutSeconds":60}"#);
        api.raise(&id, "Approval", first).expect(202);
        let r = api.raise(&id, "APPROVAL", second);
        assert!(
            r.status == 202 || r.status == 410,
            "{} {}",
            r.status,
            r.body
        );
        ids.push((id, expected));
    }
    for (id, expected) in ids {
        assert_eq!(api.wait_output(&id, DEADLINE), expected, "instance {id}");
    }
}

#[test]
fn start_and_wait_for_completion_in_one_request() {
    let (_dir, server) = serve();
    let api = server.api();
    // Finishes in time: 200 with the raw output.
    let r = api.post(
        "orchestrators/HelloSequence/waited?timeout=20&pollingInterval=1",
        String::new(),
    );
    r.expect(200);
    assert_eq!(
        r.json(),
        json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );
    // Does not finish in time: the 202 check-status reply.
    let t0 = Instant::now();
    let r = api.post(
        "orchestrators/Approval/slow?timeout=0.5&pollingInterval=0.1",
        r#"{"timeoutSeconds":60}"#,
    );
    r.expect(202);
    assert!(
        t0.elapsed() >= Duration::from_millis(500),
        "answered after {:?}, before its 0.5 s timeout",
        t0.elapsed()
    );
    assert_eq!(r.json()["id"], "slow");
    assert!(r.header("location").is_some());
    // Fails in time: 200 with the status (runtimeStatus Failed).
    let r = api.post("orchestrators/FanOutFanIn/bad?timeout=20", r#""ten""#);
    r.expect(200);
    let s = r.json();
    assert_eq!(s["runtimeStatus"], "Failed", "{s}");
    assert_eq!(s["instanceId"], "bad");
}

#[test]
fn status_route_can_leave_out_the_input() {
    let (_dir, server) = serve();
    let api = server.api();
    let id = api.start_ok("FanOutFanIn", Some("quiet"), "7");
    api.wait_output(&id, DEADLINE);
    let url = format!("{}/instances/quiet", api.base);
    let s = api.get_url(&format!("{url}?showInput=false"));
    s.expect(200);
    assert_eq!(s.json()["input"], Value::Null);
    assert_eq!(s.json()["output"], json!(21));
    let s = api.get_url(&format!("{url}?showInput=true"));
    assert_eq!(s.json()["input"], json!(7));
}

#[test]
fn input_the_orchestrator_cannot_read_fails_the_instance_clearly() {
    let (_dir, server) = serve();
    let api = server.api();
    let id = api.start_ok("FanOutFanIn", None, r#"{"n":10}"#);
    let s = api.wait_done(&id, DEADLINE);
    assert_eq!(s["runtimeStatus"], "Failed", "{s}");
    let f = &s["output"];
    let msg = f["message"].as_str().unwrap_or_default();
    assert!(
        !f["errorType"].as_str().unwrap_or_default().is_empty() && msg.contains("input"),
        "the failure should say the input could not be read: {f}"
    );
}
