//! Durable timers.
//!
//! Timers are durable in the store from the turn that created them; this
//! service only holds them in memory, ordered by due time, and sleeps until the
//! next one. Firing commits "delete timer row + inbox message" in one op, so a
//! timer fires once even across crashes. A restart reloads every row.

use super::dispatcher::Shared;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use weft_core::{EventKind, HistoryEvent, Message, Timestamp};
use weft_store::{Op, OpOutcome, TimerEntry, TimerKey};

const MAX_SLEEP: Duration = Duration::from_secs(3600);

enum Command {
    Add(TimerEntry),
    Cancel(TimerKey),
}

/// Sends timers to the timer service.
#[derive(Clone)]
pub struct TimerHandle {
    tx: mpsc::UnboundedSender<Command>,
    /// Timers the service holds, for the metrics scrape.
    held: Arc<AtomicUsize>,
}

impl TimerHandle {
    /// Timers waiting to fire (as of the service's last command).
    pub fn pending(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    pub fn add(&self, entry: TimerEntry) {
        let _ = self.tx.send(Command::Add(entry));
    }
    pub fn cancel(&self, key: TimerKey) {
        let _ = self.tx.send(Command::Cancel(key));
    }
}

/// Creates the handle; [`run`] consumes the receiver once `Shared` exists.
pub fn channel() -> (TimerHandle, TimerReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let held = Arc::new(AtomicUsize::new(0));
    (
        TimerHandle {
            tx,
            held: held.clone(),
        },
        TimerReceiver(rx, held),
    )
}

/// The receiving end, passed to [`run`].
pub struct TimerReceiver(mpsc::UnboundedReceiver<Command>, Arc<AtomicUsize>);

/// The timer loop. Ends when the host is dropped.
pub async fn run(shared: Weak<Shared>, clock: super::HostClock, rx: TimerReceiver) {
    let TimerReceiver(mut rx, held) = rx;
    let mut due: BTreeMap<TimerKey, TimerEntry> = BTreeMap::new();
    loop {
        held.store(due.len(), Ordering::Relaxed);
        // Timers may be due in years (no length limit, R-1.11): sleep in bounded
        // steps and look again rather than build a far-future Instant.
        let horizon = Timestamp(clock.now().0.saturating_add(MAX_SLEEP.as_millis() as u64));
        let wake = due
            .keys()
            .next()
            .map_or(horizon, |k| k.fire_at.min(horizon));
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(Command::Add(e)) => { due.insert(e.key.clone(), e); }
                Some(Command::Cancel(k)) => { due.remove(&k); }
                None => return,
            },
            _ = clock.0.sleep_until(wake) => {
                let now = clock.now();
                let ready: Vec<TimerEntry> = {
                    let keys: Vec<TimerKey> = due.keys().take_while(|k| k.fire_at <= now).cloned().collect();
                    keys.into_iter().filter_map(|k| due.remove(&k)).collect()
                };
                if ready.is_empty() { continue; }
                let Some(shared) = shared.upgrade() else { return };
                tokio::spawn(fire(shared, ready));
            }
        }
    }
}

async fn fire(shared: Arc<Shared>, ready: Vec<TimerEntry>) {
    if shared.is_closed() {
        return;
    }
    let now = shared.clock.now();
    let messages: Vec<Message> = ready
        .iter()
        .map(|t| {
            let kind = EventKind::TimerFired {
                timer_id: t.key.timer_id,
                fire_at: t.key.fire_at,
            };
            Message::for_execution(t.execution.clone(), HistoryEvent::new(now, kind))
        })
        .collect();
    let ops = ready
        .iter()
        .zip(&messages)
        .map(|(t, m)| Op::FireTimer {
            key: t.key.clone(),
            message: m.clone(),
        })
        .collect();
    match shared.store.commit(ops).await {
        Ok(results) => {
            for ((t, m), r) in ready.into_iter().zip(messages).zip(results) {
                if let Ok(OpOutcome::Delivered { inbox_seq }) = r {
                    shared.deliver(t.key.instance, inbox_seq, m);
                }
            }
        }
        Err(e) => {
            if e.fault().is_some() {
                // The writer logs the fault; fire once writing works again.
                super::storage::until_writable(shared.store.as_ref()).await;
            } else {
                tracing::error!("timers not fired: {e}; retrying in 1 s");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            for t in ready {
                shared.timers.add(t);
            }
        }
    }
}
