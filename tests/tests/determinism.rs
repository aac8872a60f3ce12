//! Determinism guaranteed by the host (R-1.7, R-1.8; reliability plan §9.4):
//! the adversarial orchestrators of `tests/programs/adversarial`, run on the
//! real server with guests kept hot and with every turn replayed
//! (`--max-hot 0`), then re-executed in-process with `check_replay`.

use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};
use weft_core::EventKind;
use weft_tests::http::Api;
use weft_tests::poll::DEADLINE;
use weft_tests::server::Server;
use weft_tests::store::{self, InProcess};
use weft_tests::{history, paths};

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The input of the first `TaskScheduled` in `id`'s history (what the
/// orchestrator sent to `Echo`).
fn echoed(h: &[weft_core::HistoryEvent]) -> Value {
    h.iter()
        .find_map(|e| match &e.kind {
            EventKind::TaskScheduled { input, .. } => Some(input.to_value()),
            _ => None,
        })
        .expect("a TaskScheduled event")
}

fn failure(api: &Api, id: &str) -> Value {
    let s = api.wait_done(id, DEADLINE);
    assert_eq!(s["runtimeStatus"], "Failed", "instance {id}: {s}");
    s["output"].clone()
}

/// Runs ReadsClock, DrawsRandom (twice), IteratesHashMap and Prints on a
/// server started with `extra` flags, and checks what each observed.
fn adversarial_suite(extra: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let components = paths::test_components();
    let mut server = Server::start_with(dir.path(), &components, extra);
    let api = server.api();
    let t0 = unix_ms();
    let ids = ["clock", "random-1", "random-2", "hashmap", "prints"];
    api.start_ok("ReadsClock", Some("clock"), "");
    api.start_ok("DrawsRandom", Some("random-1"), "");
    api.start_ok("DrawsRandom", Some("random-2"), "");
    api.start_ok("IteratesHashMap", Some("hashmap"), "");
    api.start_ok("Prints", Some("prints"), "");

    // ReadsClock: std clocks read the orchestration time, on every replay.
    let clock = api.wait_output("clock", DEADLINE);
    let n = |k: &str| {
        clock[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k} missing: {clock}"))
    };
    assert_eq!(
        n("systemBeforeMs"),
        n("ctxBeforeMs"),
        "SystemTime::now() must be the orchestration time: {clock}"
    );
    assert_eq!(n("systemAfterMs"), n("ctxAfterMs"), "{clock}");
    assert!(
        n("ctxAfterMs") >= n("ctxBeforeMs") + 1000,
        "the orchestration time advances past the 1 s timer: {clock}"
    );
    assert_eq!(
        n("instantElapsedMs"),
        n("ctxAfterMs") - n("ctxBeforeMs"),
        "Instant follows the orchestration clock: {clock}"
    );
    assert!(
        n("ctxBeforeMs") + 2000 >= t0 && n("ctxBeforeMs") <= unix_ms(),
        "the orchestration time is the real time of the episode: {clock}, test started at {t0}"
    );

    // DrawsRandom: numbers look random, differ between executions.
    let r1 = api.wait_output("random-1", DEADLINE);
    let r2 = api.wait_output("random-2", DEADLINE);
    assert_ne!(r1["getrandom"][0], r1["getrandom"][1], "{r1}");
    assert_ne!(
        r1["getrandom"], r2["getrandom"],
        "two executions should draw different numbers"
    );

    // IteratesHashMap: some order of the 50 keys.
    let order = api.wait_output("hashmap", DEADLINE);
    let mut keys: Vec<String> = serde_json::from_value(order.clone()).expect("list of keys");
    keys.sort();
    let mut want: Vec<String> = (0..50).map(|i| format!("key-{i}")).collect();
    want.sort();
    assert_eq!(keys, want);

    assert_eq!(api.wait_output("prints", DEADLINE), "printed");
    let status = server.stop();
    assert!(status.success(), "weft serve exited with {status}");

    // Prints: each line reached the log once, replays are silent.
    let log = server.log();
    for line in [
        "adversarial: a line on stdout",
        "adversarial: a line on stderr",
        "adversarial: after the activity",
    ] {
        let hits: Vec<&str> = log.lines().filter(|l| l.contains(line)).collect();
        assert_eq!(
            hits.len(),
            1,
            "the log should have {line:?} exactly once; found {hits:#?}"
        );
        assert!(
            hits[0].contains("prints"),
            "the line names the instance: {}",
            hits[0]
        );
    }

    let host = InProcess::open(server.store(), &components);
    for id in ids {
        let h = host.history(id);
        history::assert_well_formed(id, &h);
        if let Err(e) = host.check_replay(id) {
            panic!("{id}: re-execution differs from the stored history: {e}");
        }
    }
    // The values the final turn returned equal those an earlier turn sent to
    // Echo (with --max-hot 0 the final turn recomputed them by replay).
    assert_eq!(echoed(&host.history("random-1")), r1);
    assert_eq!(echoed(&host.history("random-2")), r2);
    assert_eq!(echoed(&host.history("hashmap")), order);
}

