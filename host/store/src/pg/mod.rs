//! PostgreSQL, the second backend (issue 10, in progress): connecting, and
//! the schema with its migrations. The `Storage` implementation over it and
//! the lease protocol for many hosts come next; nothing selects this backend
//! yet.
//!
//! Layout: one schema per task hub (`weft_<hub>`, lower case: hub names are
//! letters and digits, so the name is a plain identifier), holding that
//! hub's tables and its own `schema_migrations`; deleting a hub will be
//! `DROP SCHEMA … CASCADE`. See `migrations.rs` for the tables and the rules.

mod migrations;

pub use migrations::{LATEST, migrate};

use crate::error::StoreError;
use crate::hub::Hub;

/// The schema holding task hub `hub`'s tables.
pub fn hub_schema(hub: &Hub) -> String {
    format!("weft_{}", hub.as_str().to_ascii_lowercase())
}

/// A storage error from the PostgreSQL driver.
pub(crate) fn pg_error(during: &'static str, e: tokio_postgres::Error) -> StoreError {
    let detail = match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    };
    StoreError::Storage {
        during,
        detail,
        fault: None,
    }
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
