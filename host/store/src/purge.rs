//! Purging instances: [`Op::Purge`](crate::Op::Purge) and
//! [`Op::PurgeMatching`](crate::Op::PurgeMatching).
//!
//! Only terminal instances (Completed, Failed, Terminated) are ever deleted.
//! Purge by ID checks the row's status before it deletes anything. Purge by
//! filter asks the backend for candidates of the terminal statuses only, so
//! it cannot reach another instance; it also checks each deleted row against
//! what the backend's index said and fails the batch as corrupt if they
//! disagree.
//!
//! Deleting an instance deletes everything keyed by it: the row (with its
//! index entries), its history, inbox and timers, and its queued work items.
//! Backends do each through a range or an index, so the cost is that
//! instance's rows, never a scan.

use weft_core::{InstanceId, RuntimeStatus};

use crate::apply::{OpResult, clear_instance};
use crate::error::{OpError, StoreError};
use crate::ops::OpOutcome;
use crate::records::InstanceFilter;
use crate::tx::Tx;

/// The statuses a purge may delete.
const PURGEABLE: [RuntimeStatus; 3] = [
    RuntimeStatus::Completed,
    RuntimeStatus::Failed,
    RuntimeStatus::Terminated,
];

/// [`Op::Purge`](crate::Op::Purge): validates, then deletes.
pub(crate) fn purge_one(t: &mut impl Tx, id: &InstanceId) -> Result<OpResult, StoreError> {
    let Some(record) = t.instance(id)? else {
        return Ok(Err(OpError::NotFound));
    };
    if !PURGEABLE.contains(&record.status) {
        return Ok(Err(OpError::WrongStatus(record.status)));
    }
    delete_instance(t, id.as_str(), record.created.0, record.status)?;
    Ok(Ok(OpOutcome::Purged { instances: 1 }))
}

/// [`Op::PurgeMatching`](crate::Op::PurgeMatching): collects up to `limit`
/// candidates, oldest first, then deletes their instances.
pub(crate) fn purge_matching(
    t: &mut impl Tx,
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
    let victims = t.purge_candidates(filter, &statuses, limit)?;
    for (id, created, status) in &victims {
        if !PURGEABLE.contains(status) {
            return Err(crate::error::StoreError::corrupt(
                format!("instance index entry '{id}'"),
                format!("a purge walk found status {status}"),
            ));
        }
        delete_instance(t, id, *created, *status)?;
    }
    Ok(Ok(OpOutcome::Purged {
        instances: victims.len() as u64,
    }))
}

/// Deletes instance `id`, whose row has `created` and `status` (terminal),
/// with everything keyed by it. The row must exist and agree; otherwise the
/// store is corrupt and the transaction is abandoned.
fn delete_instance(
    t: &mut impl Tx,
    id: &str,
    created: u64,
    status: RuntimeStatus,
) -> Result<(), StoreError> {
    let what = || format!("instance index entry '{id}'");
    let Some(row) = t.remove_instance(id)? else {
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
    clear_instance(t, id)?;
    t.remove_activities_of(id)?;
    Ok(())
}
