//! [`Storage`] on a redb file: a [`Store`] handle, its group-commit
//! [`Writer`] thread, and reads moved off the caller's thread with
//! `spawn_blocking` (redb reads block on disk I/O).

use std::path::Path;
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
use crate::storage::{EntityPage, InstancePage, Storage};
use crate::store::{Inbox, Store, StoreStats};
use crate::writer::{Writer, WriterHandle};

/// One task hub of a redb file, as a [`Storage`].
pub struct RedbStorage {
    store: Arc<Store>,
    writer: WriterHandle,
}

impl RedbStorage {
    /// Opens (or creates) the file at `path` and the task hub `hub` in it,
    /// and starts the hub's writer thread.
    pub async fn open(path: &Path, hub: &Hub) -> Result<Arc<RedbStorage>, StoreError> {
        let (path, hub) = (path.to_owned(), hub.clone());
        let store = blocking(move || Store::open(&path).and_then(|s| s.hub(&hub))).await?;
        Ok(RedbStorage::over(Arc::new(store)))
    }

    /// Serves an open store handle (its writer thread starts here).
    pub fn over(store: Arc<Store>) -> Arc<RedbStorage> {
        let writer = Writer::spawn(store.clone());
        Arc::new(RedbStorage { store, writer })
    }

    /// The synchronous handle underneath (for tools and tests that read the
    /// file directly).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        blocking(move || f(&store)).await
    }
}

/// Runs a blocking store call on tokio's blocking pool.
async fn blocking<T, F>(f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(StoreError::corrupt(
            "a store read",
            format!("it panicked: {e}"),
        ))
    })
}

#[async_trait::async_trait]
impl Storage for RedbStorage {
    fn task_hub(&self) -> &Hub {
        self.store.task_hub()
    }

    async fn commit(&self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError> {
        self.writer.submit_many(ops).await
    }

    async fn instance(&self, id: &InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
        let id = id.clone();
        self.read(move |s| s.instance(&id)).await
    }

    async fn entity(&self, id: &EntityId) -> Result<Option<EntityRecord>, StoreError> {
        let id = id.clone();
        self.read(move |s| s.entity(&id)).await
    }

    async fn list_entities(&self, query: &EntityQuery) -> Result<EntityPage, StoreError> {
        let query = query.clone();
        self.read(move |s| s.list_entities(&query)).await
    }

    async fn history(&self, id: &InstanceId) -> Result<Vec<HistoryEvent>, StoreError> {
        let id = id.clone();
        self.read(move |s| s.history(&id)).await
    }

    async fn inbox(&self, id: &InstanceId) -> Result<Inbox, StoreError> {
        let id = id.clone();
        self.read(move |s| s.inbox(&id)).await
    }

    async fn all_inboxes(&self) -> Result<Vec<(InstanceId, Inbox)>, StoreError> {
        self.read(Store::all_inboxes).await
    }

    async fn activity_queue(&self) -> Result<Vec<(u64, ActivityWork)>, StoreError> {
        self.read(Store::activity_queue).await
    }

    async fn timers(&self) -> Result<Vec<TimerEntry>, StoreError> {
        self.read(Store::timers).await
    }

    async fn list_instances(
        &self,
        filter: &InstanceFilter,
        top: usize,
        continuation: Option<&str>,
    ) -> Result<InstancePage, StoreError> {
        let (filter, continuation) = (filter.clone(), continuation.map(str::to_owned));
        self.read(move |s| s.list_instances(&filter, top, continuation.as_deref()))
            .await
    }

    async fn instance_count(&self) -> Result<u64, StoreError> {
        self.read(Store::instance_count).await
    }

    async fn hubs(&self) -> Result<Vec<Hub>, StoreError> {
        self.read(Store::hubs).await
    }

    async fn open_hub(&self, hub: &Hub) -> Result<Arc<dyn Storage>, StoreError> {
        let hub = hub.clone();
        let store = self.read(move |s| s.hub(&hub)).await?;
        Ok(RedbStorage::over(Arc::new(store)))
    }

    async fn delete_hub(&self, hub: &Hub) -> Result<bool, StoreError> {
        let hub = hub.clone();
        self.read(move |s| s.delete_hub(&hub)).await
    }

    async fn put_component(
        &self,
        record: &ComponentRecord,
        bytes: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let record = record.clone();
        self.read(move |s| s.put_component(&record, &bytes)).await
    }

    async fn registered_components(&self) -> Result<Vec<ComponentRecord>, StoreError> {
        self.read(Store::registered_components).await
    }

    async fn current_components(&self) -> Result<Vec<CurrentName>, StoreError> {
        self.read(Store::current_components).await
    }

    async fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let digest = digest.to_owned();
        self.read(move |s| s.component(&digest)).await
    }

    async fn remove_component(&self, digest: &str) -> Result<bool, StoreError> {
        let digest = digest.to_owned();
        self.read(move |s| s.remove_component(&digest)).await
    }

    async fn legacy_components(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.read(Store::legacy_components).await
    }

    async fn drop_legacy_components(&self) -> Result<(), StoreError> {
        self.read(Store::drop_legacy_components).await
    }

    fn storage_fault(&self) -> Option<Fault> {
        self.store.storage_fault()
    }

    fn stats(&self) -> StoreStats {
        self.store.stats()
    }
}
