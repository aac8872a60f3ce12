//! [`Failure`]: why an activity, a task or an orchestration failed.
//!
//! It mirrors the WIT `failure` record (and the host's `weft_core::Failure`),
//! with `details` decoded into a [`serde_json::Value`]. Error types that the SDK
//! itself produces are associated constants, so code matches on names, not on
//! string literals scattered around.

use crate::bindings::weft::durable::types::Failure as WitFailure;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an activity, a task or an orchestration failed.
///
/// Orchestrators and activities return `Result<_, E>` with `E: Into<Failure>`;
/// `String` and `&str` convert with the error type `"Error"`. Awaiting a task
/// that failed yields the `Failure` the activity returned, or one of the SDK's
/// own types ([`Failure::CANCELED`], [`Failure::DESERIALIZE`], ...).
///
/// ```
/// use weft_sdk::Failure;
///
/// let f = Failure::new("OutOfStock", "no more widgets")
///     .with_details(serde_json::json!({ "sku": "W-1" }))
///     .non_retriable();
/// assert_eq!(f.to_string(), "OutOfStock: no more widgets");
/// assert!(f.non_retriable);
///
/// let plain: Failure = "something broke".into();
/// assert_eq!(plain.error_type, "Error");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// A short classifier code can match on, e.g. `"InvalidInput"`.
    pub error_type: String,
    /// A message for people.
    pub message: String,
    /// Optional structured details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// When true, retry policies stop at this failure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub non_retriable: bool,
}

impl Failure {
    /// The error type of strings converted with `From`.
    pub const GENERIC: &'static str = "Error";
    /// The task was cancelled before it completed (set by the host).
    pub const CANCELED: &'static str = "weft.Canceled";
    /// A task's result, or an event's payload, did not decode into the requested type.
    pub const DESERIALIZE: &'static str = "weft.Deserialize";
    /// A value could not be encoded as JSON (an orchestrator's or activity's output,
    /// a custom status).
    pub const SERIALIZE: &'static str = "weft.Serialize";
    /// The input of an orchestrator or activity did not decode into its parameter type.
    pub const INVALID_INPUT: &'static str = "weft.InvalidInput";
    /// The component was asked to run a name it does not export.
    pub const UNKNOWN_FUNCTION: &'static str = "weft.UnknownFunction";
    /// The host refused a custom status (too large, or not JSON).
    pub const INVALID_CUSTOM_STATUS: &'static str = "weft.InvalidCustomStatus";
    /// An entity ID broke the `@name@key` rules (refused by the SDK or the host).
    pub const INVALID_ENTITY_ID: &'static str = "weft.InvalidEntityId";
    /// The component was asked to run an entity name it does not export.
    pub const ENTITY_NOT_FOUND: &'static str = "weft.EntityNotFound";
    /// An entity does not have the operation it was asked for; entity functions
    /// return it through [`EntityContext::unknown_operation`](crate::EntityContext::unknown_operation).
    pub const OPERATION_NOT_FOUND: &'static str = "weft.OperationNotFound";
    /// A call broke Durable Functions' rules for critical sections (a nested
    /// lock, a call to an entity not locked, a signal to a locked one, a
    /// sub-orchestration while holding locks, an empty lock set); set by the host.
    pub const LOCKING_RULES_VIOLATION: &'static str = "weft.LockingRulesViolation";
    /// A durable HTTP request's host is not on the operator's allow-list (set
    /// by the host; never retried).
    pub const HTTP_EGRESS_DENIED: &'static str = "weft.HttpEgressDenied";
    /// A durable HTTP response's body is larger than the host accepts (set by
    /// the host; never retried).
    pub const HTTP_RESPONSE_TOO_LARGE: &'static str = "weft.HttpResponseTooLarge";
    /// A durable HTTP request's method, URI or a header is invalid (set by the
    /// host; never retried).
    pub const INVALID_HTTP_REQUEST: &'static str = "weft.InvalidHttpRequest";
    /// A durable HTTP request could not connect or ran out of time (set by the
    /// host; retried by an [`HttpRetryPolicy`](crate::HttpRetryPolicy)).
    pub const HTTP_REQUEST_FAILED: &'static str = "weft.HttpRequestFailed";
    /// A durable HTTP call's timeout passed before a final answer (the SDK
    /// stops polling or retrying).
    pub const HTTP_TIMEOUT: &'static str = "weft.HttpTimeout";
    /// A durable HTTP response's status is one its
    /// [`HttpRetryPolicy`](crate::HttpRetryPolicy) retries, and the retries ran
    /// out; the response is in the details.
    pub const HTTP_STATUS: &'static str = "weft.HttpStatus";

    /// A failure with a type and a message, no details, retriable.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            error_type: error_type.into(),
            message: message.into(),
            details: None,
            non_retriable: false,
        }
    }

    /// The same failure with structured `details` attached.
    pub fn with_details(mut self, details: serde_json::Value) -> Failure {
        self.details = Some(details);
        self
    }

    /// The same failure, marked so that retry policies do not retry it.
    pub fn non_retriable(mut self) -> Failure {
        self.non_retriable = true;
        self
    }

    /// True when this failure says the task was cancelled ([`Failure::CANCELED`]).
    pub fn is_canceled(&self) -> bool {
        self.error_type == Failure::CANCELED
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for Failure {}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::new(Failure::GENERIC, message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::new(Failure::GENERIC, message)
    }
}

impl From<WitFailure> for Failure {
    /// Decodes `details`; text that is not JSON (the host never sends any) is kept
    /// as a JSON string rather than dropped.
    fn from(wit: WitFailure) -> Failure {
        Failure {
            error_type: wit.error_type,
            message: wit.message,
            details: wit
                .details
                .map(|text| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))),
            non_retriable: wit.non_retriable,
        }
    }
}

impl From<Failure> for WitFailure {
    fn from(failure: Failure) -> WitFailure {
        WitFailure {
            error_type: failure.error_type,
            message: failure.message,
            // Serializing a `Value` cannot fail: its map keys are always strings.
            details: failure.details.map(|value| value.to_string()),
            non_retriable: failure.non_retriable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_convert_with_the_generic_type() {
        let f: Failure = String::from("bad").into();
        assert_eq!(f, Failure::new("Error", "bad"));
        assert_eq!(Failure::from("bad"), f);
    }

    #[test]
    fn builders_set_details_and_non_retriable() {
        let f = Failure::new("T", "m")
            .with_details(json!([1, 2]))
            .non_retriable();
        assert_eq!(f.details, Some(json!([1, 2])));
        assert!(f.non_retriable);
        assert_eq!(f.to_string(), "T: m");
    }

    #[test]
    fn round_trips_through_the_wit_record() {
        let f = Failure::new("T", "m")
            .with_details(json!({"a": 1}))
            .non_retriable();
        let wit = WitFailure::from(f.clone());
        assert_eq!(wit.details.as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(Failure::from(wit), f);
    }

    #[test]
    fn details_that_are_not_json_are_kept_as_a_string() {
        let wit = WitFailure {
            error_type: "T".into(),
            message: "m".into(),
            details: Some("not json".into()),
            non_retriable: false,
        };
        assert_eq!(Failure::from(wit).details, Some(json!("not json")));
    }

    #[test]
    fn serializes_like_the_host() {
        let f = Failure::new("T", "m");
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            json!({"errorType": "T", "message": "m"})
        );
    }
}
