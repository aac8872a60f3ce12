//! Version 2 of orchestrator `Versioned` (see `versioned-v1`): the same
//! names, a different answer from `Which`.

use serde_json::Value;
use weft_sdk::prelude::*;

fn versioned(ctx: &OrchestrationContext, _input: Value) -> Result<String, Failure> {
    ctx.wait_for_event::<Value>("Go").get()?;
    ctx.call_activity("Which", Value::Null)
}

fn which(_input: Value) -> Result<String, Failure> {
    Ok("v2".to_owned())
}

weft_sdk::export_component! {
    orchestrators: { "Versioned" => versioned },
    activities: { "Which" => which },
}
