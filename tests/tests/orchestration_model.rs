//! The orchestration model between instances, end to end over HTTP on the
//! real binary: sub-orchestrations (the example, failures, collisions,
//! detached starts, recursive terminate, recursive rewind), continue-as-new
//! (the example, bounded history, carried events), retries with attempt
//! numbers, and events sent between instances.

use serde_json::{Value, json};
use weft_tests::flaky::{self, Flaky};
use weft_tests::http::{Api, event_types};
use weft_tests::poll::DEADLINE;
use weft_tests::{history, store};

fn serve() -> Flaky {
    flaky::serve(&[
        "family.wasm",
        "hello-sequence.wasm",
        "sub-orchestration.wasm",
        "eternal.wasm",
        "retry.wasm",
    ])
}

fn count(h: &[Value], event: &str) -> usize {
    h.iter().filter(|e| e["eventType"] == event).count()
}

fn start(api: &Api, name: &str, id: &str, input: Value) -> String {
    api.start_ok(name, Some(id), &input.to_string())
}

#[test]
fn sub_orchestrations_example_runs_children_in_parallel_on_another_component() {
    let f = serve();
    let api = f.server.api();
    let id = start(&api, "SubOrchestrations", "parent", json!(3));
    let out = api.wait_output(&id, DEADLINE);
    let hello = json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]);
    assert_eq!(out, json!([hello, hello, hello]));

    let h = api.history(&id);
    assert_eq!(
        count(&h, "SubOrchestrationInstanceCreated"),
        3,
        "{:?}",
        event_types(&h)
    );
    assert_eq!(count(&h, "SubOrchestrationInstanceCompleted"), 3);
    // Children: deterministic IDs, their parent named in status and history.
    let parent_digest = api.status(&id).json()["componentDigest"].clone();
    for n in 0..3 {
        let child = format!("parent:{n}");
        let s = api.status(&child).json();
        assert_eq!(s["runtimeStatus"], "Completed", "{s}");
        assert_eq!(s["parentInstanceId"], "parent", "{s}");
        assert_eq!(s["name"], "HelloSequence");
        assert_ne!(
            s["componentDigest"], parent_digest,
            "the child runs on its own component"
        );
        let started = &api.history(&child)[1];
        assert_eq!(started["eventType"], "ExecutionStarted");
        assert_eq!(started["parent"]["instanceId"], "parent", "{started}");
        assert_eq!(started["parent"]["scheduleId"], n, "{started}");
    }
    assert!(api.status(&id).json().get("parentInstanceId").is_none());
    // showHistory projects the children like activities.
    let rows = api
        .get(&format!(
            "instances/{id}?showHistory=true&showHistoryOutput=true"
        ))
        .json();
    let done: Vec<&Value> = rows["historyEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["EventType"] == "SubOrchestrationInstanceCompleted")
        .collect();
    assert_eq!(done.len(), 3);
    assert_eq!(done[0]["FunctionName"], "HelloSequence");
    assert_eq!(done[0]["Result"], hello);

    let mut server = f.server;
    server.stop();
    let ids = ["parent", "parent:0", "parent:1", "parent:2"];
    let host = store::InProcess::open(server.store(), &f.dir.path().join("components"));
    for i in ids {
        history::assert_well_formed(i, &host.history(i));
        history::assert_all_resolved(i, &host.history(i));
        host.check_replay(i)
            .unwrap_or_else(|e| panic!("{i} does not replay: {e}"));
    }
}

#[test]
fn a_child_failure_reaches_the_parent_with_type_message_and_details() {
    let f = serve();
    let api = f.server.api();
    let id = start(
        &api,
        "Parent",
        "p-fail",
        json!({"child": "Fail", "input": "no stock"}),
    );
    let out = api.wait_output(&id, DEADLINE);
    assert_eq!(out["failed"]["errorType"], "ChildBroke", "{out}");
    assert_eq!(out["failed"]["message"], "no stock");
    assert_eq!(out["failed"]["details"], json!({"code": 7}));
    let h = api.history(&id);
    assert_eq!(count(&h, "SubOrchestrationInstanceFailed"), 1);
    assert_eq!(api.status("p-fail:0").json()["runtimeStatus"], "Failed");
}

