//! Orchestration turns: one at a time per instance, many instances at once.
//!
//! Every committed inbox message is [`Shared::deliver`]ed to its instance's
//! [`Slot`]. If no turn is running for the instance, a task starts one; it takes
//! all pending messages, runs the guest (hot, or rebuilt by replay), commits the
//! turn (the writer batches turns of many instances into one transaction), and
//! only then dispatches the turn's activities and timers and wakes waiters. It
//! loops while messages keep arriving.

use super::commit::Change;
use super::config::HostConfig;
use super::control::is_control;
use super::lru::Lru;
use super::registry::Registry;
use super::timers::TimerHandle;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{Semaphore, oneshot};
use weft_core::{EventKind, Failure, HistoryEvent, InstanceId, Message, RuntimeStatus, Timestamp};
use weft_engine::TurnOutput;
use weft_runtime::{Guest, LoadedComponent, Runtime, TurnError, TurnResult};
use weft_store::{InstanceRecord, Storage};

/// Per-instance dispatcher state.
#[derive(Default)]
struct Slot {
    /// Committed inbox messages not yet taken by a turn, by inbox sequence.
    pending: Vec<(u64, Message)>,
    /// A turn task is running for this instance.
    running: bool,
    /// The guest kept in memory since its last turn.
    guest: Option<Guest>,
    /// The instance row as of the last commit (saves a read per turn).
    record: Option<InstanceRecord>,
    /// (Entities.) Messages in the inbox that wait for a lock to be released;
    /// looked at again when anything new arrives.
    deferred: Vec<(u64, Message)>,
    /// (Entities.) The entity row as of the last commit.
    entity: Option<weft_store::EntityRecord>,
    /// The fence of the turn running now (`None` on a hub one host serves).
    fence: Option<weft_store::Fence>,
    /// The stored inbox must be read before the next turn: another host
    /// gave the instance messages this host was not handed.
    reload: bool,
}

/// A task hub's current state, for `GET /metrics`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gauges {
    /// Orchestrator guests kept in memory.
    pub hot: usize,
    /// Committed inbox messages no turn has taken yet.
    pub pending: usize,
    /// Timers waiting to fire.
    pub timers: usize,
}

/// What a turn leaves for the next one.
pub(super) struct AfterTurn {
    /// The guest to keep hot (it is waiting).
    pub guest: Option<Guest>,
    /// The committed instance row, if known.
    pub record: Option<InstanceRecord>,
    /// Messages in the store's inbox must be read back: the turn was not
    /// committed (stale, or a storage fault), or it released held messages.
    pub reload_inbox: bool,
}

impl AfterTurn {
    pub fn done(guest: Option<Guest>, record: Option<InstanceRecord>) -> AfterTurn {
        AfterTurn {
            guest,
            record,
            reload_inbox: false,
        }
    }
    pub fn retry() -> AfterTurn {
        AfterTurn {
            guest: None,
            record: None,
            reload_inbox: true,
        }
    }
}

/// State shared by the dispatcher, the activity pool, the timer service and clients.
pub struct Shared {
    /// The task hub's storage (group-committed writes, async reads).
    pub store: Arc<dyn Storage>,
    pub registry: Arc<RwLock<Registry>>,
    /// Loads old component versions that pinned instances need.
    runtime: Arc<Runtime>,
    pub timers: TimerHandle,
    pub activity_permits: Arc<Semaphore>,
    /// Bounds turns in progress, so live Wasm instances never exceed the pool
    /// (hot guests + turns + activities; see `HostConfig::instance_slots`).
    turn_permits: Arc<Semaphore>,
    slots: Mutex<HashMap<InstanceId, Slot>>,
    hot: Mutex<Lru<InstanceId>>,
    max_hot: usize,
    /// Most events one execution's history may hold.
    max_history: usize,
    /// Largest response body a durable HTTP call records.
    pub max_http_response: usize,
    /// Where time comes from.
    pub clock: super::HostClock,
    waiters: Mutex<HashMap<InstanceId, Vec<oneshot::Sender<()>>>>,
    /// Set when the task hub is deleted: nothing more is started or committed.
    closed: std::sync::atomic::AtomicBool,
    /// The partitions this host serves (all, when it serves the hub alone).
    pub(super) ownership: super::ownership::Ownership,
    /// Activity work items running now, so a partition taken again does not
    /// start them twice.
    pub(super) running_activities: Mutex<std::collections::HashSet<u64>>,
}

