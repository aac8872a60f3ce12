//! PostgreSQL, the second backend (issue 10): [`PgStorage`] serves a task
//! hub from a database that several hosts can reach.
//!
//! Layout: one schema per task hub (`weft_<Hub>`, quoted: hub names are
//! case-sensitive letters and digits), holding that hub's tables and its own
//! `schema_migrations`, and the `weft` schema with the component registry;
//! deleting a hub is `DROP SCHEMA … CASCADE`. `migrations.rs` has the tables
//! and the rules; `writer.rs` and `tx.rs` the write path; `storage.rs` the
//! reads, the registry and the hub's host lock; `sql.rs` the prepared
//! statements.

mod leases;
mod migrations;
mod sql;
mod storage;
mod tx;
mod writer;

pub use leases::DEFAULT_LEASE;
pub use migrations::{LATEST, REGISTRY_LATEST, Schema, migrate};
pub use storage::PgStorage;

use crate::error::{Fault, StoreError};

/// A storage error from the PostgreSQL driver, classified: a fault (the
/// server unreachable, shutting down or out of resources) makes callers
/// retry, like a full disk does on redb.
pub(crate) fn pg_error(during: &'static str, e: &tokio_postgres::Error) -> StoreError {
    let detail = match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    };
    let fault = is_fault(e).then(|| Fault::Database(detail.clone()));
    StoreError::Storage {
        during,
        detail,
        fault,
    }
}

/// True for errors that say the server, not the request, is the trouble:
/// no answer at all, or SQLSTATE classes 08 (connection), 53 (insufficient
/// resources), 57 (operator intervention) and 58 (system error).
pub(crate) fn is_fault(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        None => e.as_db_error().is_none(),
        Some(code) => ["08", "53", "57", "58"]
            .iter()
            .any(|class| code.code().starts_with(class)),
    }
}

/// True for errors after which the same batch, run again, may succeed:
/// another transaction won a race (serialization failure, deadlock, a key
/// inserted at the same time).
pub(crate) fn is_race(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    })
}

/// True when the error says the hub's schema or tables are gone.
pub(crate) fn is_missing_schema(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code()
        .is_some_and(|c| *c == SqlState::INVALID_SCHEMA_NAME || *c == SqlState::UNDEFINED_TABLE)
}

/// Connects to `url` (`postgres://user@host:port/database`) and drives the
/// connection on a tokio task for as long as the client lives.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, StoreError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| StoreError::Open {
            path: url.into(),
            detail: format!("cannot connect to PostgreSQL: {e}"),
            fault: None,
        })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("PostgreSQL connection closed: {e}");
        }
    });
    Ok(client)
}
