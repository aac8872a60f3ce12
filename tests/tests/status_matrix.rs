//! Appendix A (the HTTP status code of every instance operation by instance
//! state) as a table: one fresh instance per (state, operation) cell, driven
//! into the state, then the operation; Weft's code is Durable Functions' except
//! where README's deviations table says 409 or 404 instead of a 500 or 400.
//!
//! A refused request must change nothing: the instance's status body and
//! history length are the same right after the refusal and again at the end
//! of the test (so an effect queued by mistake would show too). An accepted
//! one must have its effect. No cell may answer 5xx.
//!
//! States covered: Running (an `Approval` waiting for its event), Suspended,
//! Completed, Failed (`RewindMe` whose activity fails), Terminated, and an
//! unknown ID. Not covered: Pending (an instance leaves it within
//! milliseconds, before a request could be aimed at it reliably) and
//! ContinuedAsNew (Weft has no continue-as-new yet).

use serde_json::Value;
use weft_tests::flaky;
use weft_tests::http::{Api, Reply, encode};

const WAITS: &str = r#"{"timeoutSeconds":3600}"#;

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Running,
    Suspended,
    Completed,
    Failed,
    Terminated,
}

const STATES: [State; 5] = [
    State::Running,
    State::Suspended,
    State::Completed,
    State::Failed,
    State::Terminated,
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Status,
    RaiseEvent,
    Terminate,
    Suspend,
    Resume,
    Rewind,
    Restart,
    RestartSameId,
    Purge,
    StartSameId,
}

/// Weft's codes: per operation, for [Running, Suspended, Completed, Failed,
/// Terminated], then for an unknown ID. Comments give Durable Functions' code
/// where Weft deviates (README, "Deviations from Durable Functions").
const MATRIX: [(Op, [u16; 5], u16); 10] = [
    (Op::Status, [202, 202, 200, 200, 200], 404),
    (Op::RaiseEvent, [202, 202, 410, 410, 410], 404),
    (Op::Terminate, [202, 202, 410, 410, 410], 404),
    // DF: suspending a Suspended instance is a 500.
    (Op::Suspend, [202, 409, 410, 410, 410], 404),
    // DF: resuming a Running instance is a 500.
    (Op::Resume, [409, 202, 410, 410, 410], 404),
    // DF: rewinding an instance that has not finished is a 500.
    (Op::Rewind, [409, 409, 410, 202, 410], 404),
    // DF: restarting an unknown ID is a 400.
    (Op::Restart, [202, 202, 202, 202, 202], 404),
    // DF: same-ID restart of an instance that has not finished is a 500.
    (Op::RestartSameId, [409, 409, 202, 202, 202], 404),
    // DF: purging one that has not finished is a 200 (and deletes it).
    (Op::Purge, [409, 409, 200, 200, 200], 404),
    // DF: starting an ID that has not finished is a 500; an unknown ID is created.
    (Op::StartSameId, [409, 409, 202, 202, 202], 202),
];

/// An instance's status body and history length.
#[derive(Debug, PartialEq)]
struct Snapshot {
    status: Value,
    history_len: usize,
}

fn snapshot(api: &Api, id: &str) -> Snapshot {
    let r = api.status(id);
    assert!(r.status == 200 || r.status == 202, "{id}: {r:?}");
    Snapshot {
        status: r.json(),
        history_len: api.history(id).len(),
    }
}

fn execution_id(api: &Api, id: &str) -> Value {
    api.history(id)
        .into_iter()
        .find(|e| e["eventType"] == "ExecutionStarted")
        .map(|e| e["executionId"].clone())
        .unwrap_or(Value::Null)
}

/// The orchestrator and input an instance in `state` was started with.
fn start_args(state: State, id: &str) -> (&'static str, String) {
    match state {
        State::Failed => ("RewindMe", flaky::input(id, 1)),
        _ => ("Approval", WAITS.to_owned()),
    }
}

fn apply(api: &Api, op: Op, state: Option<State>, id: &str) -> Reply {
    match op {
        Op::Status => api.status(id),
        Op::RaiseEvent => api.raise(id, "Approval", "true"),
        Op::Terminate => api.control(id, "terminate", "?reason=matrix"),
        Op::Suspend => api.control(id, "suspend", "?reason=matrix"),
        Op::Resume => api.control(id, "resume", "?reason=matrix"),
        Op::Rewind => api.control(id, "rewind", "?reason=matrix"),
        Op::Restart => api.control(id, "restart", ""),
        Op::RestartSameId => api.control(id, "restart", "?restartWithNewInstanceId=false"),
        Op::Purge => api.purge(id),
        Op::StartSameId => {
            let (name, input) = start_args(state.unwrap_or(State::Running), id);
            api.start(name, Some(id), &input)
        }
    }
}

fn cell_id(state: State, op: Op) -> String {
    format!("{state:?}-{op:?}").to_lowercase()
}

fn is_generated_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

