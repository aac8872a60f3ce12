//! Every management command of the `weft` CLI (R-2.15), each on a success
//! path (exit 0, JSON on stdout) and a failure path (non-zero exit, a readable
//! error on stderr naming the HTTP status, nothing on stdout).

use serde_json::{Value, json};
use std::process::Output;
use weft_tests::cli::{fails, json_ok, run, text};
use weft_tests::flaky;

const WAITS: &str = r#"{"timeoutSeconds":3600}"#;

/// For commands that print a status and still exit non-zero (`wait` and
/// `--wait` when the instance did not complete): the status on stdout.
#[track_caller]
fn status_but_failure(out: &Output) -> Value {
    assert!(
        !out.status.success(),
        "expected a non-zero exit: {}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the status as JSON on stdout")
}

#[test]
fn start_status_history_events_suspend_resume_terminate_and_wait() {
    let f = flaky::serve(&["human-interaction.wasm"]);
    let ep = f.server.endpoint();
    let weft = |args: &[&str]| run(&ep, args);
    let start = [
        "start-new",
        "--function-name",
        "Approval",
        "--id",
        "c1",
        "--input",
        WAITS,
    ];

    // start-new
    let v = json_ok(&weft(&start));
    assert_eq!(v["id"], "c1");
    assert!(
        v["statusQueryGetUri"].as_str().unwrap().starts_with(&ep),
        "{v}"
    );
    f.server.api().wait_approval_waiting("c1");
    fails(&weft(&start), &["409", "c1"]);

    // get-runtime-status
    let v = json_ok(&weft(&["get-runtime-status", "--id", "c1"]));
    assert_eq!(
        (&v["runtimeStatus"], &v["input"]),
        (&json!("Running"), &json!({"timeoutSeconds": 3600}))
    );
    let v = json_ok(&weft(&[
        "get-runtime-status",
        "--id",
        "c1",
        "--show-input",
        "false",
    ]));
    assert_eq!(v["input"], Value::Null);
    fails(
        &weft(&["get-runtime-status", "--id", "nobody"]),
        &["404", "nobody"],
    );

    // get-history
    let h = json_ok(&weft(&["get-history", "--id", "c1"]));
    assert_eq!(h[1]["eventType"], "ExecutionStarted", "{h}");
    assert_eq!(h[1]["name"], "Approval");
    fails(&weft(&["get-history", "--id", "nobody"]), &["404"]);

    // suspend: prints the status once it is Suspended.
    let v = json_ok(&weft(&["suspend", "--id", "c1", "--reason", "lunch"]));
    assert_eq!(v["runtimeStatus"], "Suspended");
    fails(&weft(&["suspend", "--id", "c1"]), &["409", "Suspended"]);

    // raise-event (kept while suspended)
    let out = weft(&[
        "raise-event",
        "--id",
        "c1",
        "--event-name",
        "Approval",
        "--event-data",
        "true",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    fails(
        &weft(&[
            "raise-event",
            "--id",
            "c1",
            "--event-name",
            "Approval",
            "--event-data",
            "yes",
        ]),
        &["--event-data", "not valid JSON"],
    );
    fails(
        &weft(&["raise-event", "--id", "nobody", "--event-name", "Approval"]),
        &["404"],
    );

    // resume, then wait
    let v = json_ok(&weft(&["resume", "--id", "c1", "--reason", "back"]));
    assert_ne!(v["runtimeStatus"], "Suspended", "{v}");
    let v = json_ok(&weft(&["wait", "--id", "c1", "--timeout", "20"]));
    assert_eq!(
        (&v["runtimeStatus"], &v["output"]),
        (&json!("Completed"), &json!("approved"))
    );
    fails(&weft(&["resume", "--id", "c1"]), &["410", "Completed"]);
    fails(&weft(&["wait", "--id", "nobody"]), &["404"]);

    // terminate; wait on an instance that does not finish in time
    json_ok(&weft(&[
        "start-new",
        "--function-name",
        "Approval",
        "--id",
        "c2",
        "--input",
        WAITS,
    ]));
    let v = status_but_failure(&weft(&["wait", "--id", "c2", "--timeout", "0.3"]));
    assert!(
        v["runtimeStatus"] == "Running" || v["runtimeStatus"] == "Pending",
        "{v}"
    );
    let v = json_ok(&weft(&["terminate", "--id", "c2", "--reason", "stop"]));
    assert_eq!(
        (&v["runtimeStatus"], &v["output"]),
        (&json!("Terminated"), &json!("stop"))
    );
    fails(&weft(&["terminate", "--id", "c2"]), &["410", "Terminated"]);
    let v = status_but_failure(&weft(&["wait", "--id", "c2", "--timeout", "5"]));
    assert_eq!(
        v["runtimeStatus"], "Terminated",
        "wait exits non-zero unless Completed"
    );
    f.server.assert_no_panics();
}

#[test]
fn rewind_restart_list_purge_and_delete_hub() {
    let f = flaky::serve(&["human-interaction.wasm", "hello-sequence.wasm"]);
    let ep = f.server.endpoint();
    let weft = |args: &[&str]| run(&ep, args);

    // rewind
    let input = flaky::input("r1", 1);
    let start = [
        "start-new",
        "--function-name",
        "RewindMe",
        "--id",
        "r1",
        "--input",
        &input,
        "--wait",
        "20",
    ];
    let v = status_but_failure(&weft(&start));
    assert_eq!(v["runtimeStatus"], "Failed", "{v}");
    json_ok(&weft(&["rewind", "--id", "r1", "--reason", "retry"]));
    let v = flaky::wait_after_rewinds(&f.server.api(), "r1", 1);
    assert_eq!(v["output"], json!({"before": 1, "flaky": 2, "after": 1}));
    fails(&weft(&["rewind", "--id", "r1"]), &["410", "Completed"]);

    // restart
    let v = json_ok(&weft(&["restart", "--id", "r1"]));
    let copy = v["id"].as_str().unwrap().to_owned();
    assert!(copy.len() == 32 && copy != "r1", "{v}");
    let v = json_ok(&weft(&[
        "restart",
        "--id",
        "r1",
        "--restart-with-new-instance-id",
        "false",
        "--wait",
        "20",
    ]));
    assert_eq!(
        (&v["instanceId"], &v["runtimeStatus"]),
        (&json!("r1"), &json!("Completed"))
    );
    fails(&weft(&["restart", "--id", "nobody"]), &["404", "nobody"]);
    json_ok(&weft(&["wait", "--id", &copy, "--timeout", "20"]));

    // get-instances
    json_ok(&weft(&[
        "start-new",
        "--function-name",
        "Approval",
        "--id",
        "w1",
        "--input",
        WAITS,
    ]));
    f.server.api().wait_approval_waiting("w1");
    let list = |args: &[&str]| -> Vec<String> {
        let v = json_ok(&weft(&[&["get-instances"], args].concat()));
        let mut ids = weft_tests::http::ids(&v["instances"]);
        ids.sort();
        ids
    };
    assert_eq!(list(&["--runtime-status", "Running", "Failed"]), ["w1"]);
    assert_eq!(
        list(&["--runtime-status", "Completed", "--instance-id-prefix", "r"]),
        ["r1"]
    );
    assert_eq!(
        list(&["--created-after", "2000-01-01T00:00:00Z", "--top", "100"]).len(),
        3
    );
    assert!(list(&["--created-before", "2000-01-01T00:00:00Z"]).is_empty());
    let v = json_ok(&weft(&[
        "get-instances",
        "--instance-id-prefix",
        "w1",
        "--show-input",
        "true",
    ]));
    assert_eq!(v["instances"][0]["input"], json!({"timeoutSeconds": 3600}));
    fails(
        &weft(&["get-instances", "--runtime-status", "Sleeping"]),
        &["400", "runtimeStatus"],
    );
    fails(
        &weft(&["get-instances", "--created-after", "yesterday"]),
        &["400", "createdTimeFrom"],
    );

    // purge-history: by ID, then by filter (which never touches w1)
    fails(&weft(&["purge-history", "--id", "w1"]), &["409", "Running"]);
    assert_eq!(
        json_ok(&weft(&["purge-history", "--id", "r1"])),
        json!({"instancesDeleted": 1})
    );
    fails(&weft(&["purge-history", "--id", "r1"]), &["404"]);
    let v = json_ok(&weft(&[
        "purge-history",
        "--runtime-status",
        "Completed",
        "Running",
    ]));
    assert_eq!(
        v,
        json!({"instancesDeleted": 1}),
        "only the restarted copy was left to purge"
    );
    let v = json_ok(&weft(&[
        "purge-history",
        "--created-after",
        "2000-01-01T00:00:00Z",
    ]));
    assert_eq!(
        v,
        json!({"instancesDeleted": 0}),
        "nothing matched is not a failure"
    );
    fails(
        &weft(&["purge-history", "--created-before", "tomorrow"]),
        &["400", "createdTimeTo"],
    );
    assert_eq!(list(&[]), ["w1"]);

    // delete-task-hub
    let v = json_ok(&weft(&[
        "start-new",
        "--function-name",
        "HelloSequence",
        "--task-hub-name",
        "Scratch",
        "--wait",
        "20",
    ]));
    assert_eq!(v["runtimeStatus"], "Completed", "{v}");
    let v = json_ok(&weft(&["delete-task-hub", "--task-hub-name", "Scratch"]));
    assert_eq!(v, json!({"taskHub": "Scratch", "deleted": true}));
    fails(
        &weft(&["delete-task-hub", "--task-hub-name", "not-a-hub"]),
        &["400", "task hub"],
    );
    fails(
        &weft(&["get-instances", "--task-hub-name", "Scratch"]),
        &["404", "Scratch"],
    );
    f.server.assert_no_panics();
}
