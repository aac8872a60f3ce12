//! The conformance suite's view of a backend: the [`Storage`] trait, driven
//! from a synchronous test by blocking on each call.
//!
//! A backend joins the suite with a [`Backend`] impl (how to make a fresh,
//! empty one and how to reopen it) and one line in `conformance.rs`'s
//! `backends!` list.

use std::sync::Arc;

use weft_core::{HistoryEvent, InstanceId};
use weft_store::{
    ActivityWork, Hub, Inbox, InstanceFilter, InstancePage, InstanceRecord, Op, OpResult,
    RedbStorage, Storage, StoreError, TimerEntry, pg::PgStorage,
};

/// How the suite makes a backend.
pub trait Backend {
    /// Whatever keeps the backend's data alive (a temporary directory, a schema).
    type Place;
    /// A fresh, empty backend with the default task hub.
    fn fresh() -> (Self::Place, Sut);
    /// The same data opened again, as after a restart (the old handle is gone).
    fn reopen(place: &Self::Place) -> Sut;
}

/// The redb file backend.
pub struct Redb;

impl Backend for Redb {
    type Place = tempfile::TempDir;
    fn fresh() -> (tempfile::TempDir, Sut) {
        let dir = tempfile::tempdir().unwrap();
        let sut = Redb::reopen(&dir);
        (dir, sut)
    }
    fn reopen(dir: &tempfile::TempDir) -> Sut {
        let rt = Arc::new(runtime());
        let path = super::db_path(dir);
        let storage = rt
            .block_on(RedbStorage::open(&path, &Hub::default_hub()))
            .unwrap();
        Sut { storage, rt }
    }
}

/// PostgreSQL: a fresh database of the test kit's private server per case.
pub struct Postgres;

impl Backend for Postgres {
    type Place = String;
    fn fresh() -> (String, Sut) {
        let url = weft_testkit::postgres::PgCluster::shared().fresh_database("conformance");
        let sut = Postgres::reopen(&url);
        (url, sut)
    }
    fn reopen(url: &String) -> Sut {
        let rt = Arc::new(runtime());
        let storage = rt
            .block_on(PgStorage::open(url, &Hub::default_hub()))
            .unwrap();
        Sut { storage, rt }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A backend under test: every [`Storage`] call, blocking.
pub struct Sut {
    storage: Arc<dyn Storage>,
    rt: Arc<tokio::runtime::Runtime>,
}

impl Sut {
    pub fn task_hub(&self) -> &Hub {
        self.storage.task_hub()
    }
    pub fn stats(&self) -> weft_store::StoreStats {
        self.storage.stats()
    }
    pub fn commit(&self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError> {
        self.rt.block_on(self.storage.commit(ops))
    }
    pub fn instance(&self, id: &InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
        self.rt.block_on(self.storage.instance(id))
    }
    pub fn history(&self, id: &InstanceId) -> Result<Vec<HistoryEvent>, StoreError> {
        self.rt.block_on(self.storage.history(id))
    }
    pub fn inbox(&self, id: &InstanceId) -> Result<Inbox, StoreError> {
        self.rt.block_on(self.storage.inbox(id))
    }
    pub fn all_inboxes(&self) -> Result<Vec<(InstanceId, Inbox)>, StoreError> {
        self.rt.block_on(self.storage.all_inboxes())
    }
    pub fn activity_queue(&self) -> Result<Vec<(u64, ActivityWork)>, StoreError> {
        self.rt.block_on(self.storage.activity_queue())
    }
    pub fn timers(&self) -> Result<Vec<TimerEntry>, StoreError> {
        self.rt.block_on(self.storage.timers())
    }
    pub fn list_instances(
        &self,
        filter: &InstanceFilter,
        top: usize,
        continuation: Option<&str>,
    ) -> Result<InstancePage, StoreError> {
        self.rt
            .block_on(self.storage.list_instances(filter, top, continuation))
    }
    pub fn instance_count(&self) -> Result<u64, StoreError> {
        self.rt.block_on(self.storage.instance_count())
    }
    pub fn entity(
        &self,
        id: &weft_core::EntityId,
    ) -> Result<Option<weft_store::EntityRecord>, StoreError> {
        self.rt.block_on(self.storage.entity(id))
    }
    pub fn list_entities(
        &self,
        query: &weft_store::EntityQuery,
    ) -> Result<weft_store::EntityPage, StoreError> {
        self.rt.block_on(self.storage.list_entities(query))
    }
    pub fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.rt.block_on(self.storage.component(digest))
    }
    pub fn hubs(&self) -> Result<Vec<Hub>, StoreError> {
        self.rt.block_on(self.storage.hubs())
    }
    pub fn delete_hub(&self, hub: &Hub) -> Result<bool, StoreError> {
        self.rt.block_on(self.storage.delete_hub(hub))
    }
    pub fn put_component(
        &self,
        record: &weft_store::ComponentRecord,
        bytes: &[u8],
    ) -> Result<bool, StoreError> {
        self.rt
            .block_on(self.storage.put_component(record, bytes.to_vec()))
    }
    pub fn registered_components(&self) -> Result<Vec<weft_store::ComponentRecord>, StoreError> {
        self.rt.block_on(self.storage.registered_components())
    }
    pub fn current_components(&self) -> Result<Vec<weft_store::CurrentName>, StoreError> {
        self.rt.block_on(self.storage.current_components())
    }
    pub fn remove_component(&self, digest: &str) -> Result<bool, StoreError> {
        self.rt.block_on(self.storage.remove_component(digest))
    }
    /// Another task hub of the same backend.
    pub fn hub(&self, hub: &Hub) -> Result<Sut, StoreError> {
        Ok(Sut {
            storage: self.rt.block_on(self.storage.open_hub(hub))?,
            rt: self.rt.clone(),
        })
    }
}
