//! Partition leases on PostgreSQL (issue 10), on the test kit's private
//! server, with two handles of one hub standing for two hosts: the first
//! host takes every partition, a second one gets its fair share once the
//! first gives it up, a turn fenced by the old owner is refused after a
//! takeover, an expired lease is taken over on the database's clock,
//! messages for the other host's instances wake it through NOTIFY, and the
//! database computes every instance's partition exactly as the hosts do.

mod common;

use std::sync::Arc;
use std::time::Duration;

use weft_core::{EventKind, HistoryEvent, InstanceId, Json, Message, RuntimeStatus, Timestamp};
use weft_store::pg::PgStorage;
use weft_store::{
    Fence, Hub, Leases, Op, OpError, OpOutcome, PARTITIONS, Storage, TurnWrite, partition_of,
};
use weft_testkit::postgres::PgCluster;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn host(url: &str, lease: Duration) -> Arc<PgStorage> {
    PgStorage::open_with(url, &Hub::default_hub(), lease)
        .await
        .unwrap()
}

/// An instance ID in `partition`.
fn id_in(partition: u32, tag: &str) -> InstanceId {
    (0..)
        .map(|i| format!("{tag}-{i}"))
        .find(|id| partition_of(id) == partition)
        .map(|id| InstanceId::new(&id).unwrap())
        .unwrap()
}

fn start(id: &InstanceId) -> Op {
    common::create(id.as_str(), "e1", 1)
}

/// The first turn of `id` (created by [`start`]), consuming `consumed`.
fn first_turn(id: &InstanceId, consumed: u64) -> TurnWrite {
    let rec = common::record(id.as_str(), "e1", RuntimeStatus::Pending, 1);
    let mut t = common::turn(&rec, 2, RuntimeStatus::Running);
    t.consumed_inbox = vec![consumed];
    t
}

fn fence(storage: &PgStorage, partition: u32, epoch: u64) -> Fence {
    Fence {
        partition,
        owner: storage.host().to_owned(),
        epoch,
    }
}

#[test]
fn hosts_share_partitions_and_a_stale_owner_is_fenced() {
    let url = PgCluster::shared().fresh_database("leases");
    rt().block_on(async {
        let a = host(&url, Duration::from_secs(30)).await;
        let b = host(&url, Duration::from_secs(30)).await;
        assert_ne!(a.host(), b.host());

        let held_a = a.round().await.unwrap();
        assert_eq!(held_a.len(), PARTITIONS as usize, "alone, a host takes all");
        assert!(b.round().await.unwrap().is_empty(), "nothing is free yet");
        let held_a2 = a.round().await.unwrap();
        assert_eq!(
            held_a2.len(),
            PARTITIONS as usize / 2,
            "a gives up the excess"
        );
        let held_b = b.round().await.unwrap();
        assert_eq!(held_b.len(), PARTITIONS as usize / 2, "b takes its share");
        assert!(held_a2.keys().all(|p| !held_b.contains_key(p)));
        assert_eq!(a.round().await.unwrap(), held_a2, "renewal keeps epochs");

        // A's turn of an instance in a partition b took: refused by the
        // fence a held before, and nothing written.
        let (&moved, &epoch_b) = held_b.iter().next().unwrap();
        let id = id_in(moved, "fenced");
        let Ok(OpOutcome::Created { inbox_seq }) = a.submit(start(&id)).await.unwrap() else {
            panic!("created")
        };
        let stale = Op::Fenced {
            fence: fence(&a, moved, held_a[&moved]),
            op: Box::new(Op::Turn(first_turn(&id, inbox_seq))),
        };
        assert_eq!(
            a.submit(stale).await.unwrap(),
            Err(OpError::Fenced {
                partition: moved,
                owner: a.host().to_owned(),
                epoch: held_a[&moved],
            })
        );
        assert_eq!(a.inbox(&id).await.unwrap().len(), 1, "nothing consumed");
        // The owner's fenced turn commits; the same message consumed again
        // (a duplicate turn) is refused.
        let fresh = Op::Fenced {
            fence: fence(&b, moved, epoch_b),
            op: Box::new(Op::Turn(first_turn(&id, inbox_seq))),
        };
        assert!(matches!(
            b.submit(fresh.clone()).await.unwrap(),
            Ok(OpOutcome::TurnCommitted { .. })
        ));
        assert!(matches!(
            b.submit(fresh).await.unwrap(),
            Err(OpError::Stale { .. })
        ));
    });
}

