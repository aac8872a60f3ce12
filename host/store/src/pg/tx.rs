//! [`Tx`] over one PostgreSQL transaction: the rows a batch reads are taken
//! under row locks and kept in memory, its writes are kept in memory too,
//! and [`PgTx::flush`] writes them set-based, one statement per table and
//! kind of change. A batch of a hundred turns costs a handful of round
//! trips, not a thousand.
//!
//! [`PgTx::prefetch`] locks, in one statement each, the work items and then
//! the instance rows the batch names (sorted, so two hosts lock in the same
//! order); a row the rules ask for later is read and locked then. A few rare
//! operations (purges, entity cleaning) query the tables: they flush first,
//! so the query sees the batch's own writes.
//!
//! Every method sees the batch's earlier writes, exactly as redb's direct
//! writes do, so `apply.rs` cannot tell the backends apart. A write that
//! another host raced (a new instance row or history index written twice)
//! fails on the primary key and aborts the transaction: the backstop.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use postgres::Transaction;
use weft_core::{EntityId, ExecutionId, HistoryEvent, InstanceId, Message, RuntimeStatus};

use super::sql::Sql;
use crate::codec;
use crate::error::StoreError;
use crate::ops::{Op, Outgoing};
use crate::records::{
    ActivityWork, EntityRecord, InstanceFilter, InstanceRecord, TimerEntry, TimerKey,
};
use crate::tables::status_code;
use crate::tx::{PurgeCandidate, Tx};

/// A driver error while applying, to be classified by the commit loop.
pub(crate) type PgResult<T> = Result<T, postgres::Error>;

/// One instance row as the batch sees it.
struct Row {
    /// In the table when last read or flushed.
    stored: bool,
    /// Now (`None`: absent or deleted).
    now: Option<InstanceRecord>,
    dirty: bool,
}

/// The batch's view of one timer: `(fire_at, execution)` or absent.
type TimerView = Option<(u64, ExecutionId)>;

/// A sequence's numbers taken for this batch and not used yet.
struct Numbers {
    taken: Vec<i64>,
    next_chunk: i32,
}

impl Numbers {
    fn new() -> Numbers {
        Numbers {
            taken: Vec::new(),
            next_chunk: 16,
        }
    }
}

/// One PostgreSQL write transaction of one hub, with the batch's reads and
/// writes in memory. Errors from the driver are kept in `failed` and
/// surface as a `StoreError` whose text the commit loop replaces with the
/// classified driver error.
pub(crate) struct PgTx<'t, 'c> {
    txn: &'t mut Transaction<'c>,
    sql: &'t Sql,
    /// The first driver error (the transaction is dead after it).
    pub(crate) failed: Option<postgres::Error>,
    instances: BTreeMap<String, Row>,
    history_cleared: BTreeSet<String>,
    history: BTreeMap<(String, u32), Vec<u8>>,
    inbox_cleared: BTreeSet<String>,
    inbox_added: BTreeMap<(String, u64), Vec<u8>>,
    inbox_removed: BTreeSet<(String, u64)>,
    /// Work items read from the table (`None`: absent or deleted since).
    activities: HashMap<u64, Option<ActivityWork>>,
    activities_added: BTreeMap<u64, ActivityWork>,
    activities_removed: BTreeSet<u64>,
    timers_cleared: BTreeSet<String>,
    timers: HashMap<(String, u32), TimerView>,
    timers_dirty: BTreeSet<(String, u32)>,
    entities: BTreeMap<String, Option<EntityRecord>>,
    inbox_numbers: Numbers,
    activity_numbers: Numbers,
    /// Partition rows read for fences: `(owner, epoch)`.
    partitions: HashMap<u32, (Option<String>, u64)>,
    /// Inbox keys looked up in the table, and those of them that were there.
    inbox_checked: HashSet<(String, u64)>,
    inbox_present: HashSet<(String, u64)>,
    /// Partitions this process holds (bit `p`): messages for the others are
    /// announced with `NOTIFY` so that their owners run them.
    held_mask: u32,
    /// Instances of partitions held elsewhere that got inbox messages.
    announce: BTreeSet<String>,
}

