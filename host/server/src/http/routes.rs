//! The route table and what every handler shares.

use super::ApiState;
use super::error::ApiError;
use super::params::Params;
use super::payload::Links;
use super::{auth, components, entities, hubs, instances, operations, start};
use crate::host::TaskHub;
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use weft_core::Json;

/// Largest request body accepted; larger ones get 413.
pub const MAX_BODY: usize = 1024 * 1024;

/// Deepest JSON nesting accepted in a body.
const MAX_DEPTH: usize = 64;

pub(super) const BASE: &str = "/runtime/webhooks/durabletask";

/// The HTTP API router.
pub fn router(state: ApiState) -> Router {
    let table: Vec<(String, MethodRouter<ApiState>)> = vec![
        (format!("{BASE}/orchestrators/{{name}}"), post(start::start)),
        (
            format!("{BASE}/orchestrators/{{name}}/{{instance_id}}"),
            post(start::start_with_id),
        ),
        (
            format!("{BASE}/instances"),
            get(instances::list).delete(instances::purge_matching),
        ),
        (
            format!("{BASE}/instances/{{instance_id}}"),
            get(instances::status).delete(instances::purge),
        ),
        (
            format!("{BASE}/instances/{{instance_id}}/history"),
            get(instances::history),
        ),
        (
            format!("{BASE}/instances/{{instance_id}}/management"),
            get(instances::management),
        ),
        (
            format!("{BASE}/instances/{{instance_id}}/{{operation}}"),
            post(operations::control),
        ),
        (
            format!("{BASE}/instances/{{instance_id}}/raiseEvent/{{event_name}}"),
            post(operations::raise_event),
        ),
        (
            format!("{BASE}/components"),
            get(components::list)
                .post(components::deploy)
                .layer(DefaultBodyLimit::max(state.max_component)),
        ),
        (
            format!("{BASE}/components/{{digest}}"),
            get(components::get).delete(components::remove),
        ),
        (
            format!("{BASE}/entities"),
            get(entities::list).delete(entities::clean),
        ),
        (
            format!("{BASE}/entities/{{name}}"),
            get(entities::list_named).post(entities::signal_empty_key),
        ),
        (
            format!("{BASE}/entities/{{name}}/{{key}}"),
            get(entities::get)
                .post(entities::signal)
                .delete(entities::delete),
        ),
        (format!("{BASE}/taskhubs"), get(hubs::list)),
        ("/metrics".to_owned(), get(scrape)),
        (format!("{BASE}/taskhubs/{{name}}"), delete(hubs::delete)),
    ];
    // The Durable Functions host ignores a trailing slash (its own clients send
    // `instances/?...` to list and purge), so every route takes one.
    let mut r = Router::new();
    for (path, methods) in table {
        r = r
            .route(&format!("{path}/"), methods.clone())
            .route(&path, methods);
    }
    r.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        declared_size,
    ))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_key,
    ))
    // Supervisors' probes need no key: they reveal only live or ready.
    .route("/healthz", get(healthz))
    .route("/readyz", get(readyz))
    .layer(DefaultBodyLimit::max(MAX_BODY))
    .layer(axum::middleware::map_response(json_errors))
    .with_state(state)
}

/// `GET /healthz`: the process is up and serving HTTP.
async fn healthz() -> Response {
    axum::Json(serde_json::json!({ "status": "live" })).into_response()
}

/// `GET /readyz`: 200 while the store can be written, else 503 naming why.
async fn readyz(axum::extract::State(st): axum::extract::State<ApiState>) -> Response {
    match st.weft.storage_fault() {
        None => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Some(fault) => ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: format!("storage is unavailable: {fault}"),
        }
        .into_response(),
    }
}

/// The largest body `path` accepts: components have their own limit.
fn body_limit(path: &str, st: &ApiState) -> usize {
    if path.trim_end_matches('/') == format!("{BASE}/components") {
        st.max_component
    } else {
        MAX_BODY
    }
}

/// Beyond the limit, how much of a declared body is still read (and thrown
/// away) before the 413, so an ordinary client that sends the whole body
/// before reading the answer gets the 413 rather than a reset connection.
const DRAIN: u64 = 8 << 20;

