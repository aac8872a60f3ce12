//! Durable entities over HTTP (reference §1.2 rows 12–14; durable-entities.md
//! §5.1): signal, read, list, and clean.
//!
//! One difference from Durable Functions, by choice (durable-entities.md
//! §7.2, "symmetric HTTP"): the key `$` means the empty key on every route,
//! not only on `GET`, so the same URL names the same entity whatever the
//! method.

use super::ApiState;
use super::error::ApiError;
use super::params::decode;
use super::payload::{self, encode};
use super::routes::{CONTINUATION, Ctx, body_json, continuation, page};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use weft_core::{EntityId, Json};
use weft_store::{EntityQuery, EntityRecord};

/// The path's entity: `$` is the empty key.
fn entity_of(name: &str, key: &str) -> Result<EntityId, ApiError> {
    let key = if key == "$" { "" } else { key };
    EntityId::new(name, key).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// The signal's input: JSON when sent as `application/json`, else the body
/// as a JSON string; an empty body is `null`.
fn signal_input(headers: &HeaderMap, body: &Bytes) -> Result<Json, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if is_json || body.is_empty() {
        return body_json(body);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("request body is not UTF-8 text"))?;
    Json::parse(&serde_json::to_string(text).expect("a string serializes"))
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

async fn signal_with(
    st: &ApiState,
    headers: &HeaderMap,
    q: Option<String>,
    entity: EntityId,
    operation: Option<&str>,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(st, headers, q).await?;
    let operation = match operation {
        Some(op) => op.to_owned(),
        None => ctx.params.get("op").map(str::to_owned).ok_or_else(|| {
            ApiError::bad_request(
                "missing query parameter 'op': name the operation to signal (…?op=add)",
            )
        })?,
    };
    let input = signal_input(headers, body)?;
    ctx.hub.signal_entity(&entity, &operation, input).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST …/entities/{name}/{key}?op=…`: signal (202).
pub async fn signal(
    State(st): State<ApiState>,
    Path((name, key)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entity = entity_of(&name, &key)?;
    signal_with(&st, &headers, q, entity, None, &body).await
}

/// `POST …/entities/{name}?op=…`: signal the entity with the empty key.
pub async fn signal_empty_key(
    State(st): State<ApiState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entity = entity_of(&name, "")?;
    signal_with(&st, &headers, q, entity, None, &body).await
}

/// `DELETE …/entities/{name}/{key}`: signals operation `delete` (202), as
/// Durable Functions does; the SDK deletes the state for it.
pub async fn delete(
    State(st): State<ApiState>,
    Path((name, key)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let entity = entity_of(&name, &key)?;
    signal_with(&st, &headers, q, entity, Some("delete"), &Bytes::new()).await
}

/// `GET …/entities/{name}/{key}`: the state (200), or 404 when the entity
/// does not exist (never created, or deleted).
pub async fn get(
    State(st): State<ApiState>,
    Path((name, key)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let entity = entity_of(&name, &key)?;
    let ctx = Ctx::new(&st, &headers, q).await?;
    match ctx.hub.entity(&entity).await?.and_then(|r| r.state) {
        Some(state) => Ok(axum::Json(payload::raw(&state)).into_response()),
        None => Err(ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!("entity '{entity}' does not exist (it has no state)"),
        }),
    }
}

/// `GET …/entities`: every entity with state, a page at a time.
pub async fn list(
    State(st): State<ApiState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    list_with(&st, &headers, q, None).await
}

/// `GET …/entities/{name}`: the entities of one name.
pub async fn list_named(
    State(st): State<ApiState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let name = entity_of(&name, "")?.name().to_owned();
    list_with(&st, &headers, q, Some(name)).await
}

async fn list_with(
    st: &ApiState,
    headers: &HeaderMap,
    q: Option<String>,
    name: Option<String>,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(st, headers, q).await?;
    let fetch_state = ctx.params.bool("fetchState", false)?;
    let after = continuation(headers)?.map(|t| decode(&t));
    if let Some(a) = &after {
        EntityId::parse(a).map_err(|e| {
            ApiError::bad_request(format!(
                "invalid {CONTINUATION} ({e}); pass the token of the previous page unchanged"
            ))
        })?;
    }
    let query = EntityQuery {
        name,
        last_operation_from: ctx.params.time("lastOperationTimeFrom")?,
        last_operation_to: ctx.params.time("lastOperationTimeTo")?,
        include_empty: false,
        after,
        top: ctx.params.count("top")?.unwrap_or(100),
    };
    let (rows, next) = ctx.hub.list_entities(&query).await?;
    let body: Vec<_> = rows.iter().map(|r| item(r, fetch_state)).collect();
    Ok(page(body, next.map(|t| encode(&t)).as_deref()))
}

/// One list item, as Durable Functions shapes it.
fn item(r: &EntityRecord, fetch_state: bool) -> serde_json::Value {
    let mut v = json!({
        "entityId": { "name": r.entity.name(), "key": r.entity.key() },
        "lastOperationTime": r.last_operation.to_rfc3339(),
    });
    if fetch_state && let Some(state) = &r.state {
        v["state"] = serde_json::to_value(payload::raw(state)).expect("stored JSON is valid");
    }
    v
}

/// `DELETE …/entities`: cleans entity storage (rows without state, lock or
/// waiting message); answers how many were removed.
pub async fn clean(
    State(st): State<ApiState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(&st, &headers, q).await?;
    let removed = ctx.hub.clean_entity_storage().await?;
    Ok(axum::Json(json!({ "emptyEntitiesRemoved": removed })).into_response())
}
