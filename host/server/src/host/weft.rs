//! The host: one store file, one Wasm runtime and component registry, and a
//! dispatcher per task hub.

use super::config::{HostConfig, StoreLocation};
use super::dispatcher::Shared;
use super::errors::ClientError;
use super::registry::Registry;
use super::task_hub::TaskHub;
use super::timers;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use weft_runtime::{ComponentInfo, Runtime};
use weft_store::pg::PgStorage;
use weft_store::{Hub, RedbStorage, Storage};

/// Most task hubs one host serves at once (each has a writer thread and a timer task).
pub const MAX_HUBS: usize = 64;

/// A running Weft host. Cheap to clone.
#[derive(Clone)]
pub struct Weft {
    inner: Arc<Inner>,
}

struct Inner {
    config: HostConfig,
    /// The store handle of the default hub (the component registry is the file's).
    root: Arc<dyn Storage>,
    runtime: Arc<Runtime>,
    registry: Arc<RwLock<Registry>>,
    hubs: Mutex<HashMap<String, Arc<Shared>>>,
}

impl Weft {
    /// Opens the store, loads the components directory and resumes every
    /// in-flight instance, activity and timer of every task hub in the store.
    pub async fn open(config: HostConfig) -> anyhow::Result<Weft> {
        let hub = Hub::new(&config.default_hub)
            .map_err(|e| anyhow::anyhow!("invalid default task hub name: {e}"))?;
        let opened: Result<Arc<dyn Storage>, _> = match &config.store {
            StoreLocation::Redb(path) => RedbStorage::open(path, &hub)
                .await
                .map(|s| s as Arc<dyn Storage>),
            StoreLocation::Postgres(url) => PgStorage::open_with(url, &hub, config.lease)
                .await
                .map(|s| s as Arc<dyn Storage>),
        };
        let root =
            opened.map_err(|e| anyhow::anyhow!("cannot open store {}: {e}", config.store))?;
        let runtime = Runtime::new(
            Some(config.cache_dir()),
            config.instance_slots(),
            config.policy.clone(),
        )
        .map_err(|e| anyhow::anyhow!("cannot start Wasm runtime: {e:#}"))?;
        let weft = Weft {
            inner: Arc::new(Inner {
                config: config.clone(),
                root,
                runtime: Arc::new(runtime),
                registry: Arc::default(),
                hubs: Mutex::default(),
            }),
        };
        weft.load_registry().await?;
        if let Some(dir) = &config.components {
            weft.deploy_dir(dir).await;
        }
        let mut names: Vec<String> = weft
            .inner
            .root
            .hubs()
            .await?
            .iter()
            .map(|h| h.as_str().to_owned())
            .collect();
        if !names.contains(&config.default_hub) {
            names.push(config.default_hub.clone());
        }
        for name in names {
            weft.hub(Some(&name)).await?.recover().await?;
        }
        anyhow::ensure!(
            weft.inner.hubs.lock().expect("hubs lock").len() <= MAX_HUBS,
            "the store holds more than {MAX_HUBS} task hubs"
        );
        Ok(weft)
    }

    /// The task hub `name` (the configured default when `None`), created (and its
    /// dispatcher started) if it does not exist yet. Only starting an instance
    /// creates a hub; every other operation uses [`Weft::existing_hub`].
    pub async fn hub(&self, name: Option<&str>) -> Result<TaskHub, ClientError> {
        self.open_hub(name, true).await
    }

    /// The task hub `name` if it exists (the default hub always does).
    pub async fn existing_hub(&self, name: Option<&str>) -> Result<TaskHub, ClientError> {
        self.open_hub(name, false).await
    }

    async fn open_hub(&self, name: Option<&str>, create: bool) -> Result<TaskHub, ClientError> {
        let name = name.unwrap_or(&self.inner.config.default_hub);
        let hub = Hub::new(name).map_err(|e| ClientError::InvalidTaskHub(e.to_string()))?;
        if let Some(shared) = self.open_shared(name) {
            return Ok(TaskHub::new(shared, self.clone()));
        }
        if !create && !self.inner.root.hubs().await?.contains(&hub) {
            return Err(ClientError::TaskHubNotFound(name.to_owned()));
        }
        self.check_room(name)?;
        // Opened outside the lock (it may create tables); a hub opened by
        // someone else meanwhile wins and this handle is dropped.
        let store = self.inner.root.open_hub(&hub).await?;
        let shared = match self.install_hub(name, store)? {
            (shared, false) => return Ok(TaskHub::new(shared, self.clone())),
            (shared, true) => shared,
        };
        super::ownership::start(&shared).await;
        Ok(TaskHub::new(shared, self.clone()))
    }

