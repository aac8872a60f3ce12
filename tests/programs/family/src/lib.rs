//! Test orchestrators for the orchestration model between instances:
//! sub-orchestrations (waited, detached, failing, colliding, nested),
//! events sent between instances, and continue-as-new with events.

use serde::Deserialize;
use serde_json::{Value, json};
use weft_sdk::prelude::*;

#[derive(Deserialize)]
struct Call {
    child: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    input: Value,
}

/// What a child's outcome looks like to its parent, as a value.
fn outcome(r: Result<Value, Failure>) -> Value {
    match r {
        Ok(v) => json!({ "ok": v }),
        Err(f) => json!({ "failed": {
            "errorType": f.error_type,
            "message": f.message,
            "details": f.details,
        }}),
    }
}

/// Calls one child and reports its outcome (never fails itself).
fn parent(ctx: &OrchestrationContext, call: Call) -> Result<Value, Failure> {
    let task = ctx.schedule_sub_orchestrator(&call.child, call.id.as_deref(), call.input);
    Ok(outcome(task.get()))
}

/// Calls `Echo` twice under the same explicit ID, at once: the second start
/// collides with the first (still running or not) or replaces a finished one.
fn twins(ctx: &OrchestrationContext, id: String) -> Result<Value, Failure> {
    let a = ctx.schedule_sub_orchestrator::<_, Value>("Waiter", Some(&id), ());
    let b = ctx.schedule_sub_orchestrator::<_, Value>("Waiter", Some(&id), ());
    let second = outcome(b.get());
    ctx.send_event(&id, "Go", &"first");
    Ok(json!({ "first": outcome(a.get()), "second": second }))
}

/// Calls a child under this instance's own ID.
fn self_call(ctx: &OrchestrationContext, _input: Value) -> Result<Value, Failure> {
    let me = ctx.instance_id();
    Ok(outcome(
        ctx.schedule_sub_orchestrator("Echo", Some(&me), ()).get(),
    ))
}

/// Fails with a typed failure and details.
fn fail(_ctx: &OrchestrationContext, message: String) -> Result<Value, Failure> {
    Err(Failure::new("ChildBroke", message).with_details(json!({ "code": 7 })))
}

fn echo(_ctx: &OrchestrationContext, input: Value) -> Result<Value, Failure> {
    Ok(input)
}

/// Waits for event `Go` and returns its payload.
fn waiter(ctx: &OrchestrationContext, _input: Value) -> Result<Value, Failure> {
    ctx.wait_for_event::<Value>("Go").get()
}

/// A tree of `depth` levels, two children per node; leaves wait for `Go`.
fn tree(ctx: &OrchestrationContext, depth: u32) -> Result<Value, Failure> {
    if depth == 0 {
        return ctx.wait_for_event::<Value>("Go").get();
    }
    let kids = vec![
        ctx.schedule_sub_orchestrator::<_, Value>("Tree", None, depth - 1),
        ctx.schedule_sub_orchestrator::<_, Value>("Tree", None, depth - 1),
    ];
    Ok(Value::Array(ctx.when_all(kids)?))
}

#[derive(Deserialize)]
struct Send {
    to: String,
    name: String,
    data: Value,
}

/// Sends one event and finishes.
fn sender(ctx: &OrchestrationContext, s: Send) -> Result<String, Failure> {
    ctx.send_event(&s.to, &s.name, &s.data);
    Ok("sent".into())
}

/// Starts a `Waiter` without waiting for it and returns its ID.
fn fire_and_forget(ctx: &OrchestrationContext, id: Option<String>) -> Result<String, Failure> {
    ctx.start_orchestration("Waiter", id.as_deref(), ())
}

#[derive(Deserialize, serde::Serialize)]
struct Sum {
    total: i64,
    left: u32,
}

/// Eternal: adds one `Add` event per execution until `left` is 0.
fn accumulate(ctx: &OrchestrationContext, s: Sum) -> Result<i64, Failure> {
    if s.left == 0 {
        return Ok(s.total);
    }
    let n: i64 = ctx.wait_for_event("Add").get()?;
    ctx.continue_as_new(Sum {
        total: s.total + n,
        left: s.left - 1,
    })
}

#[derive(Deserialize)]
struct Rewindable {
    key: String,
}

/// Counts, then calls `RewindMe` (tests/programs/flaky) which fails once;
/// the failure fails this parent too, so a rewind of the parent must rewind
/// the child.
fn rewind_parent(ctx: &OrchestrationContext, r: Rewindable) -> Result<Value, Failure> {
    let before: u32 = ctx.call_activity("Count", format!("{}-parent-before", r.key))?;
    let child: Value =
        ctx.call_sub_orchestrator("RewindMe", json!({ "key": r.key, "failTimes": 1 }))?;
    Ok(json!({ "before": before, "child": child }))
}

weft_sdk::export_component! {
    orchestrators: {
        "Parent" => parent,
        "Twins" => twins,
        "SelfCall" => self_call,
        "Fail" => fail,
        "Echo" => echo,
        "Waiter" => waiter,
        "Tree" => tree,
        "Sender" => sender,
        "FireAndForget" => fire_and_forget,
        "Accumulate" => accumulate,
        "RewindParent" => rewind_parent,
    },
    activities: {},
}
