//! Listing, paging, purging (R-2.3, R-2.4, R-2.10; reference §1.2 rows 2–5)
//! and the `historyEvents` projection of the status route (§1.4).

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use weft_tests::cli::{self, json_ok};
use weft_tests::http::{Api, ids};
use weft_tests::poll::DEADLINE;
use weft_tests::server::{Server, serve};
use weft_tests::{paths, store};

const WAITS: &str = r#"{"timeoutSeconds":3600}"#;

/// A time strictly between everything created before the call and everything
/// created after it, at the store's millisecond precision: a few ms of sleep
/// on each side so the clock moves past the boundary.
fn boundary() -> String {
    std::thread::sleep(Duration::from_millis(5));
    let t = weft_core::Timestamp::now().to_rfc3339();
    std::thread::sleep(Duration::from_millis(5));
    t
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[track_caller]
fn assert_lists(api: &Api, query: &str, expected: &[&str]) {
    let got: BTreeSet<String> = api.list_ids(query).into_iter().collect();
    assert_eq!(got, set(expected), "GET instances{query}");
}

/// Starts the instances, each under its ID, and brings it to its state:
/// `done` HelloSequence (Completed), `wait` Approval (Running), `bad`
/// FanOutFanIn with bad input (Failed), `term` Approval terminated,
/// `susp` Approval suspended. The kind is the ID's second dash-separated part.
fn create(api: &Api, ids: &[&str]) {
    for id in ids {
        match id.split('-').nth(1).expect("kind in the ID") {
            "done" => api.start_ok("HelloSequence", Some(id), ""),
            "bad" => api.start_ok("FanOutFanIn", Some(id), r#""ten""#),
            _ => api.start_ok("Approval", Some(id), WAITS),
        };
    }
    for id in ids {
        let want = match id.split('-').nth(1).unwrap() {
            "done" => "Completed",
            "bad" => "Failed",
            "wait" => "Running",
            kind => {
                api.wait_approval_waiting(id);
                let op = if kind == "term" {
                    "terminate"
                } else {
                    "suspend"
                };
                api.control(id, op, "").expect(202);
                if kind == "term" {
                    "Terminated"
                } else {
                    "Suspended"
                }
            }
        };
        api.wait_status(id, want);
    }
}

#[test]
fn list_filters_by_status_prefix_and_created_time() {
    let (_dir, server) = serve(&paths::components(), &[]);
    let api = server.api();
    let a = ["a-done-1", "a-done-2", "a-wait-1", "a-bad-1"];
    create(&api, &a);
    let t = boundary();
    let b = ["b-done-1", "b-wait-1", "b-term-1"];
    create(&api, &b);
    let t2 = boundary();

    let all: Vec<&str> = a.iter().chain(&b).copied().collect();
    assert_lists(&api, "", &all);
    assert_lists(&api, "?runtimeStatus=Running", &["a-wait-1", "b-wait-1"]);
    assert_lists(&api, "?runtimeStatus=running", &["a-wait-1", "b-wait-1"]);
    assert_lists(
        &api,
        "?runtimeStatus=Completed,Failed",
        &["a-done-1", "a-done-2", "a-bad-1", "b-done-1"],
    );
    assert_lists(
        &api,
        "?runtimeStatus=Completed&runtimeStatus=Terminated",
        &["a-done-1", "a-done-2", "b-done-1", "b-term-1"],
    );
    assert_lists(&api, "?runtimeStatus=Suspended,Pending", &[]);
    assert_lists(&api, "?instanceIdPrefix=a-done", &["a-done-1", "a-done-2"]);
    assert_lists(
        &api,
        "?instanceIdPrefix=b-&runtimeStatus=Running",
        &["b-wait-1"],
    );
    assert_lists(&api, "?instanceIdPrefix=zzz", &[]);
    assert_lists(&api, &format!("?createdTimeFrom={t}"), &b);
    assert_lists(&api, &format!("?createdTimeTo={t}"), &a);
    assert_lists(
        &api,
        &format!("?createdTimeFrom={t}&runtimeStatus=Running"),
        &["b-wait-1"],
    );
    assert_lists(
        &api,
        &format!(
            "?createdTimeFrom={t}&createdTimeTo={t2}&instanceIdPrefix=b-t&runtimeStatus=Terminated,Running"
        ),
        &["b-term-1"],
    );
    assert_lists(&api, &format!("?createdTimeFrom={t2}"), &[]);
    assert_lists(
        &api,
        &format!("?createdTimeFrom={t2}&createdTimeTo={t}"),
        &[],
    );

    // showInput (default true); list rows never carry historyEvents.
    let rows = api.list("?instanceIdPrefix=a-wait", None).json();
    assert_eq!(rows[0]["input"], json!({"timeoutSeconds": 3600}), "{rows}");
    assert_eq!(rows[0]["runtimeStatus"], "Running");
    assert!(rows[0].get("historyEvents").is_none());
    let rows = api.list("?showInput=false", None).json();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["input"].is_null()),
        "{rows}"
    );

    for (query, param) in [
        ("?runtimeStatus=Sleeping", "runtimeStatus"),
        ("?top=0", "top"),
        ("?top=x", "top"),
        ("?createdTimeFrom=yesterday", "createdTimeFrom"),
        ("?createdTimeTo=2026-13-01", "createdTimeTo"),
        ("?showInput=maybe", "showInput"),
    ] {
        let r = api.list(query, None);
        r.expect(400);
        assert!(r.error().contains(param), "{query}: {}", r.error());
    }
}

