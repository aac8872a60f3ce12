//! Typed identifiers.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An orchestration instance's ID, unique within a task hub.
///
/// Construction validates: 1–256 characters, not starting with `@`, and none of
/// `/`, `\`, `#`, `?` or control characters (they break URLs and storage keys).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstanceId(String);

/// The rule an instance ID broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstanceIdError {
    #[error("instance ID must not be empty")]
    Empty,
    #[error("instance ID is {0} characters long; the limit is 256")]
    TooLong(usize),
    #[error("instance ID must not start with '@' (reserved for entities)")]
    StartsWithAt,
    #[error(
        "instance ID must not contain {0:?}: '/', '\\', '#', '?' and control characters are not allowed"
    )]
    ForbiddenChar(char),
    #[error(
        "instance ID must not be {0:?}: URLs treat '.' and '..' as path steps, so clients would \
         normalise its management URLs away; choose another ID"
    )]
    DotSegment(String),
}

impl InstanceId {
    /// Longest allowed ID, in characters.
    pub const MAX_LEN: usize = 256;

    /// Validates `id` against.
    pub fn new(id: impl Into<String>) -> Result<InstanceId, InstanceIdError> {
        let id = id.into();
        let len = id.chars().count();
        if len == 0 {
            return Err(InstanceIdError::Empty);
        }
        if len > Self::MAX_LEN {
            return Err(InstanceIdError::TooLong(len));
        }
        if id.starts_with('@') {
            return Err(InstanceIdError::StartsWithAt);
        }
        if let Some(c) = id
            .chars()
            .find(|c| matches!(c, '/' | '\\' | '#' | '?') || c.is_control())
        {
            return Err(InstanceIdError::ForbiddenChar(c));
        }
        Ok(InstanceId(id))
    }

    /// Validates the ID of a new instance: [`InstanceId::new`]'s rules, and
    /// not `.` or `..`, which clients' URL handling removes. (Stored IDs are
    /// read with `new`, so instances created before this rule stay readable.)
    pub fn for_new_instance(id: impl Into<String>) -> Result<InstanceId, InstanceIdError> {
        let id = InstanceId::new(id)?;
        if id.0 == "." || id.0 == ".." {
            return Err(InstanceIdError::DotSegment(id.0));
        }
        Ok(id)
    }

    /// A fresh random ID: 32 lowercase hex digits, as Durable Functions generates.
    pub fn generate() -> InstanceId {
        InstanceId(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl InstanceId {
    /// The instance ID an entity's messages are kept under (`@name@key`).
    /// Only entity IDs may start with `@`; [`InstanceId::new`] refuses them.
    pub fn of_entity(entity: &crate::EntityId) -> InstanceId {
        InstanceId(entity.to_string())
    }

    /// The entity this ID belongs to, when it is an entity's.
    pub fn entity(&self) -> Option<crate::EntityId> {
        self.0
            .starts_with('@')
            .then(|| crate::EntityId::parse(&self.0).ok())
            .flatten()
    }

    /// True for an entity's ID (it starts with `@`).
    pub fn is_entity(&self) -> bool {
        self.0.starts_with('@')
    }
}

/// Reading a stored ID accepts both kinds: an orchestration's and an
/// entity's (`@name@key`, validated by [`crate::EntityId`]).
impl TryFrom<String> for InstanceId {
    type Error = InstanceIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.starts_with('@') {
            return crate::EntityId::parse(&s)
                .map(|e| InstanceId::of_entity(&e))
                .map_err(|_| InstanceIdError::StartsWithAt);
        }
        InstanceId::new(s)
    }
}

impl From<InstanceId> for String {
    fn from(id: InstanceId) -> String {
        id.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One execution of an instance. An instance gets a new execution when it is
/// started again over a terminal one (and, later, on continue-as-new).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExecutionId(pub String);

impl ExecutionId {
    pub fn generate() -> ExecutionId {
        ExecutionId(uuid::Uuid::new_v4().simple().to_string())
    }
}

impl fmt::Display for ExecutionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The sequence number of a scheduling action within one execution (Durable
/// Task's `EventId`): the n-th activity or timer the code schedules gets n, on
/// the first run and on every replay. Completions refer back to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScheduleId(pub u32);

impl fmt::Display for ScheduleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_32_lowercase_hex() {
        let id = InstanceId::generate();
        assert_eq!(id.as_str().len(), 32);
        assert!(
            id.as_str()
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn each_rule_is_named() {
        assert_eq!(InstanceId::new(""), Err(InstanceIdError::Empty));
        assert_eq!(
            InstanceId::new("x".repeat(257)),
            Err(InstanceIdError::TooLong(257))
        );
        assert!(InstanceId::new("x".repeat(256)).is_ok());
        assert_eq!(InstanceId::new("@e"), Err(InstanceIdError::StartsWithAt));
        for c in ['/', '\\', '#', '?', '\n', '\u{7f}'] {
            assert_eq!(
                InstanceId::new(format!("a{c}b")),
                Err(InstanceIdError::ForbiddenChar(c))
            );
        }
        assert!(InstanceId::new("order-42:eu west").is_ok());
    }
}
