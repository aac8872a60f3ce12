//! Durable HTTP in the engine: a request is a call of the built-in activity
//! `BuiltIn::HttpActivity`, recorded and replayed like any activity, except
//! that replay also compares the request's method and URL — a changed URL is
//! nondeterminism, as a changed activity name is. Other input changes (a
//! header, the remaining timeout) replay as before.

mod support;

use support::*;
use weft_core::{HTTP_ACTIVITY, Json, Timestamp};
use weft_engine::{Action, EngineError, Outcome, Replay};

fn request(method: &str, uri: &str, timeout_ms: u64) -> Json {
    Json::from_value(&serde_json::json!({
        "method": method, "uri": uri, "headers": {}, "content": null, "timeoutMs": timeout_ms,
    }))
}

/// GETs /a, then returns the answer's status.
fn get_a(r: &mut Replay) -> Result<Option<String>, EngineError> {
    r.start()?;
    let h = r.call_activity(HTTP_ACTIVITY, request("GET", "http://h/a", 5000))?;
    match r.poll_any(&[h])? {
        None => Ok(None),
        Some((_, Outcome::Completed(v))) => Ok(Some(v.to_value()["statusCode"].to_string())),
        Some((_, Outcome::Failed(f))) => Ok(Some(f.error_type)),
    }
}

fn response(status: u16) -> String {
    serde_json::json!({"statusCode": status, "headers": {}, "content": ""}).to_string()
}

#[test]
fn a_request_is_scheduled_recorded_and_replayed_byte_for_byte() {
    let mut h = Vec::new();
    let t1 = turn(&mut h, 10, vec![start_event("null")], get_a);
    assert!(
        matches!(&t1.actions[..], [Action::ScheduleActivity { name, .. }] if name == HTTP_ACTIVITY),
        "{:?}",
        t1.actions
    );
    let t2 = turn(&mut h, 20, vec![completed(0, &response(200))], get_a);
    assert!(t2.outcome.ending().is_some());
    // Replayed from scratch over the whole history: the same answer, nothing new.
    let mut r = Replay::new(me(), h.clone());
    r.begin_turn(Timestamp(30), vec![]);
    assert_eq!(get_a(&mut r).unwrap(), Some("200".into()));
}

#[test]
fn a_changed_url_or_method_is_nondeterminism_and_a_changed_timeout_is_not() {
    let mut h = Vec::new();
    turn(&mut h, 10, vec![start_event("null")], get_a);
    for (method, uri, timeout, diverges) in [
        ("GET", "http://h/b", 5000, true),
        ("POST", "http://h/a", 5000, true),
        ("get", "http://h/a", 5000, false),
        ("GET", "http://h/a", 1234, false),
    ] {
        let mut r = Replay::new(me(), h.clone());
        r.begin_turn(Timestamp(20), vec![]);
        r.start().unwrap();
        let result = r.call_activity(HTTP_ACTIVITY, request(method, uri, timeout));
        match (diverges, result) {
            (true, Err(EngineError::Nondeterminism(d))) => {
                assert_eq!(h[d.index].kind.type_name(), "TaskScheduled", "{d}")
            }
            (false, Ok(_)) => {}
            (_, other) => panic!("{method} {uri} {timeout}: {other:?}"),
        }
    }
    // An ordinary activity's input may change (Durable Task's rule).
    fn plain(r: &mut Replay, input: &str) -> Result<(), EngineError> {
        r.start()?;
        r.call_activity("A", j(input)).map(|_| ())
    }
    let mut h = Vec::new();
    let mut r = Replay::new(me(), h.clone());
    r.begin_turn(Timestamp(10), vec![start_event("null")]);
    plain(&mut r, "1").unwrap();
    h.extend(
        r.finish_turn(weft_engine::TurnOutcome::Waiting)
            .unwrap()
            .new_events,
    );
    let mut r = Replay::new(me(), h);
    r.begin_turn(Timestamp(20), vec![]);
    plain(&mut r, "2").expect("a changed input of another activity replays");
}
