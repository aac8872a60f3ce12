//! Which of a task hub's partitions this host serves (see
//! `weft_store::Leases`), and the loops that keep that true when several
//! hosts share the hub.
//!
//! A host runs turns only for instances of partitions it holds; a turn
//! carries the [`Fence`] taken when it started, so the store refuses it once
//! another host has taken the partition. Every lease round (five per lease,
//! at most every 2 s) renews what the host holds; a partition it gained is
//! resumed from the store (inboxes, activities, timers), one it lost is
//! dropped from memory (its running work finishes or is refused). Messages
//! other hosts commit for this host's instances arrive as `NOTIFY` wake-ups
//! within milliseconds; a poll every second catches any that were missed.
//! On a backend one host serves alone there are no leases: the host owns
//! every partition and nothing here runs.

use super::activities;
use super::dispatcher::Shared;
use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use weft_core::InstanceId;
use weft_store::{Fence, Held, Leases, partition_of};

/// How often missed wake-ups are looked for.
const POLL: Duration = Duration::from_secs(1);

/// The partitions this host holds of one hub.
pub(super) struct Ownership {
    leases: Option<Arc<dyn Leases>>,
    held: RwLock<Held>,
}

impl Ownership {
    pub fn new(leases: Option<Arc<dyn Leases>>) -> Ownership {
        Ownership {
            leases,
            held: RwLock::new(Held::new()),
        }
    }

    /// True when other hosts may serve this hub too.
    pub fn shared(&self) -> bool {
        self.leases.is_some()
    }

    /// True when this host runs `instance`'s turns.
    pub fn owns(&self, instance: &InstanceId) -> bool {
        self.leases.is_none()
            || self
                .held
                .read()
                .expect("held lock")
                .contains_key(&partition_of(instance.as_str()))
    }

    /// The fence a turn of `instance` starting now commits under: `None`
    /// without leases.
    pub fn fence(&self, instance: &InstanceId) -> Option<Fence> {
        let leases = self.leases.as_ref()?;
        let partition = partition_of(instance.as_str());
        let epoch = *self.held.read().expect("held lock").get(&partition)?;
        Some(Fence {
            partition,
            owner: leases.host().to_owned(),
            epoch,
        })
    }

    /// Replaces what is held; returns the partitions gained and lost.
    fn replace(&self, now: Held) -> (Vec<u32>, Vec<u32>) {
        let mut held = self.held.write().expect("held lock");
        let gained = now
            .iter()
            .filter(|(p, e)| held.get(p) != Some(e))
            .map(|(p, _)| *p)
            .collect();
        let lost = held
            .iter()
            .filter(|(p, e)| now.get(p) != Some(e))
            .map(|(p, _)| *p)
            .collect();
        *held = now;
        (gained, lost)
    }

    fn held(&self) -> Vec<u32> {
        self.held
            .read()
            .expect("held lock")
            .keys()
            .copied()
            .collect()
    }
}

/// Starts the lease, wake-up and polling loops of a shared hub (no-op
/// without leases), after one lease round, so a host that starts alone
/// serves at once. The loops end when the hub's `Shared` is dropped.
pub(super) async fn start(shared: &Arc<Shared>) {
    let Some(leases) = shared.ownership.leases.clone() else {
        return;
    };
    let mut state = Loop {
        shared: Arc::downgrade(shared),
        leases: leases.clone(),
        polled: HashMap::new(),
    };
    state.round().await;
    if let Some(mut rx) = leases.wakeups() {
        let weak = Arc::downgrade(shared);
        tokio::spawn(async move {
            while let Some(ids) = rx.recv().await {
                let Some(shared) = weak.upgrade() else { return };
                for id in ids {
                    shared.wake(id);
                }
            }
        });
    }
    tokio::spawn(async move {
        let every = (leases.lease() / 5).clamp(Duration::from_millis(100), Duration::from_secs(2));
        let mut next_round = tokio::time::Instant::now() + every;
        let mut next_poll = tokio::time::Instant::now() + POLL;
        loop {
            tokio::time::sleep_until(next_round.min(next_poll)).await;
            if state.shared.strong_count() == 0 {
                return;
            }
            let now = tokio::time::Instant::now();
            if now >= next_round {
                state.round().await;
                next_round = now + every;
            }
            if now >= next_poll {
                state.poll().await;
                next_poll = now + POLL;
            }
        }
    });
}

/// The lease loop's state.
struct Loop {
    shared: Weak<Shared>,
    leases: Arc<dyn Leases>,
    /// The newest inbox message each waiting instance was woken for.
    polled: HashMap<InstanceId, u64>,
}

impl Loop {
    async fn round(&mut self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if shared.is_closed() {
            return;
        }
        let held = match self.leases.round().await {
            Ok(held) => held,
            Err(e) => {
                // Safety does not depend on this: a stale turn is fenced.
                tracing::warn!(task_hub = %shared.store.task_hub(), "lease round failed: {e}");
                return;
            }
        };
        let (gained, lost) = shared.ownership.replace(held);
        if !lost.is_empty() {
            tracing::info!(task_hub = %shared.store.task_hub(), partitions = ?lost, "partitions lost to another host");
            shared.forget_partitions(&lost);
        }
        if !gained.is_empty() {
            self.resume(&shared, &gained).await;
        }
    }

    /// Resumes the durable work of partitions just taken.
    async fn resume(&mut self, shared: &Arc<Shared>, partitions: &[u32]) {
        let work = loop {
            match self.leases.work(partitions).await {
                Ok(work) => break work,
                Err(e) => {
                    tracing::warn!(
                        "cannot read the work of partitions {partitions:?}: {e}; retrying"
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        tracing::info!(
            task_hub = %shared.store.task_hub(),
            ?partitions,
            instances = work.inboxes.len(),
            activities = work.activities.len(),
            timers = work.timers.len(),
            "serving partitions"
        );
        for t in work.timers {
            shared.timers.add(t);
        }
        for (seq, item) in work.activities {
            activities::dispatch(shared.clone(), seq, item);
        }
        for (id, messages) in work.inboxes {
            if let Some((max, _)) = messages.last() {
                self.polled.insert(id.clone(), *max);
            }
            for (seq, m) in messages {
                shared.deliver(id.clone(), seq, m);
            }
        }
    }

    /// Wakes instances whose newest inbox message arrived without a wake-up.
    async fn poll(&mut self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let held = shared.ownership.held();
        if held.is_empty() {
            return;
        }
        let Ok(waiting) = self.leases.waiting(&held).await else {
            return;
        };
        let mut seen = HashMap::with_capacity(waiting.len());
        for (id, max) in waiting {
            if self.polled.get(&id) != Some(&max) && !shared.knows(&id, max) {
                shared.wake(id.clone());
            }
            seen.insert(id, max);
        }
        self.polled = seen;
    }
}
