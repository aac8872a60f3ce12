//! [`EntityContext`]: what an entity operation sees and what it may do.
//!
//! A durable entity is a named piece of state (`@name@key`) whose operations
//! the host runs one at a time. The host hands an operation the entity's
//! state; the operation returns the new state, a result for a caller, and the
//! signals and orchestration starts it asked for. The SDK collects those here
//! and encodes them when the operation returns, so an operation that fails
//! leaves nothing behind: the host keeps the state it had and sends none of
//! the messages (Durable Functions' per-operation rollback).

use crate::{EntityId, Failure, codec};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A signal an operation sends, delivered once its result is committed.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalOut {
    pub(crate) entity: String,
    pub(crate) operation: String,
    pub(crate) input: String,
}

/// An orchestration an operation starts (fire and forget).
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartOut {
    pub(crate) name: String,
    pub(crate) instance_id: Option<String>,
    pub(crate) input: String,
}

/// What an operation that succeeded leaves, as JSON text.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationOutput {
    /// `None` deletes the entity.
    pub(crate) state: Option<String>,
    pub(crate) result: String,
    pub(crate) signals: Vec<SignalOut>,
    pub(crate) starts: Vec<StartOut>,
}

impl OperationOutput {
    /// The outcome of the implicit `delete` operation: no state, result `null`.
    pub(crate) fn deleted() -> OperationOutput {
        OperationOutput {
            state: None,
            result: "null".to_owned(),
            signals: Vec::new(),
            starts: Vec::new(),
        }
    }
}

/// The context of one entity operation, with the entity's state typed as `S`.
///
/// An entity function is `fn(&mut EntityContext<S>) -> Result<(), E>` with
/// `S: Serialize + DeserializeOwned` and `E: Into<Failure>`. It matches on
/// [`operation`](Self::operation), reads [`input`](Self::input), changes the
/// state, and sets a [`result`](Self::set_result) for callers. Returning an
/// error fails only this operation: the state stays as it was and the signals
/// and starts are dropped.
///
/// ```
/// use weft_sdk::prelude::*;
///
/// fn counter(ctx: &mut EntityContext<i64>) -> Result<(), Failure> {
///     match ctx.operation() {
///         "add" => {
///             let amount: i64 = ctx.input()?;
///             *ctx.state_mut() += amount;
///         }
///         "reset" => ctx.set_state(0),
///         "get" => ctx.set_result(&ctx.state_or_default()),
///         _ => return Err(ctx.unknown_operation()),
///     }
///     Ok(())
/// }
/// # let _ = counter;
/// ```
///
/// Operation `delete` never reaches the function: the SDK deletes the state
/// and returns `null` itself, as Durable Functions' entities do implicitly
/// (its HTTP `DELETE /entities/{name}/{key}` signals `delete`).
///
/// Nothing the operation asks for happens while it runs: encoding problems
/// (a state, result or input that does not encode as JSON) fail the operation
/// with [`Failure::SERIALIZE`] when it returns.
pub struct EntityContext<S> {
    id: EntityId,
    operation: String,
    input: String,
    state: Option<S>,
    result: String,
    signals: Vec<SignalOut>,
    starts: Vec<StartOut>,
    /// The first value that did not encode; it fails the operation.
    unencodable: Option<Failure>,
}

impl<S> EntityContext<S> {
    pub(crate) fn new(
        id: EntityId,
        operation: &str,
        input: &str,
        state: Option<S>,
    ) -> EntityContext<S> {
        EntityContext {
            id,
            operation: operation.to_owned(),
            input: input.to_owned(),
            state,
            result: "null".to_owned(),
            signals: Vec::new(),
            starts: Vec::new(),
            unencodable: None,
        }
    }

    /// The operation's name, as the caller spelled it.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// This entity's key.
    pub fn key(&self) -> &str {
        self.id.key()
    }

    /// This entity's ID (`@name@key`).
    pub fn entity_id(&self) -> &EntityId {
        &self.id
    }

    /// The operation's input decoded into `T` (leniently, like an
    /// orchestrator's: a JSON string holding JSON text is decoded once more).
    /// Fails with [`Failure::INVALID_INPUT`] naming the entity and operation.
    pub fn input<T: DeserializeOwned>(&self) -> Result<T, Failure> {
        codec::decode_lenient(&self.input).map_err(|e| {
            Failure::new(
                Failure::INVALID_INPUT,
                format!(
                    "the input of operation '{}' on entity '{}' does not decode as {}: {e}",
                    self.operation,
                    self.id,
                    std::any::type_name::<T>()
                ),
            )
        })
    }