impl<'t, 'c> PgTx<'t, 'c> {
    pub(crate) fn new(txn: &'t mut Transaction<'c>, sql: &'t Sql, held_mask: u32) -> PgTx<'t, 'c> {
        PgTx {
            txn,
            sql,
            failed: None,
            instances: BTreeMap::new(),
            history_cleared: BTreeSet::new(),
            history: BTreeMap::new(),
            inbox_cleared: BTreeSet::new(),
            inbox_added: BTreeMap::new(),
            inbox_removed: BTreeSet::new(),
            activities: HashMap::new(),
            activities_added: BTreeMap::new(),
            activities_removed: BTreeSet::new(),
            timers_cleared: BTreeSet::new(),
            timers: HashMap::new(),
            timers_dirty: BTreeSet::new(),
            entities: BTreeMap::new(),
            inbox_numbers: Numbers::new(),
            activity_numbers: Numbers::new(),
            partitions: HashMap::new(),
            inbox_checked: HashSet::new(),
            inbox_present: HashSet::new(),
            held_mask,
            announce: BTreeSet::new(),
        }
    }

    /// Keeps a driver error and turns it into a `StoreError` for `apply`.
    fn fail(&mut self, e: postgres::Error) -> StoreError {
        let err = super::pg_error("a PostgreSQL write transaction", &e);
        self.failed.get_or_insert(e);
        err
    }

    /// Locks and reads what `ops` name: the partitions their fences name,
    /// their work items, then (with the instances those belong to) every
    /// instance row in ID order, their timers, and the inbox entries their
    /// turns consume. Every host locks in this order.
    pub(crate) fn prefetch(&mut self, ops: &[Op]) -> Result<(), StoreError> {
        let mut n = Named::default();
        for op in ops {
            n.op(op);
        }
        self.load_partitions(&n.parts)?;
        self.load_activities(&n.seqs)?;
        for work in self.activities.values().flatten() {
            n.ids.insert(work.instance.as_str().to_owned());
        }
        self.load_instances(n.ids.into_iter().collect())?;
        self.load_timers(&n.timers)?;
        self.load_inbox(&n.consumed)
    }

    fn load_partitions(&mut self, parts: &BTreeSet<u32>) -> Result<(), StoreError> {
        let parts: Vec<i32> = parts
            .iter()
            .filter(|p| !self.partitions.contains_key(p))
            .map(|p| *p as i32)
            .collect();
        if parts.is_empty() {
            return Ok(());
        }
        let rows = self
            .txn
            .query(&self.sql.lock_partitions, &[&parts])
            .map_err(|e| self.fail(e))?;
        for p in &parts {
            self.partitions.insert(*p as u32, (None, 0));
        }
        for row in rows {
            let part = row.get::<_, i32>(0) as u32;
            let owner: Option<String> = row.get(1);
            self.partitions
                .insert(part, (owner, row.get::<_, i64>(2) as u64));
        }
        Ok(())
    }

    fn load_inbox(&mut self, keys: &[(String, u64)]) -> Result<(), StoreError> {
        let keys: Vec<&(String, u64)> = keys
            .iter()
            .filter(|k| !self.inbox_checked.contains(*k))
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        let seqs: Vec<i64> = keys.iter().map(|k| k.1 as i64).collect();
        let rows = self
            .txn
            .query(&self.sql.lock_inbox, &[&ids, &seqs])
            .map_err(|e| self.fail(e))?;
        for k in keys {
            self.inbox_checked.insert(k.clone());
        }
        for row in rows {
            let key = (row.get::<_, String>(0), row.get::<_, i64>(1) as u64);
            self.inbox_present.insert(key);
        }
        Ok(())
    }

    /// Announces the instances of partitions held elsewhere that got inbox
    /// messages (delivered by the server once the transaction commits), at
    /// most about 7,000 bytes per notification (the limit is 8,000).
    pub(crate) fn announce(&mut self, channel: &str) -> Result<(), StoreError> {
        let ids = std::mem::take(&mut self.announce);
        let mut chunk = String::new();
        for id in ids {
            if !chunk.is_empty() && chunk.len() + id.len() > 7000 {
                self.notify(channel, &std::mem::take(&mut chunk))?;
            }
            if !chunk.is_empty() {
                chunk.push('\n');
            }
            chunk.push_str(&id);
        }
        if !chunk.is_empty() {
            self.notify(channel, &chunk)?;
        }
        Ok(())
    }