    /// Stops every hub's dispatcher and gives up this host's partition
    /// leases on hubs other hosts share, so that they take its instances
    /// over at once instead of after the lease (a clean stop). Nothing is
    /// lost either way: work in flight resumes from the store.
    pub async fn release_leases(&self) {
        let hubs: Vec<Arc<Shared>> = self
            .inner
            .hubs
            .lock()
            .expect("hubs lock")
            .values()
            .cloned()
            .collect();
        for shared in hubs {
            let Some(leases) = shared.store.leases() else {
                continue;
            };
            shared.close();
            if let Err(e) = leases.release_all().await {
                tracing::warn!(task_hub = %shared.store.task_hub(), "cannot give up the partition leases: {e}; the other hosts take them when they expire");
            }
        }
    }

    /// Makes `store` hub `name`'s, with its dispatcher and timer service;
    /// false (with the hub's `Shared`) when someone installed it meanwhile.
    fn install_hub(
        &self,
        name: &str,
        store: Arc<dyn Storage>,
    ) -> Result<(Arc<Shared>, bool), ClientError> {
        let mut hubs = self.inner.hubs.lock().expect("hubs lock");
        if let Some(shared) = hubs.get(name) {
            return Ok((shared.clone(), false));
        }
        if hubs.len() >= MAX_HUBS {
            return Err(too_many_hubs(name, hubs.len()));
        }
        let (timer_handle, timer_rx) = timers::channel();
        let shared = Arc::new(Shared::new(
            store,
            self.inner.registry.clone(),
            timer_handle,
            self.inner.runtime.clone(),
            &self.inner.config,
        ));
        tokio::spawn(timers::run(
            Arc::downgrade(&shared),
            self.inner.config.clock.clone(),
            timer_rx,
        ));
        hubs.insert(name.to_owned(), shared.clone());
        Ok((shared, true))
    }

    /// Checks a start before anything is created: the instance ID follows the
    /// rules and a deployed component serves orchestrator `name` (the current
    /// one, or the one with `digest` when the start names it).
    pub async fn check_start(
        &self,
        name: &str,
        id: Option<&str>,
        digest: Option<&str>,
    ) -> Result<(), ClientError> {
        if let Some(id) = id {
            weft_core::InstanceId::new(id)?;
        }
        self.component_for_start(name, digest).await.map(|_| ())
    }

    /// The default task hub.
    pub async fn default_hub(&self) -> Result<TaskHub, ClientError> {
        self.hub(None).await
    }

    /// The dispatcher of hub `name`, if it is open.
    fn open_shared(&self, name: &str) -> Option<Arc<Shared>> {
        self.inner
            .hubs
            .lock()
            .expect("hubs lock")
            .get(name)
            .cloned()
    }

    fn check_room(&self, name: &str) -> Result<(), ClientError> {
        let open = self.inner.hubs.lock().expect("hubs lock").len();
        if open >= MAX_HUBS {
            return Err(too_many_hubs(name, open));
        }
        Ok(())
    }

    /// Task hubs with data in the store.
    pub async fn task_hubs(&self) -> Result<Vec<String>, ClientError> {
        Ok(self
            .inner
            .root
            .hubs()
            .await?
            .iter()
            .map(|h| h.as_str().to_owned())
            .collect())
    }

    /// Deletes every instance, history and queue of task hub `name`.
    /// Work in flight for the hub is abandoned.
    pub async fn delete_task_hub(&self, name: &str) -> Result<(), ClientError> {
        let hub = Hub::new(name).map_err(|e| ClientError::InvalidTaskHub(e.to_string()))?;
        if let Some(shared) = self.inner.hubs.lock().expect("hubs lock").remove(name) {
            shared.close();
        }
        let existed = self.inner.root.delete_hub(&hub).await?;
        if existed {
            Ok(())
        } else {
            Err(ClientError::TaskHubNotFound(name.to_owned()))
        }
    }

