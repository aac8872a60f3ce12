//! # Human interaction: wait for an event, with a deadline
//!
//! The orchestrator `Approval` takes `{"timeoutSeconds": s}` and waits for an
//! external event named `Approval` whose payload is `true` or `false`, racing
//! it against a durable timer of `s` seconds. It returns `"approved"`,
//! `"rejected"` or `"timed out"`. While it waits, its custom status is
//! `"waiting for approval"`; it clears the status once it has an answer.
//!
//! The timer is durable: it is part of the history and fires at the recorded
//! time even if the host was down in between. Whichever of event and timer
//! loses the race is cancelled, so a late approval stays buffered instead of
//! being consumed by a wait nobody reads.
//!
//! Raise the event with the HTTP API
//! (`POST /runtime/webhooks/durabletask/instances/<id>/raiseEvent/Approval`
//! with body `true`) or the CLI's `raise-event`.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p human-interaction`.

use serde::Deserialize;
use std::time::Duration;
use weft_sdk::prelude::*;

/// The orchestrator's input.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApprovalRequest {
    /// How long to wait for the decision.
    timeout_seconds: u64,
}

/// Waits for an `Approval` event or the deadline, whichever comes first.
fn approval(ctx: &OrchestrationContext, request: ApprovalRequest) -> Result<String, Failure> {
    ctx.set_custom_status("waiting for approval")?;
    let decision = ctx.wait_for_event_with_timeout::<bool>(
        "Approval",
        Duration::from_secs(request.timeout_seconds),
    )?;
    ctx.clear_custom_status();
    let outcome = match decision {
        Some(true) => "approved",
        Some(false) => "rejected",
        None => "timed out",
    };
    ctx.log_info(format!("approval request {outcome}"));
    Ok(outcome.to_owned())
}

weft_sdk::export_component! {
    orchestrators: { "Approval" => approval },
    activities: {},
}
