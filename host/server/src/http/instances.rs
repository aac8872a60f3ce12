//! Reading, listing and purging instances (reference §1.2 rows 2–5).

use super::ApiState;
use super::error::ApiError;
use super::history;
use super::payload;
use super::routes::{Ctx, accepted, continuation, page};
use crate::host::Status;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Instances per page when the request gives no `top`: the route then pages
/// through everything itself, as Durable Functions does.
const PAGE: usize = crate::host::MAX_PAGE;

/// The handler's context and the instance's status; 404 for an unknown instance.
async fn existing(
    st: &ApiState,
    headers: &HeaderMap,
    q: Option<String>,
    id: &str,
) -> Result<(Ctx, Status), ApiError> {
    let ctx = Ctx::new(st, headers, q).await?;
    let status = ctx.hub.status(id).await?.ok_or_else(|| ApiError {
        status: StatusCode::NOT_FOUND,
        message: format!("no instance with ID '{id}'"),
    })?;
    Ok((ctx, status))
}

pub async fn status(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (ctx, s) = existing(&st, &headers, q, &id).await?;
    let show_input = ctx.params.bool("showInput", true)?;
    let show_history = ctx.params.bool("showHistory", false)?;
    let show_output = ctx.params.bool("showHistoryOutput", false)?;
    let events = if show_history {
        Some(history::project(&ctx.hub.history(&id).await?, show_output))
    } else {
        None
    };
    let body = payload::status_with_history(&s, show_input, events);
    if s.status.is_terminal() {
        return Ok((StatusCode::OK, axum::Json(body)).into_response());
    }
    Ok(accepted(&ctx.links.status(&id), body, 5))
}

/// Every history event, unprojected (`weft get-history`).
pub async fn history(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (ctx, _) = existing(&st, &headers, q, &id).await?;
    Ok(axum::Json(history::full(&ctx.hub.history(&id).await?)).into_response())
}

/// `HttpManagementPayload`: the instance's URLs including `rewindPostUri`.
pub async fn management(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (ctx, _) = existing(&st, &headers, q, &id).await?;
    Ok(axum::Json(payload::management(&ctx.links, &id)).into_response())
}

pub async fn list(
    State(st): State<ApiState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(&st, &headers, q).await?;
    let filter = ctx.params.filter()?;
    let show_input = ctx.params.bool("showInput", true)?;
    let token = continuation(&headers)?;
    let (rows, next) = match ctx.params.count("top")? {
        Some(top) => ctx.hub.list(&filter, top, token.as_deref()).await?,
        None => {
            let mut all = Vec::new();
            let mut token = token;
            loop {
                let (mut rows, next) = ctx.hub.list(&filter, PAGE, token.as_deref()).await?;
                all.append(&mut rows);
                match next {
                    Some(t) => token = Some(t),
                    None => break (all, None),
                }
            }
        }
    };
    let body: Vec<_> = rows
        .iter()
        .map(|s| payload::status(s, show_input))
        .collect();
    Ok(page(body, next.as_deref()))
}

pub async fn purge(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(&st, &headers, q).await?;
    let n = ctx.hub.purge(&id).await?;
    Ok(axum::Json(json!({ "instancesDeleted": n })).into_response())
}

/// Purge by filter. Like Durable Functions, 404 when nothing matched.
pub async fn purge_matching(
    State(st): State<ApiState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(&st, &headers, q).await?;
    let filter = ctx.params.filter()?;
    if filter.id_prefix.is_some() {
        return Err(ApiError::bad_request(
            "instanceIdPrefix is not supported when purging; purge by createdTimeFrom, createdTimeTo and runtimeStatus",
        ));
    }
    let n = ctx.hub.purge_matching(filter).await?;
    let status = if n == 0 {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(json!({ "instancesDeleted": n }))).into_response())
}
