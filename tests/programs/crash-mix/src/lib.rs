//! # Crash mix
//!
//! Orchestrators for crash-torture tests: long enough chains of activities and
//! timers that a host killed at a random moment is caught mid-step, with
//! results that make a lost or duplicated step visible.
//!
//! - `CrashMix` takes `{"steps": k, "timerMs": t}`; for `i` in `0..k` it calls
//!   `Step(i)` (which returns `2 * i`) and then waits on a durable timer of `t`
//!   ms. It returns the sum of the step results, `k * (k - 1)`.
//! - `FanTimers` takes `n`; it schedules `n` timers of 100 ms and `n` `Step`
//!   activities (inputs `0..n`) all at once, waits for all of them, and returns
//!   the sum of the step results, `n * (n - 1)`.

use serde::Deserialize;
use std::time::Duration;
use weft_sdk::prelude::*;

/// The input of `CrashMix`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CrashMixInput {
    steps: u64,
    timer_ms: u64,
}

/// A chain of `Step` activities separated by durable timers.
fn crash_mix(ctx: &OrchestrationContext, input: CrashMixInput) -> Result<u64, Failure> {
    let mut sum = 0;
    for i in 0..input.steps {
        let r: u64 = ctx.call_activity("Step", i)?;
        sum += r;
        ctx.sleep(Duration::from_millis(input.timer_ms))?;
    }
    Ok(sum)
}

/// `n` timers and `n` activities in parallel.
fn fan_timers(ctx: &OrchestrationContext, n: u64) -> Result<u64, Failure> {
    let mut timers = Vec::new();
    let mut steps: Vec<Task<u64>> = Vec::new();
    for i in 0..n {
        timers.push(ctx.timer(Duration::from_millis(100)));
        steps.push(ctx.schedule_activity("Step", i));
    }
    let results = ctx.when_all(steps)?;
    ctx.when_all(timers)?;
    Ok(results.iter().sum())
}

/// Returns `2 * i`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParentInput {
    children: u64,
    steps: u64,
    timer_ms: u64,
}

/// Runs `children` CrashMix sub-orchestrations at once and sums their outputs.
fn crash_parent(ctx: &OrchestrationContext, input: ParentInput) -> Result<u64, Failure> {
    let kids: Vec<Task<u64>> = (0..input.children)
        .map(|_| {
            ctx.schedule_sub_orchestrator(
                "CrashMix",
                None,
                serde_json::json!({ "steps": input.steps, "timerMs": input.timer_ms }),
            )
        })
        .collect();
    Ok(ctx.when_all(kids)?.iter().sum())
}

#[derive(Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CountdownInput {
    n: u64,
    timer_ms: u64,
    #[serde(default)]
    sum: u64,
}

/// Eternal: one Step and one timer per execution, continuing as new down to 0.
fn crash_countdown(ctx: &OrchestrationContext, input: CountdownInput) -> Result<u64, Failure> {
    if input.n == 0 {
        return Ok(input.sum);
    }
    let r: u64 = ctx.call_activity("Step", input.n - 1)?;
    ctx.sleep(Duration::from_millis(input.timer_ms))?;
    ctx.continue_as_new(CountdownInput {
        n: input.n - 1,
        timer_ms: input.timer_ms,
        sum: input.sum + r,
    })
}

fn step(i: u64) -> Result<u64, Failure> {
    Ok(i * 2)
}

weft_sdk::export_component! {
    orchestrators: {
        "CrashMix" => crash_mix,
        "FanTimers" => fan_timers,
        "CrashParent" => crash_parent,
        "CrashCountdown" => crash_countdown,
    },
    activities: { "Step" => step },
}
