//! [`OrchestrationContext`]: everything an orchestrator may ask of the host.
//!
//! Scheduling calls return a [`Task`] at once; waiting happens in [`Task::get`]
//! and in the combinators (`combinators.rs`). The shared [`Runtime`] owns the
//! host connection and the buffer of delivered outcomes; tasks hold an `Rc` to
//! it, so a context is cheap and tasks need no context argument to wait.

use crate::delivered::Delivered;
use crate::host::{Host, Outcome};
use crate::task::{Task, TaskKind};
use crate::{Failure, LogLevel, codec};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// State shared by a context and its tasks for one orchestrator run.
pub(crate) struct Runtime {
    host: Box<dyn Host>,
    delivered: RefCell<Delivered>,
}

impl Runtime {
    /// Waits for `handle` and consumes its outcome.
    pub(crate) fn wait_for(&self, handle: u32) -> Outcome {
        if let Some(outcome) = self.delivered.borrow_mut().take(handle) {
            return outcome;
        }
        let (got, outcome) = self.host.wait_any(&[handle]);
        assert_eq!(
            got, handle,
            "the host answered wait-any([{handle}]) with task {got}"
        );
        outcome
    }

    /// Waits until one of `handles` has an outcome and returns its position,
    /// leaving the outcome to be consumed by `wait_for`.
    pub(crate) fn wait_any(&self, handles: &[u32]) -> usize {
        assert!(!handles.is_empty(), "when_any needs at least one task");
        if let Some(index) = self.delivered.borrow().earliest_of(handles) {
            return index;
        }
        let (got, outcome) = self.host.wait_any(handles);
        let index = handles
            .iter()
            .position(|h| *h == got)
            .unwrap_or_else(|| panic!("the host answered wait-any({handles:?}) with task {got}"));
        self.delivered.borrow_mut().insert(got, outcome);
        index
    }

    pub(crate) fn cancel(&self, handle: u32) {
        self.host.cancel(handle);
    }

    /// Leaves the critical section (for [`crate::LockGuard`], which holds the
    /// runtime rather than a context, like a task).
    pub(crate) fn unlock_entities(&self) {
        self.host.unlock_entities();
    }
}

/// The orchestrator's window on the world: time, tasks, events, entities,
/// critical sections, status, logs.
///
/// Orchestrator functions receive `&OrchestrationContext`. Every method is
/// replay-safe: the host records what it answers and answers the same on
/// replay. Cloning is cheap (a reference count) and yields the same context.
///
/// ```no_run
/// use std::time::Duration;
/// use weft_sdk::prelude::*;
///
/// fn reminder(ctx: &OrchestrationContext, user: String) -> Result<String, Failure> {
///     ctx.sleep(Duration::from_secs(24 * 3600))?; // durable: survives restarts
///     ctx.call_activity("SendEmail", &user)
/// }
/// ```
#[derive(Clone)]
pub struct OrchestrationContext {
    runtime: Rc<Runtime>,
}

impl OrchestrationContext {
    pub(crate) fn new(host: Box<dyn Host>) -> OrchestrationContext {
        OrchestrationContext {
            runtime: Rc::new(Runtime {
                host,
                delivered: RefCell::new(Delivered::default()),
            }),
        }
    }

    pub(crate) fn runtime(&self) -> &Rc<Runtime> {
        &self.runtime
    }

    pub(crate) fn host(&self) -> &dyn Host {
        self.runtime.host.as_ref()
    }

    /// This orchestration instance's ID.
    pub fn instance_id(&self) -> String {
        self.host().instance_id()
    }

