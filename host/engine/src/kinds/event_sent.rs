//! Events sent to other instances: `EventSent` in the sender's history,
//! `EventRaised` in the target's. One way: the task is resolved when it is
//! scheduled, and sending to an unknown or finished instance does not fail
//! the sender (Durable Functions' rule); the message is dropped.

use super::{CommandKind, Origin};
use crate::action::Action;
use crate::task::Outcome;
use weft_core::{EventKind, Json, ScheduleId};

pub(crate) struct EventSent;

impl CommandKind for EventSent {
    fn scheduled(&self, event: &EventKind) -> Option<ScheduleId> {
        match event {
            EventKind::EventSent { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// Same event name; target and payload are not compared.
    fn same(&self, recorded: &EventKind, attempted: &EventKind) -> bool {
        match (recorded, attempted) {
            (EventKind::EventSent { name: a, .. }, EventKind::EventSent { name: b, .. }) => a == b,
            _ => false,
        }
    }

    fn actions(&self, scheduled: &EventKind, _origin: &Origin) -> Vec<Action> {
        match scheduled {
            EventKind::EventSent {
                instance_id,
                name,
                input,
                ..
            } => vec![Action::SendEvent {
                instance: instance_id.clone(),
                name: name.clone(),
                input: input.clone(),
            }],
            _ => Vec::new(),
        }
    }

    fn resolved_at_once(&self, _scheduled: &EventKind) -> Option<Outcome> {
        Some(Outcome::Completed(Json::null()))
    }
}
