//! Reading a store in-process, after its server has exited (redb locks the
//! file while a server has it open), on either backend.

use std::path::Path;
use std::sync::Arc;
use weft::host::{HostConfig, ReplayMismatch, Status, StoreLocation, Weft};
use weft_core::HistoryEvent;
use weft_store::{InstanceFilter, Storage};

/// Where a test's server keeps its store: a redb file, or (with
/// `WEFT_TEST_STORE=postgres`) a PostgreSQL URL carried as a path.
fn location(path: &Path) -> StoreLocation {
    StoreLocation::parse(&path.to_string_lossy()).expect("a store location")
}

/// One hub of the store, read through the `Storage` trait on a runtime of its own.
struct Opened {
    storage: Arc<dyn Storage>,
    rt: tokio::runtime::Runtime,
}

impl Opened {
    fn run<T>(&self, f: impl std::future::Future<Output = Result<T, weft_store::StoreError>>) -> T {
        self.rt.block_on(f).expect("a store read")
    }
}

fn open_hub(path: &Path, hub: &str) -> Opened {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let hub = weft_store::Hub::new(hub).expect("valid task hub name");
    let opened = rt.block_on(async {
        match location(path) {
            StoreLocation::Redb(file) => weft_store::RedbStorage::open(&file, &hub)
                .await
                .map(|s| s as Arc<dyn Storage>),
            StoreLocation::Postgres(url) => weft_store::pg::PgStorage::open(&url, &hub)
                .await
                .map(|s| s as Arc<dyn Storage>),
        }
    });
    let storage = opened.unwrap_or_else(|e| {
        panic!(
            "cannot open store {} (has its server exited?): {e}",
            path.display()
        )
    });
    Opened { storage, rt }
}

fn open(path: &Path) -> Opened {
    open_hub(path, weft_store::Hub::DEFAULT)
}

/// Every instance in the store's default task hub, by created time then ID.
pub fn instances(path: &Path) -> Vec<Status> {
    instances_in(path, weft_store::Hub::DEFAULT)
}

/// The task hubs the store holds, by name.
pub fn hubs(path: &Path) -> Vec<String> {
    let s = open(path);
    s.run(s.storage.hubs())
        .iter()
        .map(|h| h.as_str().to_owned())
        .collect()
}

/// How many instance rows task hub `hub` holds (0 if the store has no such hub).
pub fn instance_count(path: &Path, hub: &str) -> u64 {
    if !hubs(path).iter().any(|h| h == hub) {
        return 0;
    }
    let s = open_hub(path, hub);
    s.run(s.storage.instance_count())
}

/// Every instance in task hub `hub`, by created time then ID (none if the
/// store has no such hub).
pub fn instances_in(path: &Path, hub: &str) -> Vec<Status> {
    if !hubs(path).iter().any(|h| h == hub) {
        return Vec::new();
    }
    let s = open_hub(path, hub);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (page, next) = s.run(s.storage.list_instances(
            &InstanceFilter::default(),
            1000,
            token.as_deref(),
        ));
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
    let s = open(path);
    s.run(s.storage.history(&id))
}

/// Every entity row of the default task hub, with or without state, by ID.
pub fn entities(path: &Path) -> Vec<weft_store::EntityRecord> {
    let s = open(path);
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let query = weft_store::EntityQuery {
            include_empty: true,
            after: after.take(),
            top: 1000,
            ..Default::default()
        };
        let (page, next) = s.run(s.storage.list_entities(&query));
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
        let mut config = HostConfig::new(location(store));
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
        // On PostgreSQL: a server started after this host must not wait for
        // the leases it took to expire.
        if let Some(weft) = &self.weft {
            self.rt.block_on(weft.release_leases());
        }
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
    let activities = s.run(s.storage.activity_queue()).len();
    let pending = s.run(s.storage.timers());
    let timers = pending.len();
    let next_timer_ms = pending.iter().map(|t| t.key.fire_at.millis()).min();
    let inbox = s
        .run(s.storage.all_inboxes())
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
