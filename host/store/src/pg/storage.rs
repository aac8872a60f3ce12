//! [`Storage`] on PostgreSQL: reads on an async connection of the caller's
//! runtime, writes through the group-commit writer thread (`writer.rs` with
//! [`PgCommitter`]), and the component registry in the `weft` schema.
//!
//! Reads of a hub whose schema is gone (deleted by another handle) read as
//! empty, as on redb.

use std::sync::{Arc, Mutex};

use tokio_postgres::Client;
use tokio_postgres::types::ToSql;
use weft_core::{EntityId, ExecutionId, HistoryEvent, InstanceId, ScheduleId, Timestamp};

use super::writer::{PgCommitter, Shared};
use super::{Schema, connect, is_missing_schema, migrate, pg_error};
use crate::apply::OpResult;
use crate::codec;
use crate::error::{Fault, StoreError};
use crate::hub::Hub;
use crate::ops::Op;
use crate::query::Cursor;
use crate::records::{
    ActivityWork, EntityQuery, EntityRecord, InstanceFilter, InstanceRecord, TimerEntry, TimerKey,
};
use crate::registry::{self, ComponentRecord, CurrentName, NameKind};
use crate::storage::{EntityPage, InstancePage, Storage};
use crate::store::{Inbox, StoreStats, stored_id};
use crate::tables::status_code;
use crate::writer::{Writer, WriterHandle};

/// One task hub on a PostgreSQL database, as a [`Storage`].
pub struct PgStorage {
    url: String,
    hub: Hub,
    /// The hub's schema, quoted for SQL.
    pub(super) s: String,
    /// The registry's schema, quoted for SQL.
    r: String,
    reads: Mutex<Arc<Client>>,
    writer: WriterHandle,
    shared: Arc<Shared>,
    /// This handle, for [`Storage::leases`].
    me: std::sync::Weak<PgStorage>,
    /// This handle's name in the lease table, and its lease.
    pub(super) lease_host: String,
    pub(super) lease: std::time::Duration,
    /// Wake-ups from other hosts (`leases.rs`), until taken.
    pub(super) wakeups: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Vec<InstanceId>>>>,
    listener: tokio::task::AbortHandle,
}

