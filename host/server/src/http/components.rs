//! Components: deploy into the running host, list, show, remove.
//! Thin: the rules are in `host::components`.

use super::ApiState;
use super::error::ApiError;
use super::params::Params;
use crate::host::{ClientError, DeployError};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// `POST …/components` with the component's bytes (`Content-Type:
/// application/wasm`): 201 when new, 200 when the same bytes were deployed
/// before, 400 naming what is wrong otherwise (nothing changes then).
/// `?check=true` deploys nothing and answers the report of replaying every
/// unfinished instance it would serve; `?migrate=compatible` deploys and
/// moves the compatible ones onto it (`host::deploy_check`).
pub async fn deploy(
    State(st): State<ApiState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let check = params.bool("check", false)?;
    let migrate = match params.get("migrate") {
        None => false,
        Some("compatible") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "migrate={other} is not supported; use migrate=compatible (move the running instances \
                 proven compatible onto the new component)"
            )));
        }
    };
    if check && migrate {
        return Err(ApiError::bad_request(
            "check=true deploys nothing and migrate=compatible deploys: ask for one of them",
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/wasm") {
        return Err(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: format!(
                "a component is sent as its bytes with Content-Type: application/wasm (got '{content_type}')"
            ),
        });
    }
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty; send the component's .wasm bytes",
        ));
    }
    if check || migrate {
        let report = st
            .weft
            .check_deploy(body.to_vec(), migrate)
            .await
            .map_err(|e| match e {
                ClientError::Deploy(DeployError::Load(e)) => ApiError::bad_request(e.to_string()),
                e => ApiError::from(e),
            })?;
        return Ok(axum::Json(report).into_response());
    }
    let deployed = st.weft.deploy(body.to_vec()).await.map_err(|e| match e {
        DeployError::Load(e) => ApiError::bad_request(e.to_string()),
        e => ApiError::from(ClientError::from(e)),
    })?;
    let status = if deployed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let i = deployed.info;
    let body = json!({
        "digest": i.digest,
        "orchestrators": i.orchestrators,
        "activities": i.activities,
        "entities": i.entities,
        "capabilities": i.capabilities,
    });
    Ok((status, axum::Json(body)).into_response())
}

/// `GET …/components`.
pub async fn list(State(st): State<ApiState>) -> Result<Response, ApiError> {
    Ok(axum::Json(json!({ "components": st.weft.component_list().await? })).into_response())
}

/// `GET …/components/{digest}`.
pub async fn get(
    State(st): State<ApiState>,
    Path(digest): Path<String>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(st.weft.component(&digest).await?).into_response())
}

/// `DELETE …/components/{digest}`: 409 naming the unfinished instances pinned to it.
pub async fn remove(
    State(st): State<ApiState>,
    Path(digest): Path<String>,
) -> Result<Response, ApiError> {
    st.weft.remove_component(&digest).await?;
    Ok(axum::Json(json!({ "digest": digest, "removed": true })).into_response())
}
