//! Durable entity identity: `@{name}@{key}` (Durable Functions' form).
//!
//! The name is lower-cased once, here, at every entry point (clients,
//! orchestrations, entities, HTTP), so `Counter` and `counter` are the same
//! entity; the key is kept as given and compared ordinally. One validator for
//! every caller (reference/durable-entities.md §1, §7.1).

use crate::InstanceId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An entity's identity: a (lower-case) name and a key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EntityId {
    name: String,
    key: String,
}

/// The rule an entity ID broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntityIdError {
    #[error("entity ID '{0}' is not of the form @name@key")]
    Shape(String),
    #[error("entity name must not be empty")]
    EmptyName,
    #[error("entity name must not contain '@'")]
    AtInName,
    #[error(
        "entity {what} must not contain {found:?}: '/', '\\', '#', '?' and control characters are not allowed"
    )]
    ForbiddenChar { what: &'static str, found: char },
    #[error("entity ID is {0} characters long; the limit is 256")]
    TooLong(usize),
}

impl EntityId {
    /// Validates and normalises (name lower-cased). The key may be empty.
    pub fn new(name: &str, key: &str) -> Result<EntityId, EntityIdError> {
        if name.is_empty() {
            return Err(EntityIdError::EmptyName);
        }
        if name.contains('@') {
            return Err(EntityIdError::AtInName);
        }
        for (what, text) in [("name", name), ("key", key)] {
            if let Some(found) = text
                .chars()
                .find(|c| matches!(c, '/' | '\\' | '#' | '?') || c.is_control())
            {
                return Err(EntityIdError::ForbiddenChar { what, found });
            }
        }
        let len = name.chars().count() + key.chars().count() + 2;
        if len > InstanceId::MAX_LEN {
            return Err(EntityIdError::TooLong(len));
        }
        Ok(EntityId {
            name: name.to_lowercase(),
            key: key.to_owned(),
        })
    }

    /// Parses `@name@key`: split at the first `@` after the leading one, so
    /// keys may contain `@` and names may not.
    pub fn parse(text: &str) -> Result<EntityId, EntityIdError> {
        let shape = || EntityIdError::Shape(text.to_owned());
        let rest = text.strip_prefix('@').ok_or_else(shape)?;
        let (name, key) = rest.split_once('@').ok_or_else(shape)?;
        EntityId::new(name, key)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// The instance ID the entity's inbox is kept under (`@name@key`).
    pub fn instance_id(&self) -> InstanceId {
        InstanceId::of_entity(self)
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}@{}", self.name, self.key)
    }
}

impl TryFrom<String> for EntityId {
    type Error = EntityIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        EntityId::parse(&s)
    }
}

impl From<EntityId> for String {
    fn from(id: EntityId) -> String {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_cased_and_keys_kept() {
        let id = EntityId::new("Counter", "MyKey").unwrap();
        assert_eq!(id.to_string(), "@counter@MyKey");
        assert_eq!(EntityId::parse("@COUNTER@MyKey").unwrap(), id);
        assert_ne!(EntityId::parse("@counter@mykey").unwrap(), id);
    }

    #[test]
    fn keys_may_hold_at_and_be_empty() {
        let id = EntityId::parse("@account@a@b").unwrap();
        assert_eq!((id.name(), id.key()), ("account", "a@b"));
        assert_eq!(EntityId::parse("@account@").unwrap().key(), "");
    }

    #[test]
    fn each_rule_is_named() {
        assert!(matches!(
            EntityId::parse("account@x"),
            Err(EntityIdError::Shape(_))
        ));
        assert!(matches!(
            EntityId::parse("@account"),
            Err(EntityIdError::Shape(_))
        ));
        assert_eq!(EntityId::parse("@@x"), Err(EntityIdError::EmptyName));
        assert_eq!(EntityId::new("a@b", "x"), Err(EntityIdError::AtInName));
        for c in ['/', '\\', '#', '?', '\n'] {
            assert_eq!(
                EntityId::new("a", &format!("k{c}")),
                Err(EntityIdError::ForbiddenChar {
                    what: "key",
                    found: c
                })
            );
        }
        assert!(matches!(
            EntityId::new("a", &"k".repeat(300)),
            Err(EntityIdError::TooLong(_))
        ));
    }

    #[test]
    fn entity_instance_ids_are_not_orchestration_ids() {
        let id = EntityId::new("Counter", "k").unwrap();
        let instance = id.instance_id();
        assert_eq!(instance.as_str(), "@counter@k");
        assert_eq!(instance.entity(), Some(id));
        // A client cannot start an orchestration under an entity's ID.
        assert!(InstanceId::new("@counter@k").is_err());
        // Stored IDs (serde) read back either kind.
        let back: InstanceId = serde_json::from_str("\"@counter@k\"").unwrap();
        assert_eq!(back, instance);
    }

    #[test]
    fn order_is_ordinal_by_name_then_key() {
        let mut ids = [
            EntityId::new("b", "a").unwrap(),
            EntityId::new("a", "b").unwrap(),
            EntityId::new("a", "B").unwrap(),
        ];
        ids.sort();
        let text: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["@a@B", "@a@b", "@b@a"]);
    }
}
