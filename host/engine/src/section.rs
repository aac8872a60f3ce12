//! The critical section an orchestration is in, and Durable Functions'
//! locking rules (reference/durable-entities.md §4.3), checked before a
//! command is recorded. A broken rule fails the task at once with
//! `weft.LockingRulesViolation` and records nothing, so a replay of the same
//! code refuses it the same way.
//!
//! The section is rebuilt on every run by the code's own `lock` and `unlock`
//! calls; the history says which section is open for the host's releases
//! (`kinds::open_section`).

use crate::task::{Task, TaskHandle, TaskState};
use std::collections::HashMap;
use weft_core::{EntityId, ScheduleId};

/// The error type of a broken locking rule.
pub const LOCKING_RULES_VIOLATION: &str = "weft.LockingRulesViolation";

/// An open critical section.
#[derive(Debug)]
pub(crate) struct Section {
    /// The lock request's schedule ID (names the section).
    pub id: ScheduleId,
    /// The lock request's task: resolved once every lock is held.
    pub handle: TaskHandle,
    /// The locked entities, sorted.
    pub entities: Vec<EntityId>,
    /// The latest call to each locked entity.
    pub calls: HashMap<EntityId, TaskHandle>,
}

impl Section {
    fn granted(&self, tasks: &[Task]) -> bool {
        matches!(
            tasks[self.handle as usize].state,
            TaskState::Resolved { .. }
        )
    }
}

/// Why entering a section is refused.
pub(crate) fn check_lock(section: &Option<Section>, entities: &[EntityId]) -> Result<(), String> {
    if entities.is_empty() {
        return Err("the list of entities to lock must not be empty".into());
    }
    if section.is_some() {
        return Err(
            "must not enter another critical section from within a critical section; \
             release the first one before locking again"
                .into(),
        );
    }
    Ok(())
}

/// Why a call to `entity` is refused inside the section.
pub(crate) fn check_call(
    section: &Option<Section>,
    tasks: &[Task],
    entity: &EntityId,
) -> Result<(), String> {
    let Some(s) = section else { return Ok(()) };
    if !s.granted(tasks) {
        return Err(
            "must await the completion of the lock request prior to calling any entity".into(),
        );
    }
    if !s.entities.contains(entity) {
        return Err(format!(
            "must not call entity '{entity}' from a critical section: it is not one of the locked entities"
        ));
    }
    if let Some(&h) = s.calls.get(entity)
        && matches!(tasks[h as usize].state, TaskState::Pending)
    {
        return Err(format!(
            "must not call entity '{entity}' from a critical section while a prior call to it is still pending"
        ));
    }
    Ok(())
}

/// Why a signal to `entity` is refused inside the section.
pub(crate) fn check_signal(section: &Option<Section>, entity: &EntityId) -> Result<(), String> {
    match section {
        Some(s) if s.entities.contains(entity) => Err(format!(
            "must not signal locked entity '{entity}' from a critical section; call it instead"
        )),
        _ => Ok(()),
    }
}

/// Why waiting on a sub-orchestration is refused inside the section.
pub(crate) fn check_sub_orchestration(section: &Option<Section>) -> Result<(), String> {
    match section {
        Some(_) => Err("while holding locks, cannot call sub-orchestrators".into()),
        None => Ok(()),
    }
}

/// Sorted (ordinal by name, then key) without duplicates: the one global
/// acquisition order that makes sections deadlock-free.
pub(crate) fn lock_order(mut entities: Vec<EntityId>) -> Vec<EntityId> {
    entities.sort();
    entities.dedup();
    entities
}
