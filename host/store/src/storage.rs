//! The storage seam: what the host needs from a backend, as one trait.
//!
//! The host holds an `Arc<dyn Storage>` per task hub and never names a
//! backend type. Everything that changes state is an [`Op`] batch
//! ([`Storage::commit`], group-committed by the backend); reads are async and
//! never block the caller's thread. The redb file ([`RedbStorage`]) is one
//! implementation; the store conformance suite (`tests/conformance.rs`) runs
//! against this trait, so another backend passes the same cases by adding one
//! line there. Errors are [`StoreError`]s, which carry no backend type.
//!
//! [`RedbStorage`]: crate::RedbStorage

use std::sync::Arc;

use weft_core::{EntityId, HistoryEvent, InstanceId};

use crate::apply::OpResult;
use crate::error::{Fault, StoreError};
use crate::hub::Hub;
use crate::ops::Op;
use crate::records::{
    ActivityWork, EntityQuery, EntityRecord, InstanceFilter, InstanceRecord, TimerEntry,
};
use crate::registry::{ComponentRecord, CurrentName};
use crate::store::{Inbox, StoreStats};

/// One page of [`Storage::list_entities`] and the ID to continue after.
pub type EntityPage = (Vec<EntityRecord>, Option<String>);

/// One page of [`Storage::list_instances`] and the token for the next.
pub type InstancePage = (Vec<InstanceRecord>, Option<String>);

/// Durable state of one task hub, plus the component registry every hub of
/// the backend shares. `Send + Sync`; share it as `Arc<dyn Storage>`.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + 'static {
    /// The task hub this handle reads and writes.
    fn task_hub(&self) -> &Hub;

    /// Applies `ops` in order in one transaction, batched with other callers'
    /// ops (group commit), and answers once it is durable: one answer per op.
    /// An op rejected with an [`OpError`](crate::OpError) wrote nothing; a
    /// `StoreError` means none of `ops` was written.
    async fn commit(&self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError>;

    /// [`Storage::commit`] of one op.
    async fn submit(&self, op: Op) -> Result<OpResult, StoreError> {
        let mut results = self.commit(vec![op]).await?;
        Ok(results.pop().expect("one answer per op"))
    }

    /// The instance's row, if it exists.
    async fn instance(&self, id: &InstanceId) -> Result<Option<InstanceRecord>, StoreError>;
    /// The instance's history, in order (empty when it does not exist).
    async fn history(&self, id: &InstanceId) -> Result<Vec<HistoryEvent>, StoreError>;
    /// The instance's inbox, oldest first, with sequence numbers.
    async fn inbox(&self, id: &InstanceId) -> Result<Inbox, StoreError>;
    /// Every non-empty inbox, grouped by instance (startup recovery).
    async fn all_inboxes(&self) -> Result<Vec<(InstanceId, Inbox)>, StoreError>;
    /// Every queued activity, in queue order (startup recovery).
    async fn activity_queue(&self) -> Result<Vec<(u64, ActivityWork)>, StoreError>;
    /// Every pending timer, earliest first (startup recovery).
    async fn timers(&self) -> Result<Vec<TimerEntry>, StoreError>;
    /// Instances matching `filter` by created time then ID, at most `top` per
    /// page; pass the token back for the next page (`None`: last page). A
    /// token this backend did not issue is [`StoreError::BadContinuation`].
    async fn list_instances(
        &self,
        filter: &InstanceFilter,
        top: usize,
        continuation: Option<&str>,
    ) -> Result<InstancePage, StoreError>;
    /// How many instance rows the hub holds.
    async fn instance_count(&self) -> Result<u64, StoreError>;

    /// An entity's row, if it ever ran an operation.
    async fn entity(&self, id: &EntityId) -> Result<Option<EntityRecord>, StoreError>;
    /// One page of entities matching `query`, by ID, and the entity ID to
    /// continue after (`None`: last page).
    async fn list_entities(&self, query: &EntityQuery) -> Result<EntityPage, StoreError>;

    /// The task hubs that exist in this backend, sorted by name.
    async fn hubs(&self) -> Result<Vec<Hub>, StoreError>;
    /// A handle on another task hub of the same backend, created when new.
    async fn open_hub(&self, hub: &Hub) -> Result<Arc<dyn Storage>, StoreError>;
    /// Deletes every row of `hub`; false when it had none. Stop its
    /// dispatcher first: a handle made before refuses to write afterwards.
    async fn delete_hub(&self, hub: &Hub) -> Result<bool, StoreError>;

    /// Stores a component and makes it current for every name it exports;
    /// false (nothing changed) when the digest is already stored.
    async fn put_component(
        &self,
        record: &ComponentRecord,
        bytes: Vec<u8>,
    ) -> Result<bool, StoreError>;
    /// Every stored component's record.
    async fn registered_components(&self) -> Result<Vec<ComponentRecord>, StoreError>;
    /// The current digest of every name.
    async fn current_components(&self) -> Result<Vec<CurrentName>, StoreError>;
    /// A component's bytes.
    async fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Removes a component; a name it was current for moves to the most
    /// recently deployed remaining component exporting it. False when absent.
    async fn remove_component(&self, digest: &str) -> Result<bool, StoreError>;
    /// Components kept in an older layout, to be registered by the host
    /// (which must load them to learn their names). Empty for most backends.
    async fn legacy_components(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(Vec::new())
    }
    /// Drops the older layout once its components are registered.
    async fn drop_legacy_components(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The partition leases through which several hosts share this hub;
    /// `None` when one host serves it alone (it owns every partition and
    /// its ops need no fence).
    fn leases(&self) -> Option<Arc<dyn crate::lease::Leases>> {
        None
    }

    /// Why writes are failing, or `None` when the last write (or probe)
    /// succeeded: what `/readyz` says.
    fn storage_fault(&self) -> Option<Fault>;
    /// What this handle has committed since it was opened.
    fn stats(&self) -> StoreStats;
}