    /// The state, or `None` when the entity does not exist (yet, or any more).
    pub fn state(&self) -> Option<&S> {
        self.state.as_ref()
    }

    /// The state to change in place, created with `S::default()` if the
    /// entity does not exist.
    pub fn state_mut(&mut self) -> &mut S
    where
        S: Default,
    {
        self.state.get_or_insert_with(S::default)
    }

    /// A copy of the state, or `S::default()` when the entity does not exist
    /// (which does not create it).
    pub fn state_or_default(&self) -> S
    where
        S: Default + Clone,
    {
        self.state.clone().unwrap_or_default()
    }

    /// Replaces the state (creating the entity if it did not exist).
    pub fn set_state(&mut self, state: S) {
        self.state = Some(state);
    }

    /// Deletes the entity's state: it stops existing once the operation
    /// succeeds (a later operation sees `None`).
    pub fn delete_state(&mut self) {
        self.state = None;
    }

    /// Sets the result a calling orchestration receives (`null` unless set;
    /// signals have no caller to receive it). The last call wins.
    pub fn set_result<T: Serialize + ?Sized>(&mut self, result: &T) {
        let encoded = codec::encode(
            result,
            format_args!(
                "the result of operation '{}' on entity '{}'",
                self.operation, self.id
            ),
        );
        if let Some(json) = self.keep(encoded) {
            self.result = json;
        }
    }

    /// Signals `operation` with `input` on `entity` (this one included) once
    /// this operation succeeds; dropped if it fails.
    pub fn signal_entity<I: Serialize>(&mut self, entity: &EntityId, operation: &str, input: I) {
        let encoded = codec::encode(
            &input,
            format_args!("the input of signal '{operation}' to entity '{entity}'"),
        );
        if let Some(input) = self.keep(encoded) {
            self.signals.push(SignalOut {
                entity: entity.to_string(),
                operation: operation.to_owned(),
                input,
            });
        }
    }

    /// Starts orchestrator `name` with `input` (fire and forget) once this
    /// operation succeeds, as instance `instance_id` or, when `None`, a
    /// random ID chosen by the host; dropped if the operation fails. Nothing
    /// about the new instance is reported back to the entity.
    pub fn start_orchestration<I: Serialize>(
        &mut self,
        name: &str,
        instance_id: Option<&str>,
        input: I,
    ) {
        let encoded = codec::encode(&input, format_args!("the input of orchestration '{name}'"));
        if let Some(input) = self.keep(encoded) {
            self.starts.push(StartOut {
                name: name.to_owned(),
                instance_id: instance_id.map(str::to_owned),
                input,
            });
        }
    }

    /// The failure to return for an operation this entity does not have:
    /// [`Failure::OPERATION_NOT_FOUND`], naming the entity and the operation,
    /// non-retriable. `return Err(ctx.unknown_operation())`.
    pub fn unknown_operation(&self) -> Failure {
        Failure::new(
            Failure::OPERATION_NOT_FOUND,
            format!(
                "entity '{}' has no operation named '{}'",
                self.id, self.operation
            ),
        )
        .non_retriable()
    }

    /// The JSON of an encoded value, or `None` after remembering the first
    /// failure (which fails the operation when it returns).
    fn keep(&mut self, encoded: Result<String, Failure>) -> Option<String> {
        match encoded {
            Ok(json) => Some(json),
            Err(failure) => {
                self.unencodable.get_or_insert(failure);
                None
            }
        }
    }
}

impl<S: Serialize> EntityContext<S> {
    /// What the operation leaves once its function returned successfully, or
    /// the [`Failure::SERIALIZE`] of the first value that did not encode.
    pub(crate) fn finish(self) -> Result<OperationOutput, Failure> {
        if let Some(failure) = self.unencodable {
            return Err(failure);
        }
        let state = match &self.state {
            Some(state) => Some(codec::encode(
                state,
                format_args!("the state of entity '{}'", self.id),
            )?),
            None => None,
        };
        Ok(OperationOutput {
            state,
            result: self.result,
            signals: self.signals,
            starts: self.starts,
        })
    }
}

