//! Control requests end to end (R-2.5, R-2.9, R-2.12): terminate, suspend and
//! resume, restart, rewind (with the `flaky` test program, whose activities
//! count their runs in files), rewind across a SIGKILL, and the replay check
//! over the histories these leave behind.

use serde_json::{Value, json};
use std::time::Duration;
use weft_tests::http::{Api, event_types};
use weft_tests::poll::DEADLINE;
use weft_tests::server::{Server, serve};
use weft_tests::store::InProcess;
use weft_tests::{flaky, history, paths, store};

/// The first full-history row of type `ty`, and its index.
fn find(history: &[Value], ty: &str) -> (usize, Value) {
    history
        .iter()
        .position(|e| e["eventType"] == ty)
        .map(|i| (i, history[i].clone()))
        .unwrap_or_else(|| panic!("no {ty} in {:?}", event_types(history)))
}

fn count(history: &[Value], ty: &str) -> usize {
    history.iter().filter(|e| e["eventType"] == ty).count()
}

/// The `historyEvents` projection of the status route.
fn projected(api: &Api, id: &str) -> Vec<Value> {
    let r = api.get(&format!("instances/{id}?showHistory=true"));
    r.json()["historyEvents"]
        .as_array()
        .expect("historyEvents")
        .clone()
}

/// Stops the server and re-executes each instance's stored history (hot and
/// replayed); fails unless both reproduce it and it is well formed.
fn assert_replays(server: &mut Server, components: &std::path::Path, ids: &[&str]) {
    assert!(
        server.stop().success(),
        "weft serve exited badly on SIGTERM"
    );
    server.assert_no_panics();
    for id in ids {
        history::assert_well_formed(id, &store::history(server.store(), id));
    }
    let host = InProcess::open(server.store(), components);
    for id in ids {
        if let Err(e) = host.check_replay(id) {
            panic!("instance '{id}' does not replay: {e}");
        }
    }
}

