//! # Monitor: poll until ready, with durable sleeps
//!
//! The orchestrator `Monitor` takes
//! `{"intervalSeconds": i, "maxChecks": m, "readyAfter": k}` and polls: check
//! number `n` (from 1) calls the activity `CheckStatus`, which reports ready
//! once `n >= k`. When ready it returns `{"ready": true, "checks": n}`;
//! otherwise it sleeps `i` seconds on a durable timer and checks again. After
//! `m` checks without success it returns `{"ready": false, "checks": m}`. The
//! custom status `{"checks": n}` shows progress after each check.
//!
//! A real monitor would check an external system; here the activity is given
//! `{"attempt": n, "readyAfter": k}` so that the outcome is predictable. The
//! sleeps are durable timers, so a monitor that waits for hours costs nothing
//! while it waits and survives host restarts.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p monitor`.

use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use weft_sdk::prelude::*;

/// The orchestrator's input.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MonitorRequest {
    /// Seconds between two checks.
    interval_seconds: u64,
    /// Checks before giving up.
    max_checks: u32,
    /// The check number from which `CheckStatus` reports ready.
    ready_after: u32,
}

/// The input of `CheckStatus`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Check {
    attempt: u32,
    ready_after: u32,
}

/// The orchestrator's result.
#[derive(Serialize)]
struct MonitorResult {
    ready: bool,
    checks: u32,
}

/// Polls `CheckStatus` up to `max_checks` times, sleeping durably in between.
fn monitor(ctx: &OrchestrationContext, request: MonitorRequest) -> Result<MonitorResult, Failure> {
    for attempt in 1..=request.max_checks {
        let check = Check {
            attempt,
            ready_after: request.ready_after,
        };
        let ready: bool = ctx.call_activity("CheckStatus", &check)?;
        ctx.set_custom_status(&json!({ "checks": attempt }))?;
        if ready {
            return Ok(MonitorResult {
                ready: true,
                checks: attempt,
            });
        }
        if attempt < request.max_checks {
            ctx.sleep(Duration::from_secs(request.interval_seconds))?;
        }
    }
    Ok(MonitorResult {
        ready: false,
        checks: request.max_checks,
    })
}

/// Reports ready once the attempt number reaches `readyAfter`.
fn check_status(check: Check) -> Result<bool, Failure> {
    Ok(check.attempt >= check.ready_after)
}

weft_sdk::export_component! {
    orchestrators: { "Monitor" => monitor },
    activities: { "CheckStatus" => check_status },
}
