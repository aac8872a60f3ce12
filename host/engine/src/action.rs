//! What a turn asks the host to do, and how it ended.

use weft_core::{Failure, HistoryEvent, Json, ScheduleId, Timestamp};

/// Work for the host, produced by new (not replayed) commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run activity `name` and report back as `TaskCompleted`/`TaskFailed` for `id`.
    ScheduleActivity {
        id: ScheduleId,
        name: String,
        input: Json,
    },
    /// Deliver `TimerFired` for `id` at `fire_at`.
    CreateTimer { id: ScheduleId, fire_at: Timestamp },
    /// The timer is no longer wanted: remove it if it has not fired.
    CancelTimer { id: ScheduleId, fire_at: Timestamp },
}

/// How a turn ended for the orchestrator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TurnOutcome {
    /// The code is waiting for tasks that have not completed.
    Waiting,
    /// The orchestrator returned a value.
    Completed(Json),
    /// The orchestrator returned an error or trapped.
    Failed(Failure),
}

/// Everything a turn produced, to be committed in one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnOutput {
    /// Events to append to the stored history, in order.
    pub new_events: Vec<HistoryEvent>,
    /// Work to hand to the host after the commit.
    pub actions: Vec<Action>,
    /// The custom status after this turn.
    pub custom_status: Option<Json>,
    pub outcome: TurnOutcome,
    /// When the execution ended this turn: the names of the events it received
    /// but never waited for (they are dropped with it).
    pub unconsumed_events: Vec<String>,
}
