//! The typed values of settings, each parsed one way whether it comes from a
//! flag, an environment variable or weft.toml: every type here implements
//! `FromStr` (which clap uses) and deserializes from the same string.

use super::units;
use serde::{Deserialize, Deserializer};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Implements `Deserialize` for a `FromStr` type by parsing a string, so a bad
/// value in the file gets the same message as on the command line.
macro_rules! deserialize_from_str {
    ($($t:ty),* $(,)?) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

deserialize_from_str!(
    Limit,
    GuestMemory,
    ComponentSize,
    ResponseSize,
    EnvGrant,
    DirGrant,
    HttpGrant
);

/// A positive whole number (a count that must not be zero). A flag's text or
/// a TOML integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count(pub u32);

impl FromStr for Count {
    type Err = String;
    fn from_str(text: &str) -> Result<Count, String> {
        match text.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(Count(n)),
            _ => Err(format!(
                "'{text}' is not a positive whole number (1 to {})",
                u32::MAX
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        n.to_string().parse().map_err(serde::de::Error::custom)
    }
}

/// A positive duration: `250ms`, `1s`, `5m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(pub Duration);

impl FromStr for Limit {
    type Err = String;
    fn from_str(text: &str) -> Result<Limit, String> {
        units::parse_duration(text).map(Limit)
    }
}

/// Linear memory of one guest: at most 4 GiB, all a 32-bit guest can address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestMemory(pub u64);

impl FromStr for GuestMemory {
    type Err = String;
    fn from_str(text: &str) -> Result<GuestMemory, String> {
        units::parse_size(text, 4 << 30).map(GuestMemory)
    }
}

/// The largest component a deploy accepts: at most 1 GiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComponentSize(pub u64);

impl FromStr for ComponentSize {
    type Err = String;
    fn from_str(text: &str) -> Result<ComponentSize, String> {
        units::parse_size(text, 1 << 30).map(ComponentSize)
    }
}

/// The largest response body durable HTTP records: at most 16 MiB (it is
/// kept in the history).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseSize(pub u64);

impl FromStr for ResponseSize {
    type Err = String;
    fn from_str(text: &str) -> Result<ResponseSize, String> {
        units::parse_size(text, 16 << 20).map(ResponseSize)
    }
}

/// An environment variable granted to activities: `NAME=VALUE`, or `NAME`
/// for this process's value (which must be set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvGrant(pub String, pub String);

impl FromStr for EnvGrant {
    type Err = String;
    fn from_str(text: &str) -> Result<EnvGrant, String> {
        let (name, value) = match text.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (text, None),
        };
        let valid = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(format!(
                "'{name}' is not an environment variable name (letters, digits and _, not starting with a digit)"
            ));
        }
        let value = match value {
            Some(v) => v,
            None => std::env::var(name).map_err(|_| {
                format!(
                    "{name} is not set in this process's environment; give a value as {name}=VALUE"
                )
            })?,
        };
        Ok(EnvGrant(name.to_owned(), value))
    }
}

/// A host directory granted to activities: `HOST` or `HOST:GUEST` (GUEST
/// defaults to HOST). It must exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirGrant(pub PathBuf, pub String);

impl FromStr for DirGrant {
    type Err = String;
    fn from_str(text: &str) -> Result<DirGrant, String> {
        let (host, guest) = text.split_once(':').unwrap_or((text, text));
        if !std::path::Path::new(host).is_dir() {
            return Err(format!("'{host}' is not a directory on this machine"));
        }
        Ok(DirGrant(host.into(), guest.to_owned()))
    }
}

/// A host activities may send HTTP requests to (see `weft_runtime::AllowedHost`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpGrant(pub weft_runtime::AllowedHost);

impl FromStr for HttpGrant {
    type Err = String;
    fn from_str(text: &str) -> Result<HttpGrant, String> {
        text.parse().map(HttpGrant)
    }
}

/// The grants of a list of values, as the runtime takes them.
pub fn capabilities(
    dirs: &[DirGrant],
    env: &[EnvGrant],
    http: &[HttpGrant],
) -> weft_runtime::ActivityCapabilities {
    weft_runtime::ActivityCapabilities {
        dirs: dirs.iter().map(|d| (d.0.clone(), d.1.clone())).collect(),
        env: env.iter().map(|e| (e.0.clone(), e.1.clone())).collect(),
        allow_http: http.iter().map(|h| h.0.clone()).collect(),
    }
}
