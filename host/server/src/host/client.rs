//! The in-process client API: open a host, deploy components, start instances,
//! query them, raise events, wait for completion. The HTTP API and the CLI are
//! thin layers over these calls.

use super::config::HostConfig;
use super::dispatcher::Shared;
use super::{ReplayMismatch, activities, timers};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weft_core::{
    EventKind, ExecutionId, HistoryEvent, InstanceId, InstanceIdError, Json, Message,
    RuntimeStatus, Timestamp,
};
use weft_runtime::{ComponentInfo, LoadError, Runtime};
use weft_store::{InstanceRecord, Op, OpError, OpOutcome, Store, StoreError, Writer};

/// An instance's status as stored.
pub type Status = InstanceRecord;

/// Why a client call was refused. Every variant but `Store` is the caller's
/// mistake and maps to a 4xx.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("unknown orchestrator '{name}'; deployed orchestrators: [{}]", known.join(", "))]
    UnknownOrchestrator { name: String, known: Vec<String> },
    #[error("{0}")]
    InvalidInstanceId(#[from] InstanceIdError),
    #[error("invalid event name: {0}")]
    InvalidEventName(String),
    #[error(
        "instance '{id}' already exists and is {status}; wait for it to finish, or terminate it first"
    )]
    Conflict {
        id: InstanceId,
        status: RuntimeStatus,
    },
    #[error("no instance with ID '{0}'")]
    NotFound(InstanceId),
    #[error("instance '{id}' is {status} and accepts no more events")]
    Gone {
        id: InstanceId,
        status: RuntimeStatus,
    },
    #[error("storage error: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// A running Weft host. Cheap to clone.
#[derive(Clone)]
pub struct Weft {
    shared: Arc<Shared>,
}

