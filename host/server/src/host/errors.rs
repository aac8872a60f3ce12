//! Errors of the client API. Every variant but `Store`/`Internal` is the
//! caller's mistake and maps to a 4xx (a caller's mistake is never a 5xx).

use weft_core::{InstanceId, InstanceIdError, RuntimeStatus};
use weft_runtime::LoadError;
use weft_store::StoreError;

/// Why a client call was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("unknown orchestrator '{name}'; deployed orchestrators: [{}]", known.join(", "))]
    UnknownOrchestrator { name: String, known: Vec<String> },
    #[error("{0}")]
    InvalidInstanceId(#[from] InstanceIdError),
    #[error("no deployed component serves entity '{name}'; served entities: [{}]", known.join(", "))]
    UnknownEntity { name: String, known: Vec<String> },
    #[error("{0}")]
    InvalidEntityId(#[from] weft_core::EntityIdError),
    #[error("invalid event name: {0}")]
    InvalidEventName(String),
    #[error("invalid task hub name: {0}")]
    InvalidTaskHub(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error(
        "instance '{id}' already exists and is {status}; wait for it to finish, or terminate it first"
    )]
    Conflict {
        id: InstanceId,
        status: RuntimeStatus,
    },
    /// The operation does not apply to the instance's current status.
    #[error("cannot {action} instance '{id}': it is {status}; {hint}")]
    WrongStatus {
        id: InstanceId,
        status: RuntimeStatus,
        action: &'static str,
        hint: &'static str,
    },
    #[error("no instance with ID '{0}'")]
    NotFound(InstanceId),
    #[error(
        "instance '{id}' is {status}; it has finished and accepts no more requests of this kind"
    )]
    Gone {
        id: InstanceId,
        status: RuntimeStatus,
    },
    #[error("no task hub named '{0}'")]
    TaskHubNotFound(String),
    #[error("no component with digest '{0}' is stored; `GET …/components` lists them")]
    ComponentNotFound(String),
    #[error(
        "component {digest} is still needed by {count} unfinished instance(s): {}{}; wait for them to finish, or terminate them first",
        instances.join(", "),
        if *count > instances.len() { ", …" } else { "" }
    )]
    ComponentPinned {
        digest: String,
        count: usize,
        /// The first few, as `hub/instance`.
        instances: Vec<String>,
    },
    /// The deploy itself was refused (not a component, not Weft's interfaces).
    #[error("{0}")]
    Deploy(#[from] DeployError),
    #[error("storage error: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a component could not be deployed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("could not store the component: {0}")]
    Store(String),
}

impl From<StoreError> for DeployError {
    fn from(e: StoreError) -> Self {
        DeployError::Store(e.to_string())
    }
}

/// Event names: 1–256 characters, no control characters (they end up in URLs and logs).
pub fn validate_event_name(name: &str) -> Result<(), ClientError> {
    let len = name.chars().count();
    if len == 0 {
        return Err(ClientError::InvalidEventName("it must not be empty".into()));
    }
    if len > 256 {
        return Err(ClientError::InvalidEventName(format!(
            "it is {len} characters long; the limit is 256"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ClientError::InvalidEventName(
            "it must not contain control characters".into(),
        ));
    }
    Ok(())
}
