//! [`Tx`] over the redb tables of one write transaction: each primitive
//! writes its rows and keeps the indexes in step (see the invariants in
//! `tables.rs`), and the hub's sequence counters are loaded once per
//! transaction and saved in it, so a number is never handed out twice, even
//! across crashes.
//!
//! Index upkeep lives here and nowhere else: every instance row write goes
//! through `put_instance` (created and status indexes), every timer write
//! through `insert_timer` / `remove_timer` (per-instance timer index), every
//! work item through `enqueue_activity` / `remove_activity` (per-instance
//! activity index).

use std::ops::Bound;

use redb::ReadableTable;
use weft_core::{EntityId, ExecutionId, HistoryEvent, InstanceId, Message, RuntimeStatus};

use crate::codec;
use crate::error::{During, StoreError};
use crate::query::StatusMerge;
use crate::records::{
    ActivityWork, EntityRecord, InstanceFilter, InstanceRecord, TimerEntry, TimerKey,
};
use crate::tables::{META_NEXT_ACTIVITY_SEQ, META_NEXT_INBOX_SEQ, WriteTables, status_code};
use crate::tx::{PurgeCandidate, Tx};
use crate::wire::TimerV1;

/// One redb write transaction's tables and the hub's sequence counters.
pub(crate) struct RedbTx<'a, 'txn> {
    t: &'a mut WriteTables<'txn>,
    next_inbox: u64,
    next_activity: u64,
}

impl<'a, 'txn> RedbTx<'a, 'txn> {
    /// Loads the sequence counters; [`RedbTx::finish`] saves them.
    pub(crate) fn begin(t: &'a mut WriteTables<'txn>) -> Result<RedbTx<'a, 'txn>, StoreError> {
        let get = |t: &WriteTables<'_>, key: &str| -> Result<u64, StoreError> {
            Ok(t.meta
                .get(key)
                .during("reading sequence counters")?
                .map_or(1, |g| g.value()))
        };
        let next_inbox = get(t, META_NEXT_INBOX_SEQ)?;
        let next_activity = get(t, META_NEXT_ACTIVITY_SEQ)?;
        Ok(RedbTx {
            t,
            next_inbox,
            next_activity,
        })
    }

    /// Saves the sequence counters (before the transaction commits).
    pub(crate) fn finish(self) -> Result<(), StoreError> {
        const DURING: &str = "saving sequence counters";
        self.t
            .meta
            .insert(META_NEXT_INBOX_SEQ, self.next_inbox)
            .during(DURING)?;
        self.t
            .meta
            .insert(META_NEXT_ACTIVITY_SEQ, self.next_activity)
            .during(DURING)?;
        Ok(())
    }

    fn decode_row(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        self.t
            .instances
            .get(id)
            .during("reading an instance row")?
            .map(|g| codec::decode_instance(g.value(), id))
            .transpose()
    }
}

impl Tx for RedbTx<'_, '_> {
    fn instance(&mut self, id: &InstanceId) -> Result<Option<InstanceRecord>, StoreError> {
        self.decode_row(id.as_str())
    }

    fn put_instance(
        &mut self,
        old: Option<&InstanceRecord>,
        new: InstanceRecord,
    ) -> Result<(), StoreError> {
        const DURING: &str = "writing an instance row";
        let t = &mut *self.t;
        let id = new.instance_id.clone();
        let key = id.as_str();
        if let Some(old) = old {
            t.by_created.remove((old.created.0, key)).during(DURING)?;
            t.by_status
                .remove((status_code(old.status), old.created.0, key))
                .during(DURING)?;
        }
        let (created, status): (u64, RuntimeStatus) = (new.created.0, new.status);
        t.by_created.insert((created, key), ()).during(DURING)?;
        t.by_status
            .insert((status_code(status), created, key), ())
            .during(DURING)?;
        t.instances
            .insert(key, codec::encode_instance(new).as_slice())
            .during(DURING)?;
        Ok(())
    }

    fn remove_instance(&mut self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        const DURING: &str = "deleting an instance row";
        let t = &mut *self.t;
        let row = t
            .instances
            .remove(id)
            .during(DURING)?
            .map(|g| codec::decode_instance(g.value(), id))
            .transpose()?;
        if let Some(row) = &row {
            t.by_created.remove((row.created.0, id)).during(DURING)?;
            t.by_status
                .remove((status_code(row.status), row.created.0, id))
                .during(DURING)?;
        }
        Ok(row)
    }