#[test]
fn a_child_id_that_is_taken_fails_the_parents_task_and_never_hangs() {
    let f = serve();
    let api = f.server.api();
    // Its own ID.
    let id = start(&api, "SelfCall", "selfish", json!(null));
    let out = api.wait_output(&id, DEADLINE);
    assert_eq!(
        out["failed"]["errorType"], "weft.SubOrchestrationNotStarted",
        "{out}"
    );
    assert!(
        out["failed"]["message"]
            .as_str()
            .unwrap()
            .contains("'selfish'"),
        "{out}"
    );
    // An ID already running: the second of two starts under one ID.
    let id = start(&api, "Twins", "twins", json!("shared-child"));
    let out = api.wait_output(&id, DEADLINE);
    assert_eq!(out["first"], json!({"ok": "first"}), "{out}");
    assert_eq!(
        out["second"]["failed"]["errorType"],
        "weft.SubOrchestrationNotStarted"
    );
    // An invalid ID fails the task at once.
    let id = start(
        &api,
        "Parent",
        "bad-id",
        json!({"child": "Echo", "id": "a/b"}),
    );
    let out = api.wait_output(&id, DEADLINE);
    assert_eq!(
        out["failed"]["errorType"], "weft.InvalidInstanceId",
        "{out}"
    );
    // An orchestrator nobody serves.
    let id = start(
        &api,
        "Parent",
        "nobody",
        json!({"child": "NoSuchOrchestrator"}),
    );
    let out = api.wait_output(&id, DEADLINE);
    assert!(
        out["failed"]["message"]
            .as_str()
            .unwrap()
            .contains("no deployed component serves"),
        "{out}"
    );
}

