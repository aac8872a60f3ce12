//! Group commit: one OS thread owns every write, so durability costs one fsync
//! per batch rather than one per caller (DESIGN §3).
//!
//! Callers submit ops through a [`WriterHandle`] and await their own answers.
//! The writer thread blocks for the first request, drains whatever else is
//! already queued (up to [`Writer::MAX_BATCH_OPS`] ops), applies it all with one
//! [`Store::commit`], and replies to each caller. Under load, requests queue
//! while a commit runs, so batches grow with the load and the fsync rate stays
//! flat.
//!
//! Requests travel over a std channel and replies over tokio oneshots, so the
//! writer needs no runtime and callers need no blocking.
//!
//! The thread drives a [`Committer`]: the redb [`Store`], or PostgreSQL's
//! connection (`pg/writer.rs`). Storage faults heal here. A batch that fails
//! with a fault (a full disk, a lost database connection) is answered
//! `Unavailable`; the writer heals at once (the redb file is reopened, so
//! reads work again where the file allows; the connection is dropped),
//! marks the store not writable, and until
//! a retry succeeds answers every batch `Unavailable` without touching the
//! disk. Retries back off from 100 ms to 5 s, each step logged once; with
//! nothing queued the writer probes by itself. Callers retry on `Unavailable`
//! (the dispatcher, activities and timers do), so everything acknowledged
//! completes once space returns, without a restart.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::apply::OpResult;
use crate::error::{Fault, StoreError};
use crate::ops::Op;
use crate::store::Store;

type Reply = oneshot::Sender<Result<Vec<OpResult>, StoreError>>;

struct Request {
    ops: Vec<Op>,
    reply: Reply,
}

/// What the writer thread commits through: one backend's write path.
pub(crate) trait Committer: Send + 'static {
    /// Applies a batch in one durable transaction (see [`Store::commit`]).
    fn commit(&mut self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError>;
    /// Tries a small durable write: `Ok` when writing works again.
    fn probe(&mut self) -> Result<(), StoreError>;
    /// After a fault: get ready to retry (reopen, reconnect) and refuse
    /// writes until [`Committer::healed`].
    fn heal(&mut self, fault: &Fault);
    /// Writing works again.
    fn healed(&mut self);
}

impl Committer for Arc<Store> {
    fn commit(&mut self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError> {
        Store::commit(self, ops)
    }
    fn probe(&mut self) -> Result<(), StoreError> {
        Store::probe(self)
    }
    fn heal(&mut self, fault: &Fault) {
        if let Err(e) = self.file().reopen(fault) {
            tracing::debug!("store file not reopened yet: {e}");
        }
        self.file().set_writable(Some(fault.clone()));
    }
    fn healed(&mut self) {
        self.file().set_writable(None);
    }
}

/// The group-commit writer thread. See the module docs.
pub struct Writer;

impl Writer {
    /// A batch stops taking queued requests once it holds this many ops (a
    /// single larger request still goes in one batch of its own).
    pub const MAX_BATCH_OPS: usize = 2048;

    /// Starts the writer thread for `store` and returns the first handle.
    ///
    /// The thread ends when the last handle is dropped; dropping the last
    /// handle waits for the batch in progress to commit.
    pub fn spawn(store: Arc<Store>) -> WriterHandle {
        Writer::spawn_over(store)
    }