/// Pages through `GET instances{query}&top=3` with the header; returns the
/// IDs in order and the number of pages.
fn page_http(api: &Api, query: &str) -> (Vec<String>, usize) {
    let (mut all, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let r = api.list(query, token.as_deref());
        r.expect(200);
        let page = ids(&r.json());
        assert!(page.len() <= 3, "top=3 but got {page:?}");
        all.extend(page);
        pages += 1;
        match r.header("x-ms-continuation-token") {
            Some(t) => token = Some(t),
            None => return (all, pages),
        }
        assert!(pages < 20, "paging does not end");
    }
}

#[test]
fn paging_with_top_returns_every_instance_once_in_created_order() {
    let (_dir, server) = serve(&paths::components(), &[]);
    let api = server.api();
    let want: Vec<String> = (0..10).map(|i| format!("p-{i:02}")).collect();
    for id in &want {
        api.start_ok("FanOutFanIn", Some(id), "2");
    }
    for id in &want {
        api.wait_output(id, DEADLINE);
    }
    // Created order is start order (the starts were sequential).
    let (got, pages) = page_http(&api, "?top=3");
    assert_eq!((got, pages), (want.clone(), 4));
    let (got, _) = page_http(&api, "?top=3&runtimeStatus=Completed");
    assert_eq!(got, want, "paging through the status index");
    // Without top: everything at once, no continuation.
    let r = api.list("", None);
    assert_eq!(ids(&r.json()), want);
    assert_eq!(r.header("x-ms-continuation-token"), None);
    // An empty or "null" token means the first page.
    for t in ["", "null"] {
        let r = api.list("?top=3", Some(t));
        assert_eq!(ids(&r.json()), want[..3], "token {t:?}");
    }
    let r = api.list("?top=3", Some("not-a-token"));
    r.expect(400);
    assert!(r.error().contains("continuation"), "{}", r.error());

    // The CLI: the token it prints goes back in as --continuation-token.
    let ep = server.endpoint();
    let (mut got, mut token) = (Vec::new(), None::<String>);
    for _ in 0..4 {
        let mut args = vec!["get-instances", "--top", "3"];
        if let Some(t) = &token {
            args.extend(["--continuation-token", t.as_str()]);
        }
        let v = json_ok(&cli::run(&ep, &args));
        got.extend(ids(&v["instances"]));
        token = v["continuationToken"].as_str().map(str::to_owned);
    }
    assert_eq!(got, want);
    assert_eq!(token, None, "no token after the last page");
    let out = cli::run(&ep, &["get-instances", "--continuation-token", "bogus"]);
    cli::fails(&out, &["400", "continuation"]);
}