    /// Loads every `*.wasm` in `dir`. A component that fails to load is logged
    /// (file and reason) and skipped; the others still load.
    pub async fn deploy_dir(&self, dir: &Path) -> Vec<ComponentInfo> {
        let mut files: Vec<_> = match std::fs::read_dir(dir) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                tracing::error!(dir = %dir.display(), "cannot read components directory: {e}");
                return Vec::new();
            }
        };
        files.retain(|p| p.extension().is_some_and(|x| x == "wasm"));
        files.sort();
        let mut loaded = Vec::new();
        for file in files {
            if let Some(info) = self.deploy_file(&file).await {
                loaded.push(info);
            }
        }
        loaded
    }

    /// Deploys one component file, logging the outcome with the file's name
    /// (a file that does not load is logged, never fatal).
    pub(super) async fn deploy_file(&self, file: &Path) -> Option<ComponentInfo> {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(file = %file.display(), "cannot read component: {e}");
                return None;
            }
        };
        match self.deploy(bytes).await {
            Ok(super::Deployed { info, created }) => {
                tracing::info!(
                    file = %file.display(),
                    digest = %info.digest,
                    orchestrators = ?info.orchestrators,
                    activities = ?info.activities,
                    capabilities = ?info.capabilities,
                    "{}",
                    if created { "component deployed" } else { "component loaded (already deployed)" }
                );
                Some(info)
            }
            Err(e) => {
                tracing::error!(file = %file.display(), "component not loaded: {e}");
                None
            }
        }
    }

    /// Current state of each open task hub, for `GET /metrics`.
    pub fn gauges(&self) -> Vec<(String, super::Gauges)> {
        let hubs = self.inner.hubs.lock().expect("hubs lock");
        let mut v: Vec<_> = hubs.iter().map(|(n, s)| (n.clone(), s.gauges())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Why the store cannot be written now (`None`: it can): what `/readyz`
    /// reports. The file is shared by every task hub.
    pub fn storage_fault(&self) -> Option<weft_store::Fault> {
        self.inner.root.storage_fault()
    }

    /// The default limits guests run under.
    pub fn limits(&self) -> &weft_runtime::Limits {
        &self.inner.config.policy.limits
    }

    pub(super) fn root(&self) -> &Arc<dyn Storage> {
        &self.inner.root
    }

    pub(super) fn clock(&self) -> &super::HostClock {
        &self.inner.config.clock
    }

    pub(super) fn runtime(&self) -> &Arc<Runtime> {
        &self.inner.runtime
    }

    pub(super) fn registry(&self) -> &Arc<RwLock<Registry>> {
        &self.inner.registry
    }

    /// Loads a stored component by digest if it is not loaded (without making it current).
    pub(super) async fn ensure_component(&self, digest: &str) {
        let _ = super::registry::ensure_loaded(
            &self.inner.registry,
            &self.inner.runtime,
            self.inner.root.as_ref(),
            digest,
        )
        .await;
    }
}

/// Shortcuts to the default task hub (what the bench and simple embedders use).
impl Weft {
    pub async fn start(
        &self,
        name: &str,
        id: Option<&str>,
        input: weft_core::Json,
    ) -> Result<weft_core::InstanceId, ClientError> {
        self.default_hub().await?.start(name, id, input).await
    }
    pub async fn status(&self, id: &str) -> Result<Option<super::Status>, ClientError> {
        self.default_hub().await?.status(id).await
    }
    pub async fn history(&self, id: &str) -> Result<Vec<weft_core::HistoryEvent>, ClientError> {
        self.default_hub().await?.history(id).await
    }
    pub async fn raise_event(
        &self,
        id: &str,
        name: &str,
        data: weft_core::Json,
    ) -> Result<(), ClientError> {
        self.default_hub().await?.raise_event(id, name, data).await
    }
    pub async fn wait_for_completion(
        &self,
        id: &str,
        timeout: std::time::Duration,
    ) -> Result<Option<super::Status>, ClientError> {
        self.default_hub()
            .await?
            .wait_for_completion(id, timeout)
            .await
    }
    pub async fn check_replay(&self, id: &str) -> Result<(), super::ReplayMismatch> {
        let hub = self
            .default_hub()
            .await
            .map_err(|e| super::ReplayMismatch::Unavailable(e.to_string()))?;
        hub.check_replay(id).await
    }
}

fn too_many_hubs(name: &str, open: usize) -> ClientError {
    ClientError::InvalidTaskHub(format!(
        "'{name}' would be task hub number {}; this host serves at most {MAX_HUBS}. Delete one first",
        open + 1
    ))
}
