//! Version 3 of orchestrator `Steps` (see `versioned-v1`): an incompatible
//! change. It calls `B` where v1 called `A`, so a v1 instance that already
//! recorded `A` would diverge; one that has not got that far would not.

use serde_json::Value;
use weft_sdk::prelude::*;

fn steps(ctx: &OrchestrationContext, n: u32) -> Result<String, Failure> {
    for i in 0..n {
        let _: Value = ctx.call_activity("B", i)?;
    }
    ctx.wait_for_event::<Value>("Go").get()?;
    ctx.call_activity("Which", Value::Null)
}

fn b(input: Value) -> Result<Value, Failure> {
    Ok(input)
}

fn which(_input: Value) -> Result<String, Failure> {
    Ok("v3".to_owned())
}

weft_sdk::export_component! {
    orchestrators: { "Steps" => steps },
    activities: { "Which" => which, "B" => b },
}
