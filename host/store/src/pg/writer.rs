//! The PostgreSQL write path behind the group-commit writer thread
//! (`writer.rs`): one connection of its own (the synchronous `postgres`
//! client, which runs its own small runtime on the writer's thread), one
//! transaction per batch.
//!
//! A batch runs as: `BEGIN`; lock and read what it names
//! ([`PgTx::prefetch`]); the op rules (`apply.rs`); write set-based
//! ([`PgTx::flush`]); `COMMIT`, durable with `synchronous_commit=on`.
//! Nothing is held across a Wasm turn: the turn ran before its op arrived.
//! A batch that lost a race to another host (serialization failure,
//! deadlock, a key inserted meanwhile) is run again from the start, a few
//! times, with the state then current; its ops are values, so this is
//! safe. A lost connection is a fault: the writer refuses writes,
//! reconnects with back-off, and callers retry.

use std::sync::{Arc, Mutex};

use postgres::{Client, NoTls};

use super::sql::Sql;
use super::tx::PgTx;
use super::{Schema, is_fault, is_missing_schema, is_race, pg_error};
use crate::apply::{OpResult, apply};
use crate::error::{Fault, StoreError};
use crate::hub::Hub;
use crate::ops::Op;
use crate::store::StoreStats;
use crate::writer::Committer;

/// How often a batch that lost a race is run again before it fails.
const RACE_RETRIES: usize = 8;

/// What the writer and the storage handle share: the current fault and the
/// commit counters.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) fault: Mutex<Option<Fault>>,
    pub(crate) commits: std::sync::atomic::AtomicU64,
    pub(crate) ops: std::sync::atomic::AtomicU64,
    /// The partitions this process holds, bit `p` for partition `p`
    /// (written by the lease loop, read by each batch).
    pub(crate) held: std::sync::atomic::AtomicU32,
}

impl Shared {
    pub(crate) fn stats(&self) -> StoreStats {
        use std::sync::atomic::Ordering::Relaxed;
        StoreStats {
            commits: self.commits.load(Relaxed),
            ops: self.ops.load(Relaxed),
        }
    }
}

/// The writer thread's connection and statements for one hub.
pub(crate) struct PgCommitter {
    url: String,
    hub: Hub,
    /// The OID of the hub's schema when this handle opened it: a schema
    /// dropped (the hub deleted) and created again has another, and this
    /// handle must not write into the new one.
    oid: u32,
    schema: Schema,
    conn: Option<(Client, Sql)>,
    shared: Arc<Shared>,
}

impl PgCommitter {
    pub(crate) fn new(url: &str, hub: &Hub, oid: u32, shared: Arc<Shared>) -> PgCommitter {
        PgCommitter {
            url: url.to_owned(),
            hub: hub.clone(),
            oid,
            schema: Schema::hub(hub),
            conn: None,
            shared,
        }
    }

    fn connected(&mut self) -> Result<&mut (Client, Sql), StoreError> {
        if self.conn.as_ref().is_some_and(|(c, _)| c.is_closed()) {
            self.conn = None;
        }
        if self.conn.is_none() {
            let during = "connecting the writer to PostgreSQL";
            let mut client = Client::connect(&self.url, NoTls).map_err(|e| {
                StoreError::Unavailable(Fault::Database(pg_error(during, &e).to_string()))
            })?;
            let sql = Sql::prepare(&mut client, &self.schema).map_err(|e| self.classify(e))?;
            self.conn = Some((client, sql));
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }

    /// A driver error as the writer answers it.
    fn classify(&self, e: postgres::Error) -> StoreError {
        if is_missing_schema(&e) {
            return StoreError::HubDeleted(self.hub.as_str().to_owned());
        }
        pg_error("committing a batch to PostgreSQL", &e)
    }
}

/// What one attempt at a batch needs besides the ops.
struct Batch<'a> {
    held: u32,
    channel: &'a str,
    hub: &'a Hub,
    oid: u32,
}

/// One attempt at a batch: `Err` carries the driver's error when it failed.
fn attempt(
    client: &mut Client,
    sql: &Sql,
    ops: Vec<Op>,
    batch: &Batch<'_>,
) -> Result<Result<Vec<OpResult>, StoreError>, postgres::Error> {
    let mut txn = client.transaction()?;
    let results = {
        let mut tx = PgTx::new(&mut txn, sql, batch.held);
        let run = tx.prefetch(&ops).and_then(|()| {
            let results = ops
                .into_iter()
                .map(|op| apply(&mut tx, op))
                .collect::<Result<Vec<_>, _>>()?;
            tx.flush()?;
            tx.announce(batch.channel)?;
            Ok(results)
        });
        match (run, tx.failed.take()) {
            (_, Some(e)) => return Err(e),
            (Err(e), None) => return Ok(Err(e)),
            (Ok(results), None) => results,
        }
    };
    // Last, so that every statement above resolved its names in the schema
    // this handle opened: an OID is never reused while the schema lives.
    if txn.query_opt(&sql.schema_alive, &[&batch.oid])?.is_none() {
        return Ok(Err(StoreError::HubDeleted(batch.hub.as_str().to_owned())));
    }
    txn.commit()?;
    Ok(Ok(results))
}

impl Committer for PgCommitter {
    fn commit(&mut self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let count = ops.len() as u64;
        let mut tries = 0;
        loop {
            let channel = self.schema.channel();
            let (hub, oid) = (self.hub.clone(), self.oid);
            let batch = Batch {
                held: self.shared.held.load(std::sync::atomic::Ordering::Acquire),
                channel: &channel,
                hub: &hub,
                oid,
            };
            let (client, sql) = self.connected()?;
            match attempt(client, sql, ops.clone(), &batch) {
                Ok(Ok(results)) => {
                    use std::sync::atomic::Ordering::Relaxed;
                    self.shared.commits.fetch_add(1, Relaxed);
                    self.shared.ops.fetch_add(count, Relaxed);
                    return Ok(results);
                }
                // A rule's own storage error (a corrupt row): the batch fails.
                Ok(Err(e)) => return Err(e),
                Err(e) if is_race(&e) && tries < RACE_RETRIES => {
                    tries += 1;
                    tracing::debug!(error = %e, tries, "batch lost a race; running it again");
                }
                Err(e) => {
                    if is_fault(&e) {
                        self.conn = None;
                    }
                    return Err(self.classify(e));
                }
            }
        }
    }

    fn probe(&mut self) -> Result<(), StoreError> {
        let (client, _) = self.connected()?;
        client
            .simple_query("SELECT 1")
            .map(|_| ())
            .map_err(|e| pg_error("probing PostgreSQL", &e))
    }

    fn heal(&mut self, fault: &Fault) {
        self.conn = None;
        *self.shared.fault.lock().expect("fault lock") = Some(fault.clone());
    }

    fn healed(&mut self) {
        *self.shared.fault.lock().expect("fault lock") = None;
    }
}
