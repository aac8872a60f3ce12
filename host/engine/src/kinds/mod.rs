//! One module per kind of durable command: everything the engine knows about
//! it in one place.
//!
//! A command is something the code schedules and the history records under a
//! schedule ID (`TaskScheduled`, `TimerCreated`, …). Each kind says which
//! event schedules it, which events complete it and with what outcome, how a
//! recorded command is matched on replay, what work a new one causes, and
//! what happens when it is abandoned (cancelled, or its execution ended) or
//! rewound. `Replay` and `apply_control` go through [`KINDS`] and never match
//! on a kind's events themselves, so a new kind is one module here plus its
//! events in `weft_core` and their stored form in `weft_store::wire`.

mod activity;
mod entity;
mod event_sent;
mod lock;
mod sub_orchestration;

pub(crate) use lock::open_section;
pub use sub_orchestration::default_child_id;
mod timer;

use crate::action::Action;
use crate::task::Outcome;
use weft_core::{EventKind, ExecutionId, InstanceId, ParentInstance, ScheduleId};

/// Who is scheduling: the instance and execution the commands belong to.
#[derive(Clone, Debug, Default)]
pub(crate) struct Origin {
    pub instance: Option<InstanceId>,
    pub execution: Option<ExecutionId>,
}

impl Origin {
    /// The scheduling task as an address for replies: this instance and
    /// execution, and the command's schedule ID.
    pub(crate) fn task(&self, scheduled: &EventKind) -> Option<ParentInstance> {
        self.task_of(self::scheduled(scheduled)?)
    }

    /// [`Origin::task`] for schedule ID `id`.
    pub(crate) fn task_of(&self, id: ScheduleId) -> Option<ParentInstance> {
        Some(ParentInstance {
            instance_id: self.instance.clone()?,
            execution_id: self.execution.clone()?,
            schedule_id: id,
        })
    }
}

/// What the engine knows about one kind of command.
pub(crate) trait CommandKind: Sync {
    /// The schedule ID, when `event` is this kind's scheduling event.
    fn scheduled(&self, event: &EventKind) -> Option<ScheduleId>;

    /// The task and its outcome, when `event` completes a command of this kind.
    fn completion(&self, _event: &EventKind) -> Option<(ScheduleId, Outcome)> {
        None
    }

    /// Durable Task's replay rule: whether recorded scheduling event
    /// `recorded` stands for the code's `attempted` one (both of this kind).
    /// Kind and name are compared, inputs never.
    fn same(&self, recorded: &EventKind, attempted: &EventKind) -> bool;

    /// The work a new command causes once its turn is committed.
    fn actions(&self, scheduled: &EventKind, origin: &Origin) -> Vec<Action>;

    /// The outcome a command has as soon as it is scheduled, for commands no
    /// completion ever arrives for (a sent event, a detached start).
    fn resolved_at_once(&self, _scheduled: &EventKind) -> Option<Outcome> {
        None
    }

    /// The work that undoes a pending command when the code cancels it or its
    /// execution ends (a timer is removed); most kinds have none.
    fn abandon(&self, _scheduled: &EventKind) -> Option<Action> {
        None
    }

    /// The work that runs a command again after a rewind voided its failure
    /// (an activity is enqueued again with the same schedule ID).
    fn redo(&self, _scheduled: &EventKind, _origin: &Origin) -> Option<Action> {
        None
    }

    /// The work that puts a pending command back after a rewind (a timer
    /// that was removed when the instance failed is created again).
    fn restore(&self, _scheduled: &EventKind) -> Option<Action> {
        None
    }
}

/// Every kind, in no particular order (each recognises only its own events).
pub(crate) static KINDS: &[&dyn CommandKind] = &[
    &activity::Activity,
    &timer::Timer,
    &sub_orchestration::SubOrchestration,
    &event_sent::EventSent,
    &entity::EntitySignal,
    &entity::EntityCall,
    &lock::LockRequest,
    &lock::Unlock,
];

/// The kind whose scheduling event `event` is, with the schedule ID.
pub(crate) fn scheduling(event: &EventKind) -> Option<(&'static dyn CommandKind, ScheduleId)> {
    KINDS
        .iter()
        .find_map(|k| k.scheduled(event).map(|id| (*k, id)))
}

/// The schedule ID of a scheduling event.
pub(crate) fn scheduled(event: &EventKind) -> Option<ScheduleId> {
    scheduling(event).map(|(_, id)| id)
}

/// The task and outcome a completion event carries.
pub(crate) fn completion(event: &EventKind) -> Option<(ScheduleId, Outcome)> {
    KINDS.iter().find_map(|k| k.completion(event))
}
