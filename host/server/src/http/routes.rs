//! The routes. Handlers parse and validate, call the client API, and shape the
//! answer; they hold no logic of their own.

use super::ApiState;
use super::error::ApiError;
use super::payload;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::time::Duration;
use weft_core::{Json, RuntimeStatus};

/// Largest request body accepted; larger ones get 413.
pub const MAX_BODY: usize = 1024 * 1024;

const BASE: &str = "/runtime/webhooks/durabletask";

/// The HTTP API router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route(&format!("{BASE}/orchestrators/{{name}}"), post(start))
        .route(
            &format!("{BASE}/orchestrators/{{name}}/{{instance_id}}"),
            post(start_with_id),
        )
        .route(
            &format!("{BASE}/instances/{{instance_id}}"),
            get(get_status),
        )
        .route(
            &format!("{BASE}/instances/{{instance_id}}/raiseEvent/{{event_name}}"),
            post(raise_event),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// `http://host/runtime/webhooks/durabletask`, from the request's Host header.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:7071");
    format!("http://{host}{BASE}")
}

/// A request body as JSON: empty means `null` (Durable Functions' default input).
fn body_json(body: &Bytes) -> Result<Json, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("request body is not UTF-8 text"))?;
    if text.trim().is_empty() {
        return Ok(Json::null());
    }
    check_depth(text)?;
    Json::parse(text)
        .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))
}

/// Refuses JSON nested deeper than 64 levels before parsing it.
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
    if max > 64 {
        return Err(ApiError::bad_request(format!(
            "JSON is nested {max} levels deep; the limit is 64"
        )));
    }
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StartQuery {
    /// Wait up to this many seconds for completion (reference §1.2 row 1).
    timeout: Option<f64>,
    #[allow(dead_code)]
    polling_interval: Option<f64>,
}

async fn start(
    State(st): State<ApiState>,
    Path(name): Path<String>,
    Query(q): Query<StartQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    start_instance(st, name, None, q, headers, body).await
}

async fn start_with_id(
    State(st): State<ApiState>,
    Path((name, id)): Path<(String, String)>,
    Query(q): Query<StartQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    start_instance(st, name, Some(id), q, headers, body).await
}

async fn start_instance(
    st: ApiState,
    name: String,
    id: Option<String>,
    q: StartQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input = body_json(&body)?;
    let id = st.weft.start(&name, id.as_deref(), input).await?;
    let base = base_url(&headers);
    if let Some(secs) = q.timeout.filter(|s| s.is_finite() && *s > 0.0) {
        let done = st
            .weft
            .wait_for_completion(id.as_str(), Duration::from_secs_f64(secs.min(3600.0)))
            .await?;
        if let Some(s) = done {
            match s.status {
                RuntimeStatus::Completed => {
                    let out = s.output.map_or(serde_json::Value::Null, |o| o.to_value());
                    return Ok((StatusCode::OK, axum::Json(out)).into_response());
                }
                st if st.is_terminal() => {
                    return Ok(
                        (StatusCode::OK, axum::Json(payload::status(&s, true))).into_response()
                    );
                }
                _ => {}
            }
        }
    }
    Ok(accepted(
        &base,
        id.as_str(),
        payload::check_status(&base, id.as_str()),
        10,
    ))
}

/// 202 with `Location` (the status URL) and `Retry-After`.
fn accepted(base: &str, id: &str, body: impl serde::Serialize, retry_after: u32) -> Response {
    let location = format!("{base}/instances/{}", payload::encode(id));
    let mut resp = (StatusCode::ACCEPTED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    resp
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StatusQuery {
    show_input: Option<String>,
}

fn flag(v: &Option<String>, default: bool) -> bool {
    match v.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => default,
    }
}

async fn get_status(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<StatusQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(s) = st.weft.status(&id)? else {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!("no instance with ID '{id}'"),
        });
    };
    let body = payload::status(&s, flag(&q.show_input, true));
    if s.status.is_terminal() {
        return Ok((StatusCode::OK, axum::Json(body)).into_response());
    }
    Ok(accepted(&base_url(&headers), &id, body, 5))
}

async fn raise_event(
    State(st): State<ApiState>,
    Path((id, event)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // State is checked first (404/410), then the body (400), as Durable Functions does.
    match st.weft.status(&id)? {
        None => {
            let id = weft_core::InstanceId::new(id).map_err(crate::host::ClientError::from)?;
            return Err(crate::host::ClientError::NotFound(id).into());
        }
        Some(s) if s.status.is_terminal() => {
            return Err(crate::host::ClientError::Gone {
                id: s.instance_id,
                status: s.status,
            }
            .into());
        }
        Some(_) => {}
    }
    let data = body_json(&body)?;
    st.weft.raise_event(&id, &event, data).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