    /// The orchestration's current time: the start of the current episode,
    /// identical on every replay. It advances only when the orchestration waits.
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.now_millis())
    }

    /// [`now`](Self::now) in milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> u64 {
        self.host().now()
    }

    /// True while the code re-executes steps already in the history. Use it only
    /// to avoid duplicate side effects such as logs; never to change what the
    /// orchestration schedules.
    pub fn is_replaying(&self) -> bool {
        self.host().is_replaying()
    }

    /// Schedules activity `name` with `input` and waits for its result.
    ///
    /// # Panics
    ///
    /// If `input` cannot be encoded as JSON (see [`schedule_activity`](Self::schedule_activity)).
    pub fn call_activity<I: Serialize, O: DeserializeOwned>(
        &self,
        name: &str,
        input: I,
    ) -> Result<O, Failure> {
        self.schedule_activity(name, input).get()
    }

    /// Schedules activity `name` with `input` without waiting; the activity runs
    /// in parallel with whatever the orchestrator does next.
    ///
    /// # Panics
    ///
    /// If `input` cannot be encoded as JSON (a map with non-string keys, a
    /// failing `Serialize` impl). That is a bug in the orchestrator; the panic
    /// traps and the host fails the orchestration with the message.
    pub fn schedule_activity<I: Serialize, O>(&self, name: &str, input: I) -> Task<O> {
        self.schedule_activity_attempt(name, input, 1)
    }

    /// Schedules attempt `attempt` of activity `name` (retry policies count
    /// attempts from 1; the activity reads it from its context).
    pub(crate) fn schedule_activity_attempt<I: Serialize, O>(
        &self,
        name: &str,
        input: I,
        attempt: u32,
    ) -> Task<O> {
        let input = codec::encode(&input, format_args!("the input of activity '{name}'"))
            .unwrap_or_else(|failure| panic!("{failure}"));
        let handle = self.host().call_activity(name, &input, attempt);
        Task::new(
            handle,
            TaskKind::Activity(name.to_owned()),
            self.runtime.clone(),
        )
    }

    /// Runs orchestrator `name` with `input` as a sub-orchestration and waits
    /// for its result (R-1.10). Its instance ID is
    /// `{this instance's ID}:{schedule ID}`; see
    /// [`schedule_sub_orchestrator`](Self::schedule_sub_orchestrator) to choose one.
    /// The child's failure comes back as a [`Failure`] with its type, message
    /// and details.
    pub fn call_sub_orchestrator<I: Serialize, O: DeserializeOwned>(
        &self,
        name: &str,
        input: I,
    ) -> Result<O, Failure> {
        self.schedule_sub_orchestrator(name, None, input).get()
    }

    /// Starts orchestrator `name` with `input` as a sub-orchestration without
    /// waiting (for fan-out/fan-in and races), as instance `instance_id` or the
    /// deterministic default. An ID that is this instance's own or belongs to
    /// an instance that has not finished fails the task.
    ///
    /// # Panics
    ///
    /// If `input` cannot be encoded as JSON.
    pub fn schedule_sub_orchestrator<I: Serialize, O>(
        &self,
        name: &str,
        instance_id: Option<&str>,
        input: I,
    ) -> Task<O> {
        let input = codec::encode(
            &input,
            format_args!("the input of sub-orchestration '{name}'"),
        )
        .unwrap_or_else(|failure| panic!("{failure}"));
        let handle = self.host().call_sub_orchestrator(name, instance_id, &input);
        Task::new(
            handle,
            TaskKind::SubOrchestration(name.to_owned()),
            self.runtime.clone(),
        )
    }

    /// Starts orchestrator `name` with `input` as a new, independent instance
    /// (fire and forget): the caller does not wait and hears nothing back.
    /// Returns the new instance's ID (`instance_id`, or the deterministic
    /// default). The start is committed with this turn.
    ///
    /// # Panics
    ///
    /// If `input` cannot be encoded as JSON.
    pub fn start_orchestration<I: Serialize>(
        &self,
        name: &str,
        instance_id: Option<&str>,
        input: I,
    ) -> Result<String, Failure> {
        let input = codec::encode(&input, format_args!("the input of orchestration '{name}'"))
            .unwrap_or_else(|failure| panic!("{failure}"));
        let handle = self.host().start_orchestration(name, instance_id, &input);
        Task::new(
            handle,
            TaskKind::SubOrchestration(name.to_owned()),
            self.runtime.clone(),
        )
        .get()
    }

    /// Sends event `name` with `data` to instance `instance_id` (one way: it
    /// arrives there as a raised event). Sending to an unknown or finished
    /// instance is recorded and dropped; it does not fail the sender
    /// (Durable Functions' rule).
    ///
    /// # Panics
    ///
    /// If `data` cannot be encoded as JSON.
    pub fn send_event<T: Serialize>(&self, instance_id: &str, name: &str, data: &T) {
        let data = codec::encode(data, format_args!("the data of event '{name}'"))
            .unwrap_or_else(|failure| panic!("{failure}"));
        self.host().send_event(instance_id, name, &data);
    }

    /// Restarts this orchestration with `input` once the orchestrator returns
    /// (R-1.12): same instance ID, a new execution, an empty history. Events
    /// received but not waited for are delivered to the new execution.
    /// Return its value from the orchestrator: `return ctx.continue_as_new(n - 1);`.
    ///
    /// # Panics
    ///
    /// If `input` cannot be encoded as JSON.
    pub fn continue_as_new<I: Serialize, O: Default>(&self, input: I) -> Result<O, Failure> {
        self.continue_as_new_with(input, true)
    }

    /// [`continue_as_new`](Self::continue_as_new), choosing whether events
    /// received but not waited for are carried over (`false` drops them).
    ///
    /// # Panics
    ///
    /// If `input` cannot be encoded as JSON.
    pub fn continue_as_new_with<I: Serialize, O: Default>(
        &self,
        input: I,
        preserve_unprocessed_events: bool,
    ) -> Result<O, Failure> {
        let input = codec::encode(&input, "the input of continue-as-new")
            .unwrap_or_else(|failure| panic!("{failure}"));
        self.host()
            .continue_as_new(&input, preserve_unprocessed_events);
        Ok(O::default())
    }

    /// A deterministic UUID (version 5, from the instance ID, the
    /// orchestration time and a counter): the same value on every replay.
    pub fn new_guid(&self) -> String {
        self.host().new_guid()
    }

    /// Schedules a durable timer that fires at `fire_at` (rounded down to the
    /// millisecond; times before the epoch fire at once).
    pub fn create_timer(&self, fire_at: SystemTime) -> Task<()> {
        let millis = fire_at
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let handle = self.host().create_timer(millis);
        Task::new(handle, TaskKind::Timer, self.runtime.clone())
    }

    /// A durable timer that fires `delay` after [`now`](Self::now).
    pub fn timer(&self, delay: Duration) -> Task<()> {
        let fire_at = self
            .now()
            .checked_add(delay)
            .unwrap_or(UNIX_EPOCH + Duration::from_millis(u64::MAX));
        self.create_timer(fire_at)
    }

    /// Waits on a durable timer for `delay`. Fails only if the timer is cancelled.
    pub fn sleep(&self, delay: Duration) -> Result<(), Failure> {
        self.timer(delay).get()
    }

    /// Waits for the next external event called `name` (case-insensitive) and
    /// decodes its payload into `O`. Events raised before anyone waits are
    /// buffered per name, first in first out.
    pub fn wait_for_event<O>(&self, name: &str) -> Task<O> {
        let handle = self.host().wait_for_event(name);
        Task::new(
            handle,
            TaskKind::Event(name.to_owned()),
            self.runtime.clone(),
        )
    }

    /// Sets the custom status shown by status queries to `status` as JSON.
    ///
    /// Fails with [`Failure::SERIALIZE`] if `status` does not encode, and with
    /// [`Failure::INVALID_CUSTOM_STATUS`] if the host refuses it (larger than 16 KiB).
    pub fn set_custom_status<T: Serialize + ?Sized>(&self, status: &T) -> Result<(), Failure> {
        let json = codec::encode(status, "the custom status")?;
        self.host()
            .set_custom_status(Some(&json))
            .map_err(|message| Failure::new(Failure::INVALID_CUSTOM_STATUS, message))
    }

    /// Removes the custom status.
    pub fn clear_custom_status(&self) {
        // Clearing cannot be refused: the host's only objections are about a value.
        let _ = self.host().set_custom_status(None);
    }

    /// Writes a log line at `level`; suppressed while replaying.
    pub fn log(&self, level: LogLevel, message: impl AsRef<str>) {
        self.host().log(level, message.as_ref());
    }

    /// Writes an [`LogLevel::Info`] log line; suppressed while replaying.
    pub fn log_info(&self, message: impl AsRef<str>) {
        self.log(LogLevel::Info, message);
    }
}

