//! The store: one redb file, one task hub's tables, synchronous reads and
//! batched writes.
//!
//! All methods block on disk I/O. From async code, write only through the
//! group-commit [`Writer`](crate::Writer) and read inside
//! `tokio::task::spawn_blocking`; never call them on a tokio worker thread.
//! Reads run concurrently with each other and with the writer (redb MVCC): a
//! read sees the last committed batch.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use redb::{Database, Durability, ReadableDatabase, ReadableTableMetadata};
use weft_core::{EntityId, HistoryEvent, InstanceId, Message, ScheduleId, Timestamp};

use crate::apply::{OpResult, apply};
use crate::codec;
use crate::error::{During, Fault, StoreError};
use crate::file::DbFile;
use crate::hub::Hub;
use crate::layout::ensure_layout;
use crate::ops::Op;
use crate::records::{
    ActivityWork, EntityQuery, EntityRecord, InstanceRecord, TimerEntry, TimerKey,
};
use crate::redb_tx::RedbTx;
use crate::tables::{TableNames, WriteTables, read_table};

/// Durable storage of one task hub: instance rows, histories, inboxes, the
/// activity queue, timers and components, in one redb file.
///
/// `Store` is `Send + Sync`; share it as `Arc<Store>`.
pub struct Store {
    db: Arc<DbFile>,
    /// Deletions per hub, shared by every handle on this file. A handle made
    /// before its hub was deleted must not write (it would recreate the hub).
    generations: Arc<Mutex<HashMap<Hub, u64>>>,
    /// The deletion count of this handle's hub when the handle was made.
    generation: u64,
    hub: Hub,
    names: TableNames,
    commits: AtomicU64,
    ops: AtomicU64,
}

/// Room a recovery probe needs: writing resumes after a fault only once this
/// much can be written, so a nearly full disk does not flap between ready
/// and failing.
const PROBE_BYTES: usize = 1 << 20;

/// An inbox: messages with their sequence numbers, oldest first.
pub type Inbox = Vec<(u64, Message)>;

/// Counters of what a [`Store`] has committed since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Write transactions committed (each one fsync).
    pub commits: u64,
    /// Ops applied in those transactions (accepted or rejected).
    pub ops: u64,
}

