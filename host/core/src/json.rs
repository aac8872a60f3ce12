//! Validated JSON text, passed through without re-parsing.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::fmt;

/// A JSON document known to be well-formed. Payloads (inputs, results, event data)
/// travel through the host as text: the host never needs their structure, so it
/// validates once and never re-encodes them.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Json(Box<RawValue>);

/// Text that is not JSON, or JSON nested too deeply.
#[derive(Debug, thiserror::Error)]
#[error("invalid JSON: {0}")]
pub struct JsonError(String);

impl Json {
    /// Parses `text`, rejecting anything that is not exactly one JSON value.
    ///
    /// Also refuses JSON that is well-formed but cannot be represented as a
    /// value (numbers out of range such as `1e400`, lone UTF-16 surrogates):
    /// everything the host accepts must be readable again.
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        let trimmed = text.trim();
        serde_json::from_str::<serde_json::Value>(trimmed).map_err(|e| JsonError(e.to_string()))?;
        RawValue::from_string(trimmed.to_owned())
            .map(Json)
            .map_err(|e| JsonError(e.to_string()))
    }

    /// The JSON `null`.
    pub fn null() -> Json {
        Json(RawValue::from_string("null".to_owned()).expect("null is JSON"))
    }

    /// Encodes any serializable value.
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Json {
        Json(serde_json::value::to_raw_value(value).expect("serializable value"))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// Decodes into a `serde_json::Value` (for display and tests).
    /// Never fails: text that somehow does not decode (written by an older
    /// version that accepted it) comes back as a JSON string of itself.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.as_str())
            .unwrap_or_else(|_| serde_json::Value::String(self.as_str().to_owned()))
    }

    /// True for the JSON `null`.
    pub fn is_null(&self) -> bool {
        self.as_str() == "null"
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
impl Eq for Json {}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_single_value() {
        for text in ["null", "1", "\"x\"", "[1,2]", " {\"a\": {}} "] {
            assert!(Json::parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn rejects_non_json() {
        for text in ["", "{", "nul", "1 2", "{'a':1}", "1e400", "\"\\ud800\""] {
            assert!(Json::parse(text).is_err(), "{text}");
        }
    }
}
