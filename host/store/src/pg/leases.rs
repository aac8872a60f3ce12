//! Partition leases on PostgreSQL (see `lease.rs` for the protocol).
//!
//! Tables of the hub schema: `partitions(part, owner, epoch, lease_until)`,
//! one row per partition, and `hosts(host_id, alive_until)`, the hosts that
//! renewed recently. Every time comparison is on the database's clock
//! (`now()`), never a host's. A round is a few single statements, each
//! atomic on its own: taking a partition is an `UPDATE … FOR UPDATE SKIP
//! LOCKED` that raises the epoch, so two hosts never take the same one, and
//! it waits for the commits that hold the row `FOR SHARE` (their fence
//! checks), so a new owner's recovery reads everything they wrote.
//!
//! Wake-ups: a batch that gives an inbox message to an instance of a
//! partition this process does not hold announces it with `pg_notify` on
//! the hub's channel (delivered when the batch commits); [`listen`] keeps a
//! connection `LISTEN`ing and forwards the instance IDs. A notification can
//! be missed (the connection dropped), so the host also polls
//! [`Leases::waiting`].

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;
use weft_core::InstanceId;

use super::storage::PgStorage;
use crate::error::StoreError;
use crate::lease::{Held, Leases, PARTITIONS, PartitionWork, partition_sql};
use crate::store::stored_id;

/// The lease a host takes unless configured otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// A name for this process's lease on one hub: host name, process ID and a
/// per-handle counter, so two handles never share an identity.
pub(crate) fn host_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "host".into());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{name}/{}/{started:x}/{n}", std::process::id())
}

/// Ceiling of partitions over live hosts: a host's fair share.
fn fair_share(hosts: i64) -> usize {
    let hosts = hosts.max(1) as usize;
    (PARTITIONS as usize).div_ceil(hosts)
}

#[async_trait::async_trait]
impl Leases for PgStorage {
    fn host(&self) -> &str {
        &self.lease_host
    }

    fn lease(&self) -> Duration {
        self.lease
    }

    async fn round(&self) -> Result<Held, StoreError> {
        let s = &self.s;
        let me = self.lease_host.as_str();
        let secs = self.lease.as_secs_f64();
        let during = "renewing partition leases";
        self.query(
            during,
            &format!(
                "INSERT INTO {s}.hosts (host_id, alive_until) \
                 VALUES ($1, now() + $2::float8 * interval '1 second') \
                 ON CONFLICT (host_id) DO UPDATE SET alive_until = excluded.alive_until"
            ),
            &[&me, &secs],
        )
        .await?;
        self.query(
            during,
            &format!("DELETE FROM {s}.hosts WHERE alive_until < now() - interval '1 minute'"),
            &[],
        )
        .await?;
        let live: i64 = self
            .query(
                during,
                &format!("SELECT count(*) FROM {s}.hosts WHERE alive_until > now()"),
                &[],
            )
            .await?
            .first()
            .map_or(1, |r| r.get(0));
        let rows = self
            .query(
                during,
                &format!(
                    "UPDATE {s}.partitions SET lease_until = now() + $2::float8 * interval '1 second' \
                     WHERE owner = $1 RETURNING part, epoch"
                ),
                &[&me, &secs],
            )
            .await?;
        let mut held: Held = rows
            .iter()
            .map(|r| (r.get::<_, i32>(0) as u32, r.get::<_, i64>(1) as u64))
            .collect();
        let fair = fair_share(live);
        if held.len() > fair {
            // Give the newest hosts their share: the highest partitions go.
            let excess: Vec<i32> = held
                .keys()
                .rev()
                .take(held.len() - fair)
                .map(|p| *p as i32)
                .collect();
            self.query(
                during,
                &format!(
                    "UPDATE {s}.partitions SET owner = NULL, lease_until = '-infinity' \
                     WHERE owner = $1 AND part = ANY($2::int[])"
                ),
                &[&me, &excess],
            )
            .await?;
            for p in excess {
                held.remove(&(p as u32));
            }
        } else if held.len() < fair {
            let want = (fair - held.len()) as i64;
            let rows = self
                .query(
                    during,
                    &format!(
                        "UPDATE {s}.partitions SET owner = $1, epoch = epoch + 1, \
                         lease_until = now() + $2::float8 * interval '1 second' \
                         WHERE part IN (SELECT part FROM {s}.partitions \
                         WHERE owner IS NULL OR lease_until < now() ORDER BY part LIMIT $3 \
                         FOR UPDATE SKIP LOCKED) RETURNING part, epoch"
                    ),
                    &[&me, &secs, &want],
                )
                .await?;
            for r in rows {
                held.insert(r.get::<_, i32>(0) as u32, r.get::<_, i64>(1) as u64);
            }
        }
        self.set_held(&held);
        Ok(held)
    }

