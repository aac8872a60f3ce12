//! Failure details, as activities report them and users see them.

use crate::Json;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an activity, a task or an orchestration failed. Mirrors the WIT `failure`
/// record and Durable Task's `FailureDetails`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// A short classifier the orchestrator can match on.
    pub error_type: String,
    /// A message for people.
    pub message: String,
    /// Optional structured details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Json>,
    /// When true, retry policies stop at this failure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub non_retriable: bool,
}

impl Failure {
    /// A failure with a type and a message, no details.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            error_type: error_type.into(),
            message: message.into(),
            details: None,
            non_retriable: false,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}
