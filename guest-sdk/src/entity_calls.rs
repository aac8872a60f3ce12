//! An orchestrator's messages to durable entities: one-way signals and calls
//! that wait for the operation's result.
//!
//! Both are durable tasks like activities: the host records them, delivers
//! them to the entity's queue exactly once and in order per (orchestration,
//! entity) pair, and on replay answers from the history. Inside a critical
//! section ([`OrchestrationContext::lock`]) the host refuses a call or signal
//! that breaks the locking rules with [`Failure::LOCKING_RULES_VIOLATION`];
//! the refusal is recorded nowhere and is the same on every replay.

use crate::task::{Task, TaskKind};
use crate::{EntityId, Failure, OrchestrationContext, codec};
use serde::Serialize;
use serde::de::DeserializeOwned;

impl OrchestrationContext {
    /// Signals `operation` with `input` on `entity`: one way, the caller does
    /// not wait for the operation and hears nothing back. The signal is sent
    /// with this turn.
    ///
    /// It returns a `Result` because the host may refuse it at once: inside a
    /// critical section, signalling an entity this orchestration holds locked
    /// fails with [`Failure::LOCKING_RULES_VIOLATION`] (such a signal would
    /// run only after the section ends, which is never what was meant). Use
    /// `?` to fail the orchestration, or match to carry on.
    ///
    /// # Panics
    ///
    /// If `input` cannot be encoded as JSON.
    ///
    /// ```no_run
    /// # use weft_sdk::prelude::*;
    /// # fn f(ctx: &OrchestrationContext) -> Result<(), Failure> {
    /// let counter = EntityId::new("Counter", "visits")?;
    /// ctx.signal_entity(&counter, "add", 1)?;
    /// # Ok(()) }
    /// ```
    pub fn signal_entity<I: Serialize>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: I,
    ) -> Result<(), Failure> {
        let input = encode_input(&input, entity, operation);
        let entity = entity.to_string();
        let handle = self.host().signal_entity(&entity, operation, &input);
        // The host resolves a signal at once (with `null`, or its refusal), so
        // this wait never ends the turn.
        Task::<()>::new(
            handle,
            TaskKind::Entity {
                entity,
                operation: operation.to_owned(),
            },
            self.runtime().clone(),
        )
        .get()
    }

    /// Calls `operation` with `input` on `entity` and waits for its result,
    /// decoded into `O`. The operation's failure comes back as its
    /// [`Failure`]; an entity name the host does not serve fails with
    /// [`Failure::ENTITY_NOT_FOUND`], an operation the entity does not have
    /// with [`Failure::OPERATION_NOT_FOUND`].
    ///
    /// # Panics
    ///
    /// If `input` cannot be encoded as JSON.
    ///
    /// ```no_run
    /// # use weft_sdk::prelude::*;
    /// # fn f(ctx: &OrchestrationContext) -> Result<i64, Failure> {
    /// let counter = EntityId::new("Counter", "visits")?;
    /// let value: i64 = ctx.call_entity(&counter, "get", ())?;
    /// # Ok(value) }
    /// ```
    pub fn call_entity<I: Serialize, O: DeserializeOwned>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: I,
    ) -> Result<O, Failure> {
        self.schedule_call_entity(entity, operation, input).get()
    }

    /// Calls `operation` with `input` on `entity` without waiting, for calls to
    /// several entities in parallel ([`when_all`](Self::when_all)). A refused
    /// call (the locking rules) is a task that has already failed.
    ///
    /// # Panics
    ///
    /// If `input` cannot be encoded as JSON.
    pub fn schedule_call_entity<I: Serialize, O>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: I,
    ) -> Task<O> {
        let input = encode_input(&input, entity, operation);
        let entity = entity.to_string();
        let handle = self.host().call_entity(&entity, operation, &input);
        Task::new(
            handle,
            TaskKind::Entity {
                entity,
                operation: operation.to_owned(),
            },
            self.runtime().clone(),
        )
    }
}

/// Encodes an operation's input; a value that does not encode is a bug in the
/// orchestrator, so it panics (the host fails the orchestration with the message).
fn encode_input<I: Serialize>(input: &I, entity: &EntityId, operation: &str) -> String {
    codec::encode(
        input,
        format_args!("the input of operation '{operation}' on entity '{entity}'"),
    )
    .unwrap_or_else(|failure| panic!("{failure}"))
}

#[cfg(test)]
mod tests {
    use crate::testing::{Command, FakeHost};
    use crate::{EntityId, Failure};

    fn counter() -> EntityId {
        EntityId::new("Counter", "k").unwrap()
    }

    #[test]
    fn signals_send_the_text_id_and_wait_for_the_at_once_answer() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, "null");
        ctx.signal_entity(&counter(), "add", 5).unwrap();
        assert_eq!(
            fake.commands(),
            vec![Command::signal("@counter@k", "add", "5")]
        );
        assert_eq!(fake.waits(), vec![vec![0]]);
    }

    #[test]
    fn a_refused_signal_is_its_failure() {
        let (ctx, fake) = FakeHost::context(0);
        let refusal = Failure::new(Failure::LOCKING_RULES_VIOLATION, "locked");
        fake.fail(0, refusal.clone());
        assert_eq!(ctx.signal_entity(&counter(), "get", ()), Err(refusal));
    }

    #[test]
    fn calls_decode_the_result_and_return_failures() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, "41");
        fake.fail(1, Failure::new(Failure::OPERATION_NOT_FOUND, "no 'x'"));
        fake.complete(2, "\"text\"");
        let value: i64 = ctx.call_entity(&counter(), "get", ()).unwrap();
        assert_eq!(value, 41);
        let err = ctx.call_entity::<_, i64>(&counter(), "x", ()).unwrap_err();
        assert_eq!(err.error_type, Failure::OPERATION_NOT_FOUND);
        let err = ctx
            .call_entity::<_, i64>(&counter(), "get", ())
            .unwrap_err();
        assert_eq!(err.error_type, Failure::DESERIALIZE);
        assert!(
            err.message
                .contains("operation 'get' on entity '@counter@k'"),
            "{}",
            err.message
        );
        assert_eq!(
            fake.commands(),
            vec![
                Command::call("@counter@k", "get", "null"),
                Command::call("@counter@k", "x", "null"),
                Command::call("@counter@k", "get", "null"),
            ]
        );
    }

    #[test]
    fn scheduled_calls_run_in_parallel() {
        let (ctx, fake) = FakeHost::context(0);
        let a = EntityId::new("Counter", "a").unwrap();
        let b = EntityId::new("Counter", "b").unwrap();
        fake.complete(1, "2");
        fake.complete(0, "1");
        let tasks = vec![
            ctx.schedule_call_entity::<_, i64>(&a, "get", ()),
            ctx.schedule_call_entity::<_, i64>(&b, "get", ()),
        ];
        assert_eq!(ctx.when_all(tasks).unwrap(), vec![1, 2]);
    }

    #[test]
    #[should_panic(expected = "operation 'add' on entity '@counter@k' could not be encoded")]
    fn unencodable_input_panics() {
        let (ctx, _fake) = FakeHost::context(0);
        let input: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        let _ = ctx.schedule_call_entity::<_, ()>(&counter(), "add", input);
    }
}