impl std::fmt::Debug for OrchestrationContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrchestrationContext")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{Command, FakeHost};
    use crate::{Failure, LogLevel};
    use serde_json::json;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn call_activity_schedules_and_decodes() {
        let (ctx, fake) = FakeHost::context(1_000);
        fake.complete(0, "\"Hello Tokyo!\"");
        let out: String = ctx.call_activity("SayHello", "Tokyo").unwrap();
        assert_eq!(out, "Hello Tokyo!");
        assert_eq!(
            fake.commands(),
            vec![Command::activity("SayHello", "\"Tokyo\"")]
        );
    }

    #[test]
    fn a_failed_activity_returns_its_failure() {
        let (ctx, fake) = FakeHost::context(0);
        fake.fail(0, Failure::new("Boom", "no"));
        let err = ctx.call_activity::<_, u32>("A", 1).unwrap_err();
        assert_eq!(err, Failure::new("Boom", "no"));
    }

    #[test]
    fn a_result_of_the_wrong_type_is_a_deserialize_failure() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, "\"text\"");
        let err = ctx.call_activity::<_, u32>("A", 1).unwrap_err();
        assert_eq!(err.error_type, Failure::DESERIALIZE);
        assert!(err.message.contains("activity 'A'"), "{}", err.message);
    }

    #[test]
    fn timers_are_relative_to_orchestration_time() {
        let (ctx, fake) = FakeHost::context(5_000);
        assert_eq!(ctx.now(), UNIX_EPOCH + Duration::from_secs(5));
        fake.complete(0, "null");
        ctx.sleep(Duration::from_millis(1_500)).unwrap();
        assert_eq!(fake.commands(), vec![Command::Timer(6_500)]);
    }

    #[test]
    fn timers_before_the_epoch_fire_at_zero() {
        let (ctx, fake) = FakeHost::context(0);
        let _ = ctx.create_timer(UNIX_EPOCH - Duration::from_secs(1));
        assert_eq!(fake.commands(), vec![Command::Timer(0)]);
    }

    #[test]
    fn custom_status_is_json_and_refusals_are_failures() {
        let (ctx, fake) = FakeHost::context(0);
        ctx.set_custom_status(&json!({"checks": 2})).unwrap();
        ctx.set_custom_status("waiting").unwrap();
        ctx.clear_custom_status();
        assert_eq!(
            fake.statuses(),
            vec![
                Some(r#"{"checks":2}"#.to_owned()),
                Some("\"waiting\"".to_owned()),
                None
            ]
        );
        fake.refuse_status("too large");
        let err = ctx.set_custom_status(&"x".repeat(10)).unwrap_err();
        assert_eq!(
            err,
            Failure::new(Failure::INVALID_CUSTOM_STATUS, "too large")
        );
    }

    #[test]
    fn logs_pass_level_and_message() {
        let (ctx, fake) = FakeHost::context(0);
        ctx.log_info("hi");
        ctx.log(LogLevel::Warn, format!("n={}", 3));
        assert_eq!(
            fake.logs(),
            vec![
                (LogLevel::Info, "hi".to_owned()),
                (LogLevel::Warn, "n=3".to_owned())
            ]
        );
    }

    #[test]
    fn cancelling_a_task_reaches_the_host() {
        let (ctx, fake) = FakeHost::context(0);
        let event = ctx.wait_for_event::<bool>("Approval");
        event.cancel();
        fake.fail(0, Failure::new(Failure::CANCELED, "cancelled"));
        assert!(event.get().unwrap_err().is_canceled());
        assert_eq!(
            fake.commands(),
            vec![Command::Event("Approval".into()), Command::Cancel(0)]
        );
    }

    #[test]
    fn sub_orchestrations_schedule_and_decode_like_activities() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, "[1,2]");
        fake.fail(1, Failure::new("ChildBroke", "no"));
        let out: Vec<u32> = ctx.call_sub_orchestrator("Child", 7).unwrap();
        assert_eq!(out, vec![1, 2]);
        let err = ctx
            .schedule_sub_orchestrator::<_, u32>("Child", Some("kid"), ())
            .get()
            .unwrap_err();
        assert_eq!(err.error_type, "ChildBroke");
        assert_eq!(
            fake.commands(),
            vec![
                Command::SubOrchestration {
                    name: "Child".into(),
                    instance: None,
                    input: "7".into()
                },
                Command::SubOrchestration {
                    name: "Child".into(),
                    instance: Some("kid".into()),
                    input: "null".into()
                },
            ]
        );
    }

    #[test]
    fn sends_starts_and_continue_as_new_reach_the_host() {
        let (ctx, fake) = FakeHost::context(0);
        ctx.send_event("other", "Ping", &json!({"n": 1}));
        fake.complete(1, "\"job-1\"");
        assert_eq!(ctx.start_orchestration("Job", None, ()).unwrap(), "job-1");
        let out: Result<String, Failure> = ctx.continue_as_new(3);
        assert_eq!(
            out,
            Ok(String::new()),
            "continue_as_new returns a default to return"
        );
        assert_eq!(
            fake.commands(),
            vec![
                Command::Send {
                    instance: "other".into(),
                    name: "Ping".into(),
                    input: r#"{"n":1}"#.into()
                },
                Command::Start {
                    name: "Job".into(),
                    instance: None
                },
                Command::ContinueAsNew {
                    input: "3".into(),
                    preserve: true
                },
            ]
        );
    }

    #[test]
    #[should_panic(expected = "could not be encoded as JSON")]
    fn unencodable_input_panics() {
        let (ctx, _fake) = FakeHost::context(0);
        let input: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        let _ = ctx.schedule_activity::<_, ()>("A", input);
    }
}
