//! Task hubs: independent namespaces of instances in one store file.
//!
//! Every table name is `<hub>/<table>`, so hubs never share rows and deleting a
//! hub is deleting its tables. `Store::open` opens [`Hub::DEFAULT`];
//! `Store::hub` opens another hub over the same `redb::Database`.

use std::fmt;

/// A validated task-hub name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hub(String);

impl Hub {
    /// The hub the host uses when none is named.
    pub const DEFAULT: &'static str = "default";

    /// Longest allowed name, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Validates `name`: 1–64 characters of ASCII letters, digits, `-` and `_`
    /// (names become table-name prefixes and URL path segments).
    pub fn new(name: impl Into<String>) -> Result<Hub, String> {
        let name = name.into();
        if name.is_empty() || name.len() > Self::MAX_LEN {
            return Err(format!(
                "task hub name must be 1 to {} characters long",
                Self::MAX_LEN
            ));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!(
                "task hub name must not contain {c:?}: use ASCII letters, digits, '-' and '_'"
            ));
        }
        Ok(Hub(name))
    }

    /// The hub named [`Hub::DEFAULT`].
    pub fn default_hub() -> Hub {
        Hub(Self::DEFAULT.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
