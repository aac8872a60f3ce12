//! The component registry of a store file: component bytes by
//! digest, what each exports, and which digest is current for each name.
//!
//! The registry belongs to the file, not to a task hub: its tables are named
//! `weft!registry/…` (`!` is never part of a hub name, so no hub owns them and
//! deleting any hub, the default one included, leaves every component).
//!
//! | table                       | key                      | value                   |
//! |-----------------------------|--------------------------|-------------------------|
//! | `weft!registry/bytes`       | `&str digest`            | raw component bytes     |
//! | `weft!registry/components`  | `&str digest`            | framed [`ComponentRecord`] |
//! | `weft!registry/current`     | `(u8 kind, &str name)`   | `&str digest`           |
//!
//! Invariants: `bytes` and `components` hold the same digests; every
//! `current` value is a digest in `components` that exports that name.
//! Writes are rare (deploys), so each is its own durable write transaction
//! (redb serializes them with the writers' batches).
//!
//! Stores written before the registry kept component bytes in each hub's
//! `<hub>/components` table; [`Store::legacy_components`] reads them so the
//! host can register them (it must load them to learn their names), after
//! which [`Store::drop_legacy_components`] removes the old tables.

use redb::{ReadableTable, TableDefinition, TableHandle};
use serde::{Deserialize, Serialize};
use weft_core::Timestamp;

use crate::error::{During, StoreError};
use crate::store::Store;
use crate::tables::read_table;

/// Prefix of the file-level tables; `hubs.rs` skips it.
pub(crate) const FILE_TABLES: &str = "weft!";

const BYTES: TableDefinition<&str, &[u8]> = TableDefinition::new("weft!registry/bytes");
const COMPONENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("weft!registry/components");
const CURRENT: TableDefinition<(u8, &str), &str> = TableDefinition::new("weft!registry/current");

/// Format byte of a stored [`ComponentRecord`].
const RECORD_FORMAT: u8 = 1;

/// What a stored component exports, and when it was deployed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentRecord {
    /// `sha256:<hex>` of the bytes.
    pub digest: String,
    /// Orchestrator names it exports.
    pub orchestrators: Vec<String>,
    /// Activity names it exports.
    pub activities: Vec<String>,
    /// Entity names (lower case) it exports; absent in records written
    /// before entities existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<String>,
    /// WASI capabilities it imports.
    pub capabilities: Vec<String>,
    /// Size of the bytes.
    pub size: u64,
    /// When it was first deployed.
    pub deployed: Timestamp,
}

/// The name spaces a component serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameKind {
    /// An orchestrator name.
    Orchestrator,
    /// An activity name.
    Activity,
    /// An entity name.
    Entity,
}

impl NameKind {
    /// Every kind, in code order.
    pub const ALL: [NameKind; 3] = [NameKind::Orchestrator, NameKind::Activity, NameKind::Entity];

    pub(crate) fn code(self) -> u8 {
        match self {
            NameKind::Orchestrator => 1,
            NameKind::Activity => 2,
            NameKind::Entity => 3,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<NameKind> {
        NameKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub(crate) fn names(self, r: &ComponentRecord) -> &[String] {
        match self {
            NameKind::Orchestrator => &r.orchestrators,
            NameKind::Activity => &r.activities,
            NameKind::Entity => &r.entities,
        }
    }
}

/// One `current` entry: `kind` name `name` is served by `digest`.
pub type CurrentName = (NameKind, String, String);

pub(crate) fn encode(record: &ComponentRecord) -> Vec<u8> {
    let mut out = vec![RECORD_FORMAT];
    serde_json::to_writer(&mut out, record).expect("a component record always serializes");
    out
}

pub(crate) fn decode(bytes: &[u8], digest: &str) -> Result<ComponentRecord, StoreError> {
    let what = || format!("component record {digest}");
    match bytes.split_first() {
        Some((&RECORD_FORMAT, body)) => {
            serde_json::from_slice(body).map_err(|e| StoreError::corrupt(what(), e.to_string()))
        }
        Some((&v, _)) => Err(StoreError::UnsupportedFormat {
            what: what(),
            found: v.into(),
            supported: RECORD_FORMAT.into(),
        }),
        None => Err(StoreError::corrupt(what(), "empty value")),
    }
}

/// The component a name moves to when the one current for it is removed:
/// the most recently deployed of `others` (oldest deploy first) that exports
/// it. One rule for both backends.
pub(crate) fn successor<'a>(
    others: &'a [ComponentRecord],
    kind: NameKind,
    name: &str,
) -> Option<&'a ComponentRecord> {
    others
        .iter()
        .rev()
        .find(|r| kind.names(r).iter().any(|n| n == name))
}

/// Sorts records oldest deploy first (then by digest): the registry's order.
pub(crate) fn sort_by_deploy(records: &mut [ComponentRecord]) {
    records.sort_by(|a, b| (a.deployed, &a.digest).cmp(&(b.deployed, &b.digest)));
}

fn write_txn(
    during: &'static str,
) -> impl Fn(&Store) -> Result<redb::WriteTransaction, StoreError> {
    move |store| {
        let mut txn = store.db()?.begin_write().during(during)?;
        txn.set_durability(redb::Durability::Immediate)
            .during(during)?;
        Ok(txn)
    }
}

impl Store {
    /// Stores a component and makes it current for every name it exports, in
    /// one durable transaction. Returns false, changing nothing, when a
    /// component with this digest is already stored (a deploy of the same
    /// bytes again).
    pub fn put_component(
        &self,
        record: &ComponentRecord,
        bytes: &[u8],
    ) -> Result<bool, StoreError> {
        const DURING: &str = "storing a component";
        let txn = write_txn(DURING)(self)?;
        {
            let mut components = txn.open_table(COMPONENTS).during(DURING)?;
            if components
                .get(record.digest.as_str())
                .during(DURING)?
                .is_some()
            {
                return Ok(false);
            }
            components
                .insert(record.digest.as_str(), encode(record).as_slice())
                .during(DURING)?;
            txn.open_table(BYTES)
                .during(DURING)?
                .insert(record.digest.as_str(), bytes)
                .during(DURING)?;
            let mut current = txn.open_table(CURRENT).during(DURING)?;
            for kind in NameKind::ALL {
                for name in kind.names(record) {
                    current
                        .insert((kind.code(), name.as_str()), record.digest.as_str())
                        .during(DURING)?;
                }
            }
        }
        txn.commit().during(DURING)?;
        Ok(true)
    }

