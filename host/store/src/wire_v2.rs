//! Format version 2: the values version 1 cannot express — the events of
//! sub-orchestrations and sent events, a start that names its parent, a
//! retry's activity call (with its attempt number), an instance row with a
//! parent and a retry's work item. Every value version 1 can express is still
//! written as version 1, so version 1's types never change and older values
//! are read as they always were (`docs/history-format.md`).

use serde::{Deserialize, Serialize};
use weft_core::{
    EventKind, ExecutionId, HistoryEvent, InstanceId, Json, Message, ParentInstance, RuntimeStatus,
    ScheduleId, Timestamp,
};

use crate::records::{ActivityWork, InstanceRecord};
use crate::wire::FailureV1;

/// A parent reference.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ParentV2 {
    instance_id: InstanceId,
    execution_id: ExecutionId,
    schedule_id: ScheduleId,
}

impl From<ParentInstance> for ParentV2 {
    fn from(p: ParentInstance) -> Self {
        ParentV2 {
            instance_id: p.instance_id,
            execution_id: p.execution_id,
            schedule_id: p.schedule_id,
        }
    }
}

impl From<ParentV2> for ParentInstance {
    fn from(p: ParentV2) -> Self {
        ParentInstance {
            instance_id: p.instance_id,
            execution_id: p.execution_id,
            schedule_id: p.schedule_id,
        }
    }
}

/// An instance row of a sub-orchestration: version 1's fields and `parent`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstanceV2 {
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
    parent: ParentV2,
}

impl InstanceV2 {
    /// `None` for a record without a parent (written as version 1).
    pub(crate) fn of(r: &InstanceRecord) -> Option<InstanceV2> {
        let parent = r.parent.clone()?;
        let r = r.clone();
        Some(InstanceV2 {
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
            parent: parent.into(),
        })
    }
}

impl From<InstanceV2> for InstanceRecord {
    fn from(r: InstanceV2) -> Self {
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
            parent: Some(r.parent.into()),
        }
    }
}

/// A history event version 1 cannot express.
#[derive(Serialize, Deserialize)]
pub(crate) struct EventV2 {
    timestamp: Timestamp,
    kind: KindV2,
}

/// Externally tagged like version 1's kinds.
#[derive(Serialize, Deserialize)]
#[serde(rename_all_fields = "camelCase")]
enum KindV2 {
    /// A start that names its parent.
    ExecutionStarted {
        name: String,
        input: Json,
        execution_id: ExecutionId,
        component: String,
        parent: ParentV2,
    },
    SubOrchestrationInstanceCreated {
        id: ScheduleId,
        name: String,
        instance_id: InstanceId,
        input: Json,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        detached: bool,
    },
    SubOrchestrationInstanceCompleted {
        scheduled_id: ScheduleId,
        result: Json,
    },
    SubOrchestrationInstanceFailed {
        scheduled_id: ScheduleId,
        failure: FailureV1,
    },
    EventSent {
        id: ScheduleId,
        instance_id: InstanceId,
        name: String,
        input: Json,
    },
    /// A recursive terminate request.
    ExecutionTerminated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        recurse: bool,
    },
    /// A retry's activity call, with its attempt number.
    TaskScheduled {
        id: ScheduleId,
        name: String,
        input: Json,
        attempt: u32,
    },
}

