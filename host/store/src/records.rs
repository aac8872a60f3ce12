//! The rows the store keeps besides history and inbox messages (which are
//! `weft_core` types): instance summaries, activity work items, timers, and
//! the filter for listing instances.
//!
//! These are plain values. How they are laid out on disk is the business of
//! `wire.rs` and is documented in `docs/history-format.md`.

use weft_core::{
    EntityId, ExecutionId, InstanceId, Json, ParentInstance, RuntimeStatus, ScheduleId, Timestamp,
};

/// One instance's summary row: what status queries and listings show without
/// reading the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceRecord {
    /// The instance's ID (also the row's key).
    pub instance_id: InstanceId,
    /// The orchestrator's name.
    pub name: String,
    /// The current execution.
    pub execution_id: ExecutionId,
    /// The current runtime status.
    pub status: RuntimeStatus,
    /// The input the execution started with.
    pub input: Json,
    /// The result when `Completed`; the serialized `Failure` when `Failed`; the
    /// reason when `Terminated`.
    pub output: Option<Json>,
    /// The last custom status the orchestrator set.
    pub custom_status: Option<Json>,
    /// When the instance was created (the key of the created-time index).
    pub created: Timestamp,
    /// When the row last changed.
    pub updated: Timestamp,
    /// Content digest of the component the execution started on.
    pub component: String,
    /// Number of history events stored for the current execution. Turns are
    /// fenced on it (see [`TurnWrite`](crate::TurnWrite)).
    pub history_len: u32,
    /// The orchestration waiting for this one, when it is a sub-orchestration.
    pub parent: Option<ParentInstance>,
}

/// One durable entity's row: its state and its lock. Its queue is its inbox
/// (messages waiting while another section holds the lock stay there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityRecord {
    /// The entity (the row's key is its text form).
    pub entity: EntityId,
    /// The state; `None` when the entity does not exist (never set, or deleted).
    pub state: Option<Json>,
    /// The critical section holding the entity's lock.
    pub locked_by: Option<ParentInstance>,
    /// When an operation last ran on it.
    pub last_operation: Timestamp,
}

/// Which entities [`Storage::list_entities`](crate::Storage::list_entities) lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntityQuery {
    /// Only entities of this (lower-case) name.
    pub name: Option<String>,
    /// Only entities whose last operation ran at or after this time.
    pub last_operation_from: Option<Timestamp>,
    /// Only entities whose last operation ran at or before this time.
    pub last_operation_to: Option<Timestamp>,
    /// Entities without state are left out unless this is set.
    pub include_empty: bool,
    /// Start after this entity ID (the previous page's continuation).
    pub after: Option<String>,
    /// At most this many (0 means 100).
    pub top: usize,
}

/// An activity to run: one row of the activity queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityWork {
    /// The instance that scheduled it.
    pub instance: InstanceId,
    /// The execution that scheduled it; a result for another execution is dropped.
    pub execution: ExecutionId,
    /// The `TaskScheduled` event's schedule ID; the result refers back to it.
    pub scheduled_id: ScheduleId,
    /// The activity's name.
    pub name: String,
    /// The activity's input.
    pub input: Json,
    /// Content digest of the component that holds the activity.
    pub component: String,
    /// 1 for a first attempt; a retry policy's retries count up.
    pub attempt: u32,
}

/// A timer's identity, in the order timers are read: due time first.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerKey {
    /// When the timer is due.
    pub fire_at: Timestamp,
    /// The instance that created it.
    pub instance: InstanceId,
    /// The `TimerCreated` event's schedule ID.
    pub timer_id: ScheduleId,
}

/// A durable timer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerEntry {
    /// Due time, instance, timer ID.
    pub key: TimerKey,
    /// The execution that created it; when it fires for another execution it is dropped.
    pub execution: ExecutionId,
}

/// Which instances [`Store::list_instances`](crate::Store::list_instances) returns.
/// All conditions must hold; the default matches every instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceFilter {
    /// Created at or after this time.
    pub created_from: Option<Timestamp>,
    /// Created at or before this time.
    pub created_to: Option<Timestamp>,
    /// One of these statuses; empty means any status.
    pub statuses: Vec<RuntimeStatus>,
    /// Instance ID starts with this string.
    pub id_prefix: Option<String>,
    /// Runs on the component with this digest. Not in an index: rows
    /// the other conditions select are read to check it.
    pub component: Option<String>,
}

impl InstanceFilter {
    /// True when `record` passes every condition.
    pub fn matches(&self, record: &InstanceRecord) -> bool {
        self.created_from.is_none_or(|t| record.created >= t)
            && self.created_to.is_none_or(|t| record.created <= t)
            && (self.statuses.is_empty() || self.statuses.contains(&record.status))
            && self
                .id_prefix
                .as_deref()
                .is_none_or(|p| record.instance_id.as_str().starts_with(p))
            && self
                .component
                .as_deref()
                .is_none_or(|c| record.component == c)
    }
}
