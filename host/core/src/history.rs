//! History events: the append-only record of an execution.

use crate::{ExecutionId, Failure, Json, RuntimeStatus, ScheduleId, Timestamp};
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
    },
    /// The code scheduled activity `name`.
    TaskScheduled {
        id: ScheduleId,
        name: String,
        input: Json,
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
    /// The code created a durable timer due at `fire_at`.
    TimerCreated { id: ScheduleId, fire_at: Timestamp },
    /// Timer `timer_id` fired.
    TimerFired {
        timer_id: ScheduleId,
        fire_at: Timestamp,
    },
    /// External event `name` arrived with `input`.
    EventRaised { name: String, input: Json },
    /// The instance was terminated; `reason` becomes its output.
    ExecutionTerminated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
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

    /// The schedule ID of a scheduling event (`TaskScheduled`, `TimerCreated`).
    pub fn scheduled(&self) -> Option<ScheduleId> {
        match self {
            EventKind::TaskScheduled { id, .. } | EventKind::TimerCreated { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// A one-line description for error messages, e.g. `TaskScheduled #2 'SayHello'`.
    pub fn describe(&self) -> String {
        match self {
            EventKind::TaskScheduled { id, name, .. } => format!("TaskScheduled {id} '{name}'"),
            EventKind::TimerCreated { id, fire_at } => format!("TimerCreated {id} due {fire_at}"),
            other => other.type_name().to_owned(),
        }
    }
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
