//! HTTP error responses: a status code and a JSON body `{"error": "..."}`.

use crate::host::ClientError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answer. Callers' mistakes are 4xx; only storage faults are 5xx.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<ClientError> for ApiError {
    fn from(e: ClientError) -> ApiError {
        let status = match &e {
            ClientError::UnknownOrchestrator { .. }
            | ClientError::InvalidInstanceId(_)
            | ClientError::InvalidEntityId(_)
            | ClientError::InvalidEventName(_)
            | ClientError::InvalidTaskHub(_)
            | ClientError::InvalidArgument(_) => StatusCode::BAD_REQUEST,
            ClientError::Conflict { .. } | ClientError::WrongStatus { .. } => StatusCode::CONFLICT,
            ClientError::NotFound(_)
            | ClientError::UnknownEntity { .. }
            | ClientError::TaskHubNotFound(_)
            | ClientError::ComponentNotFound(_) => StatusCode::NOT_FOUND,
            ClientError::ComponentPinned { .. } => StatusCode::CONFLICT,
            ClientError::Deploy(crate::host::DeployError::Load(_)) => StatusCode::BAD_REQUEST,
            ClientError::Deploy(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ClientError::Gone { .. } => StatusCode::GONE,
            ClientError::Store(e) if e.fault().is_some() => StatusCode::SERVICE_UNAVAILABLE,
            ClientError::Store(_) | ClientError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            message: e.to_string(),
        }
    }
}

/// Seconds a client should wait before retrying a 503 (storage failing).
pub const RETRY_AFTER_SECS: u64 = 2;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(RETRY_AFTER_SECS),
            );
        }
        resp
    }
}