    fn notify(&mut self, channel: &str, payload: &str) -> Result<(), StoreError> {
        self.txn
            .execute(&self.sql.notify, &[&channel, &payload])
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    fn load_instances(&mut self, ids: Vec<String>) -> Result<(), StoreError> {
        let ids: Vec<String> = ids
            .into_iter()
            .filter(|id| !self.instances.contains_key(id))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let rows = self
            .txn
            .query(&self.sql.lock_instances, &[&ids])
            .map_err(|e| self.fail(e))?;
        for id in ids {
            self.instances.insert(
                id,
                Row {
                    stored: false,
                    now: None,
                    dirty: false,
                },
            );
        }
        for row in rows {
            let id: String = row.get(0);
            let record = codec::decode_instance(row.get(1), &id)?;
            self.instances.insert(
                id,
                Row {
                    stored: true,
                    now: Some(record),
                    dirty: false,
                },
            );
        }
        Ok(())
    }

    fn load_activities(&mut self, seqs: &[u64]) -> Result<(), StoreError> {
        let seqs: Vec<i64> = seqs
            .iter()
            .filter(|s| !self.activities.contains_key(s))
            .map(|s| *s as i64)
            .collect();
        if seqs.is_empty() {
            return Ok(());
        }
        let rows = self
            .txn
            .query(&self.sql.lock_activities, &[&seqs])
            .map_err(|e| self.fail(e))?;
        for seq in &seqs {
            self.activities.insert(*seq as u64, None);
        }
        for row in rows {
            let seq = row.get::<_, i64>(0) as u64;
            let work = codec::decode_activity(row.get(1), seq)?;
            self.activities.insert(seq, Some(work));
        }
        Ok(())
    }

    fn load_timers(&mut self, keys: &[(String, u32)]) -> Result<(), StoreError> {
        let keys: Vec<&(String, u32)> = keys
            .iter()
            .filter(|k| !self.timers.contains_key(*k) && !self.timers_cleared.contains(&k.0))
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        let timer_ids: Vec<i64> = keys.iter().map(|k| i64::from(k.1)).collect();
        let rows = self
            .txn
            .query(&self.sql.lock_timers, &[&ids, &timer_ids])
            .map_err(|e| self.fail(e))?;
        for k in &keys {
            self.timers.insert((*k).clone(), None);
        }
        for row in rows {
            let key = (row.get::<_, String>(0), row.get::<_, i64>(1) as u32);
            let fire_at = row.get::<_, i64>(2) as u64;
            let execution = ExecutionId(row.get::<_, String>(3));
            self.timers.insert(key, Some((fire_at, execution)));
        }
        Ok(())
    }

    fn row(&mut self, id: &str) -> Result<&mut Row, StoreError> {
        if !self.instances.contains_key(id) {
            self.load_instances(vec![id.to_owned()])?;
        }
        Ok(self.instances.get_mut(id).expect("loaded above"))
    }

    fn take(
        numbers: &mut Numbers,
        txn: &mut Transaction<'_>,
        stmt: &postgres::Statement,
    ) -> PgResult<u64> {
        if numbers.taken.is_empty() {
            let rows = txn.query(stmt, &[&numbers.next_chunk])?;
            numbers.taken = rows.iter().rev().map(|r| r.get::<_, i64>(0)).collect();
            numbers.next_chunk = (numbers.next_chunk * 2).min(1024);
        }
        Ok(numbers.taken.pop().expect("a chunk is never empty") as u64)
    }

    /// Writes everything the batch holds in memory, set-based, and marks it
    /// written (what is read afterwards comes from the tables).
    pub(crate) fn flush(&mut self) -> Result<(), StoreError> {
        self.write_all().map_err(|e| self.fail(e))
    }

    fn write_all(&mut self) -> PgResult<()> {
        let (txn, sql) = (&mut *self.txn, self.sql);
        // Instances: new rows inserted (a racing insert fails on the key),
        // stored rows updated, deleted rows deleted.
        let (mut inserts, mut updates, mut deletes) = (
            InstanceColumns::default(),
            InstanceColumns::default(),
            Vec::new(),
        );
        for (id, row) in self.instances.iter_mut().filter(|(_, r)| r.dirty) {
            match (&row.now, row.stored) {
                (Some(r), false) => inserts.push(r),
                (Some(r), true) => updates.push(r),
                (None, true) => deletes.push(id.clone()),
                (None, false) => {}
            }
            row.stored = row.now.is_some();
            row.dirty = false;
        }
        if !deletes.is_empty() {
            txn.execute(&sql.delete_instances, &[&deletes])?;
        }
        inserts.write(txn, &sql.insert_instances)?;
        updates.write(txn, &sql.update_instances)?;

        let cleared: Vec<String> = std::mem::take(&mut self.history_cleared)
            .into_iter()
            .collect();
        if !cleared.is_empty() {
            txn.execute(&sql.clear_history, &[&cleared])?;
        }
        let rows = std::mem::take(&mut self.history);
        if !rows.is_empty() {
            let (ids, seqs, bodies) =
                split3(rows.into_iter().map(|((i, s), b)| (i, i64::from(s), b)));
            txn.execute(&sql.insert_history, &[&ids, &seqs, &bodies])?;
        }

        let cleared: Vec<String> = std::mem::take(&mut self.inbox_cleared)
            .into_iter()
            .collect();
        if !cleared.is_empty() {
            txn.execute(&sql.clear_inbox, &[&cleared])?;
        }
        let removed = std::mem::take(&mut self.inbox_removed);
        if !removed.is_empty() {
            let (ids, seqs): (Vec<String>, Vec<i64>) =
                removed.into_iter().map(|(i, s)| (i, s as i64)).unzip();
            txn.execute(&sql.delete_inbox, &[&ids, &seqs])?;
        }
        let added = std::mem::take(&mut self.inbox_added);
        for (id, _) in added.keys() {
            if self.held_mask & (1 << crate::lease::partition_of(id)) == 0 {
                self.announce.insert(id.clone());
            }
        }
        if !added.is_empty() {
            let (ids, seqs, bodies) = split3(added.into_iter().map(|((i, s), b)| (i, s as i64, b)));
            txn.execute(&sql.insert_inbox, &[&ids, &seqs, &bodies])?;
        }

        let removed: Vec<i64> = std::mem::take(&mut self.activities_removed)
            .into_iter()
            .map(|s| s as i64)
            .collect();
        if !removed.is_empty() {
            txn.execute(&sql.delete_activities, &[&removed])?;
        }
        let added = std::mem::take(&mut self.activities_added);
        if !added.is_empty() {
            let (seqs, ids, bodies) = split3(added.into_iter().map(|(s, w)| {
                let id = w.instance.as_str().to_owned();
                (s as i64, id, codec::encode_activity(w))
            }));
            txn.execute(&sql.insert_activities, &[&seqs, &ids, &bodies])?;
        }

        let cleared: Vec<String> = std::mem::take(&mut self.timers_cleared)
            .into_iter()
            .collect();
        if !cleared.is_empty() {
            txn.execute(&sql.clear_timers, &[&cleared])?;
        }
        let (mut gone, mut put) = (Vec::new(), Vec::new());
        for key in std::mem::take(&mut self.timers_dirty) {
            match self.timers.get(&key).cloned().flatten() {
                None => gone.push(key),
                Some(v) => put.push((key, v)),
            }
        }
        if !gone.is_empty() {
            let (ids, timer_ids): (Vec<String>, Vec<i64>) =
                gone.into_iter().map(|(i, t)| (i, i64::from(t))).unzip();
            txn.execute(&sql.delete_timers, &[&ids, &timer_ids])?;
        }
        if !put.is_empty() {
            let mut cols: (Vec<String>, Vec<i64>, Vec<i64>, Vec<String>) = Default::default();
            for ((id, timer_id), (fire_at, execution)) in put {
                cols.0.push(id);
                cols.1.push(i64::from(timer_id));
                cols.2.push(fire_at as i64);
                cols.3.push(execution.0);
            }
            txn.execute(&sql.upsert_timers, &[&cols.0, &cols.1, &cols.2, &cols.3])?;
        }

        let mut gone = Vec::new();
        let mut put = EntityColumns::default();
        for (id, record) in std::mem::take(&mut self.entities) {
            match record {
                None => gone.push(id),
                Some(r) => put.push(id, r),
            }
        }
        if !gone.is_empty() {
            txn.execute(&sql.delete_entities, &[&gone])?;
        }
        if !put.ids.is_empty() {
            txn.execute(
                &sql.upsert_entities,
                &[&put.ids, &put.last, &put.has_state, &put.locked, &put.rows],
            )?;
        }
        Ok(())
    }
}

/// The columns of instance rows to write, as arrays for `unnest`.
#[derive(Default)]
struct InstanceColumns {
    ids: Vec<String>,
    statuses: Vec<i16>,
    created: Vec<i64>,
    components: Vec<String>,
    executions: Vec<String>,
    lengths: Vec<i64>,
    rows: Vec<Vec<u8>>,
}

impl InstanceColumns {
    fn push(&mut self, r: &InstanceRecord) {
        self.ids.push(r.instance_id.as_str().to_owned());
        self.statuses.push(i16::from(status_code(r.status)));
        self.created.push(r.created.0 as i64);
        self.components.push(r.component.clone());
        self.executions.push(r.execution_id.0.clone());
        self.lengths.push(i64::from(r.history_len));
        self.rows.push(codec::encode_instance(r.clone()));
    }

