//! Starting instances (reference §1.2 row 1), optionally waiting for them.
//!
//! Everything about a start request is checked before anything is created —
//! not the instance, and not the task hub it names (a start creates its hub).

use super::ApiState;
use super::error::ApiError;
use super::params::Params;
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
    start_instance(st, name, None, q, headers, body).await
}

pub async fn start_with_id(
    State(st): State<ApiState>,
    Path((name, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    start_instance(st, name, Some(id), q, headers, body).await
}

async fn start_instance(
    st: ApiState,
    name: String,
    id: Option<String>,
    q: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(q.as_deref());
    let wait = Wait::parse(&params)?;
    let digest = params.get("componentDigest").map(str::to_owned);
    let input = body_json(&body)?;
    st.weft
        .check_start(&name, id.as_deref(), digest.as_deref())
        .await?;
    let ctx = Ctx::creating(&st, &headers, q).await?;
    let id = ctx
        .hub
        .start_on(&name, id.as_deref(), input, digest.as_deref())
        .await?;
    answer(&ctx, id.as_str(), wait).await
}

/// `timeout` and `pollingInterval` (seconds) of the wait-for-completion mode.
pub(super) struct Wait {
    timeout: Option<f64>,
}

impl Wait {
    /// Checks both values; `pollingInterval` defaults to 1 s and may not be
    /// longer than `timeout`. Completion wakes the wait directly, so the
    /// interval is only an upper bound on how late the answer comes.
    pub fn parse(params: &Params) -> Result<Wait, ApiError> {
        let timeout = params.seconds("timeout")?;
        let interval = params.seconds("pollingInterval")?;
        if let (Some(t), Some(i)) = (timeout, interval)
            && i > t
        {
            return Err(ApiError::bad_request(format!(
                "pollingInterval ({i} s) must not be longer than timeout ({t} s)"
            )));
        }
        Ok(Wait { timeout })
    }
}

/// The answer to a start (or restart): 202 with the management URLs, or, in
/// wait mode, the output once it completes in time.
pub(super) async fn answer(ctx: &Ctx, id: &str, wait: Wait) -> Result<Response, ApiError> {
    if let Some(timeout) = wait.timeout {
        let done = ctx
            .hub
            .wait_for_completion(id, Duration::from_secs_f64(timeout.min(3600.0)))
            .await?;
        if let Some(s) = done {
            match s.status {
                RuntimeStatus::Completed => {
                    let out = payload::raw(s.output.as_ref().unwrap_or(&weft_core::Json::null()));
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