impl From<HistoryEvent> for EventV2 {
    /// Only for events version 1 cannot express (see `EventV1::try_from`).
    fn from(e: HistoryEvent) -> Self {
        let kind = match e.kind {
            EventKind::ExecutionStarted {
                name,
                input,
                execution_id,
                component,
                parent: Some(parent),
            } => KindV2::ExecutionStarted {
                name,
                input,
                execution_id,
                component,
                parent: parent.into(),
            },
            EventKind::SubOrchestrationInstanceCreated {
                id,
                name,
                instance_id,
                input,
                detached,
            } => KindV2::SubOrchestrationInstanceCreated {
                id,
                name,
                instance_id,
                input,
                detached,
            },
            EventKind::SubOrchestrationInstanceCompleted {
                scheduled_id,
                result,
            } => KindV2::SubOrchestrationInstanceCompleted {
                scheduled_id,
                result,
            },
            EventKind::SubOrchestrationInstanceFailed {
                scheduled_id,
                failure,
            } => KindV2::SubOrchestrationInstanceFailed {
                scheduled_id,
                failure: failure.into(),
            },
            EventKind::EventSent {
                id,
                instance_id,
                name,
                input,
            } => KindV2::EventSent {
                id,
                instance_id,
                name,
                input,
            },
            EventKind::TaskScheduled {
                id,
                name,
                input,
                attempt: Some(attempt),
            } => KindV2::TaskScheduled {
                id,
                name,
                input,
                attempt,
            },
            EventKind::ExecutionTerminated {
                reason,
                recurse: true,
            } => KindV2::ExecutionTerminated {
                reason,
                recurse: true,
            },
            other => unreachable!("{} is written as version 1", other.type_name()),
        };
        EventV2 {
            timestamp: e.timestamp,
            kind,
        }
    }
}

impl From<EventV2> for HistoryEvent {
    fn from(e: EventV2) -> Self {
        let kind = match e.kind {
            KindV2::ExecutionStarted {
                name,
                input,
                execution_id,
                component,
                parent,
            } => EventKind::ExecutionStarted {
                name,
                input,
                execution_id,
                component,
                parent: Some(parent.into()),
            },
            KindV2::SubOrchestrationInstanceCreated {
                id,
                name,
                instance_id,
                input,
                detached,
            } => EventKind::SubOrchestrationInstanceCreated {
                id,
                name,
                instance_id,
                input,
                detached,
            },
            KindV2::SubOrchestrationInstanceCompleted {
                scheduled_id,
                result,
            } => EventKind::SubOrchestrationInstanceCompleted {
                scheduled_id,
                result,
            },
            KindV2::SubOrchestrationInstanceFailed {
                scheduled_id,
                failure,
            } => EventKind::SubOrchestrationInstanceFailed {
                scheduled_id,
                failure: failure.into(),
            },
            KindV2::EventSent {
                id,
                instance_id,
                name,
                input,
            } => EventKind::EventSent {
                id,
                instance_id,
                name,
                input,
            },
            KindV2::ExecutionTerminated { reason, recurse } => {
                EventKind::ExecutionTerminated { reason, recurse }
            }
            KindV2::TaskScheduled {
                id,
                name,
                input,
                attempt,
            } => EventKind::TaskScheduled {
                id,
                name,
                input,
                attempt: Some(attempt),
            },
        };
        HistoryEvent {
            timestamp: e.timestamp,
            kind,
        }
    }
}

/// An inbox message whose event version 1 cannot express.
#[derive(Serialize, Deserialize)]
pub(crate) struct MessageV2 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    execution: Option<ExecutionId>,
    event: EventV2,
}

impl From<Message> for MessageV2 {
    fn from(m: Message) -> Self {
        MessageV2 {
            execution: m.execution,
            event: m.event.into(),
        }
    }
}

impl From<MessageV2> for Message {
    fn from(m: MessageV2) -> Self {
        Message {
            execution: m.execution,
            event: m.event.into(),
        }
    }
}

/// An activity queue row of a retry: version 1's fields and `attempt`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivityV2 {
    instance: InstanceId,
    execution: ExecutionId,
    scheduled_id: ScheduleId,
    name: String,
    input: Json,
    component: String,
    attempt: u32,
}

impl ActivityV2 {
    /// `None` for a first attempt (written as version 1).
    pub(crate) fn of(w: &ActivityWork) -> Option<ActivityV2> {
        (w.attempt > 1).then(|| ActivityV2 {
            instance: w.instance.clone(),
            execution: w.execution.clone(),
            scheduled_id: w.scheduled_id,
            name: w.name.clone(),
            input: w.input.clone(),
            component: w.component.clone(),
            attempt: w.attempt,
        })
    }
}

impl From<ActivityV2> for ActivityWork {
    fn from(w: ActivityV2) -> Self {
        ActivityWork {
            instance: w.instance,
            execution: w.execution,
            scheduled_id: w.scheduled_id,
            name: w.name,
            input: w.input,
            component: w.component,
            attempt: w.attempt,
        }
    }
}
