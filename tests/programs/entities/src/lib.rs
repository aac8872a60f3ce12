//! # Entities test program
//!
//! One entity, `Probe`, whose operations exercise the host's entity
//! dispatcher (rollback, ordering, sandbox limits, determinism, outgoing
//! signals and starts), and orchestrators that exercise entity calls and
//! critical sections, for the host's end-to-end tests.
//!
//! `Probe`'s state is any JSON value.
//!
//! | operation | input | does | result |
//! | --- | --- | --- | --- |
//! | `set` | any | state := input | `null` |
//! | `get` | — | — | the state (`null` when there is none) |
//! | `fail` | string `msg` | state := `"poisoned"`, then fails with `test.Failed` / `msg` (the host must roll the state back) | — |
//! | `spin` | — | loops forever | — |
//! | `alloc` | — | allocates (and touches) memory without end | — |
//! | `signal` | `{"entity", "operation", "input"?}` | signals `operation` with `input` (default `null`) to `entity` | `null` |
//! | `start` | `{"name", "instance_id"?, "input"?}` | starts orchestrator `name` (fire and forget) | `null` |
//! | `echo_clock` | — | — | `{"now": SystemTime::now() in ms, "random": a u64 from getrandom}` |
//! | `append` | any | state := the state's array with the input pushed (a state that is not an array counts as `[]`) | `null` |
//! | `delete` | — | deletes the state (the SDK's built-in operation) | `null` |
//!
//! Any other operation fails with `weft.OperationNotFound`.
//!
//! | orchestrator | input | does | returns |
//! | --- | --- | --- | --- |
//! | `Noop` | any | nothing | `null` |
//! | `Rules` | key `k` | with `a`, `b`, `c` = `@probe@{k}-a`, `-b`, `-c`: (1) `lock([])`; then holding `lock([a, b])`: (2) `lock([c])`, (3) call `c` `get`, (4) signal `a` `get`, (5) call `a` `get`, (6) sub-orchestration `Noop`; then releases | the six outcomes, each `"ok"` or the failure's error type |
//! | `HoldLocks` | `{"entities": [ids], "event": name}` | locks `entities`, waits for event `name`, releases | `null` |
//! | `LockThenFail` | `{"entities": [ids]}` | locks `entities`, leaks the guard (no unlock sent), fails with `test.Failed` | — |
//! | `CallProbe` | `{"entity", "operation", "input"?}` | calls `operation` on `entity` | the operation's result (its failure fails the orchestration) |
//! | `SignalProbe` | `{"entity", "operation", "input"?}` | signals `operation` to `entity` | `null` |
//!
//! Against Durable Functions' locking rules `Rules` returns
//! `["weft.LockingRulesViolation", "weft.LockingRulesViolation",
//! "weft.LockingRulesViolation", "weft.LockingRulesViolation", "ok",
//! "weft.LockingRulesViolation"]`. Entity IDs in inputs are `@name@key` text;
//! one that is not valid fails with `weft.InvalidEntityId` (refused by the SDK
//! before it reaches the host).

use serde::Deserialize;
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};
use weft_sdk::prelude::*;

const FAILED: &str = "test.Failed";

/// Never returns: a loop the compiler cannot remove.
fn spin_forever() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// Never returns normally: keeps 1 MiB blocks, each written to so it is resident.
fn allocate_forever() -> ! {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 1 << 20];
        for i in (0..block.len()).step_by(4096) {
            block[i] = 1;
        }
        kept.push(black_box(block));
    }
}

/// An operation to send: the input of `signal`, `CallProbe` and `SignalProbe`.
#[derive(Deserialize)]
struct Message {
    entity: String,
    operation: String,
    #[serde(default)]
    input: Value,
}

/// The input of `start`.
#[derive(Deserialize)]
struct Start {
    name: String,
    #[serde(default)]
    instance_id: Option<String>,
    #[serde(default)]
    input: Value,
}

