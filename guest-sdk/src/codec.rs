//! JSON encoding at the boundary, with failures the SDK can return.
//!
//! Every value crossing the WIT interface is JSON text. Encoding errors become
//! [`Failure::SERIALIZE`], decoding errors [`Failure::DESERIALIZE`]; both name
//! what was being converted and the Rust type, so the message is actionable.

use crate::Failure;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Display;

/// Encodes `value` as JSON text; `what` says what it is, for the error message.
pub(crate) fn encode<T: Serialize + ?Sized>(
    value: &T,
    what: impl Display,
) -> Result<String, Failure> {
    serde_json::to_string(value).map_err(|e| {
        Failure::new(
            Failure::SERIALIZE,
            format!(
                "{what} could not be encoded as JSON ({}): {e}",
                std::any::type_name::<T>()
            ),
        )
    })
}

/// Decodes JSON text into `T`, also when the value arrives encoded twice.
///
/// Durable Functions' Python client JSON-encodes inputs and event payloads
/// twice (its own orchestrators decode twice), so `{"a": 1}` arrives as the
/// JSON string `"{\"a\": 1}"`. When the text does not decode into `T` but is
/// a JSON string whose contents do, those contents are the value. A `T` that
/// accepts strings (`String`, `serde_json::Value`) gets the string as it came.
pub(crate) fn decode_lenient<T: DeserializeOwned>(json: &str) -> Result<T, serde_json::Error> {
    match serde_json::from_str(json) {
        Ok(v) => Ok(v),
        Err(first) => match serde_json::from_str::<String>(json) {
            Ok(inner) => serde_json::from_str(&inner).map_err(|_| first),
            Err(_) => Err(first),
        },
    }
}

/// Decodes JSON text into `T` ([`decode_lenient`]); `what` says what it is,
/// for the error message.
pub(crate) fn decode<T: DeserializeOwned>(json: &str, what: impl Display) -> Result<T, Failure> {
    decode_lenient(json).map_err(|e| {
        Failure::new(
            Failure::DESERIALIZE,
            format!(
                "{what} does not decode as {}: {e}",
                std::any::type_name::<T>()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn decode_errors_name_the_value_and_the_type() {
        let err = decode::<u32>("\"x\"", "the result of activity 'A'").unwrap_err();
        assert_eq!(err.error_type, Failure::DESERIALIZE);
        assert!(
            err.message
                .starts_with("the result of activity 'A' does not decode as u32")
        );
    }

    #[test]
    fn encode_errors_are_serialize_failures() {
        let map: HashMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        let err = encode(&map, "the input").unwrap_err();
        assert_eq!(err.error_type, Failure::SERIALIZE);
    }

    #[test]
    fn values_encoded_twice_decode() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        #[serde(rename_all = "camelCase")]
        struct Input {
            timeout_seconds: u32,
        }
        let twice = serde_json::to_string(r#"{"timeoutSeconds": 600}"#).unwrap();
        assert_eq!(
            decode::<Input>(&twice, "x").unwrap(),
            Input {
                timeout_seconds: 600
            }
        );
        assert!(decode::<bool>(r#""true""#, "x").unwrap());
        assert_eq!(decode::<u32>(r#""7""#, "x").unwrap(), 7);
        // A string wanted as a string stays the string it came as.
        assert_eq!(decode::<String>(r#""true""#, "x").unwrap(), "true");
        assert_eq!(
            decode::<serde_json::Value>(r#""7""#, "x").unwrap(),
            serde_json::json!("7")
        );
        // Neither form decodes: the error is about the text as it came.
        let err = decode::<u32>(r#""x""#, "x").unwrap_err();
        assert!(
            err.message.contains("invalid type: string"),
            "{}",
            err.message
        );
    }

    #[test]
    fn unit_decodes_from_null() {
        decode::<()>("null", "a timer").unwrap();
    }
}
