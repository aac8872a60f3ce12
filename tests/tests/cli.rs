//! The `weft` instance-management commands against a running server (R-2.15):
//! JSON on stdout, readable errors on stderr, meaningful exit codes.

use serde_json::{Value, json};
use weft_tests::cli::{json_ok, run as weft, text};
use weft_tests::paths;
use weft_tests::poll::DEADLINE;
use weft_tests::server::Server;

fn serve() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &paths::components());
    (dir, server)
}

#[test]
fn start_new_with_wait_prints_the_finished_status() {
    let (_dir, server) = serve();
    let out = weft(
        &server.endpoint(),
        &[
            "start-new",
            "--function-name",
            "HelloSequence",
            "--id",
            "cli-hello",
            "--wait",
            "30",
        ],
    );
    let v = json_ok(&out);
    assert_eq!(v["instanceId"], "cli-hello");
    assert_eq!(v["runtimeStatus"], "Completed", "{v}");
    assert_eq!(
        v["output"],
        json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );
}

#[test]
fn start_new_reads_input_from_a_file() {
    let (dir, server) = serve();
    let input = dir.path().join("input.json");
    std::fs::write(&input, "10\n").unwrap();
    let arg = format!("@{}", input.display());
    let out = weft(
        &server.endpoint(),
        &[
            "start-new",
            "--function-name",
            "FanOutFanIn",
            "--input",
            &arg,
            "--wait",
            "30",
        ],
    );
    let v = json_ok(&out);
    assert_eq!(v["input"], json!(10));
    assert_eq!(v["output"], json!(45), "{v}");

    // Without --wait it prints the management URLs at once.
    let out = weft(
        &server.endpoint(),
        &[
            "start-new",
            "--function-name",
            "FanOutFanIn",
            "--input",
            "4",
        ],
    );
    let v = json_ok(&out);
    let id = v["id"].as_str().expect("id").to_owned();
    let status_uri = v["statusQueryGetUri"].as_str().expect("statusQueryGetUri");
    assert!(
        status_uri.starts_with(&format!("{}/instances/{id}", server.api().base)),
        "{v}"
    );
    assert_eq!(server.api().wait_output(&id, DEADLINE), json!(6));
}

#[test]
fn get_runtime_status_and_raise_event() {
    let (_dir, server) = serve();
    let ep = server.endpoint();
    json_ok(&weft(
        &ep,
        &[
            "start-new",
            "--function-name",
            "Approval",
            "--id",
            "cli-approval",
            "--input",
            r#"{"timeoutSeconds":60}"#,
        ],
    ));
    server
        .api()
        .wait_for("cli-approval", "waiting for approval", DEADLINE, |s| {
            s["customStatus"] == "waiting for approval"
        });
    let v = json_ok(&weft(&ep, &["get-runtime-status", "--id", "cli-approval"]));
    assert_eq!(v["instanceId"], "cli-approval");
    assert_eq!(v["name"], "Approval");
    assert_eq!(v["runtimeStatus"], "Running");
    assert_eq!(v["input"], json!({"timeoutSeconds": 60}));
    assert_eq!(v["customStatus"], "waiting for approval");

    let out = weft(
        &ep,
        &[
            "raise-event",
            "--id",
            "cli-approval",
            "--event-name",
            "Approval",
            "--event-data",
            "true",
        ],
    );
    assert!(out.status.success(), "raise-event: {}", text(&out.stderr));
    assert_eq!(
        server.api().wait_output("cli-approval", DEADLINE),
        "approved"
    );
    let v = json_ok(&weft(&ep, &["get-runtime-status", "--id", "cli-approval"]));
    assert_eq!(v["runtimeStatus"], "Completed");
    assert_eq!(v["output"], "approved");

    // Unknown instance: non-zero, and the error says so.
    let out = weft(&ep, &["get-runtime-status", "--id", "nobody"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("404"), "{}", text(&out.stderr));
    // Raising to a finished instance: non-zero, 410.
    let out = weft(
        &ep,
        &[
            "raise-event",
            "--id",
            "cli-approval",
            "--event-name",
            "Approval",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("410"), "{}", text(&out.stderr));
}

#[test]
fn unknown_orchestrator_fails_with_a_readable_error() {
    let (_dir, server) = serve();
    let out = weft(
        &server.endpoint(),
        &["start-new", "--function-name", "NoSuchThing", "--wait", "5"],
    );
    assert!(!out.status.success(), "exit status {}", out.status);
    let err = text(&out.stderr);
    assert!(
        err.contains("NoSuchThing") && err.contains("HelloSequence"),
        "stderr should name the unknown and the known orchestrators: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(text(&out.stdout).trim().is_empty(), "nothing on stdout");
}

#[test]
fn invalid_input_json_fails_before_contacting_the_server() {
    // Port 9 (discard) on loopback: nothing listens; the input check comes first.
    let out = weft(
        "http://127.0.0.1:9",
        &[
            "start-new",
            "--function-name",
            "HelloSequence",
            "--input",
            "Tokyo",
        ],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("--input") && err.contains("not valid JSON"),
        "{err}"
    );
}

#[test]
fn unreachable_endpoint_fails_and_mentions_weft_serve() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ep = format!("http://127.0.0.1:{port}");
    for args in [
        &["start-new", "--function-name", "HelloSequence"][..],
        &["get-runtime-status", "--id", "x"][..],
    ] {
        let out = weft(&ep, args);
        assert!(
            !out.status.success(),
            "{args:?}: exit status {}",
            out.status
        );
        let err = text(&out.stderr);
        assert!(
            err.contains("weft serve") && err.contains(&ep),
            "{args:?}: stderr should name the endpoint and suggest `weft serve`: {err}"
        );
    }
}

#[test]
fn start_new_wait_exit_codes_say_how_the_instance_ended() {
    let (_dir, server) = serve();
    let ep = server.endpoint();
    // Failed: the status is printed, and the exit code is not 0.
    let out = weft(
        &ep,
        &[
            "start-new",
            "--function-name",
            "FanOutFanIn",
            "--input",
            r#""ten""#,
            "--wait",
            "30",
        ],
    );
    assert!(!out.status.success(), "a Failed instance exits non-zero");
    let v: Value = serde_json::from_slice(&out.stdout).expect("status JSON on stdout");
    assert_eq!(v["runtimeStatus"], "Failed", "{v}");
    // Not finished in time: the status so far is printed, and the exit code is not 0.
    let out = weft(
        &ep,
        &[
            "start-new",
            "--function-name",
            "Approval",
            "--input",
            r#"{"timeoutSeconds":60}"#,
            "--wait",
            "0.5",
        ],
    );
    assert!(
        !out.status.success(),
        "an unfinished instance exits non-zero"
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("status JSON on stdout");
    assert_eq!(v["runtimeStatus"], "Running", "{v}");
    assert!(
        text(&out.stderr).contains("has not finished"),
        "{}",
        text(&out.stderr)
    );
}
