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
    instances_in(path, weft_store::Hub::DEFAULT)
}

/// The store of task hub `hub` (opening it creates its tables: call it only
/// for a hub the store lists, see [`hubs`]).
fn open_hub(path: &Path, hub: &str) -> Store {
    let root = open(path);
    let hub = weft_store::Hub::new(hub).expect("valid task hub name");
    root.hub(&hub).expect("open task hub")
}

/// The task hubs the store file holds, by name.
pub fn hubs(path: &Path) -> Vec<String> {
    open(path)
        .hubs()
        .expect("list task hubs")
        .iter()
        .map(|h| h.as_str().to_owned())
        .collect()
}

/// How many instance rows task hub `hub` holds (0 if the store has no such hub).
pub fn instance_count(path: &Path, hub: &str) -> u64 {
    if !hubs(path).iter().any(|h| h == hub) {
        return 0;
    }
    open_hub(path, hub)
        .instance_count()
        .expect("count instances")
}

/// Every instance in task hub `hub`, by created time then ID (none if the
/// store has no such hub).
pub fn instances_in(path: &Path, hub: &str) -> Vec<Status> {
    if !hubs(path).iter().any(|h| h == hub) {
        return Vec::new();
    }
    let store = open_hub(path, hub);
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

/// Every entity row of the default task hub, with or without state, by ID.
pub fn entities(path: &Path) -> Vec<weft_store::EntityRecord> {
    let store = open(path);
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let query = weft_store::EntityQuery {
            include_empty: true,
            after: after.take(),
            top: 1000,
            ..Default::default()
        };
        let (page, next) = store.list_entities(&query).expect("list entities");
        out.extend(page);
        match next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
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
        self.rt.block_on(self.weft().status(id)).expect("status")
    }

    /// `Weft::history`.
    pub fn history(&self, id: &str) -> Vec<HistoryEvent> {
        self.rt.block_on(self.weft().history(id)).expect("history")
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
