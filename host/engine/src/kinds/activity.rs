//! Activities: `TaskScheduled`, completed by `TaskCompleted` or `TaskFailed`.

use super::{CommandKind, Origin};
use crate::action::Action;
use crate::task::Outcome;
use weft_core::{EventKind, HTTP_ACTIVITY, ScheduleId, same_target};

pub(crate) struct Activity;

impl CommandKind for Activity {
    fn scheduled(&self, event: &EventKind) -> Option<ScheduleId> {
        match event {
            EventKind::TaskScheduled { id, .. } => Some(*id),
            _ => None,
        }
    }

    fn completion(&self, event: &EventKind) -> Option<(ScheduleId, Outcome)> {
        match event {
            EventKind::TaskCompleted {
                scheduled_id,
                result,
            } => Some((*scheduled_id, Outcome::Completed(result.clone()))),
            EventKind::TaskFailed {
                scheduled_id,
                failure,
            } => Some((*scheduled_id, Outcome::Failed(failure.clone()))),
            _ => None,
        }
    }

    fn same(&self, recorded: &EventKind, attempted: &EventKind) -> bool {
        match (recorded, attempted) {
            (
                EventKind::TaskScheduled {
                    name: a, input: x, ..
                },
                EventKind::TaskScheduled {
                    name: b, input: y, ..
                },
            ) => a == b && (a != HTTP_ACTIVITY || same_target(x, y)),
            _ => false,
        }
    }

    fn actions(&self, scheduled: &EventKind, origin: &Origin) -> Vec<Action> {
        self.redo(scheduled, origin).into_iter().collect()
    }

    fn redo(&self, scheduled: &EventKind, _origin: &Origin) -> Option<Action> {
        match scheduled {
            EventKind::TaskScheduled {
                id,
                name,
                input,
                attempt,
            } => Some(Action::ScheduleActivity {
                id: *id,
                name: name.clone(),
                input: input.clone(),
                attempt: attempt.unwrap_or(1),
            }),
            _ => None,
        }
    }
}