#[test]
fn adversarial_orchestrators_are_deterministic_with_hot_guests() {
    adversarial_suite(&[]);
}

#[test]
fn adversarial_orchestrators_are_deterministic_when_every_turn_replays() {
    adversarial_suite(&["--max-hot", "0"]);
}

#[test]
fn files_are_forbidden_and_panics_fail_the_instance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &paths::test_components());
    let api = server.api();
    api.start_ok("OpensFile", Some("file"), "");
    api.start_ok("Panics", Some("panic"), "");

    let f = failure(&api, "file");
    assert_eq!(f["errorType"], "weft.Forbidden", "{f}");
    let msg = f["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("filesystem") && msg.contains("Move this work into an activity"),
        "the error should say what was refused and what to do: {msg}"
    );

    let f = failure(&api, "panic");
    let msg = f["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("boom"),
        "the panic message should reach the output: {f}"
    );
    assert!(msg.contains("Panics"), "and name the orchestrator: {f}");
}

#[test]
fn nondeterminism_after_restart_fails_the_instance_and_appends_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let components = paths::test_components();
    let mut server = Server::start(dir.path(), &components);
    let api = server.api();
    let id = "diverges";
    api.start_ok("Diverges", Some(id), "");
    api.wait_for(id, "Running", DEADLINE, |s| s["runtimeStatus"] == "Running");
    // Kill once A's result is committed, so the history has a second episode
    // to replay (where the code switches to B) and the replay check below
    // has a divergence to find; with one episode there is nothing to replay.
    weft_tests::poll::until("A's result to be committed", DEADLINE, || {
        let h = api.history(id);
        if h.iter().any(|e| e["eventType"] == "TaskCompleted") {
            Ok(())
        } else {
            Err(format!("{} events", h.len()))
        }
    });
    server.kill();

    let before = store::history(server.store(), id);
    let a_at = before
        .iter()
        .position(|e| matches!(&e.kind, EventKind::TaskScheduled { name, .. } if name == "A"))
        .unwrap_or_else(|| panic!("A is scheduled: {}", history::outline(&before)));
    let a_done = history::count(&before, "TaskCompleted") == 1;
    eprintln!(
        "A's result {} committed before the kill",
        if a_done { "was" } else { "was not" }
    );

    // The next turn replays: Diverges now schedules B where history has A.
    server.restart();
    let api = server.api();
    let r = api.raise(id, "Go", "null");
    if a_done {
        r.expect(202);
    } else {
        // A's result was not committed before the kill: A runs again at
        // restart and its completion's turn already diverges.
        assert!(
            r.status == 202 || r.status == 410,
            "{} {}",
            r.status,
            r.body
        );
    }
    let f = failure(&api, id);
    assert_eq!(f["errorType"], "weft.Nondeterminism", "{f}");
    let msg = f["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains(&format!("history event {a_at}")),
        "the error should name history event {a_at}: {msg}"
    );
    assert!(
        msg.contains("'A'") && msg.contains("'B'"),
        "the error should name what history recorded (A) and what the code did (B): {msg}"
    );
    server.stop();
    let after = store::history(server.store(), id);
    assert_eq!(
        after,
        before,
        "nothing the divergent run did may be appended:\nbefore: {}\nafter: {}",
        history::outline(&before),
        history::outline(&after)
    );
    // Negative control for check_replay: this history cannot be reproduced.
    let host = InProcess::open(server.store(), &components);
    let r = host.check_replay(id);
    assert!(
        r.is_err(),
        "check_replay must report the divergence; got {r:?}"
    );
}