impl Drop for PgStorage {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

type Rows = Vec<tokio_postgres::Row>;

/// Clamps a `u64` time or count into `bigint`.
fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl PgStorage {
    /// Connects to `url`, creates or migrates the registry and the schema of
    /// task hub `hub`, and starts the hub's writer thread, with leases of
    /// [`DEFAULT_LEASE`](super::leases::DEFAULT_LEASE).
    pub async fn open(url: &str, hub: &Hub) -> Result<Arc<PgStorage>, StoreError> {
        Self::open_with(url, hub, super::leases::DEFAULT_LEASE).await
    }

    /// [`PgStorage::open`] with partition leases of `lease`: how long a
    /// host's partitions stay its own after it stops renewing them (it
    /// renews several times per lease), so how long a dead host's work
    /// waits before another host takes it.
    pub async fn open_with(
        url: &str,
        hub: &Hub,
        lease: std::time::Duration,
    ) -> Result<Arc<PgStorage>, StoreError> {
        let mut client = connect(url).await?;
        migrate(&mut client, &Schema::registry()).await?;
        migrate(&mut client, &Schema::hub(hub)).await?;
        let oid: u32 = client
            .query_one(
                "SELECT oid FROM pg_namespace WHERE nspname = $1",
                &[&Schema::hub(hub).name()],
            )
            .await
            .map_err(|e| pg_error("reading the task hub's schema", &e))?
            .get(0);
        let shared = Arc::new(Shared::default());
        let writer = Writer::spawn_over(PgCommitter::new(url, hub, oid, shared.clone()));
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let listener = tokio::spawn(super::leases::listen(
            url.to_owned(),
            Schema::hub(hub).channel(),
            tx,
        ))
        .abort_handle();
        Ok(Arc::new_cyclic(|me| PgStorage {
            url: url.to_owned(),
            hub: hub.clone(),
            s: Schema::hub(hub).ident(),
            r: Schema::registry().ident(),
            reads: Mutex::new(Arc::new(client)),
            writer,
            shared,
            me: me.clone(),
            lease_host: super::leases::host_id(),
            lease,
            wakeups: Mutex::new(Some(rx)),
            listener,
        }))
    }

    /// Tells the writer which partitions this handle holds (messages for
    /// the others are announced).
    pub(super) fn set_held(&self, held: &crate::lease::Held) {
        let mask = held.keys().fold(0u32, |m, p| m | (1 << p));
        self.shared
            .held
            .store(mask, std::sync::atomic::Ordering::Release);
    }

    /// The read connection, connected again when it was lost.
    async fn client(&self) -> Result<Arc<Client>, StoreError> {
        let current = self.reads.lock().expect("read connection lock").clone();
        if !current.is_closed() {
            return Ok(current);
        }
        let fresh = Arc::new(connect(&self.url).await.map_err(|e| {
            StoreError::Unavailable(Fault::Database(format!("reconnecting for reads: {e}")))
        })?);
        *self.reads.lock().expect("read connection lock") = fresh.clone();
        Ok(fresh)
    }

    /// Runs a read; a missing schema (the hub was deleted) reads as no rows.
    pub(super) async fn query(
        &self,
        during: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Rows, StoreError> {
        let client = self.client().await?;
        match client.query(sql, params).await {
            Ok(rows) => Ok(rows),
            Err(e) if is_missing_schema(&e) => Ok(Vec::new()),
            Err(e) => Err(pg_error(during, &e)),
        }
    }

    async fn records(&self) -> Result<Vec<ComponentRecord>, StoreError> {
        let sql = format!("SELECT digest, record FROM {}.components", self.r);
        let rows = self.query("listing components", &sql, &[]).await?;
        let mut out = rows
            .iter()
            .map(|row| registry::decode(row.get(1), row.get(0)))
            .collect::<Result<Vec<_>, _>>()?;
        registry::sort_by_deploy(&mut out);
        Ok(out)
    }

    /// Runs `f` in one transaction of a fresh connection (registry and hub
    /// changes are rare: each is its own transaction).
    async fn in_txn<T>(
        &self,
        during: &'static str,
        f: impl AsyncFnOnce(&tokio_postgres::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = connect(&self.url).await?;
        let err = |e: tokio_postgres::Error| pg_error(during, &e);
        let txn = client.transaction().await.map_err(err)?;
        let out = f(&txn).await?;
        txn.commit().await.map_err(err)?;
        Ok(out)
    }
}

/// The recovery reads, of every partition (`None`) or of some.
impl PgStorage {
    pub(super) async fn inboxes_in(
        &self,
        parts: Option<&[i32]>,
    ) -> Result<Vec<(InstanceId, Inbox)>, StoreError> {
        let sql = format!(
            "SELECT instance_id, msg_seq, body FROM {}.inbox WHERE {} \
             ORDER BY instance_id, msg_seq",
            self.s,
            in_parts("instance_id")
        );
        let rows = self.query("reading inboxes", &sql, &[&parts]).await?;
        let mut out: Vec<(InstanceId, Inbox)> = Vec::new();
        for row in &rows {
            let id: &str = row.get(0);
            let seq = row.get::<_, i64>(1) as u64;
            let message = codec::decode_message(row.get(2), id, seq)?;
            match out.last_mut() {
                Some((last, messages)) if last.as_str() == id => messages.push((seq, message)),
                _ => out.push((stored_id(id, "inbox")?, vec![(seq, message)])),
            }
        }
        Ok(out)
    }

    pub(super) async fn activities_in(
        &self,
        parts: Option<&[i32]>,
    ) -> Result<Vec<(u64, ActivityWork)>, StoreError> {
        let sql = format!(
            "SELECT queue_seq, body FROM {}.activities WHERE {} ORDER BY queue_seq",
            self.s,
            in_parts("instance_id")
        );
        let rows = self
            .query("reading the activity queue", &sql, &[&parts])
            .await?;
        rows.iter()
            .map(|row| {
                let seq = row.get::<_, i64>(0) as u64;
                Ok((seq, codec::decode_activity(row.get(1), seq)?))
            })
            .collect()
    }

    pub(super) async fn timers_in(
        &self,
        parts: Option<&[i32]>,
    ) -> Result<Vec<TimerEntry>, StoreError> {
        let sql = format!(
            "SELECT instance_id, timer_id, fire_at, execution_id FROM {}.timers WHERE {} \
             ORDER BY fire_at, instance_id, timer_id",
            self.s,
            in_parts("instance_id")
        );
        let rows = self.query("reading timers", &sql, &[&parts]).await?;
        rows.iter()
            .map(|row| {
                Ok(TimerEntry {
                    key: TimerKey {
                        fire_at: Timestamp(row.get::<_, i64>(2) as u64),
                        instance: stored_id(row.get(0), "timers")?,
                        timer_id: ScheduleId(row.get::<_, i64>(1) as u32),
                    },
                    execution: ExecutionId(row.get(3)),
                })
            })
            .collect()
    }
}

/// `column`'s partition is in `$1` (an `int[]`, or NULL for all).
fn in_parts(column: &str) -> String {
    format!(
        "($1::int[] IS NULL OR {} = ANY($1::int[]))",
        crate::lease::partition_sql(column)
    )
}

/// A driver error inside a registry or hub transaction.
fn db(e: tokio_postgres::Error) -> StoreError {
    pg_error("changing the registry or the task hubs", &e)
}

fn instance_rows(rows: &Rows) -> Result<Vec<InstanceRecord>, StoreError> {
    rows.iter()
        .map(|row| codec::decode_instance(row.get(1), row.get(0)))
        .collect()
}

#[async_trait::async_trait]
impl Storage for PgStorage {
    fn task_hub(&self) -> &Hub {
        &self.hub
    }

    async fn commit(&self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError> {
        self.writer.submit_many(ops).await
    }

    async fn instance(&self, id: &InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
        let sql = format!(
            "SELECT instance_id, row FROM {}.instances WHERE instance_id = $1",
            self.s
        );
        let rows = self
            .query("reading an instance row", &sql, &[&id.as_str()])
            .await?;
        Ok(instance_rows(&rows)?.pop())
    }

    async fn history(&self, id: &InstanceId) -> Result<Vec<HistoryEvent>, StoreError> {
        let sql = format!(
            "SELECT seq, body FROM {}.history WHERE instance_id = $1 ORDER BY seq",
            self.s
        );
        let rows = self
            .query("reading a history", &sql, &[&id.as_str()])
            .await?;
        rows.iter()
            .map(|row| codec::decode_event(row.get(1), id.as_str(), row.get::<_, i64>(0) as u32))
            .collect()
    }

    async fn inbox(&self, id: &InstanceId) -> Result<Inbox, StoreError> {
        let sql = format!(
            "SELECT msg_seq, body FROM {}.inbox WHERE instance_id = $1 ORDER BY msg_seq",
            self.s
        );
        let rows = self
            .query("reading an inbox", &sql, &[&id.as_str()])
            .await?;
        rows.iter()
            .map(|row| {
                let seq = row.get::<_, i64>(0) as u64;
                Ok((seq, codec::decode_message(row.get(1), id.as_str(), seq)?))
            })
            .collect()
    }

    async fn all_inboxes(&self) -> Result<Vec<(InstanceId, Inbox)>, StoreError> {
        self.inboxes_in(None).await
    }

    async fn activity_queue(&self) -> Result<Vec<(u64, ActivityWork)>, StoreError> {
        self.activities_in(None).await
    }

    async fn timers(&self) -> Result<Vec<TimerEntry>, StoreError> {
        self.timers_in(None).await
    }

    fn leases(&self) -> Option<Arc<dyn crate::lease::Leases>> {
        self.me
            .upgrade()
            .map(|me| me as Arc<dyn crate::lease::Leases>)
    }

    async fn list_instances(
        &self,
        filter: &InstanceFilter,
        top: usize,
        continuation: Option<&str>,
    ) -> Result<InstancePage, StoreError> {
        let top = top.clamp(1, 100_000);
        let after = continuation.map(Cursor::decode).transpose()?;
        let from = big(filter.created_from.map_or(0, |t| t.0));
        let to = big(filter.created_to.map_or(u64::MAX, |t| t.0));
        let statuses: Vec<i16> = filter
            .statuses
            .iter()
            .map(|s| i16::from(status_code(*s)))
            .collect();
        let prefix = filter.id_prefix.clone().unwrap_or_default();
        let (after_created, after_id) = match &after {
            Some(c) => (Some(big(c.created)), Some(c.id.clone())),
            None => (None, None),
        };
        let sql = format!(
            "SELECT instance_id, row FROM {}.instances \
             WHERE created_at BETWEEN $1 AND $2 \
             AND (cardinality($3::smallint[]) = 0 OR status = ANY($3)) \
             AND starts_with(instance_id, $4) AND ($5::text IS NULL OR component = $5) \
             AND ($6::bigint IS NULL OR (created_at, instance_id) > ($6, $7::text COLLATE \"C\")) \
             ORDER BY created_at, instance_id LIMIT $8",
            self.s
        );
        let limit = top as i64 + 1;
        let rows = self
            .query(
                "listing instances",
                &sql,
                &[
                    &from,
                    &to,
                    &statuses,
                    &prefix,
                    &filter.component,
                    &after_created,
                    &after_id,
                    &limit,
                ],
            )
            .await?;
        let mut records = instance_rows(&rows)?;
        let more = records.len() > top;
        records.truncate(top);
        let next = more.then(|| records.last()).flatten().map(|r| {
            Cursor {
                created: r.created.0,
                id: r.instance_id.as_str().to_owned(),
            }
            .encode()
        });
        Ok((records, next))
    }

    async fn instance_count(&self) -> Result<u64, StoreError> {
        let sql = format!("SELECT count(*) FROM {}.instances", self.s);
        let rows = self.query("counting instances", &sql, &[]).await?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    async fn entity(&self, id: &EntityId) -> Result<Option<EntityRecord>, StoreError> {
        let sql = format!("SELECT row FROM {}.entities WHERE entity_id = $1", self.s);
        let key = id.to_string();
        let rows = self.query("reading an entity row", &sql, &[&key]).await?;
        rows.first()
            .map(|row| codec::decode_entity(row.get(0), &key))
            .transpose()
    }

    async fn list_entities(&self, query: &EntityQuery) -> Result<EntityPage, StoreError> {
        let top = if query.top == 0 { 100 } else { query.top }.min(100_000);
        let prefix = query.name.as_ref().map(|n| format!("@{n}@"));
        let sql = format!(
            "SELECT entity_id, row FROM {}.entities \
             WHERE ($1::text IS NULL OR entity_id > $1::text COLLATE \"C\") \
             AND ($2::text IS NULL OR starts_with(entity_id, $2)) \
             AND ($3::bigint IS NULL OR last_operation >= $3) \
             AND ($4::bigint IS NULL OR last_operation <= $4) \
             AND ($5 OR has_state) ORDER BY entity_id LIMIT $6",
            self.s
        );
        let from = query.last_operation_from.map(|t| big(t.0));
        let to = query.last_operation_to.map(|t| big(t.0));
        let limit = top as i64 + 1;
        let rows = self
            .query(
                "listing entities",
                &sql,
                &[
                    &query.after,
                    &prefix,
                    &from,
                    &to,
                    &query.include_empty,
                    &limit,
                ],
            )
            .await?;
        let mut out = rows
            .iter()
            .map(|row| codec::decode_entity(row.get(1), row.get(0)))
            .collect::<Result<Vec<_>, _>>()?;
        if out.len() > top {
            out.truncate(top);
            let last = out.last().map(|r| r.entity.to_string());
            return Ok((out, last));
        }
        Ok((out, None))
    }

    async fn hubs(&self) -> Result<Vec<Hub>, StoreError> {
        let rows = self
            .query(
                "listing task hubs",
                "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname::text, $1) \
                 ORDER BY nspname::text COLLATE \"C\"",
                &[&super::migrations::HUB_PREFIX],
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| Schema::hub_of(row.get(0)))
            .collect())
    }

    async fn open_hub(&self, hub: &Hub) -> Result<Arc<dyn Storage>, StoreError> {
        Ok(PgStorage::open_with(&self.url, hub, self.lease).await?)
    }

    async fn delete_hub(&self, hub: &Hub) -> Result<bool, StoreError> {
        let schema = Schema::hub(hub);
        let (name, ident) = (schema.name().to_owned(), schema.ident());
        self.in_txn("deleting a task hub", async move |txn| {
            let exists = txn
                .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&name])
                .await
                .map_err(db)?
                .is_some();
            if exists {
                txn.batch_execute(&format!("DROP SCHEMA {ident} CASCADE"))
                    .await
                    .map_err(db)?;
            }
            Ok(exists)
        })
        .await
    }

    async fn put_component(
        &self,
        record: &ComponentRecord,
        bytes: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let r = self.r.clone();
        let record = record.clone();
        self.in_txn("storing a component", async move |txn| {
            // Serializes deploys with each other and with removals.
            txn.batch_execute(&format!("LOCK TABLE {r}.components IN EXCLUSIVE MODE"))
                .await
                .map_err(db)?;
            let inserted = txn
                .execute(
                    &format!(
                        "INSERT INTO {r}.components (digest, deployed, record) VALUES ($1, $2, $3) \
                         ON CONFLICT (digest) DO NOTHING"
                    ),
                    &[
                        &record.digest,
                        &big(record.deployed.0),
                        &registry::encode(&record),
                    ],
                )
                .await
                .map_err(db)?;
            if inserted == 0 {
                return Ok(false);
            }
            txn.execute(
                &format!(
                    "INSERT INTO {r}.component_bytes (digest, bytes) VALUES ($1, $2) \
                     ON CONFLICT (digest) DO UPDATE SET bytes = excluded.bytes"
                ),
                &[&record.digest, &bytes],
            )
            .await
            .map_err(db)?;
            for kind in NameKind::ALL {
                for name in kind.names(&record) {
                    txn.execute(
                        &format!(
                            "INSERT INTO {r}.current_names (kind, name, digest) VALUES ($1, $2, $3) \
                             ON CONFLICT (kind, name) DO UPDATE SET digest = excluded.digest"
                        ),
                        &[&i16::from(kind.code()), name, &record.digest],
                    )
                    .await
                    .map_err(db)?;
                }
            }
            Ok(true)
        })
        .await
    }

    async fn registered_components(&self) -> Result<Vec<ComponentRecord>, StoreError> {
        self.records().await
    }

    async fn current_components(&self) -> Result<Vec<CurrentName>, StoreError> {
        let sql = format!(
            "SELECT kind, name, digest FROM {}.current_names ORDER BY kind, name",
            self.r
        );
        let rows = self.query("reading current components", &sql, &[]).await?;
        rows.iter()
            .map(|row| {
                let code = row.get::<_, i16>(0);
                let kind = u8::try_from(code)
                    .ok()
                    .and_then(NameKind::from_code)
                    .ok_or_else(|| {
                        StoreError::corrupt("registry current name", format!("unknown kind {code}"))
                    })?;
                Ok((kind, row.get(1), row.get(2)))
            })
            .collect()
    }

    async fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = format!(
            "SELECT bytes FROM {}.component_bytes WHERE digest = $1",
            self.r
        );
        let rows = self.query("reading a component", &sql, &[&digest]).await?;
        Ok(rows.first().map(|row| row.get(0)))
    }

    async fn remove_component(&self, digest: &str) -> Result<bool, StoreError> {
        let r = self.r.clone();
        let digest = digest.to_owned();
        self.in_txn("removing a component", async move |txn| {
            txn.batch_execute(&format!("LOCK TABLE {r}.components IN EXCLUSIVE MODE"))
                .await
                .map_err(db)?;
            let rows = txn
                .query(&format!("SELECT digest, record FROM {r}.components"), &[])
                .await
                .map_err(db)?;
            if !rows.iter().any(|row| row.get::<_, &str>(0) == digest) {
                return Ok(false);
            }
            let mut others = rows
                .iter()
                .filter(|row| row.get::<_, &str>(0) != digest)
                .map(|row| registry::decode(row.get(1), row.get(0)))
                .collect::<Result<Vec<_>, _>>()?;
            registry::sort_by_deploy(&mut others);
            for table in ["components", "component_bytes"] {
                txn.execute(
                    &format!("DELETE FROM {r}.{table} WHERE digest = $1"),
                    &[&digest],
                )
                .await
                .map_err(db)?;
            }
            let names = txn
                .query(
                    &format!("SELECT kind, name FROM {r}.current_names WHERE digest = $1"),
                    &[&digest],
                )
                .await
                .map_err(db)?;
            for row in &names {
                let (code, name): (i16, String) = (row.get(0), row.get(1));
                let next = u8::try_from(code)
                    .ok()
                    .and_then(NameKind::from_code)
                    .and_then(|kind| registry::successor(&others, kind, &name));
                match next {
                    Some(c) => {
                        let sql = format!(
                            "UPDATE {r}.current_names SET digest = $3 WHERE kind = $1 AND name = $2"
                        );
                        txn.execute(&sql, &[&code, &name, &c.digest]).await
                    }
                    None => {
                        let sql =
                            format!("DELETE FROM {r}.current_names WHERE kind = $1 AND name = $2");
                        txn.execute(&sql, &[&code, &name]).await
                    }
                }
                .map_err(db)?;
            }
            Ok(true)
        })
        .await
    }

    fn storage_fault(&self) -> Option<Fault> {
        self.shared.fault.lock().expect("fault lock").clone()
    }

    fn stats(&self) -> StoreStats {
        self.shared.stats()
    }
}