#[test]
fn an_expired_lease_is_taken_over_and_the_old_epoch_is_refused() {
    let url = PgCluster::shared().fresh_database("leases");
    rt().block_on(async {
        let a = host(&url, Duration::from_millis(600)).await;
        let b = host(&url, Duration::from_millis(600)).await;
        let held_a = a.round().await.unwrap();
        assert_eq!(held_a.len(), PARTITIONS as usize);
        // a stops renewing (as if killed); once its lease and its liveness
        // expire on the database's clock, b takes everything.
        tokio::time::sleep(Duration::from_millis(900)).await;
        let held_b = b.round().await.unwrap();
        assert_eq!(held_b.len(), PARTITIONS as usize);
        for (p, e) in &held_b {
            assert_eq!(*e, held_a[p] + 1, "a takeover raises the epoch");
        }
        // a comes back: b holds everything, so a renews and takes nothing,
        // and its old fences fail.
        assert!(a.round().await.unwrap().is_empty());
        let id = id_in(3, "expired");
        let Ok(OpOutcome::Created { inbox_seq }) = a.submit(start(&id)).await.unwrap() else {
            panic!("created")
        };
        let stale = Op::Fenced {
            fence: fence(&a, 3, held_a[&3]),
            op: Box::new(Op::Turn(first_turn(&id, inbox_seq))),
        };
        assert!(matches!(
            a.submit(stale).await.unwrap(),
            Err(OpError::Fenced { .. })
        ));
    });
}

#[test]
fn messages_for_another_hosts_instances_wake_it() {
    let url = PgCluster::shared().fresh_database("leases");
    rt().block_on(async {
        let a = host(&url, Duration::from_secs(30)).await;
        let b = host(&url, Duration::from_secs(30)).await;
        let mut wakeups = b.wakeups().expect("taken once");
        assert!(b.wakeups().is_none());
        a.round().await.unwrap();
        b.round().await.unwrap();
        a.round().await.unwrap();
        let held_b = b.round().await.unwrap();
        let (&theirs, _) = held_b.iter().next().unwrap();
        let id = id_in(theirs, "wake");
        // Let the listener subscribe before the message is committed.
        tokio::time::sleep(Duration::from_millis(300)).await;
        a.submit(start(&id)).await.unwrap().unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), wakeups.recv())
            .await
            .expect("a wake-up within 10 s")
            .unwrap();
        assert_eq!(got, vec![id.clone()]);
        // What b holds is not announced to b by its own commits.
        b.submit(Op::RaiseEvent {
            instance: id.clone(),
            message: Message::new(HistoryEvent::new(
                Timestamp(2),
                EventKind::EventRaised {
                    name: "x".into(),
                    input: Json::null(),
                },
            )),
        })
        .await
        .unwrap()
        .unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(500), wakeups.recv())
                .await
                .is_err()
        );
        // The poll finds both messages.
        let waiting = b.waiting(&[theirs]).await.unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].0, id);
        let work = b.work(&[theirs]).await.unwrap();
        assert_eq!(work.inboxes.len(), 1);
        assert_eq!(work.inboxes[0].1.len(), 2);
    });
}

#[test]
fn the_database_computes_partitions_as_the_hosts_do() {
    let url = PgCluster::shared().fresh_database("leases");
    rt().block_on(async {
        let a = host(&url, Duration::from_secs(30)).await;
        let ids: Vec<InstanceId> = ["", "a", "order-17", "日本語-ключ"]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| InstanceId::new(*s).unwrap())
            .chain((0..200).map(|i| InstanceId::new(format!("i{i}")).unwrap()))
            .collect();
        for id in &ids {
            a.submit(start(id)).await.unwrap().unwrap();
        }
        for p in 0..PARTITIONS {
            let work = a.work(&[p]).await.unwrap();
            let mut got: Vec<String> = work.inboxes.iter().map(|(id, _)| id.to_string()).collect();
            let mut want: Vec<String> = ids
                .iter()
                .filter(|id| partition_of(id.as_str()) == p)
                .map(|id| id.to_string())
                .collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "partition {p}");
        }
    });
}