    fn write(&self, txn: &mut Transaction<'_>, stmt: &postgres::Statement) -> PgResult<()> {
        if !self.ids.is_empty() {
            txn.execute(
                stmt,
                &[
                    &self.ids,
                    &self.statuses,
                    &self.created,
                    &self.components,
                    &self.executions,
                    &self.lengths,
                    &self.rows,
                ],
            )?;
        }
        Ok(())
    }
}

/// The columns of entity rows to write, as arrays for `unnest`.
#[derive(Default)]
struct EntityColumns {
    ids: Vec<String>,
    last: Vec<i64>,
    has_state: Vec<bool>,
    locked: Vec<bool>,
    rows: Vec<Vec<u8>>,
}

impl EntityColumns {
    fn push(&mut self, id: String, r: EntityRecord) {
        self.ids.push(id);
        self.last.push(r.last_operation.0 as i64);
        self.has_state.push(r.state.is_some());
        self.locked.push(r.locked_by.is_some());
        self.rows.push(codec::encode_entity(r));
    }
}

fn split3<A, B, C>(rows: impl Iterator<Item = (A, B, C)>) -> (Vec<A>, Vec<B>, Vec<C>) {
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for (x, y, z) in rows {
        a.push(x);
        b.push(y);
        c.push(z);
    }
    (a, b, c)
}

/// What a batch names, to lock before the rules run.
#[derive(Default)]
struct Named {
    parts: BTreeSet<u32>,
    seqs: Vec<u64>,
    ids: BTreeSet<String>,
    timers: Vec<(String, u32)>,
    consumed: Vec<(String, u64)>,
}

impl Named {
    fn op(&mut self, op: &Op) {
        let ids = &mut self.ids;
        let mut id = |i: &InstanceId| {
            if !i.is_entity() {
                ids.insert(i.as_str().to_owned());
            }
        };
        match op {
            Op::Fenced { fence, op } => {
                self.parts.insert(fence.partition);
                self.op(op);
            }
            Op::CreateInstance { record, .. } => id(&record.instance_id),
            Op::Turn(turn) => {
                id(&turn.instance);
                for out in &turn.outbox {
                    outgoing(out, &mut id);
                }
                for key in turn
                    .timers
                    .iter()
                    .map(|t| &t.key)
                    .chain(&turn.cancel_timers)
                {
                    self.timers
                        .push((key.instance.as_str().to_owned(), key.timer_id.0));
                }
                for seq in &turn.consumed_inbox {
                    self.consumed
                        .push((turn.instance.as_str().to_owned(), *seq));
                }
            }
            Op::CompleteActivity { queue_seq, .. } => self.seqs.push(*queue_seq),
            Op::FireTimer { key, .. } => {
                id(&key.instance);
                self.timers
                    .push((key.instance.as_str().to_owned(), key.timer_id.0));
            }
            Op::RaiseEvent { instance, .. }
            | Op::SendControl { instance, .. }
            | Op::Repin { instance, .. }
            | Op::Purge { instance } => id(instance),
            Op::EntityTurn(write) => {
                for out in &write.outbox {
                    outgoing(out, &mut id);
                }
                let me = write.record.entity.instance_id();
                for seq in &write.consumed_inbox {
                    self.consumed.push((me.as_str().to_owned(), *seq));
                }
            }
            Op::SignalEntity { .. }
            | Op::PurgeMatching { .. }
            | Op::CleanEntities { .. }
            | Op::PutComponent { .. } => {}
        }
    }
}

fn outgoing(out: &Outgoing, id: &mut impl FnMut(&InstanceId)) {
    match out {
        Outgoing::Start { record, .. } => id(&record.instance_id),
        Outgoing::Deliver { instance, .. } => id(instance),
        Outgoing::Rewind {
            instance, start, ..
        } => {
            id(instance);
            outgoing(start, id);
        }
    }
}

impl Tx for PgTx<'_, '_> {
    fn fence_holds(&mut self, fence: &crate::lease::Fence) -> Result<bool, StoreError> {
        self.load_partitions(&BTreeSet::from([fence.partition]))?;
        Ok(self
            .partitions
            .get(&fence.partition)
            .is_some_and(|(owner, epoch)| {
                owner.as_deref() == Some(fence.owner.as_str()) && *epoch == fence.epoch
            }))
    }

