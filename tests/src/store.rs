//! Reading a store file in-process, after its server has exited (redb locks
//! the file while a server has it open).

use std::path::Path;
use weft::host::{HostConfig, ReplayMismatch, Status, Weft};
use weft_core::HistoryEvent;
use weft_store::{InstanceFilter, Store};

fn open(path: &Path) -> Store {
    Store::open(path).unwrap_or_else(|e| {
        panic!(
            "cannot open store {} (has its server exited?): {e}",
            path.display()
        )
    })
}

/// Every instance in the store's default task hub, by created time then ID.
pub fn instances(path: &Path) -> Vec<Status> {
    let store = open(path);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (page, next) = store
            .list_instances(&InstanceFilter::default(), 1000, token.as_deref())
            .expect("list instances");
        out.extend(page);
        match next {
            Some(t) => token = Some(t),
            None => return out,
        }
    }
}

/// The stored history of instance `id`.
pub fn history(path: &Path, id: &str) -> Vec<HistoryEvent> {
    let id = weft_core::InstanceId::new(id).expect("valid instance ID");
    open(path).history(&id).expect("read history")
}

/// A host opened in-process on a store (the client API of `weft::host`), with
/// its own tokio runtime.
pub struct InProcess {
    weft: Option<Weft>,
    rt: tokio::runtime::Runtime,
}

impl InProcess {
    /// Opens `store` with the components in `components`.
    pub fn open(store: &Path, components: &Path) -> InProcess {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let mut config = HostConfig::new(store);
        config.components = Some(components.to_path_buf());
        let weft = rt
            .block_on(Weft::open(config))
            .unwrap_or_else(|e| panic!("Weft::open({}) failed: {e:#}", store.display()));
        InProcess {
            weft: Some(weft),
            rt,
        }
    }

    fn weft(&self) -> &Weft {
        self.weft.as_ref().expect("open")
    }

    /// `Weft::status`.
    pub fn status(&self, id: &str) -> Option<Status> {
        self.weft().status(id).expect("status")
    }

    /// `Weft::history`.
    pub fn history(&self, id: &str) -> Vec<HistoryEvent> {
        self.weft().history(id).expect("history")
    }

    /// `Weft::check_replay`: re-executes the stored history hot and replayed.
    pub fn check_replay(&self, id: &str) -> Result<(), ReplayMismatch> {
        self.rt.block_on(self.weft().check_replay(id))
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        let _guard = self.rt.enter();
        self.weft.take();
    }
}

/// What a store holds at one moment: for crash tests, taken while the server is down.
#[derive(Debug)]
pub struct Snapshot {
    /// All instances.
    pub instances: Vec<Status>,
    /// Activity work items not yet completed.
    pub activities: usize,
    /// Durable timers not yet fired.
    pub timers: usize,
    /// Inbox messages (starts, results, fired timers, events) not yet taken by a turn.
    pub inbox: usize,
    /// When the earliest pending timer is due (ms since the Unix epoch).
    pub next_timer_ms: Option<u64>,
}

impl Snapshot {
    /// Instances not in a terminal status.
    pub fn in_flight(&self) -> usize {
        self.instances
            .iter()
            .filter(|r| !r.status.is_terminal())
            .count()
    }
}

/// Reads a [`Snapshot`] of the store at `path`.
pub fn snapshot(path: &Path) -> Snapshot {
    let s = open(path);
    let activities = s.activity_queue().expect("read activity queue").len();
    let pending = s.timers().expect("read timers");
    let timers = pending.len();
    let next_timer_ms = pending.iter().map(|t| t.key.fire_at.millis()).min();
    let inbox = s
        .all_inboxes()
        .expect("read inboxes")
        .iter()
        .map(|(_, messages)| messages.len())
        .sum();
    drop(s);
    Snapshot {
        instances: instances(path),
        activities,
        timers,
        inbox,
        next_timer_ms,
    }
}