/// Stops the server; fails unless the store's default hub holds exactly `ids`.
fn assert_store_holds(server: &mut Server, ids: &[&str]) {
    assert!(server.stop().success());
    server.assert_no_panics();
    assert_eq!(
        store::instance_count(server.store(), "default"),
        ids.len() as u64
    );
    let stored: BTreeSet<String> = store::instances(server.store())
        .into_iter()
        .map(|r| r.instance_id.as_str().to_owned())
        .collect();
    assert_eq!(stored, set(ids));
}

#[test]
fn purge_by_id_deletes_only_finished_instances() {
    let (_dir, mut server) = serve(&paths::components(), &[]);
    let api = server.api();
    create(&api, &["x-done-1", "x-wait-1"]);

    let r = api.purge("x-done-1");
    r.expect(200);
    assert_eq!(r.json(), json!({"instancesDeleted": 1}));
    api.status("x-done-1").expect(404);
    api.get("instances/x-done-1/history").expect(404);
    assert_eq!(api.list_ids(""), ["x-wait-1"]);
    api.purge("x-done-1").expect(404);
    api.purge("never-was").expect(404);

    let len = api.history("x-wait-1").len();
    let r = api.purge("x-wait-1");
    r.expect(409);
    assert!(r.error().contains("Running"), "{}", r.error());
    assert_eq!(api.status("x-wait-1").json()["runtimeStatus"], "Running");
    assert_eq!(api.history("x-wait-1").len(), len);

    assert_store_holds(&mut server, &["x-wait-1"]);
    assert!(store::history(server.store(), "x-done-1").is_empty());
}

#[test]
fn purge_by_filter_honours_the_filter_and_never_deletes_unfinished_instances() {
    let (_dir, mut server) = serve(&paths::components(), &[]);
    let api = server.api();
    create(&api, &["a-done-1", "a-done-2", "a-wait-1"]);
    let t = boundary();
    create(
        &api,
        &["b-done-1", "b-bad-1", "b-term-1", "b-wait-1", "b-susp-1"],
    );
    let before = api.list_ids("");

    let purge = |query: &str, code: u16, deleted: u64| {
        let r = api.delete(&format!("instances{query}"));
        assert_eq!(r.status, code, "DELETE instances{query}: {}", r.body);
        if code != 400 {
            assert_eq!(r.json(), json!({"instancesDeleted": deleted}), "{query}");
        }
        r
    };
    let r = purge("", 400, 0);
    assert!(r.error().contains("createdTimeFrom"), "{}", r.error());
    purge("?runtimeStatus=Completed", 400, 0);
    purge("?createdTimeFrom=2000-01-01&instanceIdPrefix=a", 400, 0);
    // Naming only unfinished statuses deletes nothing: 404, as when nothing matched.
    purge("?createdTimeFrom=2000-01-01&runtimeStatus=Running", 404, 0);
    purge(
        "?createdTimeFrom=2000-01-01&runtimeStatus=Suspended,Pending",
        404,
        0,
    );
    assert_eq!(api.list_ids(""), before, "nothing was deleted yet");

    // Running named with Completed: only the Completed one after t goes.
    purge(
        &format!("?createdTimeFrom={t}&runtimeStatus=Running,Completed"),
        200,
        1,
    );
    api.status("b-done-1").expect(404);
    // No statuses: every finished one after t, none of the unfinished.
    purge(&format!("?createdTimeFrom={t}"), 200, 2);
    // Before t, Completed only.
    purge(
        &format!("?createdTimeFrom=1970-01-01T00:00:00Z&createdTimeTo={t}&runtimeStatus=Completed"),
        200,
        2,
    );
    purge("?createdTimeFrom=1970-01-01", 404, 0);

    let left = ["a-wait-1", "b-wait-1", "b-susp-1"];
    assert_lists(&api, "", &left);
    for gone in ["a-done-1", "a-done-2", "b-done-1", "b-bad-1", "b-term-1"] {
        api.status(gone).expect(404);
    }
    assert_eq!(api.status("b-susp-1").json()["runtimeStatus"], "Suspended");
    assert_store_holds(&mut server, &left);
}

