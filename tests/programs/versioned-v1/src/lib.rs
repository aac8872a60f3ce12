//! Version 1 of orchestrator `Versioned`, for the deploy and pinning tests
//! waits for event `Go`, then calls `Which` and returns what
//! it said. `versioned-v2` exports the same names with different code.

use serde_json::Value;
use weft_sdk::prelude::*;

fn versioned(ctx: &OrchestrationContext, _input: Value) -> Result<String, Failure> {
    ctx.wait_for_event::<Value>("Go").get()?;
    ctx.call_activity("Which", Value::Null)
}

fn which(_input: Value) -> Result<String, Failure> {
    Ok("v1".to_owned())
}

weft_sdk::export_component! {
    orchestrators: { "Versioned" => versioned },
    activities: { "Which" => which },
}