    /// Every registered component, oldest deploy first.
    pub fn registered_components(&self) -> Result<Vec<ComponentRecord>, StoreError> {
        const DURING: &str = "listing components";
        let txn = self.read()?;
        let Some(table) = read_table(&txn, COMPONENTS)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for row in table.iter().during(DURING)? {
            let (k, v) = row.during(DURING)?;
            out.push(decode(v.value(), k.value())?);
        }
        sort_by_deploy(&mut out);
        Ok(out)
    }

    /// Which digest is current for each name.
    pub fn current_components(&self) -> Result<Vec<CurrentName>, StoreError> {
        const DURING: &str = "reading current components";
        let txn = self.read()?;
        let Some(table) = read_table(&txn, CURRENT)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for row in table.iter().during(DURING)? {
            let (k, v) = row.during(DURING)?;
            let (code, name) = k.value();
            let kind = NameKind::from_code(code).ok_or_else(|| {
                StoreError::corrupt("registry current key", format!("unknown kind {code}"))
            })?;
            out.push((kind, name.to_owned(), v.value().to_owned()));
        }
        Ok(out)
    }

    /// The bytes of the component stored under `digest`, if any (also from a
    /// store written before the registry, until its components are registered).
    pub fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        const DURING: &str = "reading a component";
        let txn = self.read()?;
        if let Some(table) = read_table(&txn, BYTES)?
            && let Some(bytes) = table.get(digest).during(DURING)?
        {
            return Ok(Some(bytes.value().to_vec()));
        }
        let Some(table) = read_table(&txn, self.names().components())? else {
            return Ok(None);
        };
        Ok(table
            .get(digest)
            .during(DURING)?
            .map(|g| g.value().to_vec()))
    }

    /// Removes a component. A name it was current for moves to the most
    /// recently deployed remaining component that exports it, or is no longer
    /// served. Returns false when no such component is stored. Whether any
    /// instance still needs it is the caller's rule (the host's).
    pub fn remove_component(&self, digest: &str) -> Result<bool, StoreError> {
        const DURING: &str = "removing a component";
        let others: Vec<ComponentRecord> = self
            .registered_components()?
            .into_iter()
            .filter(|r| r.digest != digest)
            .collect();
        let txn = write_txn(DURING)(self)?;
        {
            let mut components = txn.open_table(COMPONENTS).during(DURING)?;
            let Some(removed) = components.remove(digest).during(DURING)? else {
                return Ok(false);
            };
            let removed = decode(removed.value(), digest)?;
            txn.open_table(BYTES)
                .during(DURING)?
                .remove(digest)
                .during(DURING)?;
            let mut current = txn.open_table(CURRENT).during(DURING)?;
            for kind in NameKind::ALL {
                for name in kind.names(&removed) {
                    let key = (kind.code(), name.as_str());
                    let points_here = current
                        .get(key)
                        .during(DURING)?
                        .is_some_and(|d| d.value() == digest);
                    if !points_here {
                        continue;
                    }
                    match successor(&others, kind, name) {
                        Some(next) => {
                            current.insert(key, next.digest.as_str()).during(DURING)?;
                        }
                        None => {
                            current.remove(key).during(DURING)?;
                        }
                    }
                }
            }
        }
        txn.commit().during(DURING)?;
        Ok(true)
    }

    /// Component bytes kept by stores written before the registry, in every
    /// hub's `<hub>/components` table: (digest, bytes).
    pub fn legacy_components(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        const DURING: &str = "reading components of the old layout";
        let txn = self.read()?;
        let mut out = Vec::new();
        for table in txn.list_tables().during(DURING)? {
            if !table.name().ends_with("/components") || table.name().starts_with(FILE_TABLES) {
                continue;
            }
            let def: TableDefinition<&str, &[u8]> = TableDefinition::new(table.name());
            let t = txn.open_table(def).during(DURING)?;
            for row in t.iter().during(DURING)? {
                let (k, v) = row.during(DURING)?;
                out.push((k.value().to_owned(), v.value().to_vec()));
            }
        }
        Ok(out)
    }

    /// Deletes the old layout's `<hub>/components` tables (once their
    /// components are registered).
    pub fn drop_legacy_components(&self) -> Result<(), StoreError> {
        const DURING: &str = "deleting components of the old layout";
        let txn = write_txn(DURING)(self)?;
        let old: Vec<_> = txn
            .list_tables()
            .during(DURING)?
            .filter(|t| t.name().ends_with("/components") && !t.name().starts_with(FILE_TABLES))
            .collect();
        for table in old {
            txn.delete_table(table).during(DURING)?;
        }
        txn.commit().during(DURING)?;
        Ok(())
    }
}
