//! Task hubs: list them, delete one with all its data.

use super::ApiState;
use super::error::ApiError;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub async fn list(State(st): State<ApiState>) -> Result<Response, ApiError> {
    Ok(axum::Json(json!({ "taskHubs": st.weft.task_hubs().await? })).into_response())
}

pub async fn delete(
    State(st): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    st.weft.delete_task_hub(&name).await?;
    Ok(axum::Json(json!({ "taskHub": name, "deleted": true })).into_response())
}
