//! History events: the append-only record of an execution.

use crate::{
    EntityId, ExecutionId, Failure, InstanceId, Json, RuntimeStatus, ScheduleId, Timestamp,
};
use serde::{Deserialize, Serialize};

/// One entry of an execution's history.
///
/// A history is a sequence of episodes. Each episode starts with
/// `OrchestratorStarted` (whose timestamp is the orchestration's current time for
/// the episode), then the events that arrived (`ExecutionStarted`, completions,
/// fired timers, raised events), then what the code scheduled in response
/// (`TaskScheduled`, `TimerCreated`), and ends with `OrchestratorCompleted`.
/// `ExecutionCompleted` closes the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub timestamp: Timestamp,
    pub kind: EventKind,
}

/// What happened. Externally tagged (`{"TaskCompleted": {...}}`): internally
/// tagged enums buffer their content, which raw JSON payloads cannot be read
/// from. The stored format (docs/history-format.md) is the store's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all_fields = "camelCase")]
pub enum EventKind {
    /// Start of an episode; its timestamp is the orchestration time for the episode.
    OrchestratorStarted,
    /// End of an episode: everything before it was committed together.
    OrchestratorCompleted,
    /// The execution began with this orchestrator, input and component version.
    ExecutionStarted {
        name: String,
        input: Json,
        execution_id: ExecutionId,
        /// Content digest of the component the execution runs on.
        component: String,
        /// The orchestration that started this one as a sub-orchestration and
        /// waits for its result; `None` for a top-level (or detached) start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<ParentInstance>,
    },
    /// The code scheduled activity `name`; `attempt` is set for a retry made
    /// by a retry policy (2 for the first retry), absent for a first attempt.
    TaskScheduled {
        id: ScheduleId,
        name: String,
        input: Json,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempt: Option<u32>,
    },
    /// Activity `scheduled_id` returned a result.
    TaskCompleted {
        scheduled_id: ScheduleId,
        result: Json,
    },
    /// Activity `scheduled_id` failed.
    TaskFailed {
        scheduled_id: ScheduleId,
        failure: Failure,
    },
    /// The code started orchestrator `name` as instance `instance_id`. A
    /// `detached` start (fire and forget) is resolved at once and never
    /// reports back; otherwise the child's end arrives as
    /// `SubOrchestrationInstanceCompleted` or `…Failed`.
    SubOrchestrationInstanceCreated {
        id: ScheduleId,
        name: String,
        instance_id: InstanceId,
        input: Json,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        detached: bool,
    },
    /// Sub-orchestration `scheduled_id` completed with `result`.
    SubOrchestrationInstanceCompleted {
        scheduled_id: ScheduleId,
        result: Json,
    },
    /// Sub-orchestration `scheduled_id` failed (or could not start, or was terminated).
    SubOrchestrationInstanceFailed {
        scheduled_id: ScheduleId,
        failure: Failure,
    },
    /// The code sent event `name` to instance `instance_id` (one way).
    EventSent {
        id: ScheduleId,
        instance_id: InstanceId,
        name: String,
        input: Json,
    },
    /// The code signalled operation `operation` on `entity` (one way).
    EntityOperationSignaled {
        id: ScheduleId,
        entity: EntityId,
        operation: String,
        input: Json,
    },
    /// The code called operation `operation` on `entity`; its result arrives
    /// as `EntityOperationCompleted` or `EntityOperationFailed`.
    EntityOperationCalled {
        id: ScheduleId,
        entity: EntityId,
        operation: String,
        input: Json,
    },
    /// Entity call `scheduled_id` returned `result`.
    EntityOperationCompleted {
        scheduled_id: ScheduleId,
        result: Json,
    },
    /// Entity call `scheduled_id` failed (the operation failed, or the entity
    /// or operation does not exist).
    EntityOperationFailed {
        scheduled_id: ScheduleId,
        failure: Failure,
    },
    /// The code entered a critical section: locks on `entities` (sorted, no
    /// duplicates) were requested. The schedule ID names the section.
    EntityLockRequested {
        id: ScheduleId,
        entities: Vec<EntityId>,
    },
    /// Every lock of section `scheduled_id` is held.
    EntityLockGranted { scheduled_id: ScheduleId },
    /// The code left critical section `section`: its locks were released.
    EntityUnlockSent {
        id: ScheduleId,
        section: ScheduleId,
        entities: Vec<EntityId>,
    },
    /// (An entity's inbox only.) Run `operation` with `input`; a call names
    /// the `caller` task the result goes to, a signal has none.
    EntityOperationRequested {
        operation: String,
        input: Json,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller: Option<ParentInstance>,
    },
    /// (An entity's inbox only.) Lock this entity, `entities[position]`,
    /// for section `owner`, then pass the request on (or grant it).
    EntityLockRequest {
        owner: ParentInstance,
        entities: Vec<EntityId>,
        position: u32,
    },
    /// (An entity's inbox only.) Release `owner`'s lock, or withdraw its
    /// request still waiting here.
    EntityUnlockRequest { owner: ParentInstance },
    /// The code created a durable timer due at `fire_at`.
    TimerCreated { id: ScheduleId, fire_at: Timestamp },
    /// Timer `timer_id` fired.
    TimerFired {
        timer_id: ScheduleId,
        fire_at: Timestamp,
    },
    /// External event `name` arrived with `input`.
    EventRaised { name: String, input: Json },
    /// The instance was terminated; `reason` becomes its output. With
    /// `recurse`, its running sub-orchestrations are terminated too.
    ExecutionTerminated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        recurse: bool,
    },
    /// The instance was suspended: arrivals wait until it is resumed.
    ExecutionSuspended {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The instance was resumed.
    ExecutionResumed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A failed instance was rewound: the failures of tasks `voided`
    /// recorded before this event no longer count, and those tasks run again.
    /// History stays append-only; replay skips the voided failures.
    ExecutionRewound {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default)]
        voided: Vec<ScheduleId>,
    },
    /// The execution finished: `Completed` with `result`, or `Failed` with `failure`.
    ExecutionCompleted {
        status: RuntimeStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Json>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failure: Option<Failure>,
    },
}

