//! The write transaction as the op rules see it: one trait, two backends.
//!
//! `apply.rs`, `entities.rs` and `purge.rs` decide what each op does (the
//! fences, the drop rules, the outbox) against [`Tx`] and nothing else, so
//! redb and PostgreSQL cannot disagree on a rule: there is one copy of each.
//! A backend supplies the primitive reads and writes. redb writes its tables
//! directly (`redb_tx.rs`); PostgreSQL reads the rows a batch names under
//! row locks, keeps the batch's writes in memory and writes them set-based
//! before it commits (`pg/tx.rs`).
//!
//! Every method sees the writes made earlier in the same transaction.

use weft_core::{EntityId, ExecutionId, HistoryEvent, InstanceId, Message, RuntimeStatus};

use crate::error::StoreError;
use crate::records::{
    ActivityWork, EntityRecord, InstanceFilter, InstanceRecord, TimerEntry, TimerKey,
};

/// An instance a purge may delete: its ID, created time and status, as the
/// backend's index has them (the rules check them against the row).
pub(crate) type PurgeCandidate = (String, u64, RuntimeStatus);

/// The primitive reads and writes of one write transaction of one task hub.
pub(crate) trait Tx {
    /// True when `fence`'s partition is still leased to its owner at its
    /// epoch. Only backends that hosts share have leases; the others hold
    /// every fence.
    fn fence_holds(&mut self, _fence: &crate::lease::Fence) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// The instance's row.
    fn instance(&mut self, id: &InstanceId) -> Result<Option<InstanceRecord>, StoreError>;
    /// Writes an instance row; `old` is the row it replaces (as read in this
    /// transaction), `None` for a new instance.
    fn put_instance(
        &mut self,
        old: Option<&InstanceRecord>,
        new: InstanceRecord,
    ) -> Result<(), StoreError>;
    /// Deletes an instance row; returns it when it existed.
    fn remove_instance(&mut self, id: &str) -> Result<Option<InstanceRecord>, StoreError>;

    /// Writes `events` at indexes `from..` of the instance's history.
    fn append_history(
        &mut self,
        id: &InstanceId,
        from: u32,
        events: Vec<HistoryEvent>,
    ) -> Result<(), StoreError>;
    /// Deletes the instance's whole history.
    fn clear_history(&mut self, id: &str) -> Result<(), StoreError>;

    /// Appends to an inbox under a fresh sequence number, which it returns.
    fn append_inbox(&mut self, id: &InstanceId, message: Message) -> Result<u64, StoreError>;
    /// Deletes one inbox entry (absent ones are ignored).
    fn remove_inbox(&mut self, id: &str, seq: u64) -> Result<(), StoreError>;
    /// True when inbox entry `seq` of `id` is there.
    fn inbox_has(&mut self, id: &str, seq: u64) -> Result<bool, StoreError>;
    /// Deletes the instance's whole inbox.
    fn clear_inbox(&mut self, id: &str) -> Result<(), StoreError>;
    /// True when the inbox holds no message.
    fn inbox_is_empty(&mut self, id: &str) -> Result<bool, StoreError>;

    /// Queues a work item under a fresh sequence number, which it returns.
    fn enqueue_activity(&mut self, work: ActivityWork) -> Result<u64, StoreError>;
    /// Deletes work item `seq`; returns it when it existed.
    fn remove_activity(&mut self, seq: u64) -> Result<Option<ActivityWork>, StoreError>;
    /// Deletes every work item of the instance (any execution); returns how many.
    fn remove_activities_of(&mut self, id: &str) -> Result<usize, StoreError>;

    /// Inserts a timer; one with the same instance and timer ID is replaced.
    fn insert_timer(&mut self, entry: TimerEntry) -> Result<(), StoreError>;
    /// Deletes the timer with exactly this key; returns its execution when it existed.
    fn remove_timer(&mut self, key: &TimerKey) -> Result<Option<ExecutionId>, StoreError>;
    /// Deletes every timer of the instance.
    fn clear_timers(&mut self, id: &str) -> Result<(), StoreError>;

    /// Writes an entity's row.
    fn put_entity(&mut self, record: EntityRecord) -> Result<(), StoreError>;
    /// Up to `limit` entities, by ID, with no state and no lock.
    fn empty_entities(&mut self, limit: usize) -> Result<Vec<EntityId>, StoreError>;
    /// Deletes an entity's row.
    fn remove_entity(&mut self, id: &EntityId) -> Result<(), StoreError>;

    /// Up to `limit` instances with one of `statuses` that match `filter`'s
    /// created-time range, ID prefix and component, oldest first (created
    /// time, then ID). `statuses` is never empty.
    fn purge_candidates(
        &mut self,
        filter: &InstanceFilter,
        statuses: &[RuntimeStatus],
        limit: usize,
    ) -> Result<Vec<PurgeCandidate>, StoreError>;

    /// Stores component bytes under `digest` unless the digest is stored.
    fn put_component_bytes(&mut self, digest: &str, bytes: &[u8]) -> Result<(), StoreError>;
}