impl Weft {
    /// Opens the store, loads the components directory and resumes every
    /// in-flight instance, activity and timer found in the store.
    pub async fn open(config: HostConfig) -> anyhow::Result<Weft> {
        let path = config.store.clone();
        let store = Arc::new(
            tokio::task::spawn_blocking(move || Store::open(&path))
                .await?
                .map_err(|e| {
                    anyhow::anyhow!("cannot open store {}: {e}", config.store.display())
                })?,
        );
        let writer = Writer::spawn(store.clone());
        let runtime = Runtime::new(Some(config.cache_dir()), config.instance_slots())
            .map_err(|e| anyhow::anyhow!("cannot start Wasm runtime: {e:#}"))?;
        let (timer_handle, timer_rx) = timers::channel();
        let shared = Arc::new(Shared::new(
            store.clone(),
            writer,
            runtime,
            timer_handle,
            config.max_hot,
            config.max_activities,
            config.max_turns,
        ));
        tokio::spawn(timers::run(Arc::downgrade(&shared), timer_rx));
        let weft = Weft { shared };
        if let Some(dir) = &config.components {
            weft.deploy_dir(dir).await;
        }
        weft.recover().await?;
        Ok(weft)
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
            let bytes = match std::fs::read(&file) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(file = %file.display(), "cannot read component: {e}");
                    continue;
                }
            };
            match self.deploy(bytes).await {
                Ok(info) => {
                    tracing::info!(
                        file = %file.display(),
                        digest = %info.digest,
                        orchestrators = ?info.orchestrators,
                        activities = ?info.activities,
                        capabilities = ?info.capabilities,
                        "component loaded"
                    );
                    loaded.push(info);
                }
                Err(e) => tracing::error!(file = %file.display(), "component not loaded: {e}"),
            }
        }
        loaded
    }

    /// Compiles a component, stores its bytes by digest, and makes it current
    /// for the names it exports.
    pub async fn deploy(&self, bytes: Vec<u8>) -> Result<ComponentInfo, DeployError> {
        let component = self.shared.runtime.load(&bytes).await?;
        let info = component.info.clone();
        self.shared
            .writer
            .submit(Op::PutComponent {
                digest: info.digest.clone(),
                bytes,
            })
            .await?
            .map_err(|e| DeployError::Store(e.to_string()))?;
        self.shared
            .registry
            .write()
            .expect("registry lock")
            .insert(component);
        Ok(info)
    }

    /// Components loaded in this host.
    pub fn components(&self) -> Vec<ComponentInfo> {
        let mut v: Vec<_> = self
            .shared
            .registry
            .read()
            .expect("registry lock")
            .components()
            .iter()
            .map(|c| c.info.clone())
            .collect();
        v.sort_by(|a, b| a.digest.cmp(&b.digest));
        v
    }

    async fn recover(&self) -> anyhow::Result<()> {
        let store = self.shared.store.clone();
        let (inboxes, queue, timers) = tokio::task::spawn_blocking(move || {
            Ok::<_, StoreError>((
                store.all_inboxes()?,
                store.activity_queue()?,
                store.timers()?,
            ))
        })
        .await??;
        // Components that in-flight instances started on but the directory no longer has.
        for (id, _) in &inboxes {
            if let Some(rec) = self.shared.store.instance(id)? {
                self.ensure_component(&rec.component).await;
            }
        }
        let (n_inbox, n_queue, n_timers) = (inboxes.len(), queue.len(), timers.len());
        for t in timers {
            self.shared.timers.add(t);
        }
        for (seq, work) in queue {
            activities::dispatch(self.shared.clone(), seq, work);
        }
        for (id, messages) in inboxes {
            for (seq, m) in messages {
                self.shared.deliver(id.clone(), seq, m);
            }
        }
        if n_inbox + n_queue + n_timers > 0 {
            tracing::info!(
                instances = n_inbox,
                activities = n_queue,
                timers = n_timers,
                "resumed work from the store"
            );
        }
        Ok(())
    }

    /// Loads a stored component by digest if it is not loaded (without making it current).
    async fn ensure_component(&self, digest: &str) {
        if self
            .shared
            .registry
            .read()
            .expect("registry lock")
            .get(digest)
            .is_some()
        {
            return;
        }
        match self.shared.store.component(digest) {
            Ok(Some(bytes)) => match self.shared.runtime.load(&bytes).await {
                Ok(c) => self
                    .shared
                    .registry
                    .write()
                    .expect("registry lock")
                    .insert_old(c),
                Err(e) => tracing::error!(digest, "stored component does not load: {e}"),
            },
            Ok(None) => tracing::error!(
                digest,
                "an instance needs component {digest}, which is not stored; deploy it"
            ),
            Err(e) => tracing::error!(digest, "cannot read stored component: {e}"),
        }
    }

    /// Starts orchestrator `name` with `input`, under `id` or a fresh one.
    /// Returns once the start is durable.
    pub async fn start(
        &self,
        name: &str,
        id: Option<&str>,
        input: Json,
    ) -> Result<InstanceId, ClientError> {
        let id = match id {
            Some(s) => InstanceId::new(s)?,
            None => InstanceId::generate(),
        };
        let component = self
            .shared
            .registry
            .read()
            .expect("registry lock")
            .orchestrator(name);
        let Some(component) = component else {
            let (known, _) = self.shared.registry_snapshot();
            return Err(ClientError::UnknownOrchestrator {
                name: name.to_owned(),
                known,
            });
        };
        let now = Timestamp::now();
        let execution = ExecutionId::generate();
        let record = InstanceRecord {
            instance_id: id.clone(),
            name: name.to_owned(),
            execution_id: execution.clone(),
            status: RuntimeStatus::Pending,
            input: input.clone(),
            output: None,
            custom_status: None,
            created: now,
            updated: now,
            component: component.info.digest.clone(),
            history_len: 0,
        };
        let start = Message::new(HistoryEvent::new(
            now,
            EventKind::ExecutionStarted {
                name: name.to_owned(),
                input,
                execution_id: execution,
                component: component.info.digest.clone(),
            },
        ));
        match self
            .shared
            .writer
            .submit(Op::CreateInstance {
                record,
                start: start.clone(),
            })
            .await?
        {
            Ok(OpOutcome::Created { inbox_seq }) => {
                self.shared.deliver(id.clone(), inbox_seq, start);
                Ok(id)
            }
            Ok(other) => unreachable!("CreateInstance answered {other:?}"),
            Err(OpError::Conflict(status)) => Err(ClientError::Conflict { id, status }),
            Err(e) => Err(ClientError::Internal(e.to_string())),
        }
    }

    /// The instance's status, or `None` if there is no such instance.
    pub fn status(&self, id: &str) -> Result<Option<Status>, ClientError> {
        let id = InstanceId::new(id)?;
        Ok(self.shared.store.instance(&id)?)
    }

    /// The instance's full history (empty for an unknown instance).
    pub fn history(&self, id: &str) -> Result<Vec<HistoryEvent>, ClientError> {
        let id = InstanceId::new(id)?;
        Ok(self.shared.store.history(&id)?)
    }

    /// Re-executes the instance's stored history on the component it started on,
    /// once kept hot and once replayed turn by turn, and checks that both
    /// reproduce the stored history byte for byte.
    pub async fn check_replay(&self, id: &str) -> Result<(), ReplayMismatch> {
        let unavailable = |e: String| ReplayMismatch::Unavailable(e);
        let status = self.status(id).map_err(|e| unavailable(e.to_string()))?;
        let record = status.ok_or_else(|| unavailable(format!("no instance '{id}'")))?;
        self.ensure_component(&record.component).await;
        let component = self
            .shared
            .registry
            .read()
            .expect("registry lock")
            .get(&record.component)
            .ok_or_else(|| {
                unavailable(format!("component {} is not available", record.component))
            })?;
        let history = self.history(id).map_err(|e| unavailable(e.to_string()))?;
        super::replay_check::check(component, &record.instance_id, &history).await
    }

    /// Raises external event `name` with `data`: buffered if the instance
    /// is not waiting yet.
    pub async fn raise_event(&self, id: &str, name: &str, data: Json) -> Result<(), ClientError> {
        let id = InstanceId::new(id)?;
        validate_event_name(name)?;
        let message = Message::new(HistoryEvent::new(
            Timestamp::now(),
            EventKind::EventRaised {
                name: name.to_owned(),
                input: data,
            },
        ));
        match self
            .shared
            .writer
            .submit(Op::RaiseEvent {
                instance: id.clone(),
                message: message.clone(),
            })
            .await?
        {
            Ok(OpOutcome::Delivered { inbox_seq }) => {
                self.shared.deliver(id, inbox_seq, message);
                Ok(())
            }
            Ok(other) => unreachable!("RaiseEvent answered {other:?}"),
            Err(OpError::NotFound) => Err(ClientError::NotFound(id)),
            Err(OpError::Gone(status)) => Err(ClientError::Gone { id, status }),
            Err(e) => Err(ClientError::Internal(e.to_string())),
        }
    }

    /// Waits up to `timeout` for the instance to finish. Returns its status at
    /// the end either way; `None` if it does not exist.
    pub async fn wait_for_completion(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<Option<Status>, ClientError> {
        let instance = InstanceId::new(id)?;
        let finished = self.shared.watch(&instance);
        match self.status(id)? {
            Some(s) if !s.status.is_terminal() => {}
            other => return Ok(other),
        }
        let _ = tokio::time::timeout(timeout, finished).await;
        self.status(id)
    }
}

/// Why a component could not be deployed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("could not store the component: {0}")]
    Store(String),
}

impl From<StoreError> for DeployError {
    fn from(e: StoreError) -> Self {
        DeployError::Store(e.to_string())
    }
}

/// Event names: 1–256 characters, no control characters (they end up in URLs and logs).
pub fn validate_event_name(name: &str) -> Result<(), ClientError> {
    let len = name.chars().count();
    if len == 0 {
        return Err(ClientError::InvalidEventName("it must not be empty".into()));
    }
    if len > 256 {
        return Err(ClientError::InvalidEventName(format!(
            "it is {len} characters long; the limit is 256"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ClientError::InvalidEventName(
            "it must not contain control characters".into(),
        ));
    }
    Ok(())
}
