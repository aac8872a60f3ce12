//! Durable HTTP (Durable Functions' `CallHttpAsync`): a request an
//! orchestrator makes as a recorded step.
//!
//! As in Durable Functions, it is an activity call to the built-in activity
//! [`HTTP_ACTIVITY`], which the host serves itself: `TaskScheduled` holds the
//! [`DurableHttpRequest`], `TaskCompleted` the [`DurableHttpResponse`] (or
//! `TaskFailed` one of [`http_errors`]). One call is one request: the host
//! follows no redirect and does not poll; the SDK follows the 202 + `Location`
//! pattern with durable timers between the calls, so a restart between polls
//! resumes where it was.

use crate::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The name of the built-in activity (Durable Functions' own name).
pub const HTTP_ACTIVITY: &str = "BuiltIn::HttpActivity";

/// Error types of durable HTTP failures.
pub mod http_errors {
    /// The host is not on the operator's allow-list (non-retriable).
    pub const EGRESS_DENIED: &str = "weft.HttpEgressDenied";
    /// The response body is larger than the host's cap (non-retriable).
    pub const RESPONSE_TOO_LARGE: &str = "weft.HttpResponseTooLarge";
    /// The method, URI or a header is not valid (non-retriable).
    pub const INVALID_REQUEST: &str = "weft.InvalidHttpRequest";
    /// The response is not UTF-8 text (non-retriable): histories hold text.
    pub const INVALID_RESPONSE: &str = "weft.InvalidHttpResponse";
    /// The connection failed or the request timed out (retriable).
    pub const REQUEST_FAILED: &str = "weft.HttpRequestFailed";
}

/// One request: the built-in activity's input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DurableHttpRequest {
    pub method: String,
    pub uri: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub content: Option<String>,
    /// How long the request may take, in milliseconds.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// The answer: the built-in activity's result. Header names are lower case;
/// a header sent more than once is joined with ", ".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DurableHttpResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub content: String,
}

/// Whether two recorded inputs of [`HTTP_ACTIVITY`] name the same request
/// target (method and URI): replay refuses a changed URL as nondeterminism,
/// as it refuses a changed activity name.
pub fn same_target(recorded: &Json, attempted: &Json) -> bool {
    let target = |j: &Json| {
        serde_json::from_str::<DurableHttpRequest>(j.as_str())
            .ok()
            .map(|r| (r.method.to_ascii_uppercase(), r.uri))
    };
    target(recorded) == target(attempted)
}