#[test]
fn show_history_projects_a_hello_sequence_like_durable_functions() {
    let (_dir, server) = serve(&paths::components(), &[]);
    let api = server.api();
    let id = api.start_ok("HelloSequence", Some("hs"), "");
    api.wait_output(&id, DEADLINE);

    let events = |query: &str| -> Vec<Value> {
        let r = api.get(&format!("instances/hs{query}"));
        r.expect(200);
        r.json()["historyEvents"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let rows = events("?showHistory=true");
    let types: Vec<&str> = rows
        .iter()
        .map(|r| r["EventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskCompleted",
            "TaskCompleted",
            "TaskCompleted",
            "ExecutionCompleted"
        ],
        "TaskScheduled folds into TaskCompleted; episode markers are left out"
    );
    assert_eq!(rows[0]["FunctionName"], "HelloSequence");
    for r in &rows[1..4] {
        assert_eq!(r["FunctionName"], "SayHello", "{r}");
        let (sched, ts) = (r["ScheduledTime"].as_str(), r["Timestamp"].as_str());
        assert!(
            sched.is_some() && sched <= ts,
            "ScheduledTime before Timestamp: {r}"
        );
        assert!(
            r.get("Result").is_none(),
            "no Result without showHistoryOutput: {r}"
        );
    }
    assert_eq!(rows[4]["OrchestrationStatus"], "Completed");
    assert!(rows[4].get("Result").is_none());
    assert!(rows.iter().all(|r| r["Timestamp"].is_string()));

    let rows = events("?showHistory=true&showHistoryOutput=true");
    let results: Vec<&Value> = rows.iter().map(|r| &r["Result"]).collect();
    assert_eq!(
        results,
        [
            &Value::Null,
            &json!("Hello Tokyo!"),
            &json!("Hello Seattle!"),
            &json!("Hello London!"),
            &json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]),
        ]
    );
    // No history unless asked for; showHistoryOutput alone does not ask.
    for q in ["", "?showHistory=false", "?showHistoryOutput=true"] {
        let r = api.get(&format!("instances/hs{q}"));
        assert!(r.json().get("historyEvents").is_none(), "{q}: {}", r.body);
    }
    api.get("instances/hs?showHistory=maybe").expect(400);
    // The full history has what the projection folds away.
    let full = api.history(&id);
    let scheduled = full
        .iter()
        .filter(|e| e["eventType"] == "TaskScheduled")
        .count();
    assert_eq!(scheduled, 3);
    assert!(full.iter().enumerate().all(|(i, e)| e["index"] == i));
}

#[test]
fn a_purged_instance_leaves_no_timer_or_message_behind() {
    let (_dir, mut server) = serve(&paths::components(), &[]);
    let api = server.api();
    // Terminated with its 1 s approval timer still pending, and an event kept
    // for it: purge must take the timer and the event along.
    api.start_ok("Approval", Some("t-1"), r#"{"timeoutSeconds":1}"#);
    api.wait_approval_waiting("t-1");
    api.control("t-1", "suspend", "").expect(202);
    api.wait_status("t-1", "Suspended");
    api.raise("t-1", "Other", "1").expect(202);
    api.control("t-1", "terminate", "").expect(202);
    api.wait_status("t-1", "Terminated");
    api.purge("t-1").expect(200);
    // Past the timer's due time (a sleep to prove nothing comes back).
    std::thread::sleep(Duration::from_millis(1500));
    api.status("t-1").expect(404);
    assert!(api.list_ids("").is_empty());
    assert!(server.stop().success());
    server.assert_no_panics();
    let snap = store::snapshot(server.store());
    assert_eq!(
        (
            snap.instances.len(),
            snap.timers,
            snap.inbox,
            snap.activities
        ),
        (0, 0, 0, 0),
        "{snap:?}"
    );
}
