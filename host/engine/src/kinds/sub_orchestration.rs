//! Sub-orchestrations: `SubOrchestrationInstanceCreated`, completed
//! by `SubOrchestrationInstanceCompleted` or `…Failed`.
//!
//! A new call becomes a start in the turn's outbox, committed with the turn:
//! the child is created with a parent reference, and its end is reported back
//! to the parent's inbox in the same transaction as the child's last turn, so
//! a crash can neither lose nor repeat a start or a report. A detached start
//! (fire and forget) has no parent reference and is resolved at once with the
//! child's instance ID.

use super::{CommandKind, Origin};
use crate::action::Action;
use crate::task::Outcome;
use weft_core::{EventKind, InstanceId, Json, ParentInstance, ScheduleId};

pub(crate) struct SubOrchestration;

/// The default instance ID of a child: `{parentInstanceId}:{scheduleId}`.
/// Deterministic, so a replay names the same child, and unique within the
/// parent's execution. (Durable Functions uses a GUID derived from the
/// parent's ID and a counter; this is the same idea, readable.)
pub fn default_child_id(parent: &InstanceId, id: ScheduleId) -> String {
    format!("{parent}:{}", id.0)
}

impl CommandKind for SubOrchestration {
    fn scheduled(&self, event: &EventKind) -> Option<ScheduleId> {
        match event {
            EventKind::SubOrchestrationInstanceCreated { id, .. } => Some(*id),
            _ => None,
        }
    }

    fn completion(&self, event: &EventKind) -> Option<(ScheduleId, Outcome)> {
        match event {
            EventKind::SubOrchestrationInstanceCompleted {
                scheduled_id,
                result,
            } => Some((*scheduled_id, Outcome::Completed(result.clone()))),
            EventKind::SubOrchestrationInstanceFailed {
                scheduled_id,
                failure,
            } => Some((*scheduled_id, Outcome::Failed(failure.clone()))),
            _ => None,
        }
    }

    /// Same orchestrator name and the same kind of start (waited on or
    /// detached). The child's ID and input are not compared.
    fn same(&self, recorded: &EventKind, attempted: &EventKind) -> bool {
        match (recorded, attempted) {
            (
                EventKind::SubOrchestrationInstanceCreated {
                    name: a,
                    detached: da,
                    ..
                },
                EventKind::SubOrchestrationInstanceCreated {
                    name: b,
                    detached: db,
                    ..
                },
            ) => a == b && da == db,
            _ => false,
        }
    }

    fn actions(&self, scheduled: &EventKind, origin: &Origin) -> Vec<Action> {
        start(scheduled, origin).into_iter().collect()
    }

    fn resolved_at_once(&self, scheduled: &EventKind) -> Option<Outcome> {
        match scheduled {
            EventKind::SubOrchestrationInstanceCreated {
                instance_id,
                detached: true,
                ..
            } => Some(Outcome::Completed(Json::from_value(instance_id.as_str()))),
            _ => None,
        }
    }

    /// A child whose failure a rewind voided is rewound too (or started
    /// again if it never ran), so its completed work is kept at every depth.
    fn redo(&self, scheduled: &EventKind, origin: &Origin) -> Option<Action> {
        match start(scheduled, origin)? {
            Action::StartOrchestration {
                instance,
                name,
                input,
                parent,
                ..
            } => Some(Action::RewindOrchestration {
                instance,
                name,
                input,
                parent,
            }),
            _ => None,
        }
    }
}

fn start(scheduled: &EventKind, origin: &Origin) -> Option<Action> {
    let EventKind::SubOrchestrationInstanceCreated {
        id,
        name,
        instance_id,
        input,
        detached,
    } = scheduled
    else {
        return None;
    };
    let parent = match (detached, &origin.instance, &origin.execution) {
        (false, Some(instance), Some(execution)) => Some(ParentInstance {
            instance_id: instance.clone(),
            execution_id: execution.clone(),
            schedule_id: *id,
        }),
        _ => None,
    };
    Some(Action::StartOrchestration {
        id: *id,
        instance: instance_id.clone(),
        name: name.clone(),
        input: input.clone(),
        parent,
    })
}
