//! Task hubs: independent namespaces of instances in one store file.
//!
//! Every table name is `<hub>/<table>`, so hubs never share rows and deleting a
//! hub is deleting its tables (`hubs.rs`). `Store::open` opens [`Hub::DEFAULT`];
//! `Store::hub` opens another hub over the same `redb::Database`.
//!
//! Names follow Durable Functions' rule for task hubs (3 to 45 ASCII letters and
//! digits, starting with a letter), so a name that works there works here and
//! the other way round. They also make safe table-name prefixes and URL path
//! segments. Names are compared exactly: `MyHub` and `myhub` are two hubs
//! (Durable Functions' Azure Storage backend would fold them into one; nothing
//! in a Weft store is case-insensitive, and an exact match cannot surprise).

use std::fmt;
use std::str::FromStr;

/// A validated task-hub name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hub(String);

/// A task-hub name that breaks [`Hub::RULE`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid task hub name {name:?}: {rule}", rule = Hub::RULE)]
pub struct InvalidHubName {
    /// The name that was refused.
    pub name: String,
}

impl Hub {
    /// The hub the host uses when none is named.
    pub const DEFAULT: &'static str = "default";

    /// Shortest allowed name, in characters.
    pub const MIN_LEN: usize = 3;

    /// Longest allowed name, in characters.
    pub const MAX_LEN: usize = 45;

    /// The naming rule, as error messages state it.
    pub const RULE: &'static str = "a task hub name is 3 to 45 ASCII letters and digits and \
                                    starts with a letter (Durable Functions' rule)";

    /// Validates `name` against [`Hub::RULE`].
    pub fn new(name: impl Into<String>) -> Result<Hub, InvalidHubName> {
        let name = name.into();
        let valid = (Self::MIN_LEN..=Self::MAX_LEN).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric());
        if valid {
            Ok(Hub(name))
        } else {
            Err(InvalidHubName { name })
        }
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

impl FromStr for Hub {
    type Err = InvalidHubName;

    fn from_str(s: &str) -> Result<Hub, InvalidHubName> {
        Hub::new(s)
    }
}

impl fmt::Display for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_functions_rule() {
        for ok in [
            "default",
            "abc",
            "TestHubName",
            "DurableFunctionsHub",
            "hub2",
            &"a".repeat(45),
        ] {
            assert_eq!(Hub::new(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "ab",
            &"a".repeat(46),
            "1hub",
            "my-hub",
            "my_hub",
            "a/b",
            "héllo",
            "hub ",
        ] {
            let err = Hub::new(bad).unwrap_err();
            assert_eq!(err.name, bad);
            let message = err.to_string();
            assert!(
                message.contains("3 to 45 ASCII letters and digits")
                    && message.contains("starts with a letter"),
                "{message}"
            );
        }
        assert_eq!(Hub::default_hub().as_str(), Hub::DEFAULT);
        assert!(Hub::new(Hub::DEFAULT).is_ok());
        assert_eq!("billing".parse::<Hub>().unwrap().as_str(), "billing");
    }
}
