//! Entity operations: `EntityOperationSignaled` (one way, resolved at once)
//! and `EntityOperationCalled` (completed by `EntityOperationCompleted` or
//! `EntityOperationFailed`). Both travel in the outbox to the entity's inbox;
//! a call names the caller's instance, execution and schedule ID, where the
//! entity sends its result.

use super::{CommandKind, Origin};
use crate::action::Action;
use crate::task::Outcome;
use weft_core::{EventKind, Json, ScheduleId};

pub(crate) struct EntitySignal;

impl CommandKind for EntitySignal {
    fn scheduled(&self, event: &EventKind) -> Option<ScheduleId> {
        match event {
            EventKind::EntityOperationSignaled { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// Same entity and operation; the input is not compared.
    fn same(&self, recorded: &EventKind, attempted: &EventKind) -> bool {
        match (recorded, attempted) {
            (
                EventKind::EntityOperationSignaled {
                    entity: a,
                    operation: x,
                    ..
                },
                EventKind::EntityOperationSignaled {
                    entity: b,
                    operation: y,
                    ..
                },
            ) => a == b && x == y,
            _ => false,
        }
    }

    fn actions(&self, scheduled: &EventKind, _origin: &Origin) -> Vec<Action> {
        match scheduled {
            EventKind::EntityOperationSignaled {
                entity,
                operation,
                input,
                ..
            } => vec![Action::SignalEntity {
                entity: entity.clone(),
                operation: operation.clone(),
                input: input.clone(),
            }],
            _ => Vec::new(),
        }
    }

    fn resolved_at_once(&self, _scheduled: &EventKind) -> Option<Outcome> {
        Some(Outcome::Completed(Json::null()))
    }
}

pub(crate) struct EntityCall;

impl CommandKind for EntityCall {
    fn scheduled(&self, event: &EventKind) -> Option<ScheduleId> {
        match event {
            EventKind::EntityOperationCalled { id, .. } => Some(*id),
            _ => None,
        }
    }

    fn completion(&self, event: &EventKind) -> Option<(ScheduleId, Outcome)> {
        match event {
            EventKind::EntityOperationCompleted {
                scheduled_id,
                result,
            } => Some((*scheduled_id, Outcome::Completed(result.clone()))),
            EventKind::EntityOperationFailed {
                scheduled_id,
                failure,
            } => Some((*scheduled_id, Outcome::Failed(failure.clone()))),
            _ => None,
        }
    }

    /// Same entity and operation; the input is not compared.
    fn same(&self, recorded: &EventKind, attempted: &EventKind) -> bool {
        match (recorded, attempted) {
            (
                EventKind::EntityOperationCalled {
                    entity: a,
                    operation: x,
                    ..
                },
                EventKind::EntityOperationCalled {
                    entity: b,
                    operation: y,
                    ..
                },
            ) => a == b && x == y,
            _ => false,
        }
    }

    fn actions(&self, scheduled: &EventKind, origin: &Origin) -> Vec<Action> {
        match (scheduled, origin.task(scheduled)) {
            (
                EventKind::EntityOperationCalled {
                    entity,
                    operation,
                    input,
                    ..
                },
                Some(caller),
            ) => vec![Action::CallEntity {
                entity: entity.clone(),
                operation: operation.clone(),
                input: input.clone(),
                caller,
            }],
            _ => Vec::new(),
        }
    }

    /// A rewind voided the call's failure: the operation is called again
    /// (with the same schedule ID), as a failed activity runs again, so the
    /// rewound code gets an answer instead of waiting forever.
    fn redo(&self, scheduled: &EventKind, origin: &Origin) -> Option<Action> {
        self.actions(scheduled, origin).pop()
    }
}