impl Shared {
    pub fn new(
        store: Arc<dyn Storage>,
        registry: Arc<RwLock<Registry>>,
        timers: TimerHandle,
        runtime: Arc<Runtime>,
        config: &HostConfig,
    ) -> Shared {
        Shared {
            ownership: super::ownership::Ownership::new(store.leases()),
            running_activities: Mutex::default(),
            store,
            registry,
            runtime,
            closed: std::sync::atomic::AtomicBool::new(false),
            timers,
            activity_permits: Arc::new(Semaphore::new(config.max_activities.max(1))),
            turn_permits: Arc::new(Semaphore::new(config.max_turns.max(1))),
            slots: Mutex::new(HashMap::new()),
            hot: Mutex::new(Lru::new()),
            max_hot: config.max_hot,
            max_history: config.max_history,
            max_http_response: config.max_http_response,
            clock: config.clock.clone(),
            waiters: Mutex::new(HashMap::new()),
        }
    }

    /// Stops this hub's dispatcher (its task hub is being deleted): no new turn,
    /// activity or timer starts; work already running is abandoned.
    pub fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.slots.lock().expect("slots lock").clear();
    }

    /// True once [`Shared::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Hands a committed inbox message to its instance, starting a turn if none runs.
    pub fn deliver(self: &Arc<Self>, instance: InstanceId, seq: u64, message: Message) {
        self.deliver_known(instance, seq, message, None)
    }

    /// [`Shared::deliver`] of a start whose committed row the caller knows
    /// (it just wrote it), so the first turn does not read it back.
    pub(super) fn deliver_start(
        self: &Arc<Self>,
        record: InstanceRecord,
        seq: u64,
        message: Message,
    ) {
        self.deliver_known(record.instance_id.clone(), seq, message, Some(record))
    }

    fn deliver_known(
        self: &Arc<Self>,
        instance: InstanceId,
        seq: u64,
        message: Message,
        record: Option<InstanceRecord>,
    ) {
        if self.is_closed() || !self.ownership.owns(&instance) {
            // Another host serves it; the commit announced the message.
            return;
        }
        let start = {
            let mut slots = self.slots.lock().expect("slots lock");
            let slot = match slots.entry(instance.clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    // On a shared hub, earlier messages may be in the store
                    // that this host was not handed (its partition was just
                    // taken, or another host committed them): the first turn
                    // reads the inbox. A start this host just committed with
                    // its row is all there is.
                    let reload = self.ownership.shared() && record.is_none();
                    e.insert(Slot {
                        reload,
                        ..Slot::default()
                    })
                }
            };
            if slot
                .pending
                .iter()
                .chain(&slot.deferred)
                .any(|(s, _)| *s == seq)
            {
                return; // handed over twice (a partition resumed meanwhile)
            }
            if matches!(message.kind(), EventKind::ExecutionStarted { .. }) {
                // A (re)start: whatever we cached belongs to an older execution.
                slot.record = record;
                slot.guest = None;
            }
            slot.pending.push((seq, message));
            !std::mem::replace(&mut slot.running, true)
        };
        if start {
            let me = self.clone();
            tokio::spawn(async move { me.run_instance(instance).await });
        }
    }

    /// Makes the instance's next turn read its stored inbox first: another
    /// host committed messages for it (a wake-up), or a poll found some.
    pub(super) fn wake(self: &Arc<Self>, instance: InstanceId) {
        if self.is_closed() || !self.ownership.owns(&instance) {
            return;
        }
        let start = {
            let mut slots = self.slots.lock().expect("slots lock");
            let slot = slots.entry(instance.clone()).or_default();
            slot.reload = true;
            !std::mem::replace(&mut slot.running, true)
        };
        if start {
            let me = self.clone();
            tokio::spawn(async move { me.run_instance(instance).await });
        }
    }

    /// True when inbox message `seq` of `instance` is on its way: held by
    /// its slot, or its turn is running (a poll need not wake it).
    pub(super) fn knows(&self, instance: &InstanceId, seq: u64) -> bool {
        let slots = self.slots.lock().expect("slots lock");
        slots.get(instance).is_some_and(|slot| {
            slot.running
                || slot.reload
                || slot
                    .pending
                    .iter()
                    .chain(&slot.deferred)
                    .any(|(s, _)| *s == seq)
        })
    }

    /// Drops what this host keeps of instances of `partitions` (another
    /// host took them): turns still running are refused by their fence.
    pub(super) fn forget_partitions(&self, partitions: &[u32]) {
        let gone = |id: &InstanceId| partitions.contains(&weft_store::partition_of(id.as_str()));
        let mut slots = self.slots.lock().expect("slots lock");
        slots.retain(|id, _| !gone(id));
        let mut hot = self.hot.lock().expect("hot lock");
        let cold: Vec<InstanceId> = hot.iter().filter(|id| gone(id)).cloned().collect();
        for id in cold {
            hot.remove(&id);
        }
    }

    /// `op` (a turn of `instance`) under the fence its turn started with.
    pub(super) fn fenced(&self, instance: &InstanceId, op: weft_store::Op) -> weft_store::Op {
        let fence = self
            .slots
            .lock()
            .expect("slots lock")
            .get(instance)
            .and_then(|slot| slot.fence.clone());
        match fence {
            Some(fence) => weft_store::Op::Fenced {
                fence,
                op: Box::new(op),
            },
            None if self.ownership.shared() => {
                // No fence (the partition went while it ran): one the store
                // refuses, so nothing is written.
                weft_store::Op::Fenced {
                    fence: weft_store::Fence {
                        partition: weft_store::partition_of(instance.as_str()),
                        owner: String::new(),
                        epoch: 0,
                    },
                    op: Box::new(op),
                }
            }
            None => op,
        }
    }

    /// Takes `instance`'s slot for a turn: its fence is taken now. `None`
    /// (and the slot dropped) when this host no longer serves it.
    fn claim_turn(&self, slot: &mut Slot, instance: &InstanceId) -> bool {
        if !self.ownership.owns(instance) {
            return false;
        }
        slot.fence = self.ownership.fence(instance);
        true
    }

    /// Moves `record`'s instance onto component `digest`. `Op::Repin` is
    /// checked against the history the deploy check replayed, and a turn
    /// still computed on the old code is refused once it lands
    /// (`OpError::Repinned`), so it needs no fence: an instance another host
    /// serves is moved the same way, and that host's next turn reloads it.
    /// An instance this host serves is claimed like a turn first (arrivals
    /// wait in its slot) and its cached row and hot guest are dropped, so no
    /// turn is wasted on the old code.
    pub async fn repin(self: &Arc<Self>, record: &InstanceRecord, digest: &str) -> bool {
        let instance = record.instance_id.clone();
        let op = weft_store::Op::Repin {
            instance: instance.clone(),
            execution: record.execution_id.clone(),
            history_len: record.history_len,
            from: record.component.clone(),
            to: digest.to_owned(),
        };
        if !self.ownership.owns(&instance) {
            return self.submit_repin(&instance, digest, op).await;
        }
        loop {
            {
                let mut slots = self.slots.lock().expect("slots lock");
                let slot = slots.entry(instance.clone()).or_default();
                if !slot.running {
                    slot.running = true;
                    slot.guest = None;
                    slot.record = None;
                    break;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        self.hot.lock().expect("hot lock").remove(&instance);
        let moved = self.submit_repin(&instance, digest, op).await;
        // Release the claim; run what arrived meanwhile.
        let resume = {
            let mut slots = self.slots.lock().expect("slots lock");
            match slots.get_mut(&instance) {
                Some(slot) if !slot.pending.is_empty() => true,
                Some(slot) => {
                    slot.running = false;
                    false
                }
                None => false,
            }
        };
        if resume {
            let me = self.clone();
            tokio::spawn(async move { me.run_instance(instance).await });
        }
        moved
    }

    async fn submit_repin(&self, instance: &InstanceId, digest: &str, op: weft_store::Op) -> bool {
        let outcome = self.store.submit(op).await;
        let moved = matches!(outcome, Ok(Ok(_)));
        if !moved {
            tracing::info!(%instance, "not moved to {digest}: {outcome:?}");
        }
        moved
    }

    /// Current state for the metrics scrape.
    pub fn gauges(&self) -> Gauges {
        let pending = self
            .slots
            .lock()
            .expect("slots lock")
            .values()
            .map(|s| s.pending.len() + s.deferred.len())
            .sum();
        Gauges {
            hot: self.hot.lock().expect("hot lock").len(),
            pending,
            timers: self.timers.pending(),
        }
    }

    /// Registers interest in `instance` reaching a terminal status.
    pub fn watch(&self, instance: &InstanceId) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let mut waiters = self.waiters.lock().expect("waiters lock");
        let list = waiters.entry(instance.clone()).or_default();
        list.retain(|w| !w.is_closed()); // callers that stopped waiting (timed out)
        list.push(tx);
        rx
    }

    pub(super) fn notify_finished(&self, instance: &InstanceId) {
        if let Some(ws) = self.waiters.lock().expect("waiters lock").remove(instance) {
            for w in ws {
                let _ = w.send(());
            }
        }
    }

    async fn run_instance(self: Arc<Self>, instance: InstanceId) {
        if instance.is_entity() {
            return self.run_entity(instance).await;
        }
        loop {
            if self.take_reload(&instance) {
                self.reload_inbox(&instance, false).await;
                continue;
            }
            let (messages, guest, record) = {
                let mut slots = self.slots.lock().expect("slots lock");
                // Gone when the task hub was deleted (`close`): stop.
                let Some(slot) = slots.get_mut(&instance) else {
                    return;
                };
                if !self.claim_turn(slot, &instance) {
                    slots.remove(&instance);
                    return;
                }
                if slot.pending.is_empty() {
                    slot.running = false;
                    if slot.guest.is_none() {
                        slots.remove(&instance);
                    }
                    return;
                }
                // Control messages run alone, in inbox order with the arrivals around them.
                let take = match slot.pending.iter().position(|(_, m)| is_control(m)) {
                    Some(0) => 1,
                    Some(i) => i,
                    None => slot.pending.len(),
                };
                (
                    slot.pending.drain(..take).collect::<Vec<_>>(),
                    slot.guest.take(),
                    slot.record.take(),
                )
            };
            if guest.is_some() {
                self.hot.lock().expect("hot lock").remove(&instance);
            }
            let permit = self.turn_permits.clone().acquire_owned().await;
            let after = match messages.as_slice() {
                [(seq, m)] if is_control(m) => {
                    drop(guest);
                    self.control_turn(&instance, *seq, m.clone()).await
                }
                _ => self.turn(&instance, messages, guest, record).await,
            };
            drop(permit);
            if after.reload_inbox {
                self.reload_inbox(&instance, true).await;
            }
            let AfterTurn { guest, record, .. } = after;
            let evicted = {
                let mut slots = self.slots.lock().expect("slots lock");
                let Some(slot) = slots.get_mut(&instance) else {
                    return; // the task hub was deleted meanwhile
                };
                slot.record = record;
                let has_guest = guest.is_some();
                slot.guest = guest;
                if has_guest {
                    let mut hot = self.hot.lock().expect("hot lock");
                    hot.touch(&instance);
                    let mut evicted = Vec::new();
                    while hot.len() > self.max_hot {
                        match hot.pop_oldest() {
                            Some(old) => evicted.push(old),
                            None => break,
                        }
                    }
                    evicted
                } else {
                    Vec::new()
                }
            };
            if !evicted.is_empty() {
                let mut slots = self.slots.lock().expect("slots lock");
                for old in evicted {
                    if let Some(s) = slots.get_mut(&old) {
                        s.guest = None; // dropping the Guest ends its task
                        if !s.running && s.pending.is_empty() {
                            slots.remove(&old);
                        }
                    }
                }
            }
        }
    }

    /// [`Shared::run_instance`] for an entity: each turn takes the new
    /// messages and the ones still waiting for a lock (see `entity_turn`).
    async fn run_entity(self: Arc<Self>, instance: InstanceId) {
        loop {
            if self.take_reload(&instance) {
                self.reload_inbox(&instance, false).await;
                continue;
            }
            let (queue, cached) = {
                let mut slots = self.slots.lock().expect("slots lock");
                let Some(slot) = slots.get_mut(&instance) else {
                    return;
                };
                if !self.claim_turn(slot, &instance) {
                    slots.remove(&instance);
                    return;
                }
                if slot.pending.is_empty() {
                    slot.running = false;
                    if slot.deferred.is_empty() {
                        slots.remove(&instance);
                    }
                    return;
                }
                let mut queue = std::mem::take(&mut slot.deferred);
                queue.append(&mut slot.pending);
                queue.sort_by_key(|(s, _)| *s);
                (queue, slot.entity.take())
            };
            let permit = self.turn_permits.clone().acquire_owned().await;
            let after = self.entity_turn(&instance, queue, cached).await;
            drop(permit);
            if after.reload_inbox {
                self.reload_inbox(&instance, true).await;
                continue;
            }
            let mut slots = self.slots.lock().expect("slots lock");
            let Some(slot) = slots.get_mut(&instance) else {
                return; // the task hub was deleted meanwhile
            };
            slot.entity = after.record;
            slot.deferred = after.deferred;
        }
    }

    /// Clears the slot's reload flag; true when it was set.
    fn take_reload(&self, instance: &InstanceId) -> bool {
        let mut slots = self.slots.lock().expect("slots lock");
        slots
            .get_mut(instance)
            .is_some_and(|slot| std::mem::take(&mut slot.reload))
    }

    /// Makes the instance's pending list what its stored inbox holds: after
    /// a turn that was not committed (`pause`: after a short pause, and once
    /// storage is writable again if a fault was the reason), or on a
    /// wake-up. Pending messages the store no longer has were consumed
    /// (handed over twice) and go; those handed over during the read stay.
    async fn reload_inbox(&self, instance: &InstanceId, pause: bool) {
        if pause {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let before: std::collections::HashSet<u64> = {
            let slots = self.slots.lock().expect("slots lock");
            slots.get(instance).map_or_else(Default::default, |slot| {
                slot.pending
                    .iter()
                    .chain(&slot.deferred)
                    .map(|(s, _)| *s)
                    .collect()
            })
        };
        let stored = loop {
            super::storage::until_writable(self.store.as_ref()).await;
            match self.store.inbox(instance).await {
                Err(e) if e.fault().is_some() => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await
                }
                other => break other,
            }
        };
        match stored {
            Ok(stored) => {
                let mut slots = self.slots.lock().expect("slots lock");
                let Some(slot) = slots.get_mut(instance) else {
                    return; // the task hub was deleted meanwhile
                };
                slot.record = None;
                slot.guest = None;
                slot.entity = None;
                let in_store: std::collections::HashSet<u64> =
                    stored.iter().map(|(s, _)| *s).collect();
                // Waiting messages are in the stored inbox too.
                slot.pending.append(&mut slot.deferred);
                slot.pending
                    .retain(|(s, _)| in_store.contains(s) || !before.contains(s));
                let known: std::collections::HashSet<u64> =
                    slot.pending.iter().map(|(s, _)| *s).collect();
                let mut missing: Vec<_> = stored
                    .into_iter()
                    .filter(|(s, _)| !known.contains(s))
                    .collect();
                missing.append(&mut slot.pending);
                missing.sort_by_key(|(s, _)| *s);
                slot.pending = missing;
            }
            Err(e) => {
                tracing::error!(%instance, "cannot reload the inbox: {e}; the instance resumes at the next start")
            }
        }
    }

    /// The component an instance is pinned to, loaded on demand.
    pub(super) async fn load_component(&self, digest: &str) -> Option<Arc<LoadedComponent>> {
        super::registry::ensure_loaded(&self.registry, &self.runtime, self.store.as_ref(), digest)
            .await
    }

    /// Runs and commits one turn. Returns the guest to keep hot (if it is still
    /// waiting) and the committed record.
    async fn turn(
        self: &Arc<Self>,
        instance: &InstanceId,
        messages: Vec<(u64, Message)>,
        guest: Option<Guest>,
        record: Option<InstanceRecord>,
    ) -> AfterTurn {
        // A start for another execution (the ID was started again after it finished)
        // makes the cached row and guest stale: a turn that finished the old execution
        // may have put them back after the new start was delivered.
        let restarted = |r: &InstanceRecord| {
            messages.iter().any(|(_, m)| {
                matches!(&m.event.kind, EventKind::ExecutionStarted { execution_id, .. } if *execution_id != r.execution_id)
            })
        };
        let (record, guest) = match record {
            Some(r) if restarted(&r) => (None, None),
            other => (other, guest),
        };
        let record = match record {
            Some(r) => r,
            None => match self.store.instance(instance).await {
                Ok(Some(r)) => r,
                Ok(None) => return AfterTurn::done(None, None), // purged or never created
                Err(e) => {
                    tracing::error!(%instance, "cannot read instance: {e}; retrying");
                    return AfterTurn::retry();
                }
            },
        };
        if record.status.is_terminal() || record.status == RuntimeStatus::Suspended {
            // Held in the inbox: a resume (or a rewind of a failed instance) reads
            // them back. Messages for a completed or terminated instance stay
            // there until it is purged; no code will see its events, so each is
            // logged and counted as dropped, as Durable Functions does.
            if matches!(
                record.status,
                RuntimeStatus::Completed | RuntimeStatus::Terminated
            ) {
                let names = messages.iter().filter_map(|(_, m)| match &m.event.kind {
                    EventKind::EventRaised { name, .. } => Some(name.as_str()),
                    _ => None,
                });
                dropped_events(instance, record.status, names);
            }
            return AfterTurn::done(None, Some(record));
        }
        let mut seqs = Vec::with_capacity(messages.len());
        let mut events = Vec::with_capacity(messages.len());
        for (seq, m) in messages {
            seqs.push(seq);
            // The engine drops a second start and duplicate completions.
            if m.execution
                .as_ref()
                .is_none_or(|e| *e == record.execution_id)
            {
                events.push(m.event);
            }
        }
        let now = self.clock.now();
        metrics::counter!("weft_turns_total").increment(1);
        let result = self.run_guest(instance, &record, guest, now, events).await;
        let (guest, result) = match result {
            Ok(pair) => pair,
            Err(e) => {
                tracing::error!(%instance, "turn could not run: {e}");
                return AfterTurn::done(None, Some(record));
            }
        };
        match result {
            Ok(out) if record.history_len as usize + out.new_events.len() > self.max_history => {
                let failure = Failure::new(
                    weft_runtime::error_types::HISTORY,
                    format!(
                        "instance '{instance}' would have {} history events, past the limit of {}; \
                         use continue-as-new or sub-orchestrations for long-running work, or raise --max-history-events",
                        record.history_len as usize + out.new_events.len(),
                        self.max_history
                    ),
                );
                self.fail_on_limit(instance, record, failure, now).await
            }
            Ok(out) => self.commit_turn(record, seqs, out, guest, now).await,
            Err(TurnError::Nondeterminism(d)) => {
                // Nothing from the divergent run is recorded: the history and the
                // inbox stay as they are, only the status says why it stopped.
                let failure = Failure::new("weft.Nondeterminism", d.to_string());
                tracing::error!(%instance, "{d}");
                self.commit_failure_status(record, failure, now).await
            }
            Err(TurnError::Limit(failure)) => {
                self.fail_on_limit(instance, record, failure, now).await
            }
            Err(TurnError::Busy(msg)) => {
                tracing::warn!(%instance, "{msg}; the turn runs again shortly");
                AfterTurn::retry()
            }
            Err(TurnError::Host(msg)) => {
                let failure = Failure::new("weft.HostError", msg.clone());
                tracing::error!(%instance, "{msg}");
                self.commit_failure_status(record, failure, now).await
            }
        }
    }

    /// Runs the guest for one turn: on the hot guest if there is one, else a new
    /// guest replaying the stored history.
    async fn run_guest(
        &self,
        instance: &InstanceId,
        record: &InstanceRecord,
        guest: Option<Guest>,
        now: Timestamp,
        events: Vec<HistoryEvent>,
    ) -> Result<(Option<Guest>, TurnResult), String> {
        let events = match guest {
            Some(g) => match g.turn(now, events) {
                Ok(rx) => {
                    let res = rx.await.unwrap_or_else(|_| {
                        Err(TurnError::Host("the guest stopped mid-turn".into()))
                    });
                    return Ok((Some(g), res));
                }
                Err(events) => events,
            },
            None => events,
        };
        let component = self.load_component(&record.component).await.ok_or_else(|| {
            format!(
                "component {} that instance '{}' started on is not loaded; deploy it again to let the instance continue",
                record.component, instance
            )
        })?;
        let history = if record.history_len == 0 {
            Vec::new()
        } else {
            self.store
                .history(instance)
                .await
                .map_err(|e| format!("cannot read history: {e}"))?
        };
        if !history.is_empty() {
            metrics::counter!("weft_replays_total").increment(1);
        }
        let (g, rx) = Guest::start(component, instance, history, now, events);
        let res = rx
            .await
            .unwrap_or_else(|_| Err(TurnError::Host("the guest stopped mid-turn".into())));
        Ok((Some(g), res))
    }

    async fn commit_turn(
        self: &Arc<Self>,
        old: InstanceRecord,
        consumed: Vec<u64>,
        out: TurnOutput,
        guest: Option<Guest>,
        now: Timestamp,
    ) -> AfterTurn {
        let mut record = old.clone();
        record.history_len += out.new_events.len() as u32;
        if let Some(status) = &out.custom_status {
            record.custom_status = status.clone();
        }
        record.updated = now;
        record.status = out.outcome.status();
        let ending = out.outcome.ending();
        if let Some(ending) = &ending {
            record.output = ending.output();
        }
        let keep_guest = ending.is_none();
        let change = Change {
            record,
            consumed,
            new_events: out.new_events,
            actions: out.actions,
            next_execution: out.next_execution,
        };
        if let Some(record) = self.commit(&old, change).await {
            let names = out.unconsumed_events.iter().map(String::as_str);
            dropped_events(&record.instance_id, record.status, names);
            finished(&record);
            AfterTurn::done(if keep_guest { guest } else { None }, Some(record))
        } else {
            AfterTurn::retry()
        }
    }

    /// A turn ran into a limit: logged, counted, and the instance marked
    /// Failed. Not recorded in history: the limit depends on configuration and
    /// timing, not on what the history holds (see weft_runtime::sandbox).
    async fn fail_on_limit(
        self: &Arc<Self>,
        instance: &InstanceId,
        record: InstanceRecord,
        failure: Failure,
        now: Timestamp,
    ) -> AfterTurn {
        tracing::warn!(%instance, error_type = %failure.error_type, "{}", failure.message);
        metrics::counter!("weft_limits_hit_total", "kind" => failure.error_type.clone())
            .increment(1);
        self.commit_failure_status(record, failure, now).await
    }

    /// Marks the instance Failed without touching its history or inbox; the
    /// critical section it leaves open is released, as on every ending.
    async fn commit_failure_status(
        self: &Arc<Self>,
        old: InstanceRecord,
        failure: Failure,
        now: Timestamp,
    ) -> AfterTurn {
        let mut record = old.clone();
        let ending = weft_core::Ending::Failed(failure);
        record.status = ending.status();
        record.output = ending.output();
        record.updated = now;
        let mut change = Change::row(record);
        if old.history_len > 0 {
            match self.store.history(&old.instance_id).await {
                Ok(history) => change
                    .actions
                    .extend(weft_engine::release_held(&old.instance_id, &history)),
                Err(e) => {
                    tracing::error!(instance = %old.instance_id, "cannot read history: {e}; retrying");
                    return AfterTurn::retry();
                }
            }
        }
        if let Some(record) = self.commit(&old, change).await {
            finished(&record);
            AfterTurn::done(None, Some(record))
        } else {
            AfterTurn::retry()
        }
    }

    /// The runtime's policy (for a component that is not loaded).
    pub(super) fn default_policy(&self) -> &weft_runtime::Policy {
        self.runtime.policy()
    }

    /// Whether an orchestrator or activity name is served (for error messages).
    pub fn registry_snapshot(&self) -> (Vec<String>, Vec<String>) {
        let r = self.registry.read().expect("registry lock");
        (r.orchestrator_names(), r.activity_names())
    }
}

/// Events an instance received (each answered 202) that no code will see,
/// because the instance finished first: logged and counted, as Durable
/// Functions logs them.
fn dropped_events<'a>(
    instance: &InstanceId,
    status: RuntimeStatus,
    names: impl Iterator<Item = &'a str>,
) {
    for name in names {
        tracing::warn!(
            %instance, event = %name, ?status,
            "event dropped: the instance finished without waiting for it"
        );
        metrics::counter!("weft_events_dropped_total").increment(1);
    }
}

/// Counts an instance that a commit just finished (`weft_instances_*_total`).
fn finished(record: &InstanceRecord) {
    let name = record.name.clone();
    match record.status {
        RuntimeStatus::Completed => {
            metrics::counter!("weft_instances_completed_total", "orchestrator" => name).increment(1)
        }
        RuntimeStatus::Failed => {
            metrics::counter!("weft_instances_failed_total", "orchestrator" => name).increment(1)
        }
        _ => {}
    }
}
