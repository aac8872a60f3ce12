//! Critical sections: `EntityLockRequested` (completed by
//! `EntityLockGranted`) and `EntityUnlockSent` (resolved at once). The
//! request's schedule ID names the section; the owner of the locks is the
//! (instance, execution, section) triple, so a release from an older
//! execution or another section never unlocks someone else's lock.

use super::{CommandKind, Origin};
use crate::action::Action;
use crate::task::Outcome;
use weft_core::{EventKind, HistoryEvent, Json, ScheduleId};

pub(crate) struct LockRequest;

impl CommandKind for LockRequest {
    fn scheduled(&self, event: &EventKind) -> Option<ScheduleId> {
        match event {
            EventKind::EntityLockRequested { id, .. } => Some(*id),
            _ => None,
        }
    }

    fn completion(&self, event: &EventKind) -> Option<(ScheduleId, Outcome)> {
        match event {
            EventKind::EntityLockGranted { scheduled_id } => {
                Some((*scheduled_id, Outcome::Completed(Json::null())))
            }
            _ => None,
        }
    }

    /// The same set of entities (a changed lock set is a code change).
    fn same(&self, recorded: &EventKind, attempted: &EventKind) -> bool {
        match (recorded, attempted) {
            (
                EventKind::EntityLockRequested { entities: a, .. },
                EventKind::EntityLockRequested { entities: b, .. },
            ) => a == b,
            _ => false,
        }
    }

    fn actions(&self, scheduled: &EventKind, origin: &Origin) -> Vec<Action> {
        match (scheduled, origin.task(scheduled)) {
            (EventKind::EntityLockRequested { entities, .. }, Some(owner)) => {
                vec![Action::RequestLocks {
                    entities: entities.clone(),
                    owner,
                }]
            }
            _ => Vec::new(),
        }
    }
}

pub(crate) struct Unlock;

impl CommandKind for Unlock {
    fn scheduled(&self, event: &EventKind) -> Option<ScheduleId> {
        match event {
            EventKind::EntityUnlockSent { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The same section.
    fn same(&self, recorded: &EventKind, attempted: &EventKind) -> bool {
        match (recorded, attempted) {
            (
                EventKind::EntityUnlockSent { section: a, .. },
                EventKind::EntityUnlockSent { section: b, .. },
            ) => a == b,
            _ => false,
        }
    }

    fn actions(&self, scheduled: &EventKind, origin: &Origin) -> Vec<Action> {
        match scheduled {
            EventKind::EntityUnlockSent {
                section, entities, ..
            } => origin
                .task_of(*section)
                .map(|owner| Action::ReleaseLocks {
                    entities: entities.clone(),
                    owner,
                })
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    fn resolved_at_once(&self, _scheduled: &EventKind) -> Option<Outcome> {
        Some(Outcome::Completed(Json::null()))
    }
}

/// The section a history leaves open: requested and not released (whether
/// or not the locks were granted yet). Every way an execution ends releases
/// it (`release_held`), so no entity stays locked by an instance that has
/// finished; a request still travelling is refused by the entity once its
/// owner has ended.
pub(crate) fn open_section(
    history: &[HistoryEvent],
) -> Option<(ScheduleId, &[weft_core::EntityId])> {
    let mut open = None;
    for e in history {
        match &e.kind {
            EventKind::EntityLockRequested { id, entities } => {
                open = Some((*id, entities.as_slice()))
            }
            EventKind::EntityUnlockSent { section, .. }
                if open.is_some_and(|(id, _)| id == *section) =>
            {
                open = None
            }
            _ => {}
        }
    }
    open
}
