//! Durable entities in the store: one row per entity (`entities` table:
//! state, lock holder, last operation time) and its inbox, which is also its
//! queue — messages that wait while another section holds the lock stay in
//! the inbox until a later turn consumes them.

use redb::ReadableTable;

use crate::apply::{OpResult, first_consumed, send};
use crate::codec;
use crate::error::{During, StoreError};
use crate::ops::{EntityWrite, OpOutcome};
use crate::records::{EntityQuery, EntityRecord};
use crate::tx::Tx;

/// Commits one entity turn: the row, the consumed messages and the outbox.
pub(crate) fn commit_turn(t: &mut impl Tx, write: EntityWrite) -> Result<OpResult, StoreError> {
    let EntityWrite {
        record,
        consumed_inbox,
        outbox,
    } = write;
    let sender = record.entity.instance_id();
    if let Some(e) = first_consumed(t, &sender, &consumed_inbox)? {
        return Ok(Err(e));
    }
    for s in consumed_inbox {
        t.remove_inbox(sender.as_str(), s)?;
    }
    t.put_entity(record)?;
    let mut delivered = Vec::new();
    for out in outbox {
        send(t, &sender, out, &mut delivered)?;
    }
    Ok(Ok(OpOutcome::TurnCommitted {
        activity_seqs: Vec::new(),
        delivered,
    }))
}

/// Deletes up to `limit` rows of entities that have no state, no lock and
/// an empty inbox (nothing about them is left to keep).
pub(crate) fn clean(t: &mut impl Tx, limit: usize) -> Result<OpResult, StoreError> {
    let mut removed = 0;
    for entity in t.empty_entities(limit)? {
        if t.inbox_is_empty(entity.instance_id().as_str())? {
            t.remove_entity(&entity)?;
            removed += 1;
        }
    }
    Ok(Ok(OpOutcome::Purged { instances: removed }))
}

/// Reads one entity's row from a read-only table.
pub(crate) fn read_entity(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Option<EntityRecord>, StoreError> {
    table
        .get(id)
        .during("reading an entity row")?
        .map(|g| codec::decode_entity(g.value(), id))
        .transpose()
}

/// One page of entities matching `query`, in ID order, and the ID to
/// continue after when more may follow.
pub(crate) fn list(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    query: &EntityQuery,
) -> Result<(Vec<EntityRecord>, Option<String>), StoreError> {
    const DURING: &str = "listing entities";
    let top = if query.top == 0 { 100 } else { query.top };
    let prefix = query.name.as_ref().map(|n| format!("@{n}@"));
    let start = match (&query.after, &prefix) {
        (Some(after), _) => std::ops::Bound::Excluded(after.as_str()),
        (None, Some(p)) => std::ops::Bound::Included(p.as_str()),
        (None, None) => std::ops::Bound::Unbounded,
    };
    let mut out = Vec::new();
    for row in table
        .range::<&str>((start, std::ops::Bound::Unbounded))
        .during(DURING)?
    {
        let (k, v) = row.during(DURING)?;
        let id = k.value();
        if let Some(p) = &prefix
            && !id.starts_with(p.as_str())
        {
            if id > p.as_str() {
                break;
            }
            continue;
        }
        let record = codec::decode_entity(v.value(), id)?;
        let in_time = query
            .last_operation_from
            .is_none_or(|f| record.last_operation >= f)
            && query
                .last_operation_to
                .is_none_or(|to| record.last_operation <= to);
        if in_time && (query.include_empty || record.state.is_some()) {
            out.push(record);
            if out.len() > top {
                // One more matched: this page ends at the one before it.
                out.pop();
                let last = out.last().map(|r| r.entity.to_string());
                return Ok((out, last));
            }
        }
    }
    Ok((out, None))
}