    fn append_history(
        &mut self,
        id: &InstanceId,
        from: u32,
        events: Vec<HistoryEvent>,
    ) -> Result<(), StoreError> {
        let key = id.as_str();
        for (i, event) in events.into_iter().enumerate() {
            self.t
                .history
                .insert(
                    (key, from + i as u32),
                    codec::encode_event(event).as_slice(),
                )
                .during("writing history")?;
        }
        Ok(())
    }

    fn clear_history(&mut self, key: &str) -> Result<(), StoreError> {
        self.t
            .history
            .retain_in((key, 0)..=(key, u32::MAX), |_, _| false)
            .during("deleting a history")
    }

    fn append_inbox(&mut self, id: &InstanceId, message: Message) -> Result<u64, StoreError> {
        let seq = self.next_inbox;
        self.next_inbox += 1;
        self.t
            .inbox
            .insert(
                (id.as_str(), seq),
                codec::encode_message(message).as_slice(),
            )
            .during("appending to an inbox")?;
        Ok(seq)
    }

    fn remove_inbox(&mut self, id: &str, seq: u64) -> Result<(), StoreError> {
        self.t
            .inbox
            .remove((id, seq))
            .during("consuming an inbox message")?;
        Ok(())
    }

    fn inbox_has(&mut self, id: &str, seq: u64) -> Result<bool, StoreError> {
        Ok(self
            .t
            .inbox
            .get((id, seq))
            .during("reading an inbox message")?
            .is_some())
    }

    fn clear_inbox(&mut self, key: &str) -> Result<(), StoreError> {
        self.t
            .inbox
            .retain_in((key, 0)..=(key, u64::MAX), |_, _| false)
            .during("deleting an inbox")
    }

