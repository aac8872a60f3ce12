//! The on-disk shape of stored values, format version 1.
//!
//! The store owns its format instead of storing `weft_core`'s serde shapes:
//! those serve the API and may change, while what is on disk must stay readable
//! forever. (It is also necessary: `HistoryEvent` flattens an internally
//! tagged enum, and serde_json cannot deserialize the raw JSON payloads inside
//! such buffered content.) Enums here are externally tagged, which serde_json
//! reads without buffering.
//!
//! Rule: a version's types never change. A new format adds `*V2` types, the
//! encoder switches to them, and `codec.rs` keeps decoding V1 into the current
//! `weft_core` types. `docs/history-format.md` documents every version.

use serde::{Deserialize, Serialize};
use weft_core::{
    EventKind, ExecutionId, Failure, HistoryEvent, InstanceId, Json, Message, RuntimeStatus,
    ScheduleId, Timestamp,
};

use crate::records::{ActivityWork, InstanceRecord};

/// An instance row.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstanceV1 {
    instance_id: InstanceId,
    name: String,
    execution_id: ExecutionId,
    status: RuntimeStatus,
    input: Json,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    custom_status: Option<Json>,
    created: Timestamp,
    updated: Timestamp,
    component: String,
    history_len: u32,
}

impl From<InstanceRecord> for InstanceV1 {
    /// Drops `parent`: a record with one is written as version 2.
    fn from(r: InstanceRecord) -> Self {
        InstanceV1 {
            instance_id: r.instance_id,
            name: r.name,
            execution_id: r.execution_id,
            status: r.status,
            input: r.input,
            output: r.output,
            custom_status: r.custom_status,
            created: r.created,
            updated: r.updated,
            component: r.component,
            history_len: r.history_len,
        }
    }
}

impl From<InstanceV1> for InstanceRecord {
    fn from(r: InstanceV1) -> Self {
        InstanceRecord {
            instance_id: r.instance_id,
            name: r.name,
            execution_id: r.execution_id,
            status: r.status,
            input: r.input,
            output: r.output,
            custom_status: r.custom_status,
            created: r.created,
            updated: r.updated,
            component: r.component,
            history_len: r.history_len,
            parent: None,
        }
    }
}

/// An activity queue row.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivityV1 {
    instance: InstanceId,
    execution: ExecutionId,
    scheduled_id: ScheduleId,
    name: String,
    input: Json,
    component: String,
}

impl From<ActivityWork> for ActivityV1 {
    /// Drops `attempt`: a retry's work item is written as version 2.
    fn from(w: ActivityWork) -> Self {
        ActivityV1 {
            instance: w.instance,
            execution: w.execution,
            scheduled_id: w.scheduled_id,
            name: w.name,
            input: w.input,
            component: w.component,
        }
    }
}

impl From<ActivityV1> for ActivityWork {
    fn from(w: ActivityV1) -> Self {
        ActivityWork {
            instance: w.instance,
            execution: w.execution,
            scheduled_id: w.scheduled_id,
            name: w.name,
            input: w.input,
            component: w.component,
            attempt: 1,
        }
    }
}

/// The value of a timer row (the rest of the timer is its key).
#[derive(Serialize, Deserialize)]
pub(crate) struct TimerV1 {
    pub(crate) execution: ExecutionId,
}

/// An inbox message.
#[derive(Serialize, Deserialize)]
pub(crate) struct MessageV1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    execution: Option<ExecutionId>,
    event: EventV1,
}

impl TryFrom<Message> for MessageV1 {
    type Error = Message;
    /// Version 1 shapes only; a message whose event version 1 cannot express
    /// is handed back.
    fn try_from(m: Message) -> Result<Self, Message> {
        match EventV1::try_from(m.event) {
            Ok(event) => Ok(MessageV1 {
                execution: m.execution,
                event,
            }),
            Err(event) => Err(Message {
                execution: m.execution,
                event,
            }),
        }
    }
}

impl From<MessageV1> for Message {
    fn from(m: MessageV1) -> Self {
        Message {
            execution: m.execution,
            event: m.event.into(),
        }
    }
}

/// A history event (also the payload of an inbox message).
#[derive(Serialize, Deserialize)]
pub(crate) struct EventV1 {
    timestamp: Timestamp,
    kind: KindV1,
}

/// What happened, externally tagged: `"OrchestratorStarted"` or
/// `{"TaskCompleted": {"scheduledId": 1, "result": ...}}`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all_fields = "camelCase")]
enum KindV1 {
    OrchestratorStarted,
    OrchestratorCompleted,
    ExecutionStarted {
        name: String,
        input: Json,
        execution_id: ExecutionId,
        component: String,
    },
    TaskScheduled {
        id: ScheduleId,
        name: String,
        input: Json,
    },
    TaskCompleted {
        scheduled_id: ScheduleId,
        result: Json,
    },
    TaskFailed {
        scheduled_id: ScheduleId,
        failure: FailureV1,
    },
    TimerCreated {
        id: ScheduleId,
        fire_at: Timestamp,
    },
    TimerFired {
        timer_id: ScheduleId,
        fire_at: Timestamp,
    },
    EventRaised {
        name: String,
        input: Json,
    },
    ExecutionCompleted {
        status: RuntimeStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Json>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failure: Option<FailureV1>,
    },
    ExecutionTerminated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    ExecutionSuspended {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    ExecutionResumed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    ExecutionRewound {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default)]
        voided: Vec<ScheduleId>,
    },
}