/// Starts one instance per cell and drives each into its state.
fn prepare(api: &Api) {
    let cells = || {
        STATES
            .iter()
            .flat_map(|&s| MATRIX.iter().map(move |(op, ..)| (s, cell_id(s, *op))))
    };
    for (state, id) in cells() {
        let (name, input) = start_args(state, &id);
        api.start_ok(name, Some(&id), &input);
    }
    for (state, id) in cells() {
        if state == State::Failed {
            continue;
        }
        api.wait_approval_waiting(&id);
        let r = match state {
            State::Suspended => api.control(&id, "suspend", ""),
            State::Completed => api.raise(&id, "Approval", "true"),
            State::Terminated => api.control(&id, "terminate", "?reason=setup"),
            _ => continue,
        };
        r.expect(202);
    }
    for (state, id) in cells() {
        api.wait_status(&id, &format!("{state:?}"));
    }
}

/// Checks that an accepted operation had its effect.
fn check_effect(
    api: &Api,
    (op, state, id): (Op, State, &str),
    reply: &Reply,
    before: &Snapshot,
    old_execution: &Value,
) {
    let ctx = format!("{op:?} on a {state:?} instance");
    match op {
        Op::Status => {
            let s = reply.json();
            assert_eq!(s["runtimeStatus"], format!("{state:?}"), "{ctx}: {s}");
            if reply.status == 202 {
                let loc = reply.header("location").unwrap_or_default();
                assert!(
                    loc.starts_with(&format!("{}/instances/{}", api.base, encode(id))),
                    "{ctx}: Location {loc}"
                );
                assert_eq!(reply.header("retry-after").as_deref(), Some("5"), "{ctx}");
            }
        }
        Op::RaiseEvent if state == State::Running => {
            assert_eq!(api.wait_output(id, weft_tests::poll::DEADLINE), "approved");
        }
        // Suspended: the event waits for a resume (control.rs covers that).
        Op::RaiseEvent => assert_eq!(snapshot(api, id).status["runtimeStatus"], "Suspended"),
        Op::Terminate => {
            let s = api.wait_status(id, "Terminated");
            assert_eq!(s["output"], "matrix", "{ctx}: the reason is the output");
        }
        Op::Suspend => drop(api.wait_status(id, "Suspended")),
        Op::Resume => drop(api.wait_status(id, "Running")),
        Op::Rewind => {
            let s = flaky::wait_after_rewinds(api, id, 1);
            assert_eq!(s["runtimeStatus"], "Completed", "{ctx}: {s}");
        }
        Op::Restart => {
            let new = reply.json()["id"].as_str().expect("id").to_owned();
            assert!(is_generated_id(&new) && new != id, "{ctx}: new id {new}");
            let s = snapshot(api, &new).status;
            assert_eq!(s["name"], before.status["name"], "{ctx}: {s}");
            assert_eq!(s["input"], before.status["input"], "{ctx}: {s}");
            assert_eq!(
                snapshot(api, id),
                *before,
                "{ctx}: the old instance changed"
            );
        }
        Op::RestartSameId | Op::StartSameId => {
            assert_eq!(reply.json()["id"], id, "{ctx}");
            weft_tests::poll::until(
                &format!("{ctx}: a new execution"),
                weft_tests::poll::DEADLINE,
                || match execution_id(api, id) {
                    e if e != *old_execution && !e.is_null() => Ok(()),
                    e => Err(e.to_string()),
                },
            );
        }
        Op::Purge => {
            assert_eq!(reply.json(), serde_json::json!({"instancesDeleted": 1}));
            api.status(id).expect(404);
        }
    }
}

#[test]
fn every_operation_in_every_state_answers_appendix_a() {
    let f = flaky::serve(&["human-interaction.wasm"]);
    let api = f.server.api();
    prepare(&api);

    let mut refused = Vec::new();
    let mut wrong = Vec::new();
    for (i, state) in STATES.iter().copied().enumerate() {
        for (op, codes, _) in MATRIX {
            let id = cell_id(state, op);
            let before = snapshot(&api, &id);
            let execution = execution_id(&api, &id);
            let reply = apply(&api, op, Some(state), &id);
            assert!(reply.status < 500, "{op:?} on {state:?}: {reply:?}");
            if reply.status != codes[i] {
                wrong.push(format!(
                    "{op:?} on {state:?}: expected {}, got {} {}",
                    codes[i], reply.status, reply.body
                ));
                continue;
            }
            if reply.status >= 400 {
                assert!(!reply.error().is_empty(), "{op:?} on {state:?}");
                assert_eq!(
                    snapshot(&api, &id),
                    before,
                    "{op:?} on {state:?} was refused but changed the instance"
                );
                refused.push((id, op, state, before));
            } else {
                check_effect(&api, (op, state, &id), &reply, &before, &execution);
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "codes differ from the matrix:\n{}",
        wrong.join("\n")
    );

    // Unknown IDs: 404 everywhere but a start, which creates the instance.
    for (op, _, code) in MATRIX {
        let id = format!("unknown-{op:?}").to_lowercase();
        let reply = apply(&api, op, None, &id);
        assert_eq!(
            reply.status, code,
            "{op:?} on an unknown ID: {}",
            reply.body
        );
        if op == Op::StartSameId {
            api.wait_approval_waiting(&id);
        } else {
            assert!(!reply.error().is_empty());
            api.status(&id).expect(404);
        }
    }

    // Refused requests still changed nothing, now that everything accepted
    // has settled.
    for (id, op, state, before) in &refused {
        assert_eq!(
            snapshot(&api, id),
            *before,
            "{op:?} on {state:?} was refused but the instance changed later"
        );
    }
    f.server.assert_no_panics();
}
