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
use crate::hub::Hub;

/// One migration: its version, the oldest version a host may run and still
/// use the schema after it, and its statements (`{schema}` is replaced by
/// the hub's schema name).
struct Migration {
    version: i32,
    min_compatible: i32,
    sql: &'static str,
}

/// The newest schema version of a task hub this build knows.
pub const LATEST: i32 = 2;

/// The newest version of the registry schema (`weft`) this build knows.
pub const REGISTRY_LATEST: i32 = 1;

/// A schema Weft owns: one per task hub (`weft_<hub>`, the hub's name as it
/// is spelled: `MyHub` and `myhub` are two hubs, so the identifier is
/// always quoted), and the registry (`weft`), which every hub shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    name: String,
    registry: bool,
}

impl Schema {
    /// The schema of task hub `hub`.
    pub fn hub(hub: &Hub) -> Schema {
        Schema {
            name: format!("{HUB_PREFIX}{}", hub.as_str()),
            registry: false,
        }
    }

    /// The schema of the component registry and other backend-wide rows.
    pub fn registry() -> Schema {
        Schema {
            name: "weft".into(),
            registry: true,
        }
    }

    /// The hub whose schema is called `name`, if it is one.
    pub fn hub_of(name: &str) -> Option<Hub> {
        Hub::new(name.strip_prefix(HUB_PREFIX)?).ok()
    }

    /// The schema's name as `pg_namespace` has it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `LISTEN`/`NOTIFY` channel of a hub schema: `weft_` and 16 hex
    /// digits of its name's SHA-256 (channel names are at most 63 bytes and
    /// hub names may be longer).
    pub fn channel(&self) -> String {
        use sha2::Digest;
        let d = sha2::Sha256::digest(self.name.as_bytes());
        let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("weft_{hex}")
    }

    /// The quoted identifier, for SQL text.
    pub fn ident(&self) -> String {
        format!("\"{}\"", self.name)
    }

    fn migrations(&self) -> (&'static [Migration], i32) {
        if self.registry {
            (REGISTRY_MIGRATIONS, REGISTRY_LATEST)
        } else {
            (MIGRATIONS, LATEST)
        }
    }
}

/// The prefix of every hub's schema name.
pub(crate) const HUB_PREFIX: &str = "weft_";

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        min_compatible: 1,
        // postgres-multi-host.md §9, fitted to Weft's ops: the instance row
        // carries the fence (execution, history length) and the lease columns;
        // listing uses the created and status indexes; the history's primary key
        // is the backstop against a second writer of the same index. Sequence
        // numbers come from sequences, taken per batch. Values are Weft's
        // versioned encodings (`codec.rs`): both backends store the same bytes.
        sql: r#"
CREATE SEQUENCE {schema}.inbox_seq;
CREATE SEQUENCE {schema}.activity_seq;
CREATE TABLE {schema}.instances (
    instance_id   text COLLATE "C" PRIMARY KEY,
    status        smallint NOT NULL,
    created_at    bigint NOT NULL,
    component     text NOT NULL,
    execution_id  text NOT NULL,
    history_len   bigint NOT NULL,
    lease_owner   uuid,
    lease_until   timestamptz,
    lease_epoch   bigint NOT NULL DEFAULT 0,
    row           bytea NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX instances_created ON {schema}.instances (created_at, instance_id);
CREATE INDEX instances_status ON {schema}.instances (status, created_at, instance_id);
CREATE TABLE {schema}.history (
    instance_id   text COLLATE "C",
    seq           bigint,
    body          bytea NOT NULL,
    PRIMARY KEY (instance_id, seq)
);
CREATE TABLE {schema}.inbox (
    instance_id   text COLLATE "C",
    msg_seq       bigint,
    body          bytea NOT NULL,
    PRIMARY KEY (instance_id, msg_seq)
);
CREATE TABLE {schema}.activities (
    queue_seq     bigint PRIMARY KEY,
    instance_id   text COLLATE "C" NOT NULL,
    visible_at    timestamptz,
    claim_token   uuid,
    body          bytea NOT NULL
);
CREATE INDEX activities_instance ON {schema}.activities (instance_id);
CREATE TABLE {schema}.timers (
    instance_id   text COLLATE "C",
    timer_id      bigint,
    fire_at       bigint NOT NULL,
    execution_id  text NOT NULL,
    PRIMARY KEY (instance_id, timer_id)
);
CREATE INDEX timers_due ON {schema}.timers (fire_at, instance_id, timer_id);
CREATE TABLE {schema}.entities (
    entity_id     text COLLATE "C" PRIMARY KEY,
    last_operation bigint NOT NULL,
    has_state     boolean NOT NULL,
    locked        boolean NOT NULL,
    row           bytea NOT NULL
);
"#,
    },
    Migration {
        // Several hosts on one hub: partition leases and live hosts (lease.rs).
        // The per-row lease columns of version 1 were never used.
        version: 2,
        min_compatible: 2,
        sql: r#"
ALTER TABLE {schema}.instances DROP COLUMN lease_owner, DROP COLUMN lease_until,
    DROP COLUMN lease_epoch;
ALTER TABLE {schema}.activities DROP COLUMN visible_at, DROP COLUMN claim_token;
CREATE TABLE {schema}.partitions (
    part          integer PRIMARY KEY,
    owner         text,
    epoch         bigint NOT NULL DEFAULT 0,
    lease_until   timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO {schema}.partitions (part) SELECT generate_series(0, {partitions} - 1);
CREATE TABLE {schema}.hosts (
    host_id       text PRIMARY KEY,
    alive_until   timestamptz NOT NULL
);
"#,
    },
];

const REGISTRY_MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    min_compatible: 1,
    // The component registry (registry.rs has the rules): records and bytes
    // by digest, and the current digest of each name. `component_bytes`
    // also holds bytes stored without a record (`Op::PutComponent`).
    sql: r#"
CREATE TABLE {schema}.components (
    digest        text COLLATE "C" PRIMARY KEY,
    deployed      bigint NOT NULL,
    record        bytea NOT NULL
);
CREATE TABLE {schema}.component_bytes (
    digest        text COLLATE "C" PRIMARY KEY,
    bytes         bytea NOT NULL
);
CREATE TABLE {schema}.current_names (
    kind          smallint,
    name          text COLLATE "C",
    digest        text NOT NULL,
    PRIMARY KEY (kind, name)
);
"#,
}];

/// Brings `schema` to its latest version ([`LATEST`] for a hub); returns the version it was at before
/// (0 for a new schema). Safe to call from many hosts at once.
pub async fn migrate(
    client: &mut tokio_postgres::Client,
    schema: &Schema,
) -> Result<i32, StoreError> {
    const DURING: &str = "migrating the PostgreSQL schema";
    let err = |e| pg_error(DURING, &e);
    let (migrations, latest) = schema.migrations();
    let name = schema.name();
    let schema = schema.ident();
    let txn = client.transaction().await.map_err(err)?;
    txn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('weft:' || $1))",
        &[&name],
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
    if current > latest {
        return Err(StoreError::UnsupportedFormat {
            what: format!("PostgreSQL schema {name}"),
            found: current as u64,
            supported: latest as u64,
        });
    }
    for m in migrations.iter().filter(|m| m.version > current) {
        txn.batch_execute(
            &m.sql
                .replace("{schema}", &schema)
                .replace("{partitions}", &crate::lease::PARTITIONS.to_string()),
        )
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
