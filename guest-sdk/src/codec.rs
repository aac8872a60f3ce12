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

/// Decodes JSON text into `T`; `what` says what it is, for the error message.
pub(crate) fn decode<T: DeserializeOwned>(json: &str, what: impl Display) -> Result<T, Failure> {
    serde_json::from_str(json).map_err(|e| {
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
    fn unit_decodes_from_null() {
        decode::<()>("null", "a timer").unwrap();
    }
}