    fn inbox_has(&mut self, id: &str, seq: u64) -> Result<bool, StoreError> {
        // `inbox_present` follows the batch's own appends and removals.
        let key = (id.to_owned(), seq);
        if self.inbox_present.contains(&key) {
            return Ok(true);
        }
        if self.inbox_checked.contains(&key) || self.inbox_cleared.contains(id) {
            return Ok(false);
        }
        self.load_inbox(std::slice::from_ref(&key))?;
        Ok(self.inbox_present.contains(&key))
    }

    fn instance(&mut self, id: &InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
        Ok(self.row(id.as_str())?.now.clone())
    }

    fn put_instance(
        &mut self,
        _old: Option<&InstanceRecord>,
        new: InstanceRecord,
    ) -> Result<(), StoreError> {
        let row = self.row(new.instance_id.as_str())?;
        row.now = Some(new);
        row.dirty = true;
        Ok(())
    }

    fn remove_instance(&mut self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        let row = self.row(id)?;
        row.dirty = true;
        Ok(row.now.take())
    }

    fn append_history(
        &mut self,
        id: &InstanceId,
        from: u32,
        events: Vec<HistoryEvent>,
    ) -> Result<(), StoreError> {
        for (i, event) in events.into_iter().enumerate() {
            let key = (id.as_str().to_owned(), from + i as u32);
            self.history.insert(key, codec::encode_event(event));
        }
        Ok(())
    }

