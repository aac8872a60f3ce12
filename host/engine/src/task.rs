//! Tasks as the guest sees them: handles with a resolution order.

use weft_core::{Failure, Json, ScheduleId};

/// A guest-visible task handle (index into the run's task list).
pub type TaskHandle = u32;

/// A task's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed(Json),
    Failed(Failure),
}

impl Outcome {
    /// The outcome of waiting on a cancelled task.
    pub fn canceled() -> Outcome {
        Outcome::Failed(Failure::new("weft.Canceled", "the task was cancelled"))
    }
}

#[derive(Clone, Debug)]
pub(crate) enum TaskKind {
    /// A command recorded under a schedule ID (its kind is in `kinds`).
    Scheduled(ScheduleId),
    /// A wait for the next external event with this key.
    Event { name: String },
    /// Resolved without a command (an argument the host refused).
    Local,
}

#[derive(Clone, Debug)]
pub(crate) enum TaskState {
    Pending,
    /// `seq` orders resolutions: a wait returns the smallest.
    Resolved {
        seq: u64,
        outcome: Outcome,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Task {
    pub kind: TaskKind,
    pub state: TaskState,
}