impl Store {
    /// Opens the store file at `path`, creating it when absent, with the
    /// [`Hub::DEFAULT`] task hub. Creates missing tables and records the format
    /// version; refuses a file written in a newer format.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = DbFile::open(path)?;
        Store::open_hub(Arc::new(db), Arc::default(), Hub::default_hub())
    }

    /// The hub `hub` over an open database: creates its tables and checks (or
    /// upgrades) their layout version.
    fn open_hub(
        db: Arc<DbFile>,
        generations: Arc<Mutex<HashMap<Hub, u64>>>,
        hub: Hub,
    ) -> Result<Store, StoreError> {
        const DURING: &str = "initialising the store";
        let names = TableNames::new(&hub);
        let txn = db.get()?.begin_write().during(DURING)?;
        {
            let mut tables = WriteTables::open(&txn, &names)?;
            ensure_layout(&mut tables, &hub)?;
        }
        // Read while the write transaction is open, so no deletion is in between.
        let generation = generations
            .lock()
            .expect("generations lock")
            .get(&hub)
            .copied()
            .unwrap_or(0);
        txn.commit().during(DURING)?;
        Ok(Store {
            db,
            generations,
            generation,
            hub,
            names,
            commits: AtomicU64::new(0),
            ops: AtomicU64::new(0),
        })
    }

    /// The task hub this store reads and writes.
    pub fn task_hub(&self) -> &Hub {
        &self.hub
    }

    /// The store of another task hub in the same file, creating its tables
    /// when new. The handle shares this one's `redb::Database` (the file is
    /// opened once per process); hubs share nothing else. A host runs one
    /// dispatcher per hub, each with its own [`Writer`](crate::Writer) over its
    /// own handle; their commits take turns on the file's one write lock, so
    /// batches of different hubs do not share an fsync.
    pub fn hub(&self, hub: &Hub) -> Result<Store, StoreError> {
        Store::open_hub(self.db.clone(), self.generations.clone(), hub.clone())
    }

    /// What this store has committed since it was opened.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            commits: self.commits.load(Ordering::Relaxed),
            ops: self.ops.load(Ordering::Relaxed),
        }
    }

    /// Applies `ops` in order in ONE write transaction and makes it durable
    /// (fsync) before returning. Later ops see the effects of earlier ones.
    ///
    /// Returns one answer per op: an op rejected with an
    /// [`OpError`](crate::OpError) wrote nothing; the others are committed. A
    /// `StoreError` means nothing of the batch was committed.
    pub fn commit(&self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let count = ops.len() as u64;
        let mut txn = self
            .db()?
            .begin_write()
            .during("starting a write transaction")?;
        txn.set_durability(Durability::Immediate)
            .during("starting a write transaction")?;
        // Checked inside the write transaction: a deletion either finished before
        // it (and is seen here) or starts after it commits.
        self.check_not_deleted()?;
        let results = {
            let mut tables = WriteTables::open(&txn, &self.names)?;
            ensure_layout(&mut tables, &self.hub)?;
            let mut tx = RedbTx::begin(&mut tables)?;
            let results = ops
                .into_iter()
                .map(|op| apply(&mut tx, op))
                .collect::<Result<Vec<_>, _>>()?;
            tx.finish()?;
            results
        };
        txn.commit().during("committing a batch")?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.ops.fetch_add(count, Ordering::Relaxed);
        Ok(results)
    }

    /// The instance's row, if it exists.
    pub fn instance(&self, id: &InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
        let txn = self.read()?;
        let Some(table) = read_table(&txn, self.names.instances())? else {
            return Ok(None);
        };
        table
            .get(id.as_str())
            .during("reading an instance row")?
            .map(|g| codec::decode_instance(g.value(), id.as_str()))
            .transpose()
    }

    /// An entity's row, if it ever ran an operation.
    pub fn entity(&self, id: &EntityId) -> Result<Option<EntityRecord>, StoreError> {
        let txn = self.read()?;
        let Some(table) = read_table(&txn, self.names.entities())? else {
            return Ok(None);
        };
        crate::entities::read_entity(&table, &id.to_string())
    }

    /// One page of entities matching `query` (see [`crate::Storage::list_entities`]).
    pub fn list_entities(&self, query: &EntityQuery) -> Result<crate::EntityPage, StoreError> {
        let txn = self.read()?;
        let Some(table) = read_table(&txn, self.names.entities())? else {
            return Ok((Vec::new(), None));
        };
        crate::entities::list(&table, query)
    }

    /// The instance's history, in order (empty when the instance does not exist).
    pub fn history(&self, id: &InstanceId) -> Result<Vec<HistoryEvent>, StoreError> {
        const DURING: &str = "reading a history";
        let txn = self.read()?;
        let Some(table) = read_table(&txn, self.names.history())? else {
            return Ok(Vec::new());
        };
        let key = id.as_str();
        table
            .range((key, 0)..=(key, u32::MAX))
            .during(DURING)?
            .map(|row| {
                let (k, v) = row.during(DURING)?;
                codec::decode_event(v.value(), key, k.value().1)
            })
            .collect()
    }

    /// The instance's inbox, oldest first, with each message's sequence number.
    pub fn inbox(&self, id: &InstanceId) -> Result<Inbox, StoreError> {
        const DURING: &str = "reading an inbox";
        let txn = self.read()?;
        let Some(table) = read_table(&txn, self.names.inbox())? else {
            return Ok(Vec::new());
        };
        let key = id.as_str();
        table
            .range((key, 0)..=(key, u64::MAX))
            .during(DURING)?
            .map(|row| {
                let (k, v) = row.during(DURING)?;
                let seq = k.value().1;
                Ok((seq, codec::decode_message(v.value(), key, seq)?))
            })
            .collect()
    }

    /// Every non-empty inbox, grouped by instance (for startup recovery).
    pub fn all_inboxes(&self) -> Result<Vec<(InstanceId, Inbox)>, StoreError> {
        const DURING: &str = "reading all inboxes";
        let txn = self.read()?;
        let Some(table) = read_table(&txn, self.names.inbox())? else {
            return Ok(Vec::new());
        };
        let mut out: Vec<(InstanceId, Inbox)> = Vec::new();
        for row in table.range::<(&str, u64)>(..).during(DURING)? {
            let (k, v) = row.during(DURING)?;
            let (id, seq) = k.value();
            let message = codec::decode_message(v.value(), id, seq)?;
            match out.last_mut() {
                Some((last, messages)) if last.as_str() == id => messages.push((seq, message)),
                _ => out.push((stored_id(id, "inbox")?, vec![(seq, message)])),
            }
        }
        Ok(out)
    }

    /// Every queued activity, in queue order (for startup recovery).
    pub fn activity_queue(&self) -> Result<Vec<(u64, ActivityWork)>, StoreError> {
        const DURING: &str = "reading the activity queue";
        let txn = self.read()?;
        let Some(table) = read_table(&txn, self.names.activities())? else {
            return Ok(Vec::new());
        };
        table
            .range::<u64>(..)
            .during(DURING)?
            .map(|row| {
                let (k, v) = row.during(DURING)?;
                let seq = k.value();
                Ok((seq, codec::decode_activity(v.value(), seq)?))
            })
            .collect()
    }

    /// Every pending timer, earliest first (for startup recovery).
    pub fn timers(&self) -> Result<Vec<TimerEntry>, StoreError> {
        const DURING: &str = "reading timers";
        let txn = self.read()?;
        let Some(table) = read_table(&txn, self.names.timers())? else {
            return Ok(Vec::new());
        };
        table
            .range::<(u64, &str, u32)>(..)
            .during(DURING)?
            .map(|row| {
                let (k, v) = row.during(DURING)?;
                let (fire_at, id, timer_id) = k.value();
                let value = codec::decode_timer(v.value(), id, timer_id)?;
                Ok(TimerEntry {
                    key: TimerKey {
                        fire_at: Timestamp(fire_at),
                        instance: stored_id(id, "timers")?,
                        timer_id: ScheduleId(timer_id),
                    },
                    execution: value.execution,
                })
            })
            .collect()
    }

    /// How many instance rows the hub holds. Cheap: redb keeps every table's
    /// length, so this reads no rows.
    pub fn instance_count(&self) -> Result<u64, StoreError> {
        let txn = self.read()?;
        match read_table(&txn, self.names.instances())? {
            Some(table) => table.len().during("counting instances"),
            None => Ok(0),
        }
    }

    pub(crate) fn read(&self) -> Result<redb::ReadTransaction, StoreError> {
        self.db()?
            .begin_read()
            .during("starting a read transaction")
    }

    pub(crate) fn names(&self) -> &TableNames {
        &self.names
    }

    /// The open database, or why it is not open (after a fault).
    pub(crate) fn db(&self) -> Result<Arc<Database>, StoreError> {
        self.db.get()
    }

    pub(crate) fn file(&self) -> &DbFile {
        &self.db
    }

    /// Why writes to the file are failing, or `None` when the last write (or
    /// probe) succeeded. Shared by every hub of the file: what `/readyz` says.
    pub fn storage_fault(&self) -> Option<Fault> {
        self.db.writable()
    }

    /// Learns whether writing works again after a fault: writes and fsyncs
    /// [`PROBE_BYTES`] (so "works" means there is that much room, not just
    /// room for one more small commit), then removes them.
    pub(crate) fn probe(&self) -> Result<(), StoreError> {
        const DURING: &str = "probing whether the store is writable";
        const PROBE: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("weft!health");
        let room = vec![0u8; PROBE_BYTES];
        for value in [Some(room.as_slice()), None] {
            let mut txn = self.db()?.begin_write().during(DURING)?;
            txn.set_durability(Durability::Immediate).during(DURING)?;
            {
                let mut t = txn.open_table(PROBE).during(DURING)?;
                match value {
                    Some(v) => t.insert("probe", v).map(drop).during(DURING)?,
                    None => t.remove("probe").map(drop).during(DURING)?,
                }
            }
            txn.commit().during(DURING)?;
        }
        Ok(())
    }

    fn check_not_deleted(&self) -> Result<(), StoreError> {
        let current = self
            .generations
            .lock()
            .expect("generations lock")
            .get(&self.hub)
            .copied()
            .unwrap_or(0);
        if current != self.generation {
            return Err(StoreError::HubDeleted(self.hub.as_str().to_owned()));
        }
        Ok(())
    }

    /// Records that `hub` is being deleted: handles made before stop writing.
    /// Called by `delete_hub` while it holds the write transaction.
    pub(crate) fn bump_generation(&self, hub: &Hub) {
        *self
            .generations
            .lock()
            .expect("generations lock")
            .entry(hub.clone())
            .or_insert(0) += 1;
    }
}

/// An instance ID read from a key, re-validated.
pub(crate) fn stored_id(id: &str, table: &str) -> Result<InstanceId, StoreError> {
    InstanceId::try_from(id.to_owned())
        .map_err(|e| StoreError::corrupt(format!("{table} key '{id}'"), e.to_string()))
}
