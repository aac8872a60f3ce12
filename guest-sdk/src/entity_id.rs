//! [`EntityId`]: which durable entity, as `@name@key`.
//!
//! The host validates every ID it is given; the SDK applies the same rules
//! when an ID is built, so a bad key fails where it was made, with a message
//! naming the character, instead of as a refused task later. The rules are the
//! host's (`weft_core::EntityId`): the name is lower-cased (Durable Functions'
//! names are not case-sensitive), keys are kept as given and may be empty.

use crate::Failure;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The longest ID the host accepts (`@name@key`, in characters), like instance IDs.
const MAX_LEN: usize = 256;

/// The identity of a durable entity: a lower-case name and a key.
///
/// Its text form is `@name@key`. Names may not contain `@`; neither part may
/// contain `/`, `\`, `#`, `?` or control characters; the name may not be
/// empty, the key may. Equality and order are ordinal on (name, key), the
/// order in which the host acquires locks. In JSON (serde) it is the text form.
///
/// ```
/// use weft_sdk::EntityId;
///
/// let id = EntityId::new("Counter", "user@example")?;
/// assert_eq!(id.to_string(), "@counter@user@example");
/// assert_eq!(id.name(), "counter");
/// assert_eq!(id.key(), "user@example");
/// assert_eq!("@COUNTER@user@example".parse::<EntityId>()?, id);
///
/// let refused = EntityId::new("Counter", "a/b").unwrap_err();
/// assert_eq!(refused.error_type, weft_sdk::Failure::INVALID_ENTITY_ID);
/// assert!(refused.message.contains("'/'"), "{}", refused.message);
/// # Ok::<(), weft_sdk::Failure>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EntityId {
    name: String,
    key: String,
}

impl EntityId {
    /// Validates `name` and `key` and lower-cases the name. Fails with
    /// [`Failure::INVALID_ENTITY_ID`] naming the rule broken.
    pub fn new(name: &str, key: &str) -> Result<EntityId, Failure> {
        let refuse = |why: String| Failure::new(Failure::INVALID_ENTITY_ID, why).non_retriable();
        if name.is_empty() {
            return Err(refuse("entity name must not be empty".to_owned()));
        }
        if name.contains('@') {
            return Err(refuse(format!("entity name '{name}' must not contain '@'")));
        }
        for (what, text) in [("name", name), ("key", key)] {
            if let Some(found) = text.chars().find(|c| is_forbidden(*c)) {
                return Err(refuse(format!(
                    "entity {what} {text:?} must not contain {found:?}: '/', '\\', '#', '?' \
                     and control characters are not allowed"
                )));
            }
        }
        let len = name.chars().count() + key.chars().count() + 2;
        if len > MAX_LEN {
            return Err(refuse(format!(
                "entity ID is {len} characters long; the limit is {MAX_LEN}"
            )));
        }
        Ok(EntityId {
            name: name.to_lowercase(),
            key: key.to_owned(),
        })
    }

    /// The entity's name, lower case.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entity's key, as given.
    pub fn key(&self) -> &str {
        &self.key
    }
}

fn is_forbidden(c: char) -> bool {
    matches!(c, '/' | '\\' | '#' | '?') || c.is_control()
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}@{}", self.name, self.key)
    }
}

impl FromStr for EntityId {
    type Err = Failure;

    /// Parses `@name@key`, splitting at the first `@` after the leading one:
    /// keys may contain `@`, names may not.
    fn from_str(text: &str) -> Result<EntityId, Failure> {
        let shape = || {
            Failure::new(
                Failure::INVALID_ENTITY_ID,
                format!("entity ID {text:?} is not of the form @name@key"),
            )
            .non_retriable()
        };
        let rest = text.strip_prefix('@').ok_or_else(shape)?;
        let (name, key) = rest.split_once('@').ok_or_else(shape)?;
        EntityId::new(name, key)
    }
}

impl TryFrom<String> for EntityId {
    type Error = Failure;
    fn try_from(text: String) -> Result<EntityId, Failure> {
        text.parse()
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

    fn refusal(name: &str, key: &str) -> String {
        let failure = EntityId::new(name, key).unwrap_err();
        assert_eq!(failure.error_type, Failure::INVALID_ENTITY_ID);
        assert!(failure.non_retriable);
        failure.message
    }

    #[test]
    fn names_are_lower_cased_and_keys_kept() {
        let id = EntityId::new("Counter", "MyKey").unwrap();
        assert_eq!(id.to_string(), "@counter@MyKey");
        assert_eq!((id.name(), id.key()), ("counter", "MyKey"));
        assert_eq!("@COUNTER@MyKey".parse::<EntityId>().unwrap(), id);
        assert_ne!("@counter@mykey".parse::<EntityId>().unwrap(), id);
    }

    #[test]
    fn keys_may_hold_at_signs_and_be_empty() {
        let id: EntityId = "@account@a@b".parse().unwrap();
        assert_eq!((id.name(), id.key()), ("account", "a@b"));
        let empty: EntityId = "@account@".parse().unwrap();
        assert_eq!(empty.key(), "");
        assert_eq!(empty.to_string(), "@account@");
        assert_eq!(EntityId::new("account", "").unwrap(), empty);
    }

    #[test]
    fn each_rule_is_refused_with_a_message_naming_it() {
        assert!(refusal("", "k").contains("must not be empty"));
        assert!(refusal("a@b", "k").contains("must not contain '@'"));
        for c in ['/', '\\', '#', '?', '\n', '\u{7f}'] {
            let message = refusal("a", &format!("k{c}"));
            assert!(
                message.starts_with("entity key") && message.contains(&format!("{c:?}")),
                "{message}"
            );
            let message = refusal(&format!("n{c}"), "k");
            assert!(message.starts_with("entity name"), "{message}");
        }
        assert!(refusal("a", &"k".repeat(300)).contains("the limit is 256"));
    }

    #[test]
    fn text_that_is_not_at_name_at_key_is_refused() {
        for text in ["account@x", "@account", "", "@"] {
            let failure = text.parse::<EntityId>().unwrap_err();
            assert_eq!(failure.error_type, Failure::INVALID_ENTITY_ID);
            assert!(failure.message.contains("@name@key"), "{}", failure.message);
        }
        let failure = "@@x".parse::<EntityId>().unwrap_err();
        assert!(failure.message.contains("must not be empty"));
    }

    #[test]
    fn json_holds_the_text_form() {
        let id = EntityId::new("Probe", "k").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"@probe@k\"");
        let back: EntityId = serde_json::from_str("\"@PROBE@k\"").unwrap();
        assert_eq!(back, id);
        let err = serde_json::from_str::<EntityId>("\"probe\"").unwrap_err();
        assert!(err.to_string().contains("@name@key"), "{err}");
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