    /// Starts a writer thread over any backend's write path.
    pub(crate) fn spawn_over(mut committer: impl Committer) -> WriterHandle {
        let (tx, rx) = mpsc::channel::<Request>();
        let thread = std::thread::Builder::new()
            .name("weft-store-writer".into())
            .spawn(move || run(&mut committer, rx))
            .expect("spawning the store writer thread");
        WriterHandle {
            tx,
            _joiner: Arc::new(Joiner(Mutex::new(Some(thread)))),
        }
    }
}

fn run(store: &mut impl Committer, rx: mpsc::Receiver<Request>) {
    let mut faulted: Option<Backoff> = None;
    loop {
        // While storage is failing, wake at the next attempt even when nothing
        // is asked, to probe whether writing works again.
        let first = match &faulted {
            None => match rx.recv() {
                Ok(r) => Some(r),
                Err(_) => return,
            },
            Some(b) => match rx.recv_timeout(b.until_next()) {
                Ok(r) => Some(r),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
        };
        let mut batch: Vec<Request> = first.into_iter().collect();
        let mut count: usize = batch.iter().map(|r| r.ops.len()).sum();
        while count < Writer::MAX_BATCH_OPS {
            match rx.try_recv() {
                Ok(request) => {
                    count += request.ops.len();
                    batch.push(request);
                }
                Err(_) => break,
            }
        }
        if let Some(b) = &mut faulted {
            let due = b.due();
            let probed = if due {
                store.probe()
            } else {
                Err(StoreError::Unavailable(b.fault.clone()))
            };
            match probed {
                Ok(()) => {
                    tracing::info!(
                        fault = %b.fault, after = ?b.since.elapsed(),
                        "storage works again; writing resumes"
                    );
                    store.healed();
                    faulted = None;
                }
                Err(e) => {
                    // Answer at once, so callers wait too.
                    let answer = StoreError::Unavailable(b.fault.clone());
                    for request in batch {
                        let _ = request.reply.send(Err(answer.clone()));
                    }
                    if due {
                        b.fault = e.fault().unwrap_or_else(|| Fault::Io(e.to_string()));
                        heal(store, b);
                    }
                    continue;
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        if let Err(fault) = commit_batch(store, batch, count) {
            let mut b = Backoff::new(fault);
            heal(store, &mut b);
            faulted = Some(b);
        }
    }
}

/// After a fault: heal at once (reopen the file, so reads work again where
/// it allows), refuse writes, and schedule the next attempt.
fn heal(store: &mut impl Committer, b: &mut Backoff) {
    store.heal(&b.fault);
    b.step();
}

/// Commits one batch and answers its callers. `Err` when the failure was a
/// storage fault (the callers heard `Unavailable`).
fn commit_batch(
    store: &mut impl Committer,
    batch: Vec<Request>,
    count: usize,
) -> Result<(), Fault> {
    let mut sizes = Vec::with_capacity(batch.len());
    let mut ops = Vec::with_capacity(count);
    let mut replies = Vec::with_capacity(batch.len());
    for request in batch {
        sizes.push(request.ops.len());
        ops.extend(request.ops);
        replies.push(request.reply);
    }
    let started = std::time::Instant::now();
    match store.commit(ops) {
        Ok(results) => {
            // Names as in weft::metrics (the store only records them).
            metrics::counter!("weft_commits_total").increment(1);
            metrics::histogram!("weft_commit_seconds").record(started.elapsed().as_secs_f64());
            metrics::histogram!("weft_commit_batch_ops").record(count as f64);
            tracing::trace!(
                requests = replies.len(),
                ops = count,
                elapsed_us = started.elapsed().as_micros() as u64,
                "store batch committed"
            );
            let mut results = results.into_iter();
            for (reply, size) in replies.into_iter().zip(sizes) {
                // A caller that stopped waiting just doesn't hear back; its ops are committed.
                let _ = reply.send(Ok(results.by_ref().take(size).collect()));
            }
            Ok(())
        }
        Err(e) => {
            let fault = e.fault();
            let answer = match &fault {
                Some(f) => StoreError::Unavailable(f.clone()),
                None => {
                    tracing::error!(error = %e, requests = replies.len(), "store batch failed");
                    e
                }
            };
            for reply in replies {
                let _ = reply.send(Err(answer.clone()));
            }
            fault.map_or(Ok(()), Err)
        }
    }
}

/// Retrying after a storage fault: the first retry after 100 ms, then twice
/// as long each time, up to 5 s. Each step is logged once.
struct Backoff {
    fault: Fault,
    since: Instant,
    delay: Duration,
    next: Instant,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MOST: Duration = Duration::from_secs(5);

    fn new(fault: Fault) -> Backoff {
        let now = Instant::now();
        Backoff {
            fault,
            since: now,
            delay: Duration::ZERO,
            next: now,
        }
    }

    fn step(&mut self) {
        self.delay = (self.delay * 2).clamp(Backoff::FIRST, Backoff::MOST);
        self.next = Instant::now() + self.delay;
        tracing::warn!(
            fault = %self.fault, retry_in = ?self.delay, failing_for = ?self.since.elapsed(),
            "storage is failing; writes are refused (503) until it works again"
        );
    }

    fn due(&self) -> bool {
        Instant::now() >= self.next
    }

    fn until_next(&self) -> Duration {
        self.next.saturating_duration_since(Instant::now())
    }
}

/// Joins the writer thread when the last handle goes.
struct Joiner(Mutex<Option<JoinHandle<()>>>);

impl Drop for Joiner {
    fn drop(&mut self) {
        let thread = self.0.get_mut().ok().and_then(Option::take);
        if let Some(thread) = thread {
            // Every sender is gone by now (the handle's `tx` field drops before
            // its `_joiner` field), so the thread is finishing its last batch.
            if thread.join().is_err() {
                tracing::error!("the store writer thread panicked");
            }
        }
    }
}

/// Submits ops to the writer thread. Cheap to clone; all clones feed one thread.
#[derive(Clone)]
pub struct WriterHandle {
    // Field order matters: `tx` must drop before `_joiner` (see `Joiner`).
    tx: mpsc::Sender<Request>,
    _joiner: Arc<Joiner>,
}

impl WriterHandle {
    /// Commits `op` (batched with whatever else is queued) and returns its
    /// answer once it is durable.
    pub async fn submit(&self, op: Op) -> Result<OpResult, StoreError> {
        let mut results = self.submit_many(vec![op]).await?;
        Ok(results.pop().expect("one answer per op"))
    }

    /// Commits `ops` in order, in one transaction (together with other callers'
    /// ops), and returns one answer per op once they are durable.
    pub async fn submit_many(&self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request { ops, reply })
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

impl std::fmt::Debug for WriterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterHandle").finish_non_exhaustive()
    }
}
