//! Hosts on one PostgreSQL task hub (issue 10), on the test kit's private
//! server: one host serves a hub at a time; a second host is refused with
//! the reason while the first lives, and takes the hub over once the first
//! is SIGKILLed, finishing what the first left in flight from the database
//! alone.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use weft_testkit::postgres::PgCluster;
use weft_tests::paths;
use weft_tests::poll::DEADLINE;
use weft_tests::server::Server;

fn host(dir: &Path, url: &str) -> Server {
    Server::builder(dir, &paths::components())
        .store(Path::new(url))
        .env("XDG_CACHE_HOME", &dir.to_string_lossy())
        .start()
}

#[test]
fn a_second_host_is_refused_while_the_first_serves_and_takes_over_when_it_dies() {
    let url = PgCluster::shared().fresh_database("hosts");
    let dir = tempfile::tempdir().unwrap();
    let mut first = host(dir.path(), &url);
    let api = first.api();
    let waiting = api.start_ok("Approval", Some("approve-me"), r#"{"timeoutSeconds":600}"#);
    let done = api.start_ok("HelloSequence", Some("hello"), "null");
    api.wait_approval_waiting(&waiting);
    assert_eq!(
        api.wait_output(&done, DEADLINE),
        json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );

    // A second host on the same hub: refused, with the reason, and the
    // first keeps serving.
    let log = dir.path().join("second.log");
    let started = Instant::now();
    let out = Command::new(paths::weft_bin())
        .args(["serve", "--store", &url, "--listen", "127.0.0.1:0"])
        .arg("--components")
        .arg(paths::components())
        .env("XDG_CACHE_HOME", dir.path())
        .env_remove("WEFT_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .status()
        .expect("run a second weft serve");
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(!out.success(), "the second host must not serve: {said}");
    assert!(
        said.contains("is served by another Weft host"),
        "the refusal says why: {said}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "refused after waiting a bounded time"
    );
    assert_eq!(api.status(&waiting).json()["runtimeStatus"], "Running");

    // The first dies; a host started after it takes the hub over and
    // finishes the instance from the database alone.
    first.kill();
    let other = tempfile::tempdir().unwrap();
    let second = host(other.path(), &url);
    let api = second.api();
    assert_eq!(api.status(&waiting).json()["runtimeStatus"], "Running");
    api.raise(&waiting, "Approval", "true").expect(202);
    assert_eq!(api.wait_output(&waiting, DEADLINE), json!("approved"));
    assert_eq!(api.status(&done).json()["runtimeStatus"], "Completed");
    second.assert_no_panics();
}
