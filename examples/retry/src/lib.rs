//! # Retries: a retry policy on durable timers
//!
//! The orchestrator `RetryDemo` calls the activity `FailTwice` under a retry
//! policy of at most 5 attempts, 100 ms apart at first and doubling. `FailTwice`
//! fails on attempts 1 and 2 and returns its attempt number on attempt 3, so
//! `RetryDemo` returns `3`.
//!
//! Every attempt is a new `TaskScheduled` in the history (retries after the
//! first carry their attempt number) with a `TimerCreated`/`TimerFired` wait
//! before it, so retries survive restarts and replay exactly. The activity
//! reads its attempt from [`ActivityInfo`], which also gives the
//! idempotency key of the call.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p retry`.

use std::time::Duration;
use weft_sdk::prelude::*;

/// Calls `FailTwice` until it succeeds (at most 5 attempts).
fn retry_demo(ctx: &OrchestrationContext, _input: serde_json::Value) -> Result<u32, Failure> {
    let policy = RetryPolicy::new(5, Duration::from_millis(100)).backoff(2.0);
    ctx.call_activity_with_retry("FailTwice", (), &policy)
}

/// Fails on attempts 1 and 2; returns the attempt number from then on.
fn fail_twice(_input: serde_json::Value) -> Result<u32, Failure> {
    let call = ActivityInfo::current();
    if call.attempt < 3 {
        return Err(Failure::new(
            "NotYet",
            format!(
                "attempt {} of call {} fails on purpose",
                call.attempt,
                call.idempotency_key()
            ),
        ));
    }
    Ok(call.attempt)
}

weft_sdk::export_component! {
    orchestrators: { "RetryDemo" => retry_demo },
    activities: { "FailTwice" => fail_twice },
}
