//! Query parameters, parsed strictly: a value that does not parse is a 400
//! naming the parameter and what it accepts (Durable Functions silently ignores
//! such values; we would rather say what was wrong).

use super::error::ApiError;
use std::collections::HashMap;
use weft_core::{RuntimeStatus, Timestamp};
use weft_store::InstanceFilter;

/// Decoded query parameters. A repeated parameter keeps every value (DF allows
/// `runtimeStatus` to repeat).
pub struct Params(HashMap<String, Vec<String>>);

/// Percent-decodes a query value (`+` is a space; a malformed escape stays as it is).
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Params {
    pub fn parse(query: Option<&str>) -> Params {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for kv in query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            map.entry(decode(k)).or_default().push(decode(v));
        }
        Params(map)
    }

    /// The first value of `name`, if given and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ApiError::bad_request(format!(
                "{name} must be true or false, not '{other}'"
            ))),
        }
    }

    pub fn time(&self, name: &str) -> Result<Option<Timestamp>, ApiError> {
        self.get(name)
            .map(|v| {
                Timestamp::parse_rfc3339(v).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{name} must be an ISO 8601 time such as 2026-01-31T12:00:00Z, not '{v}'"
                    ))
                })
            })
            .transpose()
    }

    pub fn seconds(&self, name: &str) -> Result<Option<f64>, ApiError> {
        self.get(name)
            .map(|v| match v.parse::<f64>() {
                Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
                _ => Err(ApiError::bad_request(format!(
                    "{name} must be a number of seconds (>= 0), not '{v}'"
                ))),
            })
            .transpose()
    }

    pub fn count(&self, name: &str) -> Result<Option<usize>, ApiError> {
        self.get(name)
            .map(|v| match v.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ApiError::bad_request(format!(
                    "{name} must be a positive whole number, not '{v}'"
                ))),
            })
            .transpose()
    }

    /// `runtimeStatus`: comma-separated and/or repeated status names (case-insensitive).
    pub fn statuses(&self) -> Result<Vec<RuntimeStatus>, ApiError> {
        let mut out = Vec::new();
        for v in self.0.get("runtimeStatus").into_iter().flatten() {
            for name in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let s = name
                    .parse::<RuntimeStatus>()
                    .map_err(|e| ApiError::bad_request(format!("runtimeStatus: {e}")))?;
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        Ok(out)
    }

    /// The instance filter of the list and purge routes.
    pub fn filter(&self) -> Result<InstanceFilter, ApiError> {
        Ok(InstanceFilter {
            created_from: self.time("createdTimeFrom")?,
            created_to: self.time("createdTimeTo")?,
            statuses: self.statuses()?,
            id_prefix: self.get("instanceIdPrefix").map(str::to_owned),
            component: self.get("componentDigest").map(str::to_owned),
        })
    }

    /// `reason` of control requests.
    pub fn reason(&self) -> Option<String> {
        self.get("reason").map(str::to_owned)
    }

    pub fn task_hub(&self) -> Option<&str> {
        self.get("taskHub")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(decode("a%2Fb+c%20d"), "a/b c d");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
    }

    #[test]
    fn statuses_are_comma_separated_repeatable_and_checked() {
        let p = Params::parse(Some("runtimeStatus=running,Completed&runtimeStatus=Failed"));
        assert_eq!(
            p.statuses().unwrap(),
            [
                RuntimeStatus::Running,
                RuntimeStatus::Completed,
                RuntimeStatus::Failed
            ]
        );
        assert!(
            Params::parse(Some("runtimeStatus=Sleeping"))
                .statuses()
                .is_err()
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_parameter_named() {
        let p = Params::parse(Some("top=x&showInput=maybe&createdTimeFrom=yesterday"));
        assert!(p.count("top").unwrap_err().message.contains("top"));
        assert!(
            p.bool("showInput", true)
                .unwrap_err()
                .message
                .contains("showInput")
        );
        assert!(
            p.time("createdTimeFrom")
                .unwrap_err()
                .message
                .contains("createdTimeFrom")
        );
        assert!(Params::parse(None).bool("showInput", true).unwrap());
    }
}
