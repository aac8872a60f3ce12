//! Version 1 of orchestrator `Versioned`, for the deploy and pinning tests
//! waits for event `Go`, then calls `Which` and returns what
//! it said. `versioned-v2` exports the same names with different code.

use serde_json::Value;
use weft_sdk::prelude::*;

fn versioned(ctx: &OrchestrationContext, _input: Value) -> Result<String, Failure> {
    ctx.wait_for_event::<Value>("Go").get()?;
    ctx.call_activity("Which", Value::Null)
}

/// `Steps(n)`: calls `A` `n` times, then waits for `Go` and returns
/// what `Which` says. With `n > 0` the history records `A`, so a version
/// that calls something else first diverges from it; with `n = 0` it does not.
fn steps(ctx: &OrchestrationContext, n: u32) -> Result<String, Failure> {
    for i in 0..n {
        let _: Value = ctx.call_activity("A", i)?;
    }
    ctx.wait_for_event::<Value>("Go").get()?;
    ctx.call_activity("Which", Value::Null)
}

fn a(input: Value) -> Result<Value, Failure> {
    Ok(input)
}

fn which(_input: Value) -> Result<String, Failure> {
    Ok("v1".to_owned())
}

weft_sdk::export_component! {
    orchestrators: { "Versioned" => versioned, "Steps" => steps },
    activities: { "Which" => which, "A" => a },
}
