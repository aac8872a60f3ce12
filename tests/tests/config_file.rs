//! `weft serve --config weft.toml` (R-3.1): the file holds every setting;
//! flags win over environment variables, which win over the file; tables
//! per orchestrator or activity name override limits and add grants; and a
//! file with an unknown key or a bad value stops `serve` at start, naming the
//! key, before anything is created.

use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use weft_tests::paths;
use weft_tests::server::Server;
use weft_tests::target::{BODY, Target};

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn file_environment_and_flags_layer_and_names_override() {
    let target = Target::start();
    let dir = tempfile::tempdir().unwrap();
    let components = paths::component_set(
        &dir.path().join("components"),
        &["hostile.wasm", "egress.wasm", "hello-sequence.wasm"],
    );
    let config = dir.path().join("weft.toml");
    // The harness passes --store and --listen: if the file won over them, the
    // server could not start.
    std::fs::write(
        &config,
        format!(
            r#"
# every key is a serve flag without its dashes
store = "/nonexistent/dir/weft.redb"
listen = "127.0.0.1:1"
orchestrator-turn-limit = "100ms"
activity-timeout = "20s"
max-tasks-per-turn = 5

[orchestrator.Hog]
memory = "16MiB"

[activity.SpinActivity]
timeout = "700ms"

[activity.Fetch]
allow-http = ["127.0.0.1:{port}"]
"#,
            port = target.port
        ),
    )
    .unwrap();
    let server = Server::builder(dir.path(), &components)
        .args(&[
            "--config",
            config.to_str().unwrap(),
            "--orchestrator-turn-limit",
            "400ms",
        ])
        .env("WEFT_ORCHESTRATOR_TURN_LIMIT", "300ms")
        .env("WEFT_MAX_TASKS_PER_TURN", "30")
        .start();
    let api = server.api();

    // Flag over environment over file.
    let id = api.start_ok("Spin", Some("spin"), "");
    let s = api.wait_done(&id, WAIT);
    let message = s["output"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("400ms") && message.contains("--orchestrator-turn-limit"),
        "{s}"
    );
    // Environment over file.
    let id = api.start_ok("Flood", Some("flood"), "");
    let s = api.wait_done(&id, WAIT);
    assert_eq!(s["output"]["errorType"], "weft.TaskLimitExceeded", "{s}");
    assert!(
        s["output"]["message"]
            .as_str()
            .unwrap()
            .contains("more than 30 tasks"),
        "{s}"
    );
    // A per-orchestrator limit, named as such in the failure.
    let id = api.start_ok("Hog", Some("hog"), "");
    let s = api.wait_done(&id, WAIT);
    let message = s["output"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("16MiB") && message.contains("[orchestrator.NAME]"),
        "{s}"
    );
    // A per-activity limit.
    let id = api.start_ok("CallsSpinning", Some("calls-spinning"), "");
    let out = api.wait_output(&id, WAIT);
    assert_eq!(out["errorType"], "weft.ActivityTimeout", "{out}");
    let message = out["message"].as_str().unwrap();
    assert!(
        message.contains("700ms") && message.contains("[activity.NAME]"),
        "{out}"
    );
    // A per-activity grant: Fetch may reach the target, nothing else may.
    let input = json!({ "url": format!("http://127.0.0.1:{}/", target.port) }).to_string();
    let id = api.start_ok("FetchOne", Some("fetch"), &input);
    let out = api.wait_output(&id, WAIT);
    assert_eq!(out["ok"]["body"], BODY, "{out}");
    // Healthy work runs under the file's defaults.
    let id = api.start_ok("HelloSequence", Some("hello"), "");
    api.wait_output(&id, WAIT);
    server.assert_no_panics();
}

/// Runs `weft serve --config FILE` on a file with one mistake; it must exit
/// at once with the key named, and create no store.
fn refused(text: &str, words: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("weft.toml");
    let store = dir.path().join("weft.redb");
    std::fs::write(
        &config,
        format!("store = {:?}\n{text}\n", store.to_str().unwrap()),
    )
    .unwrap();
    let mut child = Command::new(paths::weft_bin())
        .arg("serve")
        .env("WEFT_CONFIG", &config)
        .env_remove("WEFT_API_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{text}: serve accepted the file and kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{text}: serve should refuse the file"
    );
    assert!(!err.contains("panicked"), "{err}");
    for w in words {
        assert!(err.contains(w), "{text}: '{w}' missing from: {err}");
    }
    assert!(
        !store.exists(),
        "{text}: a refused configuration must create nothing"
    );
}

#[test]
fn a_bad_file_stops_serve_naming_the_key() {
    refused(
        "max-hott = 5",
        &["line 2, max-hott", "unknown field", "max-hot"],
    );
    refused(
        "activity-memory = \"lots\"",
        &["activity-memory", "not a size", "MiB"],
    );
    refused(
        "orchestrator-turn-limit = 5",
        &["orchestrator-turn-limit", "string"],
    );
    refused(
        "allow-http = [\"http://x.test/path\"]",
        &["allow-http", "paths"],
    );
    refused(
        "[activity.Fetch]\ntimeuot = \"1s\"",
        &["activity.Fetch.timeuot", "timeout"],
    );
    refused(
        "[orchestrator.X]\nmax-tasks-per-turn = 0",
        &["orchestrator.X.max-tasks-per-turn", "positive"],
    );
    refused("listen = \"0.0.0.0:7071\"", &["API key"]);
    refused(
        "api-key-env = \"WEFT_TEST_NOT_SET_ANYWHERE\"",
        &["WEFT_TEST_NOT_SET_ANYWHERE"],
    );
    // A missing file is refused too.
    let out = Command::new(paths::weft_bin())
        .args(["serve", "--config", "/nonexistent/weft.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/weft.toml"));
}