#[test]
fn examples_complete_when_every_turn_replays() {
    let dir = tempfile::tempdir().expect("temp dir");
    let components = dir.path().join("components");
    std::fs::create_dir(&components).unwrap();
    for src in [paths::components(), paths::test_components()] {
        for e in std::fs::read_dir(src).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, components.join(p.file_name().unwrap())).unwrap();
        }
    }
    let mut server = Server::start_with(dir.path(), &components, &["--max-hot", "0"]);
    let api = server.api();
    let hello = api.start_ok("HelloSequence", None, "");
    let fan = api.start_ok("FanOutFanIn", None, "10");
    let approval = api.start_ok("Approval", None, r#"{"timeoutSeconds":60}"#);
    let monitor = api.start_ok(
        "Monitor",
        None,
        r#"{"intervalSeconds":1,"maxChecks":5,"readyAfter":2}"#,
    );
    // Control: --max-hot 0 really replays. Diverges schedules B instead of A
    // once replaying, so it fails at its second turn without any restart.
    api.start_ok("Diverges", Some("diverges"), "");

    assert_eq!(
        api.wait_output(&hello, DEADLINE),
        json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );
    assert_eq!(api.wait_output(&fan, DEADLINE), json!(45));
    api.wait_for(&approval, "waiting for approval", DEADLINE, |s| {
        s["customStatus"] == "waiting for approval"
    });
    api.raise(&approval, "Approval", "true").expect(202);
    assert_eq!(api.wait_output(&approval, DEADLINE), "approved");
    assert_eq!(
        api.wait_output(&monitor, DEADLINE),
        json!({"ready": true, "checks": 2})
    );
    let f = failure(&api, "diverges");
    assert_eq!(
        f["errorType"], "weft.Nondeterminism",
        "with --max-hot 0 every turn replays, so Diverges must diverge: {f}"
    );
    server.stop();

    // What the cold path recorded re-executes identically, hot and replayed.
    let host = InProcess::open(server.store(), &components);
    for id in [&hello, &fan, &approval, &monitor] {
        let h = host.history(id);
        history::assert_well_formed(id, &h);
        if let Err(e) = host.check_replay(id) {
            panic!("{id}: re-execution differs from the stored history: {e}");
        }
    }
}

#[test]
fn example_histories_replay_byte_for_byte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let components = paths::components();
    let mut server = Server::start(dir.path(), &components);
    let api = server.api();
    let ids = [
        api.start_ok("HelloSequence", None, ""),
        api.start_ok("FanOutFanIn", None, "25"),
        api.start_ok("Approval", Some("approved"), r#"{"timeoutSeconds":60}"#),
        api.start_ok("Approval", Some("early"), r#"{"timeoutSeconds":60}"#),
        api.start_ok("Approval", Some("timed-out"), r#"{"timeoutSeconds":1}"#),
        api.start_ok(
            "Monitor",
            None,
            r#"{"intervalSeconds":1,"maxChecks":2,"readyAfter":9}"#,
        ),
    ];
    api.raise("early", "approval", "false").expect(202);
    api.wait_for("approved", "waiting for approval", DEADLINE, |s| {
        s["customStatus"] == "waiting for approval"
    });
    api.raise("approved", "Approval", "true").expect(202);
    for id in &ids {
        api.wait_output(id, DEADLINE);
    }
    assert_eq!(api.wait_output("timed-out", DEADLINE), "timed out");
    assert_eq!(
        api.wait_output(&ids[5], DEADLINE),
        json!({"ready": false, "checks": 2})
    );
    server.stop();
    let host = InProcess::open(server.store(), &components);
    for id in &ids {
        let h = host.history(id);
        history::assert_well_formed(id, &h);
        if let Err(e) = host.check_replay(id) {
            panic!("{id}: re-execution differs from the stored history: {e}");
        }
    }
}