    fn inbox_is_empty(&mut self, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .t
            .inbox
            .range((key, 0)..=(key, u64::MAX))
            .during("reading an inbox")?
            .next()
            .is_none())
    }

    fn enqueue_activity(&mut self, work: ActivityWork) -> Result<u64, StoreError> {
        const DURING: &str = "enqueueing an activity";
        let queue_seq = self.next_activity;
        self.next_activity += 1;
        self.t
            .activities_by_instance
            .insert((work.instance.as_str(), queue_seq), ())
            .during(DURING)?;
        self.t
            .activities
            .insert(queue_seq, codec::encode_activity(work).as_slice())
            .during(DURING)?;
        Ok(queue_seq)
    }

    fn remove_activity(&mut self, queue_seq: u64) -> Result<Option<ActivityWork>, StoreError> {
        const DURING: &str = "removing an activity work item";
        let work = self
            .t
            .activities
            .remove(queue_seq)
            .during(DURING)?
            .map(|g| codec::decode_activity(g.value(), queue_seq))
            .transpose()?;
        if let Some(work) = &work {
            self.t
                .activities_by_instance
                .remove((work.instance.as_str(), queue_seq))
                .during(DURING)?;
        }
        Ok(work)
    }

    fn remove_activities_of(&mut self, key: &str) -> Result<usize, StoreError> {
        const DURING: &str = "deleting an instance's work items";
        let t = &mut *self.t;
        let seqs: Vec<u64> = t
            .activities_by_instance
            .range((key, 0)..=(key, u64::MAX))
            .during(DURING)?
            .map(|r| r.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()
            .during(DURING)?;
        if seqs.is_empty() {
            return Ok(0);
        }
        for queue_seq in &seqs {
            t.activities.remove(*queue_seq).during(DURING)?;
        }
        t.activities_by_instance
            .retain_in((key, 0)..=(key, u64::MAX), |_, _| false)
            .during(DURING)?;
        Ok(seqs.len())
    }

    fn insert_timer(&mut self, entry: TimerEntry) -> Result<(), StoreError> {
        const DURING: &str = "writing a timer";
        let t = &mut *self.t;
        let key = entry.key.instance.as_str();
        let timer_id = entry.key.timer_id.0;
        let fire_at = entry.key.fire_at.0;
        let previous = t
            .timers_by_instance
            .insert((key, timer_id), fire_at)
            .during(DURING)?
            .map(|g| g.value());
        if let Some(previous) = previous.filter(|p| *p != fire_at) {
            t.timers.remove((previous, key, timer_id)).during(DURING)?;
        }
        let value = codec::encode_timer(TimerV1 {
            execution: entry.execution,
        });
        t.timers
            .insert((fire_at, key, timer_id), value.as_slice())
            .during(DURING)?;
        Ok(())
    }

    fn remove_timer(&mut self, key: &TimerKey) -> Result<Option<ExecutionId>, StoreError> {
        const DURING: &str = "deleting a timer";
        let t = &mut *self.t;
        let id = key.instance.as_str();
        let timer_id = key.timer_id.0;
        let removed = t
            .timers
            .remove((key.fire_at.0, id, timer_id))
            .during(DURING)?
            .map(|g| codec::decode_timer(g.value(), id, timer_id))
            .transpose()?;
        if removed.is_some() {
            t.timers_by_instance.remove((id, timer_id)).during(DURING)?;
        }
        Ok(removed.map(|v| v.execution))
    }

    fn clear_timers(&mut self, key: &str) -> Result<(), StoreError> {
        const DURING: &str = "deleting an instance's timers";
        let t = &mut *self.t;
        let timers: Vec<(u32, u64)> = t
            .timers_by_instance
            .range((key, 0)..=(key, u32::MAX))
            .during(DURING)?
            .map(|r| r.map(|(k, v)| (k.value().1, v.value())))
            .collect::<Result<_, _>>()
            .during(DURING)?;
        for (timer_id, fire_at) in timers {
            t.timers.remove((fire_at, key, timer_id)).during(DURING)?;
        }
        t.timers_by_instance
            .retain_in((key, 0)..=(key, u32::MAX), |_, _| false)
            .during(DURING)
    }

    fn put_entity(&mut self, record: EntityRecord) -> Result<(), StoreError> {
        let key = record.entity.instance_id();
        self.t
            .entities
            .insert(key.as_str(), codec::encode_entity(record).as_slice())
            .during("writing an entity row")?;
        Ok(())
    }

    fn empty_entities(&mut self, limit: usize) -> Result<Vec<EntityId>, StoreError> {
        const DURING: &str = "cleaning entity storage";
        let mut empty = Vec::new();
        for row in self.t.entities.iter().during(DURING)? {
            if empty.len() >= limit {
                break;
            }
            let (k, v) = row.during(DURING)?;
            let record = codec::decode_entity(v.value(), k.value())?;
            if record.state.is_none() && record.locked_by.is_none() {
                empty.push(record.entity);
            }
        }
        Ok(empty)
    }

    fn remove_entity(&mut self, id: &EntityId) -> Result<(), StoreError> {
        self.t
            .entities
            .remove(id.instance_id().as_str())
            .during("deleting an entity row")?;
        Ok(())
    }

    fn purge_candidates(
        &mut self,
        filter: &InstanceFilter,
        statuses: &[RuntimeStatus],
        limit: usize,
    ) -> Result<Vec<PurgeCandidate>, StoreError> {
        let from = filter.created_from.map_or(0, |t| t.0);
        let to = filter.created_to.map_or(u64::MAX, |t| t.0);
        let prefix = filter.id_prefix.as_deref().unwrap_or("");
        let start = Bound::Included((from, ""));
        let mut merge = StatusMerge::new(&self.t.by_status, statuses, start, to, prefix)?;
        let mut out = Vec::with_capacity(limit.min(4096));
        while out.len() < limit {
            let Some(entry) = merge.next()? else { break };
            let (code, created, id) = entry.key();
            if let Some(component) = filter.component.as_deref() {
                let row = self
                    .t
                    .instances
                    .get(id)
                    .during("reading an instance row")?
                    .map(|g| codec::decode_instance(g.value(), id))
                    .transpose()?;
                if row.is_none_or(|r| r.component != component) {
                    continue;
                }
            }
            let status = statuses
                .iter()
                .copied()
                .find(|s| status_code(*s) == code)
                .expect("the walk covers the statuses asked for only");
            out.push((id.to_owned(), created, status));
        }
        Ok(out)
    }

    fn put_component_bytes(&mut self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        const DURING: &str = "storing a component";
        if self.t.components.get(digest).during(DURING)?.is_none() {
            self.t.components.insert(digest, bytes).during(DURING)?;
        }
        Ok(())
    }
}