/// The `Probe` entity.
fn probe(ctx: &mut EntityContext<Value>) -> Result<(), Failure> {
    match ctx.operation() {
        "set" => {
            let value: Value = ctx.input()?;
            ctx.set_state(value);
        }
        "get" => {
            let state = ctx.state().cloned().unwrap_or(Value::Null);
            ctx.set_result(&state);
        }
        "fail" => {
            let message: String = ctx.input()?;
            ctx.set_state(json!("poisoned"));
            return Err(Failure::new(FAILED, message));
        }
        "spin" => spin_forever(),
        "alloc" => allocate_forever(),
        "signal" => {
            let message: Message = ctx.input()?;
            let target: EntityId = message.entity.parse()?;
            ctx.signal_entity(&target, &message.operation, message.input);
        }
        "start" => {
            let start: Start = ctx.input()?;
            ctx.start_orchestration(&start.name, start.instance_id.as_deref(), start.input);
        }
        "echo_clock" => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            let random =
                getrandom::u64().map_err(|e| Failure::new("test.Random", e.to_string()))?;
            ctx.set_result(&json!({ "now": now, "random": random }));
        }
        "append" => {
            let value: Value = ctx.input()?;
            match ctx.state_mut() {
                Value::Array(items) => items.push(value),
                other => *other = json!([value]),
            }
        }
        _ => return Err(ctx.unknown_operation()),
    }
    Ok(())
}

fn noop(_ctx: &OrchestrationContext, _input: Value) -> Result<Value, Failure> {
    Ok(Value::Null)
}

/// `"ok"`, or the error type of the failure.
fn outcome<T>(result: Result<T, Failure>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(failure) => failure.error_type,
    }
}

/// Tries each locking rule once and reports what the host answered.
fn rules(ctx: &OrchestrationContext, key: String) -> Result<Vec<String>, Failure> {
    let a = EntityId::new("probe", &format!("{key}-a"))?;
    let b = EntityId::new("probe", &format!("{key}-b"))?;
    let c = EntityId::new("probe", &format!("{key}-c"))?;
    let mut seen = vec![outcome(ctx.lock(&[]))];
    let section = ctx.lock(&[a.clone(), b])?;
    seen.push(outcome(ctx.lock(std::slice::from_ref(&c))));
    seen.push(outcome(ctx.call_entity::<_, Value>(&c, "get", ())));
    seen.push(outcome(ctx.signal_entity(&a, "get", ())));
    seen.push(outcome(ctx.call_entity::<_, Value>(&a, "get", ())));
    seen.push(outcome(ctx.call_sub_orchestrator::<_, Value>("Noop", ())));
    section.release();
    Ok(seen)
}

/// The entities named in an input, parsed.
fn entity_ids(texts: &[String]) -> Result<Vec<EntityId>, Failure> {
    texts.iter().map(|text| text.parse()).collect()
}

#[derive(Deserialize)]
struct HoldLocksInput {
    entities: Vec<String>,
    event: String,
}

/// Holds the locks until event `event` arrives.
fn hold_locks(ctx: &OrchestrationContext, input: HoldLocksInput) -> Result<Value, Failure> {
    let section = ctx.lock(&entity_ids(&input.entities)?)?;
    ctx.wait_for_event::<Value>(&input.event).get()?;
    section.release();
    Ok(Value::Null)
}

#[derive(Deserialize)]
struct LockThenFailInput {
    entities: Vec<String>,
}

/// Fails while holding the locks, without releasing them itself.
fn lock_then_fail(ctx: &OrchestrationContext, input: LockThenFailInput) -> Result<Value, Failure> {
    let section = ctx.lock(&entity_ids(&input.entities)?)?;
    std::mem::forget(section);
    Err(Failure::new(
        FAILED,
        "failed while holding the locks; the host must release them",
    ))
}

fn call_probe(ctx: &OrchestrationContext, message: Message) -> Result<Value, Failure> {
    let entity: EntityId = message.entity.parse()?;
    ctx.call_entity(&entity, &message.operation, message.input)
}

fn signal_probe(ctx: &OrchestrationContext, message: Message) -> Result<Value, Failure> {
    let entity: EntityId = message.entity.parse()?;
    ctx.signal_entity(&entity, &message.operation, message.input)?;
    Ok(Value::Null)
}

weft_sdk::export_component! {
    orchestrators: {
        "Noop" => noop,
        "Rules" => rules,
        "HoldLocks" => hold_locks,
        "LockThenFail" => lock_then_fail,
        "CallProbe" => call_probe,
        "SignalProbe" => signal_probe,
    },
    entities: { "Probe" => probe },
}
