//! Format version 3: the events of durable entities and critical sections
//! in an orchestration's history (`EntityOperationSignaled`, `…Called`,
//! `…Completed`, `…Failed`, `EntityLockRequested`, `EntityLockGranted`,
//! `EntityUnlockSent`). Every value versions 1 and 2 express is still
//! written as before (`docs/history-format.md`). Entity IDs are stored in
//! their canonical text form `@name@key`.

use serde::{Deserialize, Serialize};
use weft_core::{
    EntityId, EventKind, ExecutionId, HistoryEvent, Json, Message, ParentInstance, ScheduleId,
    Timestamp,
};

use crate::records::EntityRecord;
use crate::wire::FailureV1;
use crate::wire_v2::ParentV2;

/// A history event only version 3 expresses.
#[derive(Serialize, Deserialize)]
pub(crate) struct EventV3 {
    timestamp: Timestamp,
    kind: KindV3,
}

/// Externally tagged like the older versions' kinds. The names are the
/// events' names, which all start with `Entity`.
#[allow(clippy::enum_variant_names)]
#[derive(Serialize, Deserialize)]
#[serde(rename_all_fields = "camelCase")]
enum KindV3 {
    EntityOperationSignaled {
        id: ScheduleId,
        entity: EntityId,
        operation: String,
        input: Json,
    },
    EntityOperationCalled {
        id: ScheduleId,
        entity: EntityId,
        operation: String,
        input: Json,
    },
    EntityOperationCompleted {
        scheduled_id: ScheduleId,
        result: Json,
    },
    EntityOperationFailed {
        scheduled_id: ScheduleId,
        failure: FailureV1,
    },
    EntityLockRequested {
        id: ScheduleId,
        entities: Vec<EntityId>,
    },
    EntityLockGranted {
        scheduled_id: ScheduleId,
    },
    EntityUnlockSent {
        id: ScheduleId,
        section: ScheduleId,
        entities: Vec<EntityId>,
    },
    EntityOperationRequested {
        operation: String,
        input: Json,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller: Option<ParentV2>,
    },
    EntityLockRequest {
        owner: ParentV2,
        entities: Vec<EntityId>,
        position: u32,
    },
    EntityUnlockRequest {
        owner: ParentV2,
    },
}

impl TryFrom<HistoryEvent> for EventV3 {
    type Error = HistoryEvent;
    /// The version 3 form of `e`, or `e` back when it is not an entity event.
    fn try_from(e: HistoryEvent) -> Result<EventV3, HistoryEvent> {
        let kind = match e.kind {
            EventKind::EntityOperationSignaled {
                id,
                entity,
                operation,
                input,
            } => KindV3::EntityOperationSignaled {
                id,
                entity,
                operation,
                input,
            },
            EventKind::EntityOperationCalled {
                id,
                entity,
                operation,
                input,
            } => KindV3::EntityOperationCalled {
                id,
                entity,
                operation,
                input,
            },
            EventKind::EntityOperationCompleted {
                scheduled_id,
                result,
            } => KindV3::EntityOperationCompleted {
                scheduled_id,
                result,
            },
            EventKind::EntityOperationFailed {
                scheduled_id,
                failure,
            } => KindV3::EntityOperationFailed {
                scheduled_id,
                failure: failure.into(),
            },
            EventKind::EntityLockRequested { id, entities } => {
                KindV3::EntityLockRequested { id, entities }
            }
            EventKind::EntityLockGranted { scheduled_id } => {
                KindV3::EntityLockGranted { scheduled_id }
            }
            EventKind::EntityUnlockSent {
                id,
                section,
                entities,
            } => KindV3::EntityUnlockSent {
                id,
                section,
                entities,
            },
            EventKind::EntityOperationRequested {
                operation,
                input,
                caller,
            } => KindV3::EntityOperationRequested {
                operation,
                input,
                caller: caller.map(Into::into),
            },
            EventKind::EntityLockRequest {
                owner,
                entities,
                position,
            } => KindV3::EntityLockRequest {
                owner: owner.into(),
                entities,
                position,
            },
            EventKind::EntityUnlockRequest { owner } => KindV3::EntityUnlockRequest {
                owner: owner.into(),
            },
            kind => {
                return Err(HistoryEvent {
                    timestamp: e.timestamp,
                    kind,
                });
            }
        };
        Ok(EventV3 {
            timestamp: e.timestamp,
            kind,
        })
    }
}

impl From<EventV3> for HistoryEvent {
    fn from(e: EventV3) -> Self {
        let kind = match e.kind {
            KindV3::EntityOperationSignaled {
                id,
                entity,
                operation,
                input,
            } => EventKind::EntityOperationSignaled {
                id,
                entity,
                operation,
                input,
            },
            KindV3::EntityOperationCalled {
                id,
                entity,
                operation,
                input,
            } => EventKind::EntityOperationCalled {
                id,
                entity,
                operation,
                input,
            },
            KindV3::EntityOperationCompleted {
                scheduled_id,
                result,
            } => EventKind::EntityOperationCompleted {
                scheduled_id,
                result,
            },
            KindV3::EntityOperationFailed {
                scheduled_id,
                failure,
            } => EventKind::EntityOperationFailed {
                scheduled_id,
                failure: failure.into(),
            },
            KindV3::EntityLockRequested { id, entities } => {
                EventKind::EntityLockRequested { id, entities }
            }
            KindV3::EntityLockGranted { scheduled_id } => {
                EventKind::EntityLockGranted { scheduled_id }
            }
            KindV3::EntityUnlockSent {
                id,
                section,
                entities,
            } => EventKind::EntityUnlockSent {
                id,
                section,
                entities,
            },
            KindV3::EntityOperationRequested {
                operation,
                input,
                caller,
            } => EventKind::EntityOperationRequested {
                operation,
                input,
                caller: caller.map(ParentInstance::from),
            },
            KindV3::EntityLockRequest {
                owner,
                entities,
                position,
            } => EventKind::EntityLockRequest {
                owner: owner.into(),
                entities,
                position,
            },
            KindV3::EntityUnlockRequest { owner } => EventKind::EntityUnlockRequest {
                owner: owner.into(),
            },
        };
        HistoryEvent {
            timestamp: e.timestamp,
            kind,
        }
    }
}

/// An inbox message whose event only version 3 expresses (an entity's
/// answer to a call, a lock grant).
#[derive(Serialize, Deserialize)]
pub(crate) struct MessageV3 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    execution: Option<ExecutionId>,
    event: EventV3,
}

impl TryFrom<Message> for MessageV3 {
    type Error = Message;
    fn try_from(m: Message) -> Result<MessageV3, Message> {
        match EventV3::try_from(m.event) {
            Ok(event) => Ok(MessageV3 {
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

impl From<MessageV3> for Message {
    fn from(m: MessageV3) -> Self {
        Message {
            execution: m.execution,
            event: m.event.into(),
        }
    }
}

/// An entity's row.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntityV3 {
    entity: EntityId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locked_by: Option<ParentV2>,
    last_operation: Timestamp,
}

impl From<EntityRecord> for EntityV3 {
    fn from(r: EntityRecord) -> Self {
        EntityV3 {
            entity: r.entity,
            state: r.state,
            locked_by: r.locked_by.map(Into::into),
            last_operation: r.last_operation,
        }
    }
}

impl From<EntityV3> for EntityRecord {
    fn from(r: EntityV3) -> Self {
        EntityRecord {
            entity: r.entity,
            state: r.state,
            locked_by: r.locked_by.map(Into::into),
            last_operation: r.last_operation,
        }
    }
}