    fn clear_history(&mut self, id: &str) -> Result<(), StoreError> {
        self.history.retain(|(i, _), _| i != id);
        self.history_cleared.insert(id.to_owned());
        Ok(())
    }

    fn append_inbox(&mut self, id: &InstanceId, message: Message) -> Result<u64, StoreError> {
        let seq = Self::take(&mut self.inbox_numbers, self.txn, &self.sql.inbox_seqs)
            .map_err(|e| self.fail(e))?;
        let key = (id.as_str().to_owned(), seq);
        self.inbox_checked.insert(key.clone());
        self.inbox_present.insert(key.clone());
        self.inbox_added.insert(key, codec::encode_message(message));
        Ok(seq)
    }

    fn remove_inbox(&mut self, id: &str, seq: u64) -> Result<(), StoreError> {
        let key = (id.to_owned(), seq);
        self.inbox_present.remove(&key);
        self.inbox_checked.insert(key.clone());
        if self.inbox_added.remove(&key).is_none() && !self.inbox_cleared.contains(id) {
            self.inbox_removed.insert(key);
        }
        Ok(())
    }

    fn clear_inbox(&mut self, id: &str) -> Result<(), StoreError> {
        self.inbox_added.retain(|(i, _), _| i != id);
        self.inbox_removed.retain(|(i, _)| i != id);
        self.inbox_present.retain(|(i, _)| i != id);
        self.inbox_cleared.insert(id.to_owned());
        Ok(())
    }

    fn inbox_is_empty(&mut self, id: &str) -> Result<bool, StoreError> {
        self.flush()?;
        let row = self
            .txn
            .query_one(&self.sql.inbox_exists, &[&id])
            .map_err(|e| self.fail(e))?;
        Ok(!row.get::<_, bool>(0))
    }

    fn enqueue_activity(&mut self, work: ActivityWork) -> Result<u64, StoreError> {
        let seq = Self::take(
            &mut self.activity_numbers,
            self.txn,
            &self.sql.activity_seqs,
        )
        .map_err(|e| self.fail(e))?;
        self.activities_added.insert(seq, work);
        Ok(seq)
    }

