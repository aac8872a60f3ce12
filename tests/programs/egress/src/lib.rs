//! # Outbound HTTP guests
//!
//! Activities and orchestrators that send HTTP requests with `wasi:http`, for
//! the host's tests of the allow-list.
//!
//! | name | kind | does |
//! | --- | --- | --- |
//! | `Fetch` | activity | GETs `input.url`; returns `{status, body}`, or fails with the error code |
//! | `FetchOne` | orchestrator | calls `Fetch` with its input; returns what it got (or its failure) |
//! | `FetchDirect` | orchestrator | sends a request itself, which orchestrators may not do |

use serde_json::{Value, json};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, IncomingResponse, OutgoingRequest, Scheme};
use weft_sdk::prelude::*;

/// Sends `GET url` and reads the whole response.
fn get(url: &str) -> Result<(u16, String), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("'{url}' has no scheme"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let request = OutgoingRequest::new(Fields::new());
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_owned()),
    };
    request
        .set_scheme(Some(&scheme))
        .map_err(|_| "bad scheme")?;
    request
        .set_authority(Some(authority))
        .map_err(|_| format!("bad authority '{authority}'"))?;
    request
        .set_path_with_query(Some(path))
        .map_err(|_| format!("bad path '{path}'"))?;
    let future = outgoing_handler::handle(request, None).map_err(code)?;
    future.subscribe().block();
    let response: IncomingResponse = future
        .get()
        .ok_or("no response after waiting")?
        .map_err(|_| "response taken twice")?
        .map_err(code)?;
    let status = response.status();
    let body = response.consume().map_err(|_| "no body")?;
    let stream = body.stream().map_err(|_| "no body stream")?;
    let mut bytes = Vec::new();
    // Until the stream closes (or fails: what was read is returned).
    while let Ok(chunk) = stream.blocking_read(64 << 10) {
        bytes.extend(chunk);
    }
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

fn code(e: ErrorCode) -> String {
    format!("{e:?}")
}

fn fetch(input: Value) -> Result<Value, Failure> {
    let url = input["url"].as_str().unwrap_or_default();
    match get(url) {
        Ok((status, body)) => Ok(json!({ "status": status, "body": body })),
        Err(e) => Err(Failure::new("FetchFailed", e)),
    }
}

fn fetch_one(ctx: &OrchestrationContext, input: Value) -> Result<Value, Failure> {
    match ctx.call_activity::<_, Value>("Fetch", &input) {
        Ok(v) => Ok(json!({ "ok": v })),
        Err(f) => Ok(json!({ "failed": { "type": f.error_type, "message": f.message } })),
    }
}

fn fetch_direct(_ctx: &OrchestrationContext, input: Value) -> Result<Value, Failure> {
    let url = input["url"].as_str().unwrap_or_default();
    get(url)
        .map(|(status, _)| json!(status))
        .map_err(|e| Failure::new("FetchFailed", e))
}

weft_sdk::export_component! {
    orchestrators: {
        "FetchOne" => fetch_one,
        "FetchDirect" => fetch_direct,
    },
    activities: {
        "Fetch" => fetch,
    },
}
