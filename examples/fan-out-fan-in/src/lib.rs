//! # Fan-out/fan-in: parallel work, one result
//!
//! The orchestrator `FanOutFanIn` takes a number `n`, schedules `n` activities
//! `Work` at once (activity `i` gets `i` and returns it), waits for all of
//! them with `when_all`, and returns the sum, `n * (n - 1) / 2`.
//!
//! `schedule_activity` does not wait, so all `n` activities are in the history
//! before the orchestrator blocks; the host runs them in parallel. `when_all`
//! returns the results in scheduling order whatever order they finish in, and
//! fails as soon as one activity fails.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p fan-out-fan-in`.

use weft_sdk::prelude::*;

/// Schedules `n` `Work` activities in parallel and sums their results.
fn fan_out_fan_in(ctx: &OrchestrationContext, n: u64) -> Result<u64, Failure> {
    let tasks: Vec<Task<u64>> = (0..n).map(|i| ctx.schedule_activity("Work", i)).collect();
    let results = ctx.when_all(tasks)?;
    Ok(results.iter().sum())
}

/// One unit of work: returns its input.
fn work(i: u64) -> Result<u64, Failure> {
    Ok(i)
}

weft_sdk::export_component! {
    orchestrators: { "FanOutFanIn" => fan_out_fan_in },
    activities: { "Work" => work },
}
