//! The sandbox holds: hostile guests (the `hostile` test program) that
//! spin, allocate, recurse, schedule and grow their history without end each
//! fail only themselves, with their reason and the setting that changes it,
//! while a healthy workload in the same host completes and the server keeps
//! answering HTTP.

use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use weft_tests::http::Api;
use weft_tests::paths;
use weft_tests::server::Server;

/// The limits the hostile host runs with: small, so the test is quick.
const LIMITS: &[&str] = &[
    "--orchestrator-turn-limit",
    "500ms",
    "--activity-timeout",
    "2s",
    "--orchestrator-memory",
    "32MiB",
    "--activity-memory",
    "64MiB",
    "--max-tasks-per-turn",
    "1000",
    "--max-history-events",
    "200",
];

/// Slack on top of a limit for a stop to be reported, on a loaded 2-core CI machine.
const MARGIN: Duration = Duration::from_secs(20);

/// A components directory holding the hostile program and HelloSequence.
fn components(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("components");
    std::fs::create_dir_all(&out).unwrap();
    for (from, name) in [
        (paths::test_components(), "hostile.wasm"),
        (paths::components(), "hello-sequence.wasm"),
    ] {
        std::fs::copy(from.join(name), out.join(name)).unwrap();
    }
    out
}

/// Probes the server over HTTP until stopped; returns the slowest answer.
fn probe(api: Api, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(u32, Duration)> {
    std::thread::spawn(move || {
        let mut slowest = Duration::ZERO;
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            let r = api.get("instances?top=5");
            assert_eq!(r.status, 200, "the server must keep answering: {}", r.body);
            slowest = slowest.max(t.elapsed());
            n += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        (n, slowest)
    })
}

/// Waits for `id` to fail; returns its failure and how long that took from `since`.
fn failure_of(api: &Api, id: &str, within: Duration, since: Instant) -> (Value, Duration) {
    let s = api.wait_done(id, within + MARGIN);
    let took = since.elapsed();
    assert_eq!(s["runtimeStatus"], "Failed", "{id} should fail: {s}");
    (s["output"].clone(), took)
}

/// Resident memory of process `pid`, MiB.
fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS in /proc/PID/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS value");
    kib / 1024
}

#[track_caller]
fn assert_failure(output: &Value, error_type: &str, words: &[&str]) {
    assert_eq!(output["errorType"], error_type, "{output}");
    let message = output["message"].as_str().expect("a message");
    for w in words {
        assert!(message.contains(w), "'{w}' missing from: {message}");
    }
}

#[test]
fn hostile_guests_fail_alone_while_healthy_instances_complete() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &components(dir.path()), LIMITS);
    let api = server.api();
    let stop = Arc::new(AtomicBool::new(false));
    let prober = probe(api.clone(), stop.clone());
    let begun = Instant::now();

    let spins: Vec<String> = (0..3)
        .map(|i| api.start_ok("Spin", Some(&format!("spin-{i}")), ""))
        .collect();
    let hog = api.start_ok("Hog", Some("hog"), "");
    let recurse = api.start_ok("Recurse", Some("recurse"), "");
    let flood = api.start_ok("Flood", Some("flood"), "");
    let forever = api.start_ok("Forever", Some("forever"), "");
    let spin_later = api.start_ok("SpinLater", Some("spin-later"), "5");
    let calls_spinning: Vec<String> = (0..2)
        .map(|i| api.start_ok("CallsSpinning", Some(&format!("calls-spinning-{i}")), ""))
        .collect();
    let calls_hogging = api.start_ok("CallsHogging", Some("calls-hogging"), "");
    let healthy: Vec<String> = (0..40)
        .map(|i| api.start_ok("HelloSequence", Some(&format!("healthy-{i}")), ""))
        .collect();

    let turn = Duration::from_millis(500);
    for id in &spins {
        let (out, took) = failure_of(&api, id, turn, begun);
        assert_failure(
            &out,
            "weft.CpuLimitExceeded",
            &["'Spin'", id, "500ms", "--orchestrator-turn-limit"],
        );
        eprintln!("{id}: stopped after {took:?}");
    }
    let (out, _) = failure_of(&api, &spin_later, turn, begun);
    assert_failure(&out, "weft.CpuLimitExceeded", &["in one turn"]);
    let (out, _) = failure_of(&api, &hog, turn, begun);
    assert_failure(
        &out,
        "weft.MemoryLimitExceeded",
        &["'Hog'", "32MiB", "--orchestrator-memory"],
    );
    let (out, _) = failure_of(&api, &recurse, turn, begun);
    assert_failure(&out, "weft.StackOverflow", &["'Recurse'", "stack"]);
    let (out, _) = failure_of(&api, &flood, turn, begun);
    assert_failure(
        &out,
        "weft.TaskLimitExceeded",
        &["1000", "--max-tasks-per-turn"],
    );
    let (out, _) = failure_of(&api, &forever, Duration::from_secs(10), begun);
    assert_failure(
        &out,
        "weft.HistoryLimitExceeded",
        &["200", "--max-history-events"],
    );

    // Activity limits fail the attempt: the orchestrator gets the failure.
    for id in &calls_spinning {
        let out = api.wait_output(id, Duration::from_secs(2) + MARGIN);
        assert_eq!(out["errorType"], "weft.ActivityTimeout", "{out}");
        let message = out["message"].as_str().unwrap();
        assert!(
            message.contains("2s") && message.contains("--activity-timeout"),
            "{message}"
        );
    }
    let out = api.wait_output(&calls_hogging, MARGIN);
    assert_eq!(out["errorType"], "weft.MemoryLimitExceeded", "{out}");
    assert!(out["message"].as_str().unwrap().contains("64MiB"), "{out}");

    for id in &healthy {
        let out = api.wait_output(id, MARGIN);
        assert_eq!(
            out,
            serde_json::json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
        );
    }
    stop.store(true, Ordering::Relaxed);
    let (probes, slowest) = prober.join().expect("the HTTP probe");
    eprintln!(
        "all done after {:?}; {probes} HTTP probes, slowest {slowest:?}",
        begun.elapsed()
    );
    assert!(probes > 0);
    // A new instance still runs after all that.
    let id = api.start_ok("HelloSequence", Some("after"), "");
    api.wait_output(&id, MARGIN);
    // The guests' memory was theirs to lose: the host's own stays small.
    let rss = rss_mib(server.pid());
    eprintln!("host resident memory afterwards: {rss} MiB");
    assert!(rss < 256, "the host holds {rss} MiB after the hostile run");
    server.assert_no_panics();
}

