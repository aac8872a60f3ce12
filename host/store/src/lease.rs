//! Sharing one task hub between several hosts: partitions, leases, fences.
//!
//! A hub's instances fall into [`PARTITIONS`] partitions by a hash of their
//! ID ([`partition_of`]). A host serves a partition while it holds the
//! partition's lease, which it renews on the database's clock; it runs the
//! turns, activities and timers of that partition's instances and nobody
//! else does. Leases give liveness, not safety: every turn a host commits is
//! wrapped in [`Op::Fenced`](crate::Op::Fenced) with the [`Fence`] it held
//! when the turn started, and the store refuses it
//! ([`OpError::Fenced`](crate::OpError::Fenced)) unless the partition still
//! has that owner and epoch. Taking a partition over raises its epoch, so a
//! host that stalled past its lease can never commit into it again, and the
//! row lock the fence check takes makes a takeover wait for commits in
//! flight, so the new owner's recovery sees all of them.
//!
//! A backend one host serves alone (redb) has no [`Leases`]: that host owns
//! every partition and its ops go unfenced.

use std::collections::BTreeMap;

use tokio::sync::mpsc;
use weft_core::InstanceId;

use crate::error::StoreError;
use crate::records::{ActivityWork, TimerEntry};
use crate::store::Inbox;

/// How many partitions a shared task hub has. Fixed: rows are written with
/// their partition number, so changing it needs a migration.
pub const PARTITIONS: u32 = 16;

/// The partition of the instance (or entity) with ID `id`: the first byte
/// of the SHA-256 of its UTF-8 bytes, modulo [`PARTITIONS`]. Every host and
/// every build computes the same, and so does the database
/// ([`partition_sql`]), so rows need no partition column.
pub fn partition_of(id: &str) -> u32 {
    use sha2::Digest;
    u32::from(sha2::Sha256::digest(id.as_bytes())[0]) % PARTITIONS
}

/// [`partition_of`] in SQL, of the text column `column`.
pub(crate) fn partition_sql(column: &str) -> String {
    format!("(get_byte(sha256(convert_to({column}, 'UTF8')), 0) % {PARTITIONS})")
}

/// What a fenced op must find in the store: `partition` still leased to
/// `owner` at `epoch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// The partition of the instance the op writes.
    pub partition: u32,
    /// The host that ran the turn.
    pub owner: String,
    /// The partition's epoch when the host took it.
    pub epoch: u64,
}

/// The partitions a host holds, with the epoch of each.
pub type Held = BTreeMap<u32, u64>;

/// The durable work of some partitions, to resume when a host takes them.
#[derive(Debug, Default)]
pub struct PartitionWork {
    /// Non-empty inboxes, by instance.
    pub inboxes: Vec<(InstanceId, Inbox)>,
    /// Queued activities, in queue order.
    pub activities: Vec<(u64, ActivityWork)>,
    /// Pending timers.
    pub timers: Vec<TimerEntry>,
}

/// A backend's partition leases for one task hub and one host.
#[async_trait::async_trait]
pub trait Leases: Send + Sync + 'static {
    /// This host's name in the lease table (unique per process).
    fn host(&self) -> &str;

    /// One lease round: says this host is alive, renews what it holds,
    /// takes free or expired partitions up to its fair share (partitions
    /// over live hosts, rounded up) and gives up what is over it. Returns
    /// what it holds now; a partition missing from the answer is lost.
    async fn round(&self) -> Result<Held, StoreError>;

    /// Gives up every partition this host holds (a clean shutdown), so the
    /// others take them at once instead of after the lease.
    async fn release_all(&self) -> Result<(), StoreError>;

    /// The durable work of `partitions`.
    async fn work(&self, partitions: &[u32]) -> Result<PartitionWork, StoreError>;

    /// Instances of `partitions` with messages in their inbox, each with
    /// its newest inbox sequence number (the polling fallback of wake-ups).
    async fn waiting(&self, partitions: &[u32]) -> Result<Vec<(InstanceId, u64)>, StoreError>;

    /// Instances that another host gave new inbox messages, as they are
    /// committed (taken once; later calls get `None`).
    fn wakeups(&self) -> Option<mpsc::UnboundedReceiver<Vec<InstanceId>>>;

    /// How long a lease lasts without renewal.
    fn lease(&self) -> std::time::Duration;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_spread() {
        // SHA-256("") starts e3, SHA-256("a") starts ca: fixed for good.
        assert_eq!(partition_of(""), 0xe3 % PARTITIONS);
        assert_eq!(partition_of("a"), 0xca % PARTITIONS);
        let mut seen = [0u32; PARTITIONS as usize];
        for i in 0..1600 {
            seen[partition_of(&format!("instance-{i}")) as usize] += 1;
        }
        assert!(seen.iter().all(|n| *n > 50), "{seen:?}");
    }
}
