//! Starting instances (reference §1.2 row 1), optionally waiting for them.

use super::ApiState;
use super::error::ApiError;
use super::payload;
use super::routes::{Ctx, accepted, body_json};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use weft_core::RuntimeStatus;

pub async fn start(
    State(st): State<ApiState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = Ctx::creating(&st, &headers, q)?;
    let input = body_json(&body)?;
    let id = ctx.hub.start(&name, None, input).await?;
    answer(&ctx, id.as_str()).await
}

pub async fn start_with_id(
    State(st): State<ApiState>,
    Path((name, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = Ctx::creating(&st, &headers, q)?;
    let input = body_json(&body)?;
    let id = ctx.hub.start(&name, Some(&id), input).await?;
    answer(&ctx, id.as_str()).await
}

/// The answer to a start (or restart): 202 with the management URLs, or, with
/// `timeout` (seconds), the output once it completes in time.
pub(super) async fn answer(ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    let interval = ctx.params.seconds("pollingInterval")?;
    if let Some(timeout) = ctx.params.seconds("timeout")? {
        // Default 1 s, never longer than the timeout itself.
        let interval = interval.unwrap_or(timeout.min(1.0));
        if interval > timeout {
            return Err(ApiError::bad_request(format!(
                "pollingInterval ({interval} s) must not be longer than timeout ({timeout} s)"
            )));
        }
        // Completion wakes the wait directly; the polling interval is an upper bound.
        let done = ctx
            .hub
            .wait_for_completion(id, Duration::from_secs_f64(timeout.min(3600.0)))
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
        &ctx.links.status(id),
        payload::check_status(&ctx.links, id),
        10,
    ))
}