/// Rebuilding an evicted guest replays its whole history every turn
/// (`--max-hot 0`): replay is budgeted apart from the turn's new work, so a
/// long history does not trip the turn limit, and the runaway loop after it
/// still stops within the limit.
#[test]
fn replaying_a_long_history_does_not_trip_the_turn_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut flags = LIMITS.to_vec();
    flags.extend(["--max-hot", "0"]);
    let server = Server::start_with(dir.path(), &components(dir.path()), &flags);
    let api = server.api();
    let begun = Instant::now();
    let id = api.start_ok("SpinLater", Some("replayed"), "30");
    let (out, _) = failure_of(&api, &id, Duration::from_secs(30), begun);
    assert_failure(&out, "weft.CpuLimitExceeded", &["in one turn", "500ms"]);
    // It got through all 30 activities (each turn a full replay) before
    // spinning. The turn that spun is not recorded: its arrival, the 30th
    // result, is still in the inbox, so history holds 29 results.
    let history = api.history(&id);
    let count = |ty: &str| history.iter().filter(|e| e["eventType"] == ty).count();
    assert_eq!(count("TaskScheduled"), 30, "every step ran before the loop");
    assert_eq!(count("TaskCompleted"), 29);
    assert_eq!(count("ExecutionCompleted"), 0, "the stop is not in history");
    server.assert_no_panics();
}

#[test]
fn limits_that_do_not_parse_stop_serve_with_the_setting_named() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value, words) in [
        ("--orchestrator-turn-limit", "fast", "not a duration"),
        ("--orchestrator-turn-limit", "0s", "zero"),
        ("--activity-timeout", "5", "not a duration"),
        ("--orchestrator-memory", "8GiB", "4GiB"),
        ("--activity-memory", "lots", "not a size"),
        ("--max-tasks-per-turn", "0", "not a positive whole number"),
        (
            "--max-history-events",
            "lots",
            "not a positive whole number",
        ),
    ] {
        let out = std::process::Command::new(paths::weft_bin())
            .args(["serve", "--store"])
            .arg(dir.path().join("weft.redb"))
            .args(["--listen", "127.0.0.1:1", flag, value])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag} {value} must be refused");
        assert!(
            stderr.contains(flag) && stderr.contains(words),
            "{flag} {value}: {stderr}"
        );
    }
    assert!(
        !dir.path().join("weft.redb").exists(),
        "a refused start creates no store"
    );
}

/// Activities see exactly the environment variables the operator grants
/// (`--activity-env`); orchestrators see none.
#[test]
fn activities_see_only_the_granted_environment() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::builder(dir.path(), &components(dir.path()))
        .args(&[
            "--activity-env",
            "GREETING=hello from the operator",
            "--activity-env",
            "PASSED_THROUGH",
        ])
        .env("PASSED_THROUGH", "from the host process")
        .env("NOT_GRANTED", "secret")
        .start();
    let api = server.api();
    for (var, expected) in [
        ("GREETING", Value::from("hello from the operator")),
        ("PASSED_THROUGH", Value::from("from the host process")),
        ("NOT_GRANTED", Value::Null),
        ("PATH", Value::Null),
    ] {
        let id = api.start_ok("EnvBothWays", None, &serde_json::to_string(var).unwrap());
        let out = api.wait_output(&id, MARGIN);
        assert_eq!(out["activity"], expected, "{var}");
        assert_eq!(
            out["orchestrator"],
            Value::Null,
            "{var}: orchestrators see no environment"
        );
    }
    // A name that is not one, or a pass-through of an unset variable, stops serve.
    for (arg, words) in [
        ("1BAD=x", "not an environment variable name"),
        ("SURELY_UNSET_HERE", "not set"),
    ] {
        let out = std::process::Command::new(paths::weft_bin())
            .args(["serve", "--store"])
            .arg(dir.path().join("other.redb"))
            .args(["--listen", "127.0.0.1:1", "--activity-env", arg])
            .env_remove("SURELY_UNSET_HERE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(words),
            "{arg}: {stderr}"
        );
    }
}