impl EventKind {
    /// The event's type name, as shown in `historyEvents`.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::OrchestratorStarted => "OrchestratorStarted",
            EventKind::OrchestratorCompleted => "OrchestratorCompleted",
            EventKind::ExecutionStarted { .. } => "ExecutionStarted",
            EventKind::TaskScheduled { .. } => "TaskScheduled",
            EventKind::TaskCompleted { .. } => "TaskCompleted",
            EventKind::TaskFailed { .. } => "TaskFailed",
            EventKind::SubOrchestrationInstanceCreated { .. } => "SubOrchestrationInstanceCreated",
            EventKind::SubOrchestrationInstanceCompleted { .. } => {
                "SubOrchestrationInstanceCompleted"
            }
            EventKind::SubOrchestrationInstanceFailed { .. } => "SubOrchestrationInstanceFailed",
            EventKind::EventSent { .. } => "EventSent",
            EventKind::EntityOperationSignaled { .. } => "EntityOperationSignaled",
            EventKind::EntityOperationCalled { .. } => "EntityOperationCalled",
            EventKind::EntityOperationCompleted { .. } => "EntityOperationCompleted",
            EventKind::EntityOperationFailed { .. } => "EntityOperationFailed",
            EventKind::EntityLockRequested { .. } => "EntityLockRequested",
            EventKind::EntityLockGranted { .. } => "EntityLockGranted",
            EventKind::EntityUnlockSent { .. } => "EntityUnlockSent",
            EventKind::EntityOperationRequested { .. } => "EntityOperationRequested",
            EventKind::EntityLockRequest { .. } => "EntityLockRequest",
            EventKind::EntityUnlockRequest { .. } => "EntityUnlockRequest",
            EventKind::TimerCreated { .. } => "TimerCreated",
            EventKind::TimerFired { .. } => "TimerFired",
            EventKind::EventRaised { .. } => "EventRaised",
            EventKind::ExecutionCompleted { .. } => "ExecutionCompleted",
            EventKind::ExecutionTerminated { .. } => "ExecutionTerminated",
            EventKind::ExecutionSuspended { .. } => "ExecutionSuspended",
            EventKind::ExecutionResumed { .. } => "ExecutionResumed",
            EventKind::ExecutionRewound { .. } => "ExecutionRewound",
        }
    }

    /// A one-line description for error messages, e.g. `TaskScheduled #2 'SayHello'`.
    pub fn describe(&self) -> String {
        match self {
            EventKind::TaskScheduled { id, name, .. } => format!("TaskScheduled {id} '{name}'"),
            EventKind::TimerCreated { id, fire_at } => format!("TimerCreated {id} due {fire_at}"),
            EventKind::SubOrchestrationInstanceCreated {
                id,
                name,
                instance_id,
                ..
            } => format!("SubOrchestrationInstanceCreated {id} '{name}' as '{instance_id}'"),
            EventKind::EventSent {
                id,
                instance_id,
                name,
                ..
            } => format!("EventSent {id} '{name}' to '{instance_id}'"),
            EventKind::EntityOperationSignaled {
                id,
                entity,
                operation,
                ..
            }
            | EventKind::EntityOperationCalled {
                id,
                entity,
                operation,
                ..
            } => format!("{} {id} '{operation}' on '{entity}'", self.type_name()),
            EventKind::EntityLockRequested { id, entities } => format!(
                "EntityLockRequested {id} on [{}]",
                entities
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => other.type_name().to_owned(),
        }
    }
}

/// Where a sub-orchestration reports its end: the parent's instance and
/// execution, and the schedule ID of the parent's call (DTFx `ParentInstance`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentInstance {
    pub instance_id: InstanceId,
    pub execution_id: ExecutionId,
    pub schedule_id: ScheduleId,
}

impl HistoryEvent {
    pub fn new(timestamp: Timestamp, kind: EventKind) -> HistoryEvent {
        HistoryEvent { timestamp, kind }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, ScheduleId};

    #[test]
    fn events_and_messages_round_trip_through_json() {
        let e = HistoryEvent::new(
            Timestamp(5),
            EventKind::TaskCompleted {
                scheduled_id: ScheduleId(2),
                result: Json::parse("{\"a\":[1]}").unwrap(),
            },
        );
        let m = Message::for_execution(ExecutionId("x".into()), e.clone());
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Message>(&text).unwrap(), m);
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<HistoryEvent>(&text).unwrap(), e);
    }
}
