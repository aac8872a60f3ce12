//! Purging instances: [`Op::Purge`](crate::Op::Purge) and
//! [`Op::PurgeMatching`](crate::Op::PurgeMatching).
//!
//! Only terminal instances (Completed, Failed, Terminated) are ever deleted.
//! Purge by ID checks the row's status before it deletes anything. Purge by
//! filter only walks the terminal statuses' ranges of `by_status`, so it cannot
//! reach another instance; it also checks each deleted row against its index
//! key and fails the batch as corrupt if they disagree.
//!
//! Deleting an instance deletes everything keyed by it, each through a range
//! or an index so that the cost is that instance's rows, never a scan: the row,
//! its `by_created` and `by_status` entries, its history and inbox ranges, its
//! timers (through `timers_by_instance`) and its queued work items (through
//! `activities_by_instance`).

use std::ops::Bound;

use weft_core::{InstanceId, RuntimeStatus};

use crate::apply::{OpResult, clear_instance, get_instance, remove_activities_of};
use crate::codec;
use crate::error::{During, OpError, StoreError};
use crate::ops::OpOutcome;
use crate::query::{StatusEntry, StatusMerge};
use crate::records::InstanceFilter;
use crate::tables::{WriteTables, status_code};

/// The statuses a purge may delete.
const PURGEABLE: [RuntimeStatus; 3] = [
    RuntimeStatus::Completed,
    RuntimeStatus::Failed,
    RuntimeStatus::Terminated,
];

/// [`Op::Purge`](crate::Op::Purge): validates, then deletes.
pub(crate) fn purge_one(t: &mut WriteTables<'_>, id: &InstanceId) -> Result<OpResult, StoreError> {
    let Some(record) = get_instance(t, id)? else {
        return Ok(Err(OpError::NotFound));
    };
    if !PURGEABLE.contains(&record.status) {
        return Ok(Err(OpError::WrongStatus(record.status)));
    }
    delete_instance(t, id.as_str(), record.created.0, record.status)?;
    Ok(Ok(OpOutcome::Purged { instances: 1 }))
}

/// [`Op::PurgeMatching`](crate::Op::PurgeMatching): collects up to `limit`
/// index entries, oldest first, then deletes their instances.
pub(crate) fn purge_matching(
    t: &mut WriteTables<'_>,
    filter: &InstanceFilter,
    limit: usize,
) -> Result<OpResult, StoreError> {
    let statuses: Vec<RuntimeStatus> = PURGEABLE
        .into_iter()
        .filter(|s| filter.statuses.is_empty() || filter.statuses.contains(s))
        .collect();
    let from = filter.created_from.map_or(0, |t| t.0);
    let to = filter.created_to.map_or(u64::MAX, |t| t.0);
    if limit == 0 || statuses.is_empty() || from > to {
        return Ok(Ok(OpOutcome::Purged { instances: 0 }));
    }
    let prefix = filter.id_prefix.as_deref().unwrap_or("");
    let victims: Vec<StatusEntry> = {
        let start = Bound::Included((from, ""));
        let mut merge = StatusMerge::new(&t.by_status, &statuses, start, to, prefix)?;
        let mut out = Vec::with_capacity(limit.min(4096));
        while out.len() < limit {
            match merge.next()? {
                Some(entry) => {
                    if component_matches(t, filter, &entry)? {
                        out.push(entry);
                    }
                }
                None => break,
            }
        }
        out
    };
    for entry in &victims {
        let (code, created, id) = entry.key();
        let status = PURGEABLE
            .into_iter()
            .find(|s| status_code(*s) == code)
            .expect("the walk covers purgeable statuses only");
        delete_instance(t, id, created, status)?;
    }
    Ok(Ok(OpOutcome::Purged {
        instances: victims.len() as u64,
    }))
}

/// The filter's component condition (not indexed: reads the row).
fn component_matches(
    t: &WriteTables<'_>,
    filter: &InstanceFilter,
    entry: &StatusEntry,
) -> Result<bool, StoreError> {
    use redb::ReadableTable;
    let Some(component) = filter.component.as_deref() else {
        return Ok(true);
    };
    let (_, _, id) = entry.key();
    Ok(
        match t.instances.get(id).during("reading an instance row")? {
            Some(row) => codec::decode_instance(row.value(), id)?.component == component,
            None => false,
        },
    )
}

/// Deletes instance `id`, whose row has `created` and `status` (terminal),
/// with everything keyed by it. The row must exist and agree; otherwise the
/// store is corrupt and the transaction is abandoned.
fn delete_instance(
    t: &mut WriteTables<'_>,
    id: &str,
    created: u64,
    status: RuntimeStatus,
) -> Result<(), StoreError> {
    const DURING: &str = "purging an instance";
    let row = t
        .instances
        .remove(id)
        .during(DURING)?
        .map(|g| codec::decode_instance(g.value(), id))
        .transpose()?;
    let what = || format!("instance index entry '{id}'");
    let Some(row) = row else {
        return Err(StoreError::corrupt(
            what(),
            "the index names an instance row that does not exist",
        ));
    };
    if row.status != status || row.created.0 != created {
        return Err(StoreError::corrupt(
            what(),
            format!(
                "the index says {status} created at {created}, the row says {} created at {}",
                row.status, row.created.0
            ),
        ));
    }
    t.by_created.remove((created, id)).during(DURING)?;
    t.by_status
        .remove((status_code(status), created, id))
        .during(DURING)?;
    clear_instance(t, id)?;
    remove_activities_of(t, id)?;
    Ok(())
}