#[test]
fn fire_and_forget_starts_an_independent_instance() {
    let f = serve();
    let api = f.server.api();
    let id = start(&api, "FireAndForget", "launcher", json!("launched"));
    assert_eq!(api.wait_output(&id, DEADLINE), json!("launched"));
    let s = api.wait_status("launched", "Running");
    assert!(
        s.get("parentInstanceId").is_none(),
        "a detached child has no parent: {s}"
    );
    api.raise("launched", "Go", r#""free""#).expect(202);
    assert_eq!(api.wait_output("launched", DEADLINE), json!("free"));
}

#[test]
fn terminate_recurse_ends_every_descendant_and_plain_terminate_leaves_them() {
    let f = serve();
    let api = f.server.api();
    // Depth 2: 2 children, 4 grandchildren, all waiting.
    let all = |root: &str| {
        vec![
            format!("{root}:0"),
            format!("{root}:1"),
            format!("{root}:0:0"),
            format!("{root}:0:1"),
            format!("{root}:1:0"),
            format!("{root}:1:1"),
        ]
    };
    for root in ["deep", "shallow"] {
        start(&api, "Tree", root, json!(2));
        for d in all(root) {
            api.wait_status(&d, "Running");
        }
    }
    api.control("deep", "terminate", "?reason=stop&recurse=true")
        .expect(202);
    api.control("shallow", "terminate", "?reason=stop")
        .expect(202);
    for d in all("deep") {
        let s = api.wait_status(&d, "Terminated");
        assert!(
            s["output"].as_str().unwrap().contains("was terminated"),
            "{s}"
        );
    }
    api.wait_status("shallow", "Terminated");
    for d in all("shallow") {
        assert_eq!(api.status(&d).json()["runtimeStatus"], "Running", "{d}");
    }
    api.control("deep", "terminate", "?recurse=maybe")
        .expect(400);
}

#[test]
fn rewinding_a_parent_rewinds_its_failed_child_and_repeats_no_completed_work() {
    let f = serve();
    let api = f.server.api();
    let id = start(&api, "RewindParent", "rp", json!({"key": "k"}));
    api.wait_status(&id, "Failed");
    api.wait_status("rp:1", "Failed");
    assert_eq!(
        (f.runs("k-parent-before"), f.runs("k-before"), f.runs("k")),
        (1, 1, 1)
    );
    api.control(&id, "rewind", "?reason=fixed").expect(202);
    let done = flaky::wait_after_rewinds(&api, &id, 1);
    assert_eq!(done["runtimeStatus"], "Completed", "{done}");
    assert_eq!(done["output"]["before"], 1);
    assert_eq!(
        done["output"]["child"],
        json!({"before": 1, "flaky": 2, "after": 1})
    );
    // Completed work ran once at every depth; the failed activity twice.
    assert_eq!(
        (
            f.runs("k-parent-before"),
            f.runs("k-before"),
            f.runs("k"),
            f.runs("k-after")
        ),
        (1, 1, 2, 1)
    );
    assert_eq!(count(&api.history("rp:1"), "ExecutionRewound"), 1);
}

#[test]
fn countdown_continues_as_new_and_keeps_only_the_last_execution() {
    let f = serve();
    let api = f.server.api();
    let id = start(&api, "Countdown", "countdown", json!(300));
    assert_eq!(api.wait_output(&id, DEADLINE), json!("done"));
    let s = api.status(&id).json();
    assert_eq!(s["input"], json!(0), "the last execution's input: {s}");
    assert_eq!(
        s["customStatus"],
        json!(1),
        "custom status carries over: {s}"
    );
    let h = api.history(&id);
    assert_eq!(
        event_types(&h),
        [
            "OrchestratorStarted",
            "ExecutionStarted",
            "OrchestratorCompleted",
            "ExecutionCompleted"
        ]
    );
    let mut server = f.server;
    server.stop();
    history::assert_well_formed(&id, &store::history(server.store(), &id));
}

#[test]
fn continue_as_new_delivers_unprocessed_events_to_the_next_execution() {
    let f = serve();
    let api = f.server.api();
    let id = start(&api, "Accumulate", "sum", json!({"total": 0, "left": 5}));
    // Five events at once: each execution takes one; the rest are carried.
    for n in 1..=5 {
        api.raise(&id, "Add", &n.to_string()).expect(202);
    }
    assert_eq!(api.wait_output(&id, DEADLINE), json!(15));
}

#[test]
fn retry_example_retries_with_attempt_numbers_until_the_third_attempt() {
    let f = serve();
    let api = f.server.api();
    let id = start(&api, "RetryDemo", "retry", json!(null));
    assert_eq!(api.wait_output(&id, DEADLINE), json!(3));
    let h = api.history(&id);
    let attempts: Vec<Value> = h
        .iter()
        .filter(|e| e["eventType"] == "TaskScheduled")
        .map(|e| e.get("attempt").cloned().unwrap_or(Value::Null))
        .collect();
    assert_eq!(
        attempts,
        [Value::Null, json!(2), json!(3)],
        "retries carry their attempt"
    );
    assert_eq!(count(&h, "TaskFailed"), 2);
    assert_eq!(count(&h, "TimerFired"), 2);
    let failure = h.iter().find(|e| e["eventType"] == "TaskFailed").unwrap();
    assert!(
        failure["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("call retry:0"),
        "{failure}"
    );
}

#[test]
fn events_sent_between_instances_arrive_and_unknown_targets_do_not_fail_the_sender() {
    let f = serve();
    let api = f.server.api();
    start(&api, "Waiter", "receiver", json!(null));
    api.wait_status("receiver", "Running");
    let id = start(
        &api,
        "Sender",
        "sender",
        json!({"to": "receiver", "name": "Go", "data": {"hi": 1}}),
    );
    assert_eq!(api.wait_output(&id, DEADLINE), json!("sent"));
    assert_eq!(api.wait_output("receiver", DEADLINE), json!({"hi": 1}));
    let sent = api.history(&id);
    let e = sent
        .iter()
        .find(|e| e["eventType"] == "EventSent")
        .expect("EventSent");
    assert_eq!(e["instanceId"], "receiver");
    assert_eq!(count(&api.history("receiver"), "EventRaised"), 1);
    // Nobody there, and a finished target: recorded, dropped, no failure.
    for to in ["nobody-home", "receiver"] {
        let id = start(
            &api,
            "Sender",
            &format!("to-{to}"),
            json!({"to": to, "name": "Go", "data": 1}),
        );
        assert_eq!(api.wait_output(&id, DEADLINE), json!("sent"));
        assert_eq!(count(&api.history(&id), "EventSent"), 1);
    }
}

#[test]
fn the_cli_terminates_recursively_and_refuses_recursive_for_other_requests() {
    use weft_tests::cli::{fails, json_ok, run};
    let f = serve();
    let api = f.server.api();
    let ep = f.server.endpoint();
    start(&api, "Tree", "cli-tree", json!(1));
    for child in ["cli-tree:0", "cli-tree:1"] {
        api.wait_status(child, "Running");
    }
    fails(
        &run(&ep, &["suspend", "--id", "cli-tree", "--recursive"]),
        &["--recursive applies to terminate only"],
    );
    let v = json_ok(&run(
        &ep,
        &[
            "terminate",
            "--id",
            "cli-tree",
            "--recursive",
            "--reason",
            "cli",
        ],
    ));
    assert_eq!(v["runtimeStatus"], "Terminated", "{v}");
    for child in ["cli-tree:0", "cli-tree:1"] {
        let s = api.wait_status(child, "Terminated");
        assert!(s["output"].as_str().unwrap().contains("cli"), "{s}");
    }
}
