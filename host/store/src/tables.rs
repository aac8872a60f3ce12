//! The redb tables of one task hub, with keys that sort the way they are read.
//!
//! | table                    | key                                          | value                |
//! |--------------------------|----------------------------------------------|----------------------|
//! | `meta`                   | `&str` name                                  | `u64`                |
//! | `instances`              | `&str` instance ID                           | framed instance row  |
//! | `history`                | `(&str instance, u32 index)`                 | framed history event |
//! | `inbox`                  | `(&str instance, u64 seq)`                   | framed message       |
//! | `activities`             | `u64 queue seq`                              | framed work item     |
//! | `activities_by_instance` | `(&str instance, u64 queue seq)`             | `()`                 |
//! | `timers`                 | `(u64 fire ms, &str inst, u32 id)`           | framed timer value   |
//! | `timers_by_instance`     | `(&str instance, u32 id)`                    | `u64 fire ms`        |
//! | `components`             | `&str digest`                                | raw bytes            |
//! | `by_created`             | `(u64 created ms, &str instance)`            | `()`                 |
//! | `by_status`              | `(u8 status, u64 created ms, &str instance)` | `()`                 |
//! | `entities`               | `&str entity ID` (`@name@key`)               | framed entity row    |
//!
//! "Framed" values are a format-version byte followed by JSON (`codec.rs`).
//! `docs/history-format.md` is the full description; keep it in step.
//!
//! Invariants kept by `apply.rs` in every transaction:
//! - `by_created` and `by_status` hold exactly one entry per instance row,
//!   derived from its `created` and `status`.
//! - `timers_by_instance` holds exactly one entry per `timers` row.
//! - `activities_by_instance` holds exactly one entry per `activities` row,
//!   keyed by the work item's instance.
//! - `history` holds indexes `0..history_len` of each instance row, nothing else.

use redb::{ReadOnlyTable, ReadTransaction, Table, TableDefinition, WriteTransaction};
use weft_core::RuntimeStatus;

use crate::error::{During, StoreError};
use crate::hub::Hub;

/// Key of `meta`: the format version of this hub's tables.
pub(crate) const META_FORMAT_VERSION: &str = "format_version";
/// Key of `meta`: the next inbox sequence number to hand out.
pub(crate) const META_NEXT_INBOX_SEQ: &str = "next_inbox_seq";
/// Key of `meta`: the next activity queue sequence number to hand out.
pub(crate) const META_NEXT_ACTIVITY_SEQ: &str = "next_activity_seq";

/// The layout version of a hub's tables (table set, key types). Values carry
/// their own version byte (`codec.rs`). Version 2 added
/// `activities_by_instance`; `layout.rs` migrates version 1.
pub(crate) const LAYOUT_VERSION: u64 = 2;

type Bytes = &'static [u8];
type Str = &'static str;

pub(crate) type MetaKey = Str;
pub(crate) type InstanceKey = Str;
pub(crate) type HistoryKey = (Str, u32);
pub(crate) type InboxKey = (Str, u64);
pub(crate) type ActivityKey = u64;
pub(crate) type ActivityIndexKey = (Str, u64);
pub(crate) type TimerRowKey = (u64, Str, u32);
pub(crate) type TimerIndexKey = (Str, u32);
pub(crate) type ComponentKey = Str;
pub(crate) type CreatedKey = (u64, Str);
pub(crate) type StatusKey = (u8, u64, Str);
pub(crate) type EntityKey = Str;

/// The names of one hub's tables (`<hub>/<table>`). Every table whose name
/// starts with `<hub>/` belongs to that hub (`hubs.rs` relies on it).
#[derive(Clone, Debug)]
pub(crate) struct TableNames {
    meta: String,
    instances: String,
    history: String,
    inbox: String,
    activities: String,
    activities_by_instance: String,
    timers: String,
    timers_by_instance: String,
    components: String,
    by_created: String,
    by_status: String,
    entities: String,
}

impl TableNames {
    pub(crate) fn new(hub: &Hub) -> TableNames {
        let n = |t: &str| format!("{}/{t}", hub.as_str());
        TableNames {
            meta: n("meta"),
            instances: n("instances"),
            history: n("history"),
            inbox: n("inbox"),
            activities: n("activities"),
            activities_by_instance: n("activities_by_instance"),
            timers: n("timers"),
            timers_by_instance: n("timers_by_instance"),
            components: n("components"),
            by_created: n("by_created"),
            by_status: n("by_status"),
            entities: n("entities"),
        }
    }

