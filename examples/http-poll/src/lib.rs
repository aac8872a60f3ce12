//! # HTTP polling: a durable HTTP GET that follows the 202 pattern
//!
//! The orchestrator `HttpPoll` takes `{"url": u}` (and optionally
//! `"timeoutSeconds": s`) and GETs `u` with [`OrchestrationContext::call_http`].
//! While the server answers `202 Accepted` with a `Location` header, the SDK
//! waits `Retry-After` seconds on a durable timer and GETs the location, as
//! Durable Functions' `CallHttpAsync` does. The final body is the result:
//! parsed as JSON, or as a JSON string if it is not JSON. A final status that
//! is not 2xx fails the orchestration with error type `http.Status`, the body
//! (if JSON) as details. With `timeoutSeconds`, polling that has not finished
//! by then fails with `weft.HttpTimeout`.
//!
//! Each request is one recorded call of the host's built-in activity
//! `BuiltIn::HttpActivity` and each wait a durable timer, so a restart
//! between polls resumes where it was and replay sends nothing again. The
//! host sends requests only to hosts on the operator's allow-list.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p http-poll`.

use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use weft_sdk::prelude::*;

/// The orchestrator's input.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PollRequest {
    /// The URL to GET.
    url: String,
    /// How long the whole call (every poll and wait) may take.
    #[serde(default)]
    timeout_seconds: Option<u64>,
}

/// GETs `url`, following 202 + `Location`, and returns the final body.
fn http_poll(ctx: &OrchestrationContext, input: PollRequest) -> Result<Value, Failure> {
    let mut request = DurableHttpRequest::get(&input.url);
    if let Some(seconds) = input.timeout_seconds {
        if seconds == 0 {
            return Err(Failure::new(
                Failure::INVALID_INPUT,
                "timeoutSeconds must be at least 1",
            ));
        }
        request = request.timeout(Duration::from_secs(seconds));
    }
    let response = ctx.call_http(&request)?;
    let body = response.json::<Value>().ok();
    if !response.is_success() {
        let failure = Failure::new(
            "http.Status",
            format!(
                "GET {} answered with status {}",
                input.url, response.status_code
            ),
        );
        return Err(match body {
            Some(details) => failure.with_details(details),
            None => failure,
        });
    }
    Ok(body.unwrap_or(Value::String(response.content)))
}

weft_sdk::export_component! {
    orchestrators: { "HttpPoll" => http_poll },
}
