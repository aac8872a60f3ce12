//! Durable timers: `TimerCreated`, completed by `TimerFired` (outcome `null`).

use super::{CommandKind, Origin};
use crate::action::Action;
use crate::task::Outcome;
use weft_core::{EventKind, Json, ScheduleId};

pub(crate) struct Timer;

impl CommandKind for Timer {
    fn scheduled(&self, event: &EventKind) -> Option<ScheduleId> {
        match event {
            EventKind::TimerCreated { id, .. } => Some(*id),
            _ => None,
        }
    }

    fn completion(&self, event: &EventKind) -> Option<(ScheduleId, Outcome)> {
        match event {
            EventKind::TimerFired { timer_id, .. } => {
                Some((*timer_id, Outcome::Completed(Json::null())))
            }
            _ => None,
        }
    }

    /// Timers compare by kind only: a changed due time is not a divergence
    /// (a replayed timer keeps the due time it was recorded with).
    fn same(&self, recorded: &EventKind, attempted: &EventKind) -> bool {
        matches!(
            (recorded, attempted),
            (
                EventKind::TimerCreated { .. },
                EventKind::TimerCreated { .. }
            )
        )
    }

    fn actions(&self, scheduled: &EventKind, _origin: &Origin) -> Vec<Action> {
        self.restore(scheduled).into_iter().collect()
    }

    fn abandon(&self, scheduled: &EventKind) -> Option<Action> {
        match scheduled {
            EventKind::TimerCreated { id, fire_at } => Some(Action::CancelTimer {
                id: *id,
                fire_at: *fire_at,
            }),
            _ => None,
        }
    }

    fn restore(&self, scheduled: &EventKind) -> Option<Action> {
        match scheduled {
            EventKind::TimerCreated { id, fire_at } => Some(Action::CreateTimer {
                id: *id,
                fire_at: *fire_at,
            }),
            _ => None,
        }
    }
}