/// Failure details.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FailureV1 {
    error_type: String,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    details: Option<Json>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    non_retriable: bool,
}

impl From<Failure> for FailureV1 {
    fn from(f: Failure) -> Self {
        FailureV1 {
            error_type: f.error_type,
            message: f.message,
            details: f.details,
            non_retriable: f.non_retriable,
        }
    }
}

impl From<FailureV1> for Failure {
    fn from(f: FailureV1) -> Self {
        Failure {
            error_type: f.error_type,
            message: f.message,
            details: f.details,
            non_retriable: f.non_retriable,
        }
    }
}

impl TryFrom<HistoryEvent> for EventV1 {
    type Error = HistoryEvent;
    /// Version 1 shapes only; an event version 1 cannot express is handed
    /// back (it is written as version 2, `wire_v2.rs`).
    fn try_from(e: HistoryEvent) -> Result<Self, HistoryEvent> {
        let kind = match e.kind {
            EventKind::OrchestratorStarted => KindV1::OrchestratorStarted,
            EventKind::OrchestratorCompleted => KindV1::OrchestratorCompleted,
            EventKind::ExecutionStarted {
                name,
                input,
                execution_id,
                component,
                parent: None,
            } => KindV1::ExecutionStarted {
                name,
                input,
                execution_id,
                component,
            },
            EventKind::TaskScheduled {
                id,
                name,
                input,
                attempt: None,
            } => KindV1::TaskScheduled { id, name, input },
            EventKind::TaskCompleted {
                scheduled_id,
                result,
            } => KindV1::TaskCompleted {
                scheduled_id,
                result,
            },
            EventKind::TaskFailed {
                scheduled_id,
                failure,
            } => KindV1::TaskFailed {
                scheduled_id,
                failure: failure.into(),
            },
            EventKind::TimerCreated { id, fire_at } => KindV1::TimerCreated { id, fire_at },
            EventKind::TimerFired { timer_id, fire_at } => KindV1::TimerFired { timer_id, fire_at },
            EventKind::EventRaised { name, input } => KindV1::EventRaised { name, input },
            EventKind::ExecutionCompleted {
                status,
                result,
                failure,
            } => KindV1::ExecutionCompleted {
                status,
                result,
                failure: failure.map(Into::into),
            },
            EventKind::ExecutionTerminated {
                reason,
                recurse: false,
            } => KindV1::ExecutionTerminated { reason },
            EventKind::ExecutionSuspended { reason } => KindV1::ExecutionSuspended { reason },
            EventKind::ExecutionResumed { reason } => KindV1::ExecutionResumed { reason },
            EventKind::ExecutionRewound { reason, voided } => {
                KindV1::ExecutionRewound { reason, voided }
            }
            kind => {
                return Err(HistoryEvent {
                    timestamp: e.timestamp,
                    kind,
                });
            }
        };
        Ok(EventV1 {
            timestamp: e.timestamp,
            kind,
        })
    }
}

impl From<EventV1> for HistoryEvent {
    fn from(e: EventV1) -> Self {
        let kind = match e.kind {
            KindV1::OrchestratorStarted => EventKind::OrchestratorStarted,
            KindV1::OrchestratorCompleted => EventKind::OrchestratorCompleted,
            KindV1::ExecutionStarted {
                name,
                input,
                execution_id,
                component,
            } => EventKind::ExecutionStarted {
                name,
                input,
                execution_id,
                component,
                parent: None,
            },
            KindV1::TaskScheduled { id, name, input } => EventKind::TaskScheduled {
                id,
                name,
                input,
                attempt: None,
            },
            KindV1::TaskCompleted {
                scheduled_id,
                result,
            } => EventKind::TaskCompleted {
                scheduled_id,
                result,
            },
            KindV1::TaskFailed {
                scheduled_id,
                failure,
            } => EventKind::TaskFailed {
                scheduled_id,
                failure: failure.into(),
            },
            KindV1::TimerCreated { id, fire_at } => EventKind::TimerCreated { id, fire_at },
            KindV1::TimerFired { timer_id, fire_at } => EventKind::TimerFired { timer_id, fire_at },
            KindV1::EventRaised { name, input } => EventKind::EventRaised { name, input },
            KindV1::ExecutionCompleted {
                status,
                result,
                failure,
            } => EventKind::ExecutionCompleted {
                status,
                result,
                failure: failure.map(Into::into),
            },
            KindV1::ExecutionTerminated { reason } => EventKind::ExecutionTerminated {
                reason,
                recurse: false,
            },
            KindV1::ExecutionSuspended { reason } => EventKind::ExecutionSuspended { reason },
            KindV1::ExecutionResumed { reason } => EventKind::ExecutionResumed { reason },
            KindV1::ExecutionRewound { reason, voided } => {
                EventKind::ExecutionRewound { reason, voided }
            }
        };
        HistoryEvent {
            timestamp: e.timestamp,
            kind,
        }
    }
}
