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

impl From<Message> for MessageV1 {
    fn from(m: Message) -> Self {
        MessageV1 {
            execution: m.execution,
            event: m.event.into(),
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
struct FailureV1 {
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

impl From<HistoryEvent> for EventV1 {
    fn from(e: HistoryEvent) -> Self {
        let kind = match e.kind {
            EventKind::OrchestratorStarted => KindV1::OrchestratorStarted,
            EventKind::OrchestratorCompleted => KindV1::OrchestratorCompleted,
            EventKind::ExecutionStarted {
                name,
                input,
                execution_id,
                component,
            } => KindV1::ExecutionStarted {
                name,
                input,
                execution_id,
                component,
            },
            EventKind::TaskScheduled { id, name, input } => {
                KindV1::TaskScheduled { id, name, input }
            }
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
            EventKind::ExecutionTerminated { reason } => KindV1::ExecutionTerminated { reason },
            EventKind::ExecutionSuspended { reason } => KindV1::ExecutionSuspended { reason },
            EventKind::ExecutionResumed { reason } => KindV1::ExecutionResumed { reason },
            EventKind::ExecutionRewound { reason, voided } => {
                KindV1::ExecutionRewound { reason, voided }
            }
        };
        EventV1 {
            timestamp: e.timestamp,
            kind,
        }
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
            },
            KindV1::TaskScheduled { id, name, input } => {
                EventKind::TaskScheduled { id, name, input }
            }
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
            KindV1::ExecutionTerminated { reason } => EventKind::ExecutionTerminated { reason },
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
