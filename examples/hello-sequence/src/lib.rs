//! # Hello sequence: function chaining
//!
//! The orchestrator `HelloSequence` calls the activity `SayHello` three times,
//! one after the other, and returns the greetings:
//! `["Hello Tokyo!", "Hello Seattle!", "Hello London!"]`.
//!
//! Each `call_activity` schedules a durable task and waits for it. When the
//! host restarts mid-sequence, the orchestrator runs again from the top; the
//! calls that already completed return their recorded results at once, and the
//! sequence continues where it stopped. No activity runs twice.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p hello-sequence`.

use weft_sdk::prelude::*;

/// Greets three cities in order.
fn hello_sequence(
    ctx: &OrchestrationContext,
    _input: serde_json::Value,
) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for city in ["Tokyo", "Seattle", "London"] {
        out.push(ctx.call_activity::<_, String>("SayHello", city)?);
    }
    Ok(out)
}

/// Returns `Hello <name>!`.
fn say_hello(name: String) -> Result<String, Failure> {
    Ok(format!("Hello {name}!"))
}

weft_sdk::export_component! {
    orchestrators: { "HelloSequence" => hello_sequence },
    activities: { "SayHello" => say_hello },
}