impl<S> std::fmt::Debug for EntityContext<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntityContext")
            .field("entity", &self.id.to_string())
            .field("operation", &self.operation)
            .field("exists", &self.state.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn context(operation: &str, input: &str, state: Option<i64>) -> EntityContext<i64> {
        EntityContext::new(
            EntityId::new("Counter", "k").unwrap(),
            operation,
            input,
            state,
        )
    }

    #[test]
    fn accessors_name_the_entity_and_operation() {
        let ctx = context("add", "5", None);
        assert_eq!(ctx.operation(), "add");
        assert_eq!(ctx.key(), "k");
        assert_eq!(ctx.entity_id().to_string(), "@counter@k");
        assert_eq!(ctx.input::<i64>().unwrap(), 5);
        assert_eq!(ctx.state(), None);
        assert_eq!(ctx.state_or_default(), 0);
    }

    #[test]
    fn input_decodes_leniently_and_names_the_entity_when_it_cannot() {
        let ctx = context("add", "\"7\"", None);
        assert_eq!(ctx.input::<i64>().unwrap(), 7);
        let err = context("add", "\"x\"", None).input::<i64>().unwrap_err();
        assert_eq!(err.error_type, Failure::INVALID_INPUT);
        assert!(
            err.message.starts_with(
                "the input of operation 'add' on entity '@counter@k' does not decode as i64"
            ),
            "{}",
            err.message
        );
    }

    #[test]
    fn state_changes_and_results_are_encoded_on_finish() {
        let mut ctx = context("add", "2", Some(3));
        *ctx.state_mut() += 2;
        ctx.set_result("ignored");
        ctx.set_result(&5);
        let out = ctx.finish().unwrap();
        assert_eq!(out.state.as_deref(), Some("5"));
        assert_eq!(out.result, "5");

        let mut ctx = context("create", "null", None);
        *ctx.state_mut() += 1;
        assert_eq!(ctx.finish().unwrap().state.as_deref(), Some("1"));

        let mut ctx = context("clear", "null", Some(9));
        ctx.delete_state();
        let out = ctx.finish().unwrap();
        assert_eq!((out.state, out.result.as_str()), (None, "null"));
    }

    #[test]
    fn signals_and_starts_are_collected_in_order() {
        let mut ctx = context("fan", "null", Some(0));
        let other = EntityId::new("Counter", "other").unwrap();
        ctx.signal_entity(&other, "add", 1);
        ctx.start_orchestration("Report", Some("r-1"), [1, 2]);
        let itself = ctx.entity_id().clone();
        ctx.signal_entity(&itself, "reset", ());
        ctx.start_orchestration("Report", None, ());
        let out = ctx.finish().unwrap();
        assert_eq!(
            out.signals,
            vec![
                SignalOut {
                    entity: "@counter@other".into(),
                    operation: "add".into(),
                    input: "1".into()
                },
                SignalOut {
                    entity: "@counter@k".into(),
                    operation: "reset".into(),
                    input: "null".into()
                },
            ]
        );
        assert_eq!(
            out.starts,
            vec![
                StartOut {
                    name: "Report".into(),
                    instance_id: Some("r-1".into()),
                    input: "[1,2]".into()
                },
                StartOut {
                    name: "Report".into(),
                    instance_id: None,
                    input: "null".into()
                },
            ]
        );
    }

    #[test]
    fn a_value_that_does_not_encode_fails_the_operation() {
        let bad: HashMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        let mut ctx = context("x", "null", Some(1));
        ctx.set_result(&bad);
        ctx.signal_entity(&EntityId::new("a", "b").unwrap(), "y", &bad);
        let err = ctx.finish().unwrap_err();
        assert_eq!(err.error_type, Failure::SERIALIZE);
        assert!(
            err.message
                .starts_with("the result of operation 'x' on entity '@counter@k'"),
            "the first failure is kept: {}",
            err.message
        );

        let mut ctx: EntityContext<HashMap<(u8, u8), u8>> =
            EntityContext::new(EntityId::new("m", "k").unwrap(), "x", "null", None);
        ctx.set_state(bad);
        let err = ctx.finish().unwrap_err();
        assert!(
            err.message.starts_with("the state of entity '@m@k'"),
            "{}",
            err.message
        );
    }

    #[test]
    fn unknown_operation_names_the_entity_and_operation() {
        let failure = context("explode", "null", None).unknown_operation();
        assert_eq!(failure.error_type, Failure::OPERATION_NOT_FOUND);
        assert!(failure.non_retriable);
        assert_eq!(
            failure.message,
            "entity '@counter@k' has no operation named 'explode'"
        );
    }
}
