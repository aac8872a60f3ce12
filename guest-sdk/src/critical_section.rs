//! Critical sections: [`OrchestrationContext::lock`] and the [`LockGuard`]
//! that ends the section.
//!
//! Locking follows Durable Functions' `LockAsync`: the host acquires the
//! locks one entity at a time in one global order (so sections never
//! deadlock), and while they are held only this orchestration's operations
//! run on those entities. The host checks the rules (no nested section, calls
//! only to locked entities, one pending call per entity, no signals to locked
//! entities, no sub-orchestrations) and refuses a broken one at once with
//! [`Failure::LOCKING_RULES_VIOLATION`].
//!
//! The guard releases the locks when it is released or dropped, exactly once.
//! The host keeps the same bookkeeping from the history and releases whatever
//! is still held when the execution ends (return, failure, continue-as-new,
//! terminate), so a guard that is leaked never leaves an entity locked.

use crate::context::Runtime;
use crate::task::{Task, TaskKind};
use crate::{EntityId, Failure, OrchestrationContext};
use std::fmt;
use std::rc::Rc;

impl OrchestrationContext {
    /// Enters a critical section on `entities` and waits until every lock is
    /// held. Order and duplicates do not matter: the host sorts the set.
    ///
    /// Fails with [`Failure::LOCKING_RULES_VIOLATION`] when `entities` is
    /// empty or a section is already open (nothing is then locked, and there
    /// is no guard to release).
    ///
    /// ```no_run
    /// # use weft_sdk::prelude::*;
    /// # fn f(ctx: &OrchestrationContext) -> Result<(), Failure> {
    /// let from = EntityId::new("Account", "alice")?;
    /// let to = EntityId::new("Account", "bob")?;
    /// let section = ctx.lock(&[from.clone(), to.clone()])?;
    /// let balance: i64 = ctx.call_entity(&from, "get", ())?;
    /// if balance >= 10 {
    ///     ctx.call_entity::<_, ()>(&from, "withdraw", 10)?;
    ///     ctx.call_entity::<_, ()>(&to, "deposit", 10)?;
    /// }
    /// section.release(); // or let it drop
    /// # Ok(()) }
    /// ```
    pub fn lock(&self, entities: &[EntityId]) -> Result<LockGuard, Failure> {
        let ids: Vec<String> = entities.iter().map(ToString::to_string).collect();
        let handle = self.host().lock_entities(&ids);
        // On a refusal no section was opened: returning without a guard is
        // what keeps a refused nested lock from releasing the outer section.
        Task::<()>::new(handle, TaskKind::Lock, self.runtime().clone()).get()?;
        Ok(LockGuard {
            runtime: self.runtime().clone(),
            entities: entities.to_vec(),
            released: false,
        })
    }
}

/// An open critical section: the locks [`OrchestrationContext::lock`]
/// acquired. [`release`](LockGuard::release) it, or let it drop, to leave the
/// section; either sends the host one `unlock-entities`, exactly once.
///
/// `std::mem::forget` on a guard leaves the section open until the
/// orchestration ends, when the host releases it.
#[must_use = "dropping the guard at once releases the locks"]
pub struct LockGuard {
    runtime: Rc<Runtime>,
    entities: Vec<EntityId>,
    released: bool,
}

impl LockGuard {
    /// The entities as given to [`OrchestrationContext::lock`].
    pub fn entities(&self) -> &[EntityId] {
        &self.entities
    }

    /// Leaves the critical section: the locks are released with this turn.
    pub fn release(mut self) {
        self.unlock();
    }

    fn unlock(&mut self) {
        if !self.released {
            self.released = true;
            self.runtime.unlock_entities();
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.unlock();
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("entities", &self.entities)
            .field("released", &self.released)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{Command, FakeHost};
    use crate::{EntityId, Failure};

    fn ids() -> Vec<EntityId> {
        vec![
            EntityId::new("Account", "b").unwrap(),
            EntityId::new("Account", "a").unwrap(),
        ]
    }

    #[test]
    fn lock_waits_for_the_grant_and_release_unlocks_once() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, "null");
        let guard = ctx.lock(&ids()).unwrap();
        assert_eq!(guard.entities(), ids().as_slice());
        guard.release();
        assert_eq!(
            fake.commands(),
            vec![
                Command::lock(&["@account@b", "@account@a"]),
                Command::Unlock
            ]
        );
        assert_eq!(fake.waits(), vec![vec![0]]);
    }

    #[test]
    fn dropping_the_guard_unlocks_once() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, "null");
        {
            let _guard = ctx.lock(&ids()).unwrap();
        }
        assert_eq!(fake.commands().last(), Some(&Command::Unlock));
        assert_eq!(fake.commands().len(), 2);
    }

    #[test]
    fn a_forgotten_guard_sends_no_unlock() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, "null");
        std::mem::forget(ctx.lock(&ids()).unwrap());
        assert_eq!(
            fake.commands(),
            vec![Command::lock(&["@account@b", "@account@a"])]
        );
    }

    #[test]
    fn a_refused_lock_is_a_failure_and_unlocks_nothing() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, "null");
        let outer = ctx.lock(&ids()).unwrap();
        let refusal = Failure::new(Failure::LOCKING_RULES_VIOLATION, "nested");
        fake.fail(1, refusal.clone());
        let nested = ctx.lock(&[EntityId::new("account", "c").unwrap()]);
        assert_eq!(nested.unwrap_err(), refusal);
        // The refused request released nothing; only the outer guard does.
        assert_eq!(fake.commands().len(), 2);
        drop(outer);
        assert_eq!(
            fake.commands(),
            vec![
                Command::lock(&["@account@b", "@account@a"]),
                Command::lock(&["@account@c"]),
                Command::Unlock
            ]
        );
    }

    #[test]
    fn an_empty_set_goes_to_the_host_which_refuses_it() {
        let (ctx, fake) = FakeHost::context(0);
        fake.fail(0, Failure::new(Failure::LOCKING_RULES_VIOLATION, "empty"));
        let err = ctx.lock(&[]).unwrap_err();
        assert_eq!(err.error_type, Failure::LOCKING_RULES_VIOLATION);
        assert_eq!(fake.commands(), vec![Command::Lock(Vec::new())]);
    }
}