    async fn release_all(&self) -> Result<(), StoreError> {
        self.set_held(&Held::new());
        let s = &self.s;
        let me = self.lease_host.as_str();
        let during = "releasing partition leases";
        self.query(
            during,
            &format!(
                "UPDATE {s}.partitions SET owner = NULL, lease_until = '-infinity' \
                 WHERE owner = $1"
            ),
            &[&me],
        )
        .await?;
        self.query(
            during,
            &format!("DELETE FROM {s}.hosts WHERE host_id = $1"),
            &[&me],
        )
        .await?;
        Ok(())
    }

    async fn work(&self, partitions: &[u32]) -> Result<PartitionWork, StoreError> {
        let parts: Vec<i32> = partitions.iter().map(|p| *p as i32).collect();
        Ok(PartitionWork {
            inboxes: self.inboxes_in(Some(&parts)).await?,
            activities: self.activities_in(Some(&parts)).await?,
            timers: self.timers_in(Some(&parts)).await?,
        })
    }

    async fn waiting(&self, partitions: &[u32]) -> Result<Vec<(InstanceId, u64)>, StoreError> {
        let parts: Vec<i32> = partitions.iter().map(|p| *p as i32).collect();
        let sql = format!(
            "SELECT instance_id, max(msg_seq) FROM {}.inbox WHERE {} = ANY($1::int[]) \
             GROUP BY instance_id",
            self.s,
            partition_sql("instance_id")
        );
        let rows = self
            .query("looking for waiting messages", &sql, &[&parts])
            .await?;
        rows.iter()
            .map(|r| Ok((stored_id(r.get(0), "inbox")?, r.get::<_, i64>(1) as u64)))
            .collect()
    }

    fn wakeups(&self) -> Option<mpsc::UnboundedReceiver<Vec<InstanceId>>> {
        self.wakeups.lock().expect("wakeups lock").take()
    }
}

/// Keeps a connection listening on `channel` and forwards each
/// notification's instance IDs (one per line) until `tx` has no receiver.
/// A dropped connection is connected again after a second; what was
/// announced meanwhile is found by polling.
pub(crate) async fn listen(
    url: String,
    channel: String,
    tx: mpsc::UnboundedSender<Vec<InstanceId>>,
) {
    while !tx.is_closed() {
        match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
            Ok((client, mut conn)) => {
                let statement = format!("LISTEN \"{channel}\"");
                let mut subscribe = std::pin::pin!(client.batch_execute(&statement));
                let mut subscribed = false;
                loop {
                    tokio::select! {
                        r = &mut subscribe, if !subscribed => match r {
                            Ok(()) => subscribed = true,
                            Err(e) => {
                                tracing::warn!("cannot listen for wake-ups: {e}");
                                break;
                            }
                        },
                        m = std::future::poll_fn(|cx| conn.poll_message(cx)) => match m {
                            Some(Ok(AsyncMessage::Notification(n))) => {
                                let ids = n
                                    .payload()
                                    .lines()
                                    .filter_map(|id| stored_id(id, "notification").ok())
                                    .collect();
                                if tx.send(ids).is_err() {
                                    return;
                                }
                            }
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::warn!("the wake-up connection closed: {e}");
                                break;
                            }
                            None => break,
                        },
                        () = tx.closed() => return,
                    }
                }
            }
            Err(e) => tracing::warn!("cannot connect to listen for wake-ups: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
