//! The seam between the SDK and the `orchestration` import.
//!
//! [`Host`] lists exactly what the WIT interface offers, with Rust types;
//! [`WitHost`] forwards to the generated import functions. Everything above this
//! file (contexts, tasks, combinators, retries) talks to `dyn Host`, so its logic
//! is unit-tested natively against a scripted fake (`crate::testing`).

use crate::bindings::weft::durable::orchestration as wit;
use crate::{Failure, LogLevel};

/// The result of a task as the host delivers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// JSON text: an activity's result, `null` for a timer, an event's payload.
    Completed(String),
    /// The activity failed or the task was cancelled.
    Failed(Failure),
}

/// The `orchestration` import. Handles are the host's `task-handle`s.
pub(crate) trait Host {
    fn instance_id(&self) -> String;
    fn now(&self) -> u64;
    fn is_replaying(&self) -> bool;
    fn call_activity(&self, name: &str, input: &str, attempt: u32) -> u32;
    /// `entity` is the text form `@name@key`; the task resolves at once.
    fn signal_entity(&self, entity: &str, operation: &str, input: &str) -> u32;
    fn call_entity(&self, entity: &str, operation: &str, input: &str) -> u32;
    /// The task resolves once every lock is held, or fails at once if refused.
    fn lock_entities(&self, entities: &[String]) -> u32;
    fn unlock_entities(&self);
    fn call_sub_orchestrator(&self, name: &str, instance: Option<&str>, input: &str) -> u32;
    fn start_orchestration(&self, name: &str, instance: Option<&str>, input: &str) -> u32;
    fn send_event(&self, instance: &str, name: &str, input: &str);
    fn continue_as_new(&self, input: &str, preserve_unprocessed_events: bool);
    fn new_guid(&self) -> String;
    fn create_timer(&self, fire_at: u64) -> u32;
    fn wait_for_event(&self, name: &str) -> u32;
    fn cancel(&self, task: u32);
    /// Blocks until one of `tasks` (non-empty) has an outcome; returns it.
    fn wait_any(&self, tasks: &[u32]) -> (u32, Outcome);
    fn set_custom_status(&self, status: Option<&str>) -> Result<(), String>;
    fn log(&self, level: LogLevel, message: &str);
}

/// The real host, reached through the component's imports.
pub(crate) struct WitHost;

impl Host for WitHost {
    fn instance_id(&self) -> String {
        wit::instance_id()
    }

    fn now(&self) -> u64 {
        wit::now()
    }

    fn is_replaying(&self) -> bool {
        wit::is_replaying()
    }

    fn call_activity(&self, name: &str, input: &str, attempt: u32) -> u32 {
        match attempt {
            0 | 1 => wit::call_activity(name, input),
            n => wit::call_activity_attempt(name, input, n),
        }
    }

    fn signal_entity(&self, entity: &str, operation: &str, input: &str) -> u32 {
        wit::signal_entity(entity, operation, input)
    }

    fn call_entity(&self, entity: &str, operation: &str, input: &str) -> u32 {
        wit::call_entity(entity, operation, input)
    }

    fn lock_entities(&self, entities: &[String]) -> u32 {
        wit::lock_entities(entities)
    }

    fn unlock_entities(&self) {
        wit::unlock_entities()
    }

    fn call_sub_orchestrator(&self, name: &str, instance: Option<&str>, input: &str) -> u32 {
        wit::call_sub_orchestrator(name, instance, input)
    }

    fn start_orchestration(&self, name: &str, instance: Option<&str>, input: &str) -> u32 {
        wit::start_orchestration(name, instance, input)
    }

    fn send_event(&self, instance: &str, name: &str, input: &str) {
        wit::send_event(instance, name, input)
    }

    fn continue_as_new(&self, input: &str, preserve_unprocessed_events: bool) {
        wit::continue_as_new(input, preserve_unprocessed_events)
    }

    fn new_guid(&self) -> String {
        wit::new_guid()
    }

    fn create_timer(&self, fire_at: u64) -> u32 {
        wit::create_timer(fire_at)
    }

    fn wait_for_event(&self, name: &str) -> u32 {
        wit::wait_for_event(name)
    }

    fn cancel(&self, task: u32) {
        wit::cancel(task)
    }

    fn wait_any(&self, tasks: &[u32]) -> (u32, Outcome) {
        let (handle, outcome) = wit::wait_any(tasks);
        let outcome = match outcome {
            wit::TaskOutcome::Completed(json) => Outcome::Completed(json),
            wit::TaskOutcome::Failed(failure) => Outcome::Failed(failure.into()),
        };
        (handle, outcome)
    }

    fn set_custom_status(&self, status: Option<&str>) -> Result<(), String> {
        wit::set_custom_status(status)
    }

    fn log(&self, level: LogLevel, message: &str) {
        wit::log(level.into(), message)
    }
}
