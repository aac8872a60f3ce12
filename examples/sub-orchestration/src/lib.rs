//! # Sub-orchestrations: building larger orchestrations out of smaller ones
//!
//! The orchestrator `SubOrchestrations` takes `n` and runs `n` `HelloSequence`
//! orchestrations as children, all at once, then returns the list of their
//! outputs (each a list of three greetings), in order.
//!
//! `HelloSequence` lives in another component (`examples/hello-sequence`):
//! a child runs on whichever deployed component currently serves its name,
//! so the parent does not need to know where it is. Each child gets the
//! deterministic instance ID `{parentInstanceId}:{scheduleId}`, its start is
//! committed with the parent's turn and its result is reported back in the
//! same transaction as the child's last turn: a crash can neither lose nor
//! repeat either.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p sub-orchestration`.

use weft_sdk::prelude::*;

/// Runs `n` HelloSequence children in parallel and collects their outputs.
fn sub_orchestrations(ctx: &OrchestrationContext, n: u32) -> Result<Vec<Vec<String>>, Failure> {
    let children: Vec<Task<Vec<String>>> = (0..n)
        .map(|_| ctx.schedule_sub_orchestrator("HelloSequence", None, ()))
        .collect();
    ctx.when_all(children)
}

weft_sdk::export_component! {
    orchestrators: { "SubOrchestrations" => sub_orchestrations },
    activities: {},
}
