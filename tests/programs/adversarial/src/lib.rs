//! # Adversarial orchestrators
//!
//! Orchestrators that try to be nondeterministic, for the host's end-to-end
//! tests. Each returns what it observed, so a test can run it twice (hot, and
//! replayed after a restart) and compare: a deterministic host yields identical
//! results and histories.
//!
//! | orchestrator | tries to | returns |
//! | --- | --- | --- |
//! | `ReadsClock` | read `SystemTime`/`Instant` around a 1 s durable timer | std and orchestration times, ms |
//! | `DrawsRandom` | draw random numbers (`getrandom`, `RandomState`) | the values (also sent to `Echo`) |
//! | `IteratesHashMap` | depend on `HashMap` iteration order | the order (also sent to `Echo`) |
//! | `Prints` | write to stdout/stderr | `"printed"` |
//! | `OpensFile` | read `/etc/hostname` | the contents, or a `weft.Io` failure |
//! | `Diverges` | schedule `B` on replay instead of `A` | `"done"` after event `Go` |
//! | `Panics` | panic with `"boom"` | (traps) |
//!
//! Activities `Echo`, `A` and `B` return their input.

use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use weft_sdk::prelude::*;

/// What `ReadsClock` saw before and after its timer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClockObservation {
    system_before_ms: u64,
    system_after_ms: u64,
    instant_elapsed_ms: u64,
    ctx_before_ms: u64,
    ctx_after_ms: u64,
}

fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Reads std clocks and the orchestration clock around a 1-second durable timer.
fn reads_clock(ctx: &OrchestrationContext, _input: Value) -> Result<ClockObservation, Failure> {
    let system_before = SystemTime::now();
    let instant_before = Instant::now();
    let ctx_before_ms = ctx.now_millis();
    ctx.sleep(Duration::from_secs(1))?;
    let system_after = SystemTime::now();
    let instant_after = Instant::now();
    let ctx_after_ms = ctx.now_millis();
    Ok(ClockObservation {
        system_before_ms: unix_millis(system_before),
        system_after_ms: unix_millis(system_after),
        instant_elapsed_ms: instant_after
            .saturating_duration_since(instant_before)
            .as_millis() as u64,
        ctx_before_ms,
        ctx_after_ms,
    })
}

/// Draws random numbers two ways and records them in the history via `Echo`.
fn draws_random(ctx: &OrchestrationContext, _input: Value) -> Result<Value, Failure> {
    let random = |_| getrandom::u64().map_err(|e| Failure::new("weft.Random", e.to_string()));
    let drawn = (0..2).map(random).collect::<Result<Vec<u64>, Failure>>()?;
    let hashed = RandomState::new().hash_one("weft");
    let observed = json!({ "getrandom": drawn, "randomState": hashed });
    let _echo: Value = ctx.call_activity("Echo", &observed)?;
    Ok(observed)
}

/// Collects the iteration order of a 50-key `HashMap` and records it via `Echo`.
fn iterates_hash_map(ctx: &OrchestrationContext, _input: Value) -> Result<Vec<String>, Failure> {
    let map: HashMap<String, u32> = (0..50).map(|i| (format!("key-{i}"), i)).collect();
    let order: Vec<String> = map.into_keys().collect();
    let _echo: Value = ctx.call_activity("Echo", &order)?;
    Ok(order)
}

/// Writes to stdout and stderr around an activity call.
fn prints(ctx: &OrchestrationContext, _input: Value) -> Result<String, Failure> {
    println!("adversarial: a line on stdout");
    eprintln!("adversarial: a line on stderr");
    let _echo: Value = ctx.call_activity("Echo", "printed")?;
    println!("adversarial: after the activity");
    Ok("printed".to_owned())
}

/// Tries to read a file; never pretends success when it cannot.
fn opens_file(_ctx: &OrchestrationContext, _input: Value) -> Result<String, Failure> {
    std::fs::read_to_string("/etc/hostname")
        .map_err(|e| Failure::new("weft.Io", format!("reading /etc/hostname failed: {e}")))
}

/// Schedules `A` on the first run and `B` on replay, then waits for event `Go`.
fn diverges(ctx: &OrchestrationContext, _input: Value) -> Result<String, Failure> {
    let activity = if ctx.is_replaying() { "B" } else { "A" };
    let _unobserved = ctx.schedule_activity::<_, Value>(activity, "diverges");
    ctx.wait_for_event::<Value>("Go").get()?;
    Ok("done".to_owned())
}

/// Panics with the message `boom`.
fn panics(_ctx: &OrchestrationContext, _input: Value) -> Result<(), Failure> {
    panic!("boom")
}

/// Returns its input.
fn echo(input: Value) -> Result<Value, Failure> {
    Ok(input)
}

weft_sdk::export_component! {
    orchestrators: {
        "ReadsClock" => reads_clock,
        "DrawsRandom" => draws_random,
        "IteratesHashMap" => iterates_hash_map,
        "Prints" => prints,
        "OpensFile" => opens_file,
        "Diverges" => diverges,
        "Panics" => panics,
    },
    activities: {
        "Echo" => echo,
        "A" => echo,
        "B" => echo,
    },
}
