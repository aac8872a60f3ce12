//! # Hostile guests
//!
//! Orchestrators and activities that attack the sandbox, for the
//! host's end-to-end tests. Each must fail only itself, with its reason, while
//! healthy instances in the same host complete.
//!
//! | name | kind | does |
//! | --- | --- | --- |
//! | `Spin` | orchestrator | loops forever without waiting |
//! | `Hog` | orchestrator | allocates (and touches) memory without end |
//! | `Recurse` | orchestrator | recurses without end |
//! | `Flood` | orchestrator | schedules activities without end in one turn |
//! | `Forever` | orchestrator | calls `Echo` in sequence without end (its history grows) |
//! | `SpinLater` | orchestrator | calls `Echo` a few times, then loops forever |
//! | `CallsSpinning` | orchestrator | calls activity `SpinActivity`; returns the failure it got |
//! | `CallsHogging` | orchestrator | calls activity `HogActivity`; returns the failure it got |
//! | `SpinActivity` | activity | loops forever |
//! | `HogActivity` | activity | allocates without end |
//! | `Echo` | activity | returns its input |
//! | `ReadEnv` | activity | returns environment variable `input` (or null) |
//! | `EnvBothWays` | orchestrator | reads `input` from the environment itself, and through `ReadEnv` |

use serde_json::{Value, json};
use std::hint::black_box;
use weft_sdk::prelude::*;

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

/// Recurses until the stack runs out; each frame keeps a buffer alive.
fn recurse(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        return 0;
    }
    let buf = black_box([depth as u8; 256]);
    let below = recurse(black_box(depth + 1));
    below.wrapping_add(buf[(depth % 256) as usize] as u64)
}

fn spin(_ctx: &OrchestrationContext, _input: Value) -> Result<Value, Failure> {
    spin_forever()
}

fn hog(_ctx: &OrchestrationContext, _input: Value) -> Result<Value, Failure> {
    allocate_forever()
}

fn recurse_orchestrator(_ctx: &OrchestrationContext, _input: Value) -> Result<Value, Failure> {
    Ok(json!(recurse(0)))
}

fn flood(ctx: &OrchestrationContext, _input: Value) -> Result<Value, Failure> {
    let mut tasks = Vec::new();
    loop {
        tasks.push(ctx.schedule_activity::<_, Value>("Echo", tasks.len()));
    }
}

fn forever(ctx: &OrchestrationContext, _input: Value) -> Result<Value, Failure> {
    let mut n: u64 = 0;
    loop {
        n = ctx.call_activity("Echo", n + 1)?;
    }
}

fn spin_later(ctx: &OrchestrationContext, input: Value) -> Result<Value, Failure> {
    let steps = input.as_u64().unwrap_or(3);
    for i in 0..steps {
        let _: Value = ctx.call_activity("Echo", i)?;
    }
    spin_forever()
}

/// Calls `activity` and returns the failure it got as `{"errorType", "message"}`.
fn calls(ctx: &OrchestrationContext, activity: &str) -> Result<Value, Failure> {
    match ctx.call_activity::<_, Value>(activity, Value::Null) {
        Ok(v) => Ok(json!({ "unexpectedResult": v })),
        Err(f) => Ok(json!({ "errorType": f.error_type, "message": f.message })),
    }
}

fn calls_spinning(ctx: &OrchestrationContext, _input: Value) -> Result<Value, Failure> {
    calls(ctx, "SpinActivity")
}

fn calls_hogging(ctx: &OrchestrationContext, _input: Value) -> Result<Value, Failure> {
    calls(ctx, "HogActivity")
}

fn spin_activity(_input: Value) -> Result<Value, Failure> {
    spin_forever()
}

fn hog_activity(_input: Value) -> Result<Value, Failure> {
    allocate_forever()
}

fn read_env(name: String) -> Result<Option<String>, Failure> {
    Ok(std::env::var(name).ok())
}

fn env_both_ways(ctx: &OrchestrationContext, name: String) -> Result<Value, Failure> {
    let own = std::env::var(&name).ok();
    let activity: Option<String> = ctx.call_activity("ReadEnv", &name)?;
    Ok(json!({ "orchestrator": own, "activity": activity }))
}

fn echo(input: Value) -> Result<Value, Failure> {
    Ok(input)
}

weft_sdk::export_component! {
    orchestrators: {
        "Spin" => spin,
        "Hog" => hog,
        "Recurse" => recurse_orchestrator,
        "Flood" => flood,
        "Forever" => forever,
        "SpinLater" => spin_later,
        "CallsSpinning" => calls_spinning,
        "CallsHogging" => calls_hogging,
        "EnvBothWays" => env_both_ways,
    },
    activities: {
        "SpinActivity" => spin_activity,
        "HogActivity" => hog_activity,
        "Echo" => echo,
        "ReadEnv" => read_env,
    },
}
