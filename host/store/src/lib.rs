//! Weft's durable storage: instance rows, histories, inboxes, the activity
//! queue, timers and components of a task hub, in one redb file or in a
//! PostgreSQL database.
//!
//! Everything that changes the store is an [`Op`]; [`Store::commit`] applies a
//! batch of ops in one write transaction and fsyncs once, which is what makes a
//! turn atomic and group commit cheap (DESIGN §3, §7). Ops validate before
//! they write, so a rejected op ([`OpError`]) leaves nothing behind while the
//! rest of its batch commits; a [`StoreError`] fails the whole batch.
//!
//! The host sees storage as the [`Storage`] trait (async reads, group-
//! committed op batches); [`RedbStorage`] implements it over the synchronous
//! [`Store`] and its [`Writer`] thread.
//!
//! Where things are:
//! - `storage.rs`: the [`Storage`] trait, the seam a second backend plugs
//!   into; `redb_storage.rs`: its redb implementation.
//! - `records.rs`, `ops.rs`: the values the API takes and returns.
//! - `store.rs`: opening, committing, reading. `query.rs`: listing instances.
//! - `apply.rs`: what each op does, written once against the `Tx` trait
//!   (`tx.rs`) that both backends implement; `purge.rs`: the purge ops;
//!   `entities.rs`: entity turns. `redb_tx.rs`: `Tx` over redb tables, with
//!   the index upkeep.
//! - `tables.rs`, `layout.rs`: table names, key types, the layout version and
//!   its migration.
//! - `hub.rs`: task-hub names; `hubs.rs`: listing and deleting hubs.
//! - `registry.rs`: the file's component registry (bytes, what each exports,
//!   the current digest per name), which no task hub owns.
//! - `codec.rs`, `wire.rs`: the versioned on-disk value format
//!   (`docs/history-format.md`).
//! - `writer.rs`: the group-commit thread, which also heals storage faults;
//!   `file.rs`: the open file, reopened after a fault.
//! - `pg/`: PostgreSQL, the second backend ([`pg::PgStorage`]): schemas and
//!   migrations, the write path (`pg/writer.rs`, `pg/tx.rs`), reads and the
//!   registry (`pg/storage.rs`).
//! - `error.rs`: [`OpError`] (business outcome of one op) and [`StoreError`]
//!   (storage failure).

#![warn(missing_docs)]

mod apply;
mod codec;
mod entities;
mod error;
mod file;
mod hub;
mod hubs;
mod layout;
mod lease;
mod ops;
pub mod pg;
mod purge;
mod query;
mod records;
mod redb_storage;
mod redb_tx;
mod registry;
mod storage;
mod store;
mod tables;
mod tx;
mod wire;
mod wire_v2;
mod wire_v3;
mod writer;

pub use apply::OpResult;
pub use error::{ErrorKind, Fault, OpError, StoreError};
pub use hub::{Hub, InvalidHubName};
pub use lease::{Fence, Held, Leases, PARTITIONS, PartitionWork, partition_of};
pub use ops::{EntityWrite, Op, OpOutcome, Outgoing, TurnWrite};
pub use records::{
    ActivityWork, EntityQuery, EntityRecord, InstanceFilter, InstanceRecord, TimerEntry, TimerKey,
};
pub use redb_storage::RedbStorage;
pub use registry::{ComponentRecord, CurrentName, NameKind};
pub use storage::{EntityPage, InstancePage, Storage};
pub use store::{Inbox, Store, StoreStats};
pub use writer::{Writer, WriterHandle};
