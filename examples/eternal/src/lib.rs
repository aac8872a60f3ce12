//! # Eternal orchestrations: continue-as-new
//!
//! The orchestrator `Countdown` takes `n`. While `n > 0` it continues as new
//! with `n - 1`: the same instance ID, a new execution, an empty history. At 0
//! it returns `"done"`. However large `n` is, the instance's history only ever
//! holds the current execution, so an orchestration can run forever (a
//! monitor, a periodic job) without its history growing.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p eternal`.

use weft_sdk::prelude::*;

/// Counts down from `n` to 0, one execution per step.
fn countdown(ctx: &OrchestrationContext, n: u64) -> Result<String, Failure> {
    if n == 0 {
        return Ok("done".to_owned());
    }
    ctx.set_custom_status(&n)?;
    ctx.continue_as_new(n - 1)
}

weft_sdk::export_component! {
    orchestrators: { "Countdown" => countdown },
    activities: {},
}