    pub(crate) fn meta(&self) -> TableDefinition<'_, MetaKey, u64> {
        TableDefinition::new(&self.meta)
    }
    pub(crate) fn instances(&self) -> TableDefinition<'_, InstanceKey, Bytes> {
        TableDefinition::new(&self.instances)
    }
    pub(crate) fn history(&self) -> TableDefinition<'_, HistoryKey, Bytes> {
        TableDefinition::new(&self.history)
    }
    pub(crate) fn inbox(&self) -> TableDefinition<'_, InboxKey, Bytes> {
        TableDefinition::new(&self.inbox)
    }
    pub(crate) fn activities(&self) -> TableDefinition<'_, ActivityKey, Bytes> {
        TableDefinition::new(&self.activities)
    }
    pub(crate) fn activities_by_instance(&self) -> TableDefinition<'_, ActivityIndexKey, ()> {
        TableDefinition::new(&self.activities_by_instance)
    }
    pub(crate) fn timers(&self) -> TableDefinition<'_, TimerRowKey, Bytes> {
        TableDefinition::new(&self.timers)
    }
    pub(crate) fn timers_by_instance(&self) -> TableDefinition<'_, TimerIndexKey, u64> {
        TableDefinition::new(&self.timers_by_instance)
    }
    pub(crate) fn components(&self) -> TableDefinition<'_, ComponentKey, Bytes> {
        TableDefinition::new(&self.components)
    }
    pub(crate) fn by_created(&self) -> TableDefinition<'_, CreatedKey, ()> {
        TableDefinition::new(&self.by_created)
    }
    pub(crate) fn by_status(&self) -> TableDefinition<'_, StatusKey, ()> {
        TableDefinition::new(&self.by_status)
    }
    pub(crate) fn entities(&self) -> TableDefinition<'_, EntityKey, Bytes> {
        TableDefinition::new(&self.entities)
    }
}

/// Every table of a hub, open for writing in one transaction.
pub(crate) struct WriteTables<'txn> {
    pub(crate) meta: Table<'txn, MetaKey, u64>,
    pub(crate) instances: Table<'txn, InstanceKey, Bytes>,
    pub(crate) history: Table<'txn, HistoryKey, Bytes>,
    pub(crate) inbox: Table<'txn, InboxKey, Bytes>,
    pub(crate) activities: Table<'txn, ActivityKey, Bytes>,
    pub(crate) activities_by_instance: Table<'txn, ActivityIndexKey, ()>,
    pub(crate) timers: Table<'txn, TimerRowKey, Bytes>,
    pub(crate) timers_by_instance: Table<'txn, TimerIndexKey, u64>,
    pub(crate) components: Table<'txn, ComponentKey, Bytes>,
    pub(crate) by_created: Table<'txn, CreatedKey, ()>,
    pub(crate) by_status: Table<'txn, StatusKey, ()>,
    pub(crate) entities: Table<'txn, EntityKey, Bytes>,
}

impl<'txn> WriteTables<'txn> {
    /// Opens (creating when absent) every table of the hub.
    pub(crate) fn open(
        txn: &'txn WriteTransaction,
        names: &TableNames,
    ) -> Result<WriteTables<'txn>, StoreError> {
        const DURING: &str = "opening tables for writing";
        Ok(WriteTables {
            meta: txn.open_table(names.meta()).during(DURING)?,
            instances: txn.open_table(names.instances()).during(DURING)?,
            history: txn.open_table(names.history()).during(DURING)?,
            inbox: txn.open_table(names.inbox()).during(DURING)?,
            activities: txn.open_table(names.activities()).during(DURING)?,
            activities_by_instance: txn
                .open_table(names.activities_by_instance())
                .during(DURING)?,
            timers: txn.open_table(names.timers()).during(DURING)?,
            timers_by_instance: txn.open_table(names.timers_by_instance()).during(DURING)?,
            components: txn.open_table(names.components()).during(DURING)?,
            by_created: txn.open_table(names.by_created()).during(DURING)?,
            by_status: txn.open_table(names.by_status()).during(DURING)?,
            entities: txn.open_table(names.entities()).during(DURING)?,
        })
    }
}

/// Opens one table of a read transaction; `None` when the table does not
/// exist. Opening a hub creates all its tables, so a table is missing only when
/// the hub was deleted (`Store::delete_hub`) after this handle opened it: read
/// that as empty.
pub(crate) fn read_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    def: TableDefinition<'_, K, V>,
) -> Result<Option<ReadOnlyTable<K, V>>, StoreError> {
    match txn.open_table(def) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e).during("opening a table for reading"),
    }
}

/// The stable one-byte code of a status in index keys. Never renumber: the
/// codes are on disk.
pub(crate) fn status_code(status: RuntimeStatus) -> u8 {
    match status {
        RuntimeStatus::Pending => 0,
        RuntimeStatus::Running => 1,
        RuntimeStatus::Completed => 2,
        RuntimeStatus::ContinuedAsNew => 3,
        RuntimeStatus::Failed => 4,
        RuntimeStatus::Terminated => 5,
        RuntimeStatus::Suspended => 6,
    }
}