#[test]
fn terminate_records_the_reason_and_the_pending_timer_never_fires() {
    let (_dir, mut server) = serve(&paths::components(), &[]);
    let api = server.api();
    let id = api.start_ok("Approval", Some("ends"), r#"{"timeoutSeconds":2}"#);
    api.wait_approval_waiting(&id);
    api.control(&id, "terminate", "?reason=no%20longer%20needed")
        .expect(202);
    let s = api.wait_status(&id, "Terminated");
    assert_eq!(
        s["output"], "no longer needed",
        "the reason is the output: {s}"
    );

    let h = api.history(&id);
    let (_, terminated) = find(&h, "ExecutionTerminated");
    assert_eq!(terminated["reason"], "no longer needed");
    assert_eq!(count(&h, "TimerCreated"), 1, "{:?}", event_types(&h));
    let rows = projected(&api, &id);
    let row = rows
        .iter()
        .find(|r| r["EventType"] == "ExecutionTerminated")
        .expect("an ExecutionTerminated row");
    assert_eq!(row["Input"], "no longer needed", "{row}");

    // That its timer never fires is checked on a manual clock, without
    // sleeping (host/server/tests/clock.rs).
    assert_eq!(api.status(&id).json(), s, "a terminated instance changed");
    let after = api.history(&id);
    assert_eq!(after.len(), h.len(), "{:?}", event_types(&after));
    assert_eq!(count(&after, "TimerFired"), 0);
    api.raise(&id, "Approval", "true").expect(410);
    assert_replays(&mut server, &paths::components(), &[&id]);
}

#[test]
fn a_suspended_instance_keeps_events_until_it_is_resumed() {
    let (_dir, mut server) = serve(&paths::components(), &[]);
    let api = server.api();
    let id = api.start_ok("Approval", Some("paused"), r#"{"timeoutSeconds":60}"#);
    api.wait_approval_waiting(&id);
    api.control(&id, "suspend", "?reason=maintenance")
        .expect(202);
    let suspended = api.wait_status(&id, "Suspended");
    api.status(&id).expect(202);
    let len = api.history(&id).len();

    api.raise(&id, "Approval", "true").expect(202);
    // Give the host time it would need to process the event (it takes a few
    // ms when running): a short sleep to prove it is NOT processed.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        api.status(&id).json(),
        suspended,
        "a suspended instance moved"
    );
    let h = api.history(&id);
    assert_eq!(
        h.len(),
        len,
        "history grew while suspended: {:?}",
        event_types(&h)
    );

    // The suspension and the kept event survive a restart.
    server.kill();
    server.restart();
    let api = server.api();
    assert_eq!(api.status(&id).json()["runtimeStatus"], "Suspended");
    assert_eq!(count(&api.history(&id), "EventRaised"), 0);

    api.control(&id, "resume", "?reason=back").expect(202);
    assert_eq!(api.wait_output(&id, DEADLINE), "approved");
    let h = api.history(&id);
    let (i_suspended, suspended) = find(&h, "ExecutionSuspended");
    let (i_resumed, resumed) = find(&h, "ExecutionResumed");
    let (i_event, _) = find(&h, "EventRaised");
    assert_eq!(suspended["reason"], "maintenance");
    assert_eq!(resumed["reason"], "back");
    assert!(
        i_suspended < i_resumed && i_resumed < i_event,
        "the event is processed only after the resume: {:?}",
        event_types(&h)
    );
    let rows = projected(&api, &id);
    let reasons: Vec<(&Value, &Value)> = rows
        .iter()
        .filter(|r| r["EventType"] == "ExecutionSuspended" || r["EventType"] == "ExecutionResumed")
        .map(|r| (&r["EventType"], &r["Reason"]))
        .collect();
    assert_eq!(
        reasons,
        [
            (&json!("ExecutionSuspended"), &json!("maintenance")),
            (&json!("ExecutionResumed"), &json!("back"))
        ]
    );
    assert_replays(&mut server, &paths::components(), &[&id]);
}

fn is_generated_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

#[test]
fn restart_under_a_new_id_and_under_the_same_id() {
    let (_dir, server) = serve(&paths::components(), &[]);
    let api = server.api();
    let id = api.start_ok("FanOutFanIn", Some("orig"), "5");
    assert_eq!(api.wait_output(&id, DEADLINE), json!(10));
    let first_execution = find(&api.history(&id), "ExecutionStarted").1["executionId"].clone();

    // Default: a new random ID, same orchestrator and input.
    let r = api.control(&id, "restart", "");
    r.expect(202);
    let new = r.json()["id"].as_str().expect("id").to_owned();
    assert!(is_generated_id(&new) && new != id, "new ID: {new}");
    assert_eq!(r.header("retry-after").as_deref(), Some("10"));
    assert_eq!(api.wait_output(&new, DEADLINE), json!(10));
    let s = api.status(&new).json();
    assert_eq!(
        (&s["name"], &s["input"]),
        (&json!("FanOutFanIn"), &json!(5))
    );

    // The same ID over the finished instance: a fresh execution of it. With
    // `timeout` the restart route waits like the start route: 200 and the output.
    let r = api.control(
        &id,
        "restart",
        "?restartWithNewInstanceId=false&timeout=20&pollingInterval=1",
    );
    r.expect(200);
    assert_eq!(r.json(), json!(10));
    let h = api.history(&id);
    assert_eq!(count(&h, "ExecutionStarted"), 1, "{:?}", event_types(&h));
    assert_ne!(
        find(&h, "ExecutionStarted").1["executionId"],
        first_execution
    );

    // The same ID over a running instance: 409, and it keeps running.
    let busy = api.start_ok("Approval", Some("busy"), r#"{"timeoutSeconds":60}"#);
    let before = api.wait_approval_waiting(&busy);
    let r = api.control(&busy, "restart", "?restartWithNewInstanceId=false");
    r.expect(409);
    assert!(r.error().contains("busy"), "{}", r.error());
    assert_eq!(api.status(&busy).json(), before);
    // A new ID is fine while it runs.
    let r = api.control(&busy, "restart", "");
    r.expect(202);
    let copy = r.json()["id"].as_str().unwrap().to_owned();
    api.wait_approval_waiting(&copy);
    for i in [&busy, &copy] {
        api.raise(i, "Approval", "false").expect(202);
        assert_eq!(api.wait_output(i, DEADLINE), "rejected");
    }
    api.control("nobody", "restart", "").expect(404);
}

#[test]
fn rewind_runs_failed_activities_again_and_keeps_completed_work() {
    let mut f = flaky::serve(&[]);
    let api = f.server.api();
    let once = api.start_ok("RewindMe", Some("once"), &flaky::input("once", 1));
    let twice = api.start_ok("RewindMe", Some("twice"), &flaky::input("twice", 2));
    for id in [&once, &twice] {
        let s = api.wait_status(id, "Failed");
        assert_eq!(s["output"]["errorType"], "Flaky", "{s}");
        assert_eq!((f.runs(&format!("{id}-before")), f.runs(id)), (1, 1));
    }

    // Rewind through the management URL, as given.
    let m = api.get("instances/once/management");
    m.expect(200);
    let url = m.json()["rewindPostUri"]
        .as_str()
        .expect("rewindPostUri")
        .replace("{text}", "retry");
    api.run(api.request_url(reqwest::Method::POST, &url))
        .expect(202);
    let s = flaky::wait_after_rewinds(&api, &once, 1);
    assert_eq!(s["runtimeStatus"], "Completed", "{s}");
    assert_eq!(s["output"], json!({"before": 1, "flaky": 2, "after": 1}));
    assert_eq!(
        (f.runs("once-before"), f.runs("once"), f.runs("once-after")),
        (1, 2, 1),
        "only the failed activity ran again"
    );

    // Fails twice: the first rewind fails again, the second completes.
    api.control(&twice, "rewind", "?reason=first").expect(202);
    let s = flaky::wait_after_rewinds(&api, &twice, 1);
    assert_eq!(s["runtimeStatus"], "Failed", "{s}");
    assert_eq!(f.runs("twice"), 2);
    api.control(&twice, "rewind", "?reason=second").expect(202);
    let s = flaky::wait_after_rewinds(&api, &twice, 2);
    assert_eq!(s["output"], json!({"before": 1, "flaky": 3, "after": 1}));
    assert_eq!(
        (
            f.runs("twice-before"),
            f.runs("twice"),
            f.runs("twice-after")
        ),
        (1, 3, 1)
    );

    // The durable timer before the failure ran once; the rewinds are recorded.
    let h = api.history(&twice);
    assert_eq!((count(&h, "TimerCreated"), count(&h, "TimerFired")), (1, 1));
    let reasons: Vec<&Value> = h
        .iter()
        .filter(|e| e["eventType"] == "ExecutionRewound")
        .map(|e| &e["reason"])
        .collect();
    assert_eq!(reasons, [&json!("first"), &json!("second")]);
    // A Completed instance cannot be rewound.
    api.control(&twice, "rewind", "").expect(410);

    let components = f.dir.path().join("components");
    assert_replays(&mut f.server, &components, &[&once, &twice]);
}

#[test]
fn a_rewind_accepted_before_a_sigkill_completes_after_the_restart() {
    let mut f = flaky::serve(&[]);
    let api = f.server.api();
    let id = api.start_ok("RewindMe", Some("crashy"), &flaky::input("crashy", 1));
    api.wait_status(&id, "Failed");
    api.control(&id, "rewind", "?reason=crash").expect(202);
    f.server.kill();
    f.server.restart();
    let api = f.server.api();
    let s = flaky::wait_after_rewinds(&api, &id, 1);
    assert_eq!(s["runtimeStatus"], "Completed", "{s}");
    // The kill may have cut the rerun of Flaky short (activities run at least
    // once), but Count-before had completed before the rewind and never reruns.
    assert_eq!(s["output"]["before"], 1, "{s}");
    assert!(s["output"]["flaky"].as_u64() >= Some(2), "{s}");
    assert_eq!(f.runs("crashy-before"), 1);
    let components = f.dir.path().join("components");
    assert_replays(&mut f.server, &components, &[&id]);
}

#[test]
fn a_timer_that_fires_while_suspended_is_processed_on_resume() {
    let (_dir, mut server) = serve(&paths::components(), &[]);
    let api = server.api();
    let id = api.start_ok("Approval", Some("sleepy"), r#"{"timeoutSeconds":1}"#);
    api.wait_approval_waiting(&id);
    api.control(&id, "suspend", "").expect(202);
    let suspended = api.wait_status(&id, "Suspended");
    // The 1 s timer falls due while the instance is suspended; wait past it
    // (a sleep to prove the instance does NOT move).
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(api.status(&id).json(), suspended);
    assert_eq!(count(&api.history(&id), "TimerFired"), 0);
    api.control(&id, "resume", "").expect(202);
    assert_eq!(api.wait_output(&id, DEADLINE), "timed out");
    let h = api.history(&id);
    assert!(find(&h, "ExecutionResumed").0 < find(&h, "TimerFired").0);
    assert_replays(&mut server, &paths::components(), &[&id]);
}
