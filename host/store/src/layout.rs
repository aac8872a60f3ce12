//! The layout version of a hub's tables, checked and upgraded in the write
//! transaction that is about to use them.
//!
//! Opening a hub ([`Store::open`](crate::Store::open), [`Store::hub`](crate::Store::hub))
//! and every [`Store::commit`](crate::Store::commit) call [`ensure_layout`]:
//! - no `format_version` yet (a new hub, or one deleted with
//!   [`Store::delete_hub`](crate::Store::delete_hub) since this handle opened
//!   it): the tables were just created empty, so stamp [`LAYOUT_VERSION`];
//! - an older version: migrate it in place, in the same transaction;
//! - a newer version: refuse with [`StoreError::UnsupportedFormat`].
//!
//! The check is one `meta` read per transaction.

use redb::ReadableTable;

use crate::codec;
use crate::error::{During, StoreError};
use crate::hub::Hub;
use crate::tables::{LAYOUT_VERSION, META_FORMAT_VERSION, WriteTables};

/// Brings the hub's tables to [`LAYOUT_VERSION`] (see the module docs).
pub(crate) fn ensure_layout(t: &mut WriteTables<'_>, hub: &Hub) -> Result<(), StoreError> {
    const DURING: &str = "checking the store layout";
    let version = t
        .meta
        .get(META_FORMAT_VERSION)
        .during(DURING)?
        .map(|g| g.value());
    match version {
        Some(LAYOUT_VERSION) => return Ok(()),
        None => {}
        Some(1) => {
            index_activities_by_instance(t)?;
            tracing::info!(hub = %hub, "store layout migrated from version 1 to {LAYOUT_VERSION}");
        }
        Some(v) if v < LAYOUT_VERSION => {
            return Err(StoreError::corrupt(
                format!("task hub '{hub}'"),
                format!("unknown layout version {v}"),
            ));
        }
        Some(v) => {
            return Err(StoreError::UnsupportedFormat {
                what: format!("task hub '{hub}'"),
                found: v,
                supported: LAYOUT_VERSION,
            });
        }
    }
    t.meta
        .insert(META_FORMAT_VERSION, LAYOUT_VERSION)
        .during(DURING)?;
    Ok(())
}

/// Layout 1 → 2: builds `activities_by_instance` from the activity queue.
fn index_activities_by_instance(t: &mut WriteTables<'_>) -> Result<(), StoreError> {
    const DURING: &str = "migrating the activity queue index";
    let mut entries = Vec::new();
    for row in t.activities.range::<u64>(..).during(DURING)? {
        let (k, v) = row.during(DURING)?;
        let seq = k.value();
        entries.push((codec::decode_activity(v.value(), seq)?.instance, seq));
    }
    for (instance, seq) in &entries {
        t.activities_by_instance
            .insert((instance.as_str(), *seq), ())
            .during(DURING)?;
    }
    Ok(())
}
