//! The task hubs of a store file: listing them from redb's
//! table list, and deleting one with all its tables.
//!
//! A hub exists while it has tables: opening it ([`Store::open`],
//! [`Store::hub`]) creates them, [`Store::delete_hub`] deletes them. A handle
//! of a deleted hub still works: its reads see an empty hub, and its next
//! commit creates the tables again (and restarts its sequence numbers).
//! Delete a hub only once its dispatcher is stopped.

use std::collections::BTreeSet;

use redb::{ReadableDatabase, TableHandle};

use crate::error::{During, StoreError};
use crate::hub::Hub;
use crate::store::Store;

impl Store {
    /// The task hubs that have tables in the file, sorted by name. A table
    /// whose name has no valid hub prefix (none is ever written) is skipped
    /// with a warning.
    pub fn hubs(&self) -> Result<Vec<Hub>, StoreError> {
        const DURING: &str = "listing task hubs";
        let txn = self.db()?.begin_read().during(DURING)?;
        let mut hubs = BTreeSet::new();
        for table in txn.list_tables().during(DURING)? {
            if table.name().starts_with(crate::registry::FILE_TABLES) {
                continue; // the file's own tables (the component registry)
            }
            match hub_of(table.name()) {
                Some(hub) => {
                    hubs.insert(hub);
                }
                None => tracing::warn!(table = table.name(), "table of no task hub"),
            }
        }
        Ok(hubs.into_iter().collect())
    }

    /// Deletes every table of `hub` (its instances, histories, inboxes, queue,
    /// timers, components and counters) in one durable write transaction.
    /// Returns false when the hub had no tables. Other hubs are untouched.
    ///
    /// `hub` may be this handle's own hub. See the module docs for what
    /// handles of a deleted hub do.
    pub fn delete_hub(&self, hub: &Hub) -> Result<bool, StoreError> {
        const DURING: &str = "deleting a task hub";
        let mut txn = self.db()?.begin_write().during(DURING)?;
        txn.set_durability(redb::Durability::Immediate)
            .during(DURING)?;
        let tables: Vec<redb::UntypedTableHandle> = txn
            .list_tables()
            .during(DURING)?
            .filter(|t| hub_of(t.name()).as_ref() == Some(hub))
            .collect();
        // Inside the write transaction: every other commit is before or after it.
        self.bump_generation(hub);
        let mut deleted = 0;
        for table in tables {
            let name = table.name().to_owned();
            if txn.delete_table(table).during(DURING)? {
                deleted += 1;
                tracing::debug!(table = name, "table deleted");
            }
        }
        txn.commit().during(DURING)?;
        if deleted > 0 {
            tracing::info!(hub = %hub, tables = deleted, "task hub deleted");
        }
        Ok(deleted > 0)
    }
}

/// The hub a table name belongs to (`<hub>/<table>`).
fn hub_of(table: &str) -> Option<Hub> {
    let (hub, _) = table.split_once('/')?;
    Hub::new(hub).ok()
}