/// A body declared (`Content-Length`) larger than the route takes is refused
/// with 413: at once when it is more than [`DRAIN`] over the limit (none of it
/// is read), else after reading and discarding it. Every 413 closes the
/// connection, so the rest of a body too large is never read either.
async fn declared_size(
    axum::extract::State(st): axum::extract::State<ApiState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let limit = body_limit(req.uri().path(), &st);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut resp = match declared {
        Some(n) if n > limit as u64 => {
            if n <= limit as u64 + DRAIN {
                let mut body = req.into_body();
                // The body-read timeout bounds this; an error just ends it.
                while let Some(Ok(_)) = http_body_util::BodyExt::frame(&mut body).await {}
            }
            ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: format!(
                    "the request body is {n} bytes; this route takes at most {}",
                    weft_runtime::format_bytes(limit as u64)
                ),
            }
            .into_response()
        }
        _ => next.run(req).await,
    };
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// `GET /metrics`: Prometheus text format (behind the API key like every route).
async fn scrape(axum::extract::State(st): axum::extract::State<ApiState>) -> Response {
    match &st.metrics {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            crate::metrics::render(handle, &st.weft),
        )
            .into_response(),
        None => ApiError {
            status: StatusCode::NOT_FOUND,
            message: "metrics are not enabled in this host".into(),
        }
        .into_response(),
    }
}

/// Gives the framework's own refusals (413 body too large, an undecodable path,
/// an unknown route) the same `{"error": "..."}` body as every other error.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// What most handlers start from: the task hub the request names, the links
/// for its answers, and its query parameters.
pub(super) struct Ctx {
    pub hub: TaskHub,
    pub links: Links,
    pub params: Params,
}

impl Ctx {
    /// For requests about existing things: an unknown task hub is a 404.
    pub async fn new(
        st: &ApiState,
        headers: &HeaderMap,
        query: Option<String>,
    ) -> Result<Ctx, ApiError> {
        Ctx::open(st, headers, query, false).await
    }

    /// For starting an instance, which creates the task hub if needed.
    pub async fn creating(
        st: &ApiState,
        headers: &HeaderMap,
        query: Option<String>,
    ) -> Result<Ctx, ApiError> {
        Ctx::open(st, headers, query, true).await
    }

    async fn open(
        st: &ApiState,
        headers: &HeaderMap,
        query: Option<String>,
        create: bool,
    ) -> Result<Ctx, ApiError> {
        let params = Params::parse(query.as_deref());
        let hub = if create {
            st.weft.hub(params.task_hub()).await?
        } else {
            st.weft.existing_hub(params.task_hub()).await?
        };
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1:7071");
        let links = Links::new(
            format!("http://{host}{BASE}"),
            hub.name(),
            st.api_key.as_deref(),
        );
        Ok(Ctx { hub, links, params })
    }
}

/// Continuation header of the list routes, both ways.
pub(super) const CONTINUATION: &str = "x-ms-continuation-token";

/// The request's continuation token; `None` when absent, empty or `null`.
pub(super) fn continuation(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    Ok(headers
        .get(CONTINUATION)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::bad_request(format!("{CONTINUATION} is not text")))
        })
        .transpose()?
        .filter(|t| !t.is_empty() && *t != "null")
        .map(str::to_owned))
}

/// A list's 200 answer, with the continuation header when a page follows.
pub(super) fn page(body: impl serde::Serialize, next: Option<&str>) -> Response {
    let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
    if let Some(t) = next.and_then(|t| HeaderValue::from_str(t).ok()) {
        resp.headers_mut().insert(CONTINUATION, t);
    }
    resp
}

/// A request body as JSON: empty means `null` (Durable Functions' default input).
pub(super) fn body_json(body: &Bytes) -> Result<Json, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("request body is not UTF-8 text"))?;
    if text.trim().is_empty() {
        return Ok(Json::null());
    }
    check_depth(text)?;
    Json::parse(text)
        .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))
}

/// Refuses JSON nested deeper than [`MAX_DEPTH`] before parsing it.
fn check_depth(text: &str) -> Result<(), ApiError> {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_str {
            match b {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if max > MAX_DEPTH {
        return Err(ApiError::bad_request(format!(
            "JSON is nested {max} levels deep; the limit is {MAX_DEPTH}"
        )));
    }
    Ok(())
}

/// 202 with `Location` (the status URL) and `Retry-After`.
pub(super) fn accepted(location: &str, body: impl serde::Serialize, retry_after: u32) -> Response {
    let mut resp = (StatusCode::ACCEPTED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_limit_ignores_brackets_in_strings() {
        assert!(check_depth(&format!("{}{}", "[".repeat(64), "]".repeat(64))).is_ok());
        assert!(check_depth(&format!("{}{}", "[".repeat(65), "]".repeat(65))).is_err());
        assert!(check_depth(&format!("\"{}\"", "[".repeat(100))).is_ok());
    }
}
