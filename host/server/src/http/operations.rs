//! Requests to an instance: raise an event, terminate, suspend, resume, rewind,
//! restart (reference §1.2 rows 6–11).

use super::ApiState;
use super::error::ApiError;
use super::routes::{Ctx, body_json};
use super::start;
use crate::host::ClientError;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use weft_core::InstanceId;

pub async fn raise_event(
    State(st): State<ApiState>,
    Path((id, event)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(&st, &headers, q).await?;
    // State first (404/410), then the body (400), as Durable Functions does.
    match ctx.hub.status(&id).await? {
        None => {
            return Err(
                ClientError::NotFound(InstanceId::new(id).map_err(ClientError::from)?).into(),
            );
        }
        Some(s) if s.status.is_terminal() => {
            return Err(ClientError::Gone {
                id: s.instance_id,
                status: s.status,
            }
            .into());
        }
        Some(_) => {}
    }
    if let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        && !ct
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
    {
        return Err(ApiError::bad_request(format!(
            "event data must be sent as application/json, not '{ct}'"
        )));
    }
    let data = body_json(&body)?;
    ctx.hub.raise_event(&id, &event, data).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST .../instances/{id}/{operation}`: terminate, suspend, resume, rewind or
/// restart (case-insensitive, as in Durable Functions).
pub async fn control(
    State(st): State<ApiState>,
    Path((id, operation)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(&st, &headers, q).await?;
    let reason = ctx.params.reason();
    match operation.to_ascii_lowercase().as_str() {
        "terminate" => {
            let recurse = ctx.params.bool("recurse", false)?;
            ctx.hub.terminate(&id, reason, recurse).await?
        }
        "suspend" => ctx.hub.suspend(&id, reason).await?,
        "resume" => ctx.hub.resume(&id, reason).await?,
        "rewind" => ctx.hub.rewind(&id, reason).await?,
        "restart" => {
            let new_id = ctx.params.bool("restartWithNewInstanceId", true)?;
            let wait = start::Wait::parse(&ctx.params)?;
            let started = ctx.hub.restart(&id, new_id).await?;
            return start::answer(&ctx, started.as_str(), wait).await;
        }
        other => {
            return Err(ApiError {
                status: StatusCode::NOT_FOUND,
                message: format!(
                    "unknown operation '{other}'; use terminate, suspend, resume, rewind, restart or raiseEvent/{{name}}"
                ),
            });
        }
    }
    Ok(StatusCode::ACCEPTED.into_response())
}
