//! What a turn asks the host to do, and how it ended.

use weft_core::{
    Ending, EntityId, Failure, HistoryEvent, InstanceId, Json, ParentInstance, RuntimeStatus,
    ScheduleId, Timestamp,
};

/// Work for the host, produced by new (not replayed) commands. The host
/// commits it with the turn: work items, timers, and an outbox of messages
/// to other instances, so a crash never loses or repeats one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run activity `name` and report back as `TaskCompleted`/`TaskFailed` for `id`.
    ScheduleActivity {
        id: ScheduleId,
        name: String,
        input: Json,
        /// 1 for a first attempt; a retry policy's retries count up.
        attempt: u32,
    },
    /// Deliver `TimerFired` for `id` at `fire_at`.
    CreateTimer { id: ScheduleId, fire_at: Timestamp },
    /// The timer is no longer wanted: remove it if it has not fired.
    CancelTimer { id: ScheduleId, fire_at: Timestamp },
    /// Start orchestrator `name` as instance `instance` (outbox). With a
    /// `parent`, the child reports its end there; when the ID is taken by an
    /// instance that has not finished, the parent's task `id` fails instead.
    StartOrchestration {
        id: ScheduleId,
        instance: InstanceId,
        name: String,
        input: Json,
        parent: Option<ParentInstance>,
    },
    /// A rewind voided child `instance`'s failure: rewind the child if it
    /// failed, else start it again as [`Action::StartOrchestration`] would.
    RewindOrchestration {
        instance: InstanceId,
        name: String,
        input: Json,
        parent: Option<ParentInstance>,
    },
    /// Terminate `instance` and its running descendants (outbox): a recursive
    /// terminate reaching a running child. Dropped when it has finished.
    TerminateOrchestration {
        instance: InstanceId,
        reason: Option<String>,
    },
    /// Raise event `name` on `instance` (outbox); dropped when the instance
    /// is unknown or finished.
    SendEvent {
        instance: InstanceId,
        name: String,
        input: Json,
    },
    /// Signal operation `operation` on `entity` (outbox; the entity is
    /// created by its first message).
    SignalEntity {
        entity: EntityId,
        operation: String,
        input: Json,
    },
    /// Call operation `operation` on `entity`; the entity answers `caller`
    /// with `EntityOperationCompleted`/`Failed`.
    CallEntity {
        entity: EntityId,
        operation: String,
        input: Json,
        caller: ParentInstance,
    },
    /// Acquire locks on `entities` (sorted) for `owner` (its schedule ID
    /// names the section): one entity after another, the last answering
    /// `EntityLockGranted`.
    RequestLocks {
        entities: Vec<EntityId>,
        owner: ParentInstance,
    },
    /// Release `owner`'s locks on `entities` (a lock another owner holds
    /// is left alone; a request of `owner` still waiting is withdrawn).
    ReleaseLocks {
        entities: Vec<EntityId>,
        owner: ParentInstance,
    },
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
    /// The orchestrator restarts itself with `input`: same instance,
    /// new execution, empty history.
    ContinuedAsNew {
        input: Json,
        /// Deliver the events it received but never waited for to the next
        /// execution (durabletask-dotnet's default, true).
        preserve_unprocessed_events: bool,
    },
}

impl TurnOutcome {
    /// How the execution ended, or `None` while it waits.
    pub fn ending(&self) -> Option<Ending> {
        match self {
            TurnOutcome::Waiting => None,
            TurnOutcome::Completed(v) => Some(Ending::Completed(v.clone())),
            TurnOutcome::Failed(f) => Some(Ending::Failed(f.clone())),
            TurnOutcome::ContinuedAsNew { input, .. } => {
                Some(Ending::ContinuedAsNew(input.clone()))
            }
        }
    }

    /// The instance's status after the turn.
    pub fn status(&self) -> RuntimeStatus {
        self.ending().map_or(RuntimeStatus::Running, |e| e.status())
    }
}

/// The next execution of a continue-as-new.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextExecution {
    /// Its input.
    pub input: Json,
    /// Events to deliver to it, in arrival order: the ones this execution
    /// received but never waited for, when preserved.
    pub carried: Vec<HistoryEvent>,
}

/// Everything a turn produced, to be committed in one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnOutput {
    /// Events to append to the stored history, in order.
    pub new_events: Vec<HistoryEvent>,
    /// Work to commit with the turn and hand out after it.
    pub actions: Vec<Action>,
    /// The custom status after this turn, when the code set it in this
    /// execution (`None`: it never did, and the status it had stays; after a
    /// continue-as-new that is the previous execution's).
    pub custom_status: Option<Option<Json>>,
    pub outcome: TurnOutcome,
    /// When the execution ended this turn: the names of the events it received
    /// but never waited for (dropped with it, unless carried to the next
    /// execution).
    pub unconsumed_events: Vec<String>,
    /// Set when the execution continued as new.
    pub next_execution: Option<NextExecution>,
}
