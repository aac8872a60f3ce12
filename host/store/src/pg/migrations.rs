//! Versioned migrations of a task hub's PostgreSQL schema.
//!
//! [`migrate`] brings a hub's schema to [`LATEST`] in one transaction under
//! an advisory lock on the schema's name, so hosts starting together on an
//! empty database migrate it once and the others wait and find it done. The
//! versions applied are rows of `schema_migrations` (with `min_compatible`,
//! the oldest version a host may run against it, for rolling upgrades
//! later); a schema newer than this build is refused with the versions
//! named, and left as it is.
//!
//! Rules (postgres-multi-host.md §6, §9): migrations only add (expand, then
//! contract in a later release), so old and new hosts can overlap; a
//! released migration never changes. Version 1 is not released yet: until
//! the backend lands it may still change in place.

use super::pg_error;
use crate::error::StoreError;

/// One migration: its version, the oldest version a host may run and still
/// use the schema after it, and its statements (`{schema}` is replaced by
/// the hub's schema name).
struct Migration {
    version: i32,
    min_compatible: i32,
    sql: &'static str,
}

/// The newest schema version this build knows.
pub const LATEST: i32 = 1;

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    min_compatible: 1,
    // The tables of postgres-multi-host.md §9: the instance row carries the
    // fence (execution, history length) and the lease; a timer is an inbox
    // row visible at its due time; an activity is claimed by pushing its
    // visibility. Values are Weft's versioned encodings (bytea).
    sql: r#"
CREATE TABLE {schema}.instances (
    instance_id   text COLLATE "C" PRIMARY KEY,
    execution_id  text NOT NULL,
    name          text NOT NULL,
    status        smallint NOT NULL,
    history_len   integer NOT NULL DEFAULT 0,
    lease_owner   uuid,
    lease_until   timestamptz,
    lease_epoch   bigint NOT NULL DEFAULT 0,
    ready_at      timestamptz,
    component     text NOT NULL,
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL,
    row           bytea NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX instances_ready ON {schema}.instances (ready_at) WHERE ready_at IS NOT NULL;
CREATE INDEX instances_created ON {schema}.instances (created_at, instance_id);
CREATE INDEX instances_status ON {schema}.instances (status, created_at, instance_id);
CREATE TABLE {schema}.history (
    instance_id   text COLLATE "C",
    execution_id  text,
    seq           integer,
    body          bytea NOT NULL,
    PRIMARY KEY (instance_id, execution_id, seq)
);
CREATE TABLE {schema}.inbox (
    instance_id   text COLLATE "C",
    msg_seq       bigint GENERATED ALWAYS AS IDENTITY,
    visible_at    timestamptz NOT NULL,
    timer_id      integer,
    body          bytea NOT NULL,
    PRIMARY KEY (instance_id, msg_seq)
);
CREATE UNIQUE INDEX inbox_timer ON {schema}.inbox (instance_id, timer_id) WHERE timer_id IS NOT NULL;
CREATE TABLE {schema}.activities (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id   text COLLATE "C" NOT NULL,
    execution_id  text NOT NULL,
    schedule_id   integer NOT NULL,
    visible_at    timestamptz NOT NULL,
    claim_token   uuid,
    body          bytea NOT NULL,
    UNIQUE (instance_id, execution_id, schedule_id)
);
CREATE INDEX activities_ready ON {schema}.activities (visible_at);
CREATE TABLE {schema}.entities (
    entity_id     text COLLATE "C" PRIMARY KEY,
    last_operation bigint NOT NULL,
    row           bytea NOT NULL
);
"#,
}];

/// Brings `schema` to [`LATEST`]; returns the version it was at before
/// (0 for a new schema). Safe to call from many hosts at once.
pub async fn migrate(client: &mut tokio_postgres::Client, schema: &str) -> Result<i32, StoreError> {
    const DURING: &str = "migrating the PostgreSQL schema";
    let err = |e| pg_error(DURING, e);
    let txn = client.transaction().await.map_err(err)?;
    txn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('weft:' || $1))",
        &[&schema],
    )
    .await
    .map_err(err)?;
    txn.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
             version integer PRIMARY KEY,
             min_compatible integer NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await
    .map_err(err)?;
    let current: i32 = txn
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {schema}.schema_migrations"),
            &[],
        )
        .await
        .map_err(err)?
        .get(0);
    if current > LATEST {
        return Err(StoreError::UnsupportedFormat {
            what: format!("PostgreSQL schema {schema}"),
            found: current as u64,
            supported: LATEST as u64,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        txn.batch_execute(&m.sql.replace("{schema}", schema))
            .await
            .map_err(err)?;
        txn.execute(
            &format!(
                "INSERT INTO {schema}.schema_migrations (version, min_compatible) VALUES ($1, $2)"
            ),
            &[&m.version, &m.min_compatible],
        )
        .await
        .map_err(err)?;
    }
    txn.commit().await.map_err(err)?;
    Ok(current)
}
