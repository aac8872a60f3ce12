//! [`Task`] and [`TaskHandle`]: a durable task that has been scheduled and may
//! not have completed yet.
//!
//! A task is an activity call, a timer, a wait for an external event, an entity
//! call or a lock request. The host records its scheduling in the history and,
//! on replay, hands back the recorded outcome, so [`Task::get`] is deterministic.
//! A `Task<O>` knows which type its outcome decodes into; a [`TaskHandle`] is
//! the untyped, copyable name used to race tasks with
//! [`OrchestrationContext::when_any`].
//!
//! [`OrchestrationContext::when_any`]: crate::OrchestrationContext::when_any

use crate::Failure;
use crate::codec;
use crate::context::Runtime;
use crate::host::Outcome;
use serde::de::DeserializeOwned;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;

/// Identifies a task of the current run; pass handles to
/// [`OrchestrationContext::when_any`](crate::OrchestrationContext::when_any).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskHandle(pub(crate) u32);

impl TaskHandle {
    /// The host's `task-handle` number (small, local to one run).
    pub fn raw(self) -> u32 {
        self.0
    }
}

impl fmt::Display for TaskHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What a task waits for; used in error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TaskKind {
    Activity(String),
    SubOrchestration(String),
    Timer,
    Event(String),
    /// A call or signal of `operation` on the entity `entity` (`@name@key`).
    Entity {
        entity: String,
        operation: String,
    },
    /// A lock request (its outcome is the grant).
    Lock,
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskKind::Activity(name) => write!(f, "the result of activity '{name}'"),
            TaskKind::SubOrchestration(name) => {
                write!(f, "the result of sub-orchestration '{name}'")
            }
            TaskKind::Timer => f.write_str("a fired timer"),
            TaskKind::Event(name) => write!(f, "the payload of event '{name}'"),
            TaskKind::Entity { entity, operation } => {
                write!(
                    f,
                    "the result of operation '{operation}' on entity '{entity}'"
                )
            }
            TaskKind::Lock => f.write_str("a lock grant"),
        }
    }
}

/// A scheduled durable task whose outcome decodes into `O`.
///
/// Created by [`OrchestrationContext::schedule_activity`],
/// [`create_timer`](crate::OrchestrationContext::create_timer),
/// [`timer`](crate::OrchestrationContext::timer),
/// [`wait_for_event`](crate::OrchestrationContext::wait_for_event) and
/// [`schedule_call_entity`](crate::OrchestrationContext::schedule_call_entity). Scheduling
/// does not wait; [`Task::get`] does. Dropping a task without waiting leaves it
/// running on the host (an activity still executes, a timer still fires).
///
/// ```no_run
/// # use weft_sdk::prelude::*;
/// # fn f(ctx: &OrchestrationContext) -> Result<(), Failure> {
/// let a = ctx.schedule_activity::<_, u32>("Count", "apples");
/// let b = ctx.schedule_activity::<_, u32>("Count", "pears");
/// let total = a.get()? + b.get()?; // both ran in parallel
/// # Ok(()) }
/// ```
///
/// [`OrchestrationContext::schedule_activity`]: crate::OrchestrationContext::schedule_activity
#[must_use = "a task does nothing visible until it is waited on with `get`"]
pub struct Task<O> {
    handle: TaskHandle,
    kind: TaskKind,
    runtime: Rc<Runtime>,
    output: PhantomData<fn() -> O>,
}

impl<O> Task<O> {
    pub(crate) fn new(handle: u32, kind: TaskKind, runtime: Rc<Runtime>) -> Task<O> {
        Task {
            handle: TaskHandle(handle),
            kind,
            runtime,
            output: PhantomData,
        }
    }

    /// This task's handle, for [`OrchestrationContext::when_any`](crate::OrchestrationContext::when_any).
    pub fn handle(&self) -> TaskHandle {
        self.handle
    }

    /// Cancels the task if it has not completed: a pending timer is removed, an
    /// event wait stops consuming events. [`Task::get`] then fails with
    /// [`Failure::CANCELED`]. Cancelling a completed task does nothing, and so
    /// does cancelling an activity that is already running (its result is
    /// still recorded).
    pub fn cancel(&self) {
        self.runtime.cancel(self.handle.0);
    }

    /// Waits for the raw outcome, consuming it.
    pub(crate) fn outcome(self) -> (TaskKind, Outcome) {
        let outcome = self.runtime.wait_for(self.handle.0);
        (self.kind, outcome)
    }
}

impl<O: DeserializeOwned> Task<O> {
    /// Waits until the task completes and returns its outcome decoded into `O`.
    ///
    /// Returns at once if the outcome already arrived (for example, after
    /// [`OrchestrationContext::when_any`](crate::OrchestrationContext::when_any)
    /// picked this task). A failed or cancelled task returns its [`Failure`];
    /// a result that does not decode into `O` returns a [`Failure::DESERIALIZE`].
    pub fn get(self) -> Result<O, Failure> {
        let (kind, outcome) = self.outcome();
        resolve(&kind, outcome)
    }
}

/// Turns a task's outcome into the typed result.
pub(crate) fn resolve<O: DeserializeOwned>(
    kind: &TaskKind,
    outcome: Outcome,
) -> Result<O, Failure> {
    match outcome {
        Outcome::Completed(json) => codec::decode(&json, kind),
        Outcome::Failed(failure) => Err(failure),
    }
}

impl<O> fmt::Debug for Task<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("handle", &self.handle)
            .field("kind", &self.kind)
            .field("output", &std::any::type_name::<O>())
            .finish()
    }
}