    fn remove_activity(&mut self, seq: u64) -> Result<Option<ActivityWork>, StoreError> {
        if let Some(work) = self.activities_added.remove(&seq) {
            return Ok(Some(work));
        }
        self.load_activities(&[seq])?;
        let work = self.activities.get_mut(&seq).and_then(Option::take);
        if work.is_some() {
            self.activities_removed.insert(seq);
        }
        Ok(work)
    }

    fn remove_activities_of(&mut self, id: &str) -> Result<usize, StoreError> {
        self.flush()?;
        let rows = self
            .txn
            .query(&self.sql.delete_activities_of, &[&id])
            .map_err(|e| self.fail(e))?;
        for w in self.activities.values_mut() {
            if w.as_ref().is_some_and(|w| w.instance.as_str() == id) {
                *w = None;
            }
        }
        Ok(rows.len())
    }

    fn insert_timer(&mut self, entry: TimerEntry) -> Result<(), StoreError> {
        let key = (entry.key.instance.as_str().to_owned(), entry.key.timer_id.0);
        self.timers
            .insert(key.clone(), Some((entry.key.fire_at.0, entry.execution)));
        self.timers_dirty.insert(key);
        Ok(())
    }

    fn remove_timer(&mut self, key: &TimerKey) -> Result<Option<ExecutionId>, StoreError> {
        let k = (key.instance.as_str().to_owned(), key.timer_id.0);
        if !self.timers.contains_key(&k) {
            if self.timers_cleared.contains(&k.0) {
                return Ok(None);
            }
            self.load_timers(std::slice::from_ref(&k))?;
        }
        let view = self.timers.get_mut(&k).expect("loaded above");
        match view {
            Some((fire_at, _)) if *fire_at == key.fire_at.0 => {
                let (_, execution) = view.take().expect("matched Some");
                self.timers_dirty.insert(k);
                Ok(Some(execution))
            }
            _ => Ok(None),
        }
    }

    fn clear_timers(&mut self, id: &str) -> Result<(), StoreError> {
        for (key, view) in self.timers.iter_mut() {
            if key.0 == id {
                *view = None;
            }
        }
        self.timers_dirty.retain(|(i, _)| i != id);
        self.timers_cleared.insert(id.to_owned());
        Ok(())
    }

    fn put_entity(&mut self, record: EntityRecord) -> Result<(), StoreError> {
        let key = record.entity.instance_id().as_str().to_owned();
        self.entities.insert(key, Some(record));
        Ok(())
    }

    fn empty_entities(&mut self, limit: usize) -> Result<Vec<EntityId>, StoreError> {
        self.flush()?;
        let rows = self
            .txn
            .query(&self.sql.empty_entities, &[&(limit as i64)])
            .map_err(|e| self.fail(e))?;
        rows.iter()
            .map(|row| {
                let id: String = row.get(0);
                Ok(codec::decode_entity(row.get(1), &id)?.entity)
            })
            .collect()
    }

    fn remove_entity(&mut self, id: &EntityId) -> Result<(), StoreError> {
        self.entities
            .insert(id.instance_id().as_str().to_owned(), None);
        Ok(())
    }

    fn purge_candidates(
        &mut self,
        filter: &InstanceFilter,
        statuses: &[RuntimeStatus],
        limit: usize,
    ) -> Result<Vec<PurgeCandidate>, StoreError> {
        self.flush()?;
        let codes: Vec<i16> = statuses
            .iter()
            .map(|s| i16::from(status_code(*s)))
            .collect();
        let from = filter
            .created_from
            .map_or(0, |t| t.0.min(i64::MAX as u64) as i64);
        let to = filter
            .created_to
            .map_or(i64::MAX, |t| t.0.min(i64::MAX as u64) as i64);
        let prefix = filter.id_prefix.clone().unwrap_or_default();
        let rows = self
            .txn
            .query(
                &self.sql.purge_candidates,
                &[
                    &codes,
                    &from,
                    &to,
                    &prefix,
                    &filter.component,
                    &(limit.min(i64::MAX as usize) as i64),
                ],
            )
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.get(0);
            let record = codec::decode_instance(row.get(1), &id)?;
            out.push((id.clone(), record.created.0, record.status));
            self.instances.insert(
                id,
                Row {
                    stored: true,
                    now: Some(record),
                    dirty: false,
                },
            );
        }
        Ok(out)
    }

    fn put_component_bytes(&mut self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.txn
            .execute(&self.sql.put_component_bytes, &[&digest, &bytes])
            .map_err(|e| self.fail(e))?;
        Ok(())
    }
}
