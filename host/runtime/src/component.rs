//! Components: load by content digest, compile once, describe.

use crate::activity::{ActState, ActivityCall, ActivityCapabilities, ActivityError, failure};
use crate::bindings::{Component as Bindings, ComponentPre};
use crate::det_wasi::GuestLog;
use crate::entity::EntState;
use crate::entity_bindings::EntityHostPre;
use crate::forbidden;
use crate::forbidden::Sandboxed;
use crate::limits::{error_types, format_duration};
use crate::orchestration::OrchState;
use crate::policy::{ActivityPolicy, Policy};
use crate::sandbox::{CpuMeter, MemLimiter, stack_overflow};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use weft_core::{Failure, Json};

/// The content digest that identifies a component: `sha256:<hex>`.
pub fn digest_of(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for b in hash {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// What a component offers, reported at deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentInfo {
    pub digest: String,
    pub orchestrators: Vec<String>,
    pub activities: Vec<String>,
    /// Entity names (lower case) the component serves; empty when it does
    /// not export `weft:durable/entities`.
    pub entities: Vec<String>,
    /// WASI capabilities the component imports (filesystem, sockets, http, ...).
    /// Orchestrators get none of the dangerous ones; activities get what is configured.
    pub capabilities: Vec<String>,
    pub size: usize,
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a valid Wasm component: {0}")]
    Compile(String),
    #[error("the component does not fit the weft:durable world: {0}")]
    Link(String),
    #[error("the component failed while listing its orchestrators, activities and entities: {0}")]
    Describe(String),
}

/// The Wasm runtime: one engine, and the linkers orchestrators, activities
/// and entities use.
pub struct Runtime {
    engine: Engine,
    orchestrators: Linker<OrchState>,
    activities: Linker<ActState>,
    entities: Linker<EntState>,
    cache_dir: Option<PathBuf>,
    policy: Arc<Policy>,
}

/// How long listing a component's names at deploy may take.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A compiled component, ready to instantiate as orchestrator or activity host.
pub struct LoadedComponent {
    pub info: ComponentInfo,
    engine: Engine,
    policy: Arc<Policy>,
    orch_pre: ComponentPre<OrchState>,
    act_pre: ComponentPre<ActState>,
    /// `None` when the component exports no entities.
    ent_pre: Option<EntityHostPre<EntState>>,
}

impl Runtime {
    /// `cache_dir` keeps compiled machine code so a restart does not recompile.
    /// `slots` bounds the component instances alive at once (see [`crate::config`]).
    /// `policy` bounds every orchestrator turn and activity call and says what
    /// activities may reach (orchestrators get none of it).
    pub fn new(
        cache_dir: Option<PathBuf>,
        slots: u32,
        policy: Policy,
    ) -> wasmtime::Result<Runtime> {
        let engine = crate::config::engine(slots, policy.largest_memory())?;
        crate::sandbox::spawn_ticker(&engine);
        let mut orchestrators = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut orchestrators)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut orchestrators)?;
        forbidden::install(&mut orchestrators, Sandboxed::Orchestrators)?;
        Bindings::add_to_linker::<_, HasSelf<OrchState>>(&mut orchestrators, |s| s)?;
        let mut activities = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut activities)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut activities)?;
        Bindings::add_to_linker::<_, HasSelf<ActState>>(&mut activities, |s| s)?;
        let mut entities = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut entities)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut entities)?;
        forbidden::install(&mut entities, Sandboxed::Entities)?;
        Bindings::add_to_linker::<_, HasSelf<EntState>>(&mut entities, |s| s)?;
        if let Some(dir) = &cache_dir {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Runtime {
            engine,
            orchestrators,
            activities,
            entities,
            cache_dir,
            policy: Arc::new(policy),
        })
    }

    /// The policy every component of this runtime runs under.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Compiles (or loads from the cache) and describes a component.
    pub async fn load(&self, bytes: &[u8]) -> Result<Arc<LoadedComponent>, LoadError> {
        let digest = digest_of(bytes);
        let component = self.compile(&digest, bytes)?;
        let imports: Vec<String> = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let link = |e: wasmtime::Error| LoadError::Link(format!("{e:#}"));
        // Imports outside weft:durable, WASI 0.2 and wasi:http make the
        // component unloadable here, with the linker's message naming the import.
        // (`define_unknown_imports_as_traps` is not used: it matches names exactly
        // and would shadow WASI's semver matching of 0.2.x imports.)
        let orch_pre = ComponentPre::new(
            self.orchestrators
                .instantiate_pre(&component)
                .map_err(link)?,
        )
        .map_err(link)?;
        let act_pre = ComponentPre::new(self.activities.instantiate_pre(&component).map_err(link)?)
            .map_err(link)?;
        // The imports are the same for every kind; only the export may be missing.
        let ent_pre =
            EntityHostPre::new(self.entities.instantiate_pre(&component).map_err(link)?).ok();
        let mut loaded = LoadedComponent {
            info: ComponentInfo {
                digest,
                orchestrators: Vec::new(),
                activities: Vec::new(),
                entities: Vec::new(),
                capabilities: forbidden::capabilities(imports.into_iter()),
                size: bytes.len(),
            },
            engine: self.engine.clone(),
            policy: self.policy.clone(),
            orch_pre,
            act_pre,
            ent_pre,
        };
        let (orchestrators, activities, entities) =
            match tokio::time::timeout(DESCRIBE_TIMEOUT, loaded.describe()).await {
                Ok(r) => r.map_err(|e| LoadError::Describe(format!("{e:#}")))?,
                Err(_) => {
                    return Err(LoadError::Describe(format!(
                        "listing its names took longer than {}",
                        format_duration(DESCRIBE_TIMEOUT)
                    )));
                }
            };
        loaded.info.orchestrators = orchestrators;
        loaded.info.activities = activities;
        loaded.info.entities = entities;
        Ok(Arc::new(loaded))
    }

    fn compile(&self, digest: &str, bytes: &[u8]) -> Result<Component, LoadError> {
        let cache_file = self.cache_dir.as_ref().map(|dir| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            self.engine.precompile_compatibility_hash().hash(&mut h);
            let hex = digest.trim_start_matches("sha256:");
            dir.join(format!("{hex}-{:016x}.cwasm", h.finish()))
        });
        if let Some(path) = &cache_file
            && path.exists()
        {
            // SAFETY: the file was written by `precompile_component` of an engine with
            // the same compatibility hash, in a directory only this host writes;
            // wasmtime still checks its header and we recompile if it is refused.
            match unsafe { Component::deserialize_file(&self.engine, path) } {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring unusable compiled cache entry: {e:#}")
                }
            }
        }
        let compiled = self
            .engine
            .precompile_component(bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        if let Some(path) = &cache_file {
            let tmp = path.with_extension("tmp");
            if let Err(e) =
                std::fs::write(&tmp, &compiled).and_then(|_| std::fs::rename(&tmp, path))
            {
                tracing::warn!(path = %path.display(), "could not write compiled cache entry: {e}");
            }
        }
        // SAFETY: `compiled` was produced just now by this engine.
        unsafe { Component::deserialize(&self.engine, &compiled) }
            .map_err(|e| LoadError::Compile(format!("{e:#}")))
    }
}

impl LoadedComponent {
    /// A store for one activity call under `policy`; `granted` gives it the
    /// policy's capabilities (listing a component's names at deploy gets none).
    fn activity_store(
        &self,
        name: &str,
        policy: &ActivityPolicy,
        call: Option<&ActivityCall>,
    ) -> wasmtime::Result<(Store<ActState>, GuestLog)> {
        let granted = call.is_some();
        let log = |stream| {
            GuestLog::new(
                format!("activity {name}"),
                Arc::new(AtomicBool::new(false)),
                stream,
            )
        };
        let stderr = log("stderr");
        let none = ActivityCapabilities::default();
        let caps = if granted { &policy.capabilities } else { &none };
        let wasi = caps.wasi(log("stdout"), stderr.clone())?;
        let mut store = Store::new(
            &self.engine,
            ActState {
                call: call.cloned().unwrap_or(ActivityCall {
                    instance: String::new(),
                    schedule_id: 0,
                    attempt: 0,
                }),
                wasi,
                table: ResourceTable::new(),
                http: crate::egress::HttpState::new(caps.allow_http.clone()),
                cpu: CpuMeter::unlimited(),
                memory: MemLimiter::new(policy.memory),
            },
        );
        store.limiter(|s| &mut s.memory);
        // Activities only yield on epochs; their wall-clock timeout stops them.
        crate::sandbox::meter_ticks(&mut store, |s| &mut s.cpu);
        Ok((store, stderr))
    }

    async fn describe(&self) -> wasmtime::Result<(Vec<String>, Vec<String>, Vec<String>)> {
        let policy = self.policy.activity("");
        let (mut store, _) = self.activity_store("describe", &policy, None)?;
        let inst = self.act_pre.instantiate_async(&mut store).await?;
        let orchestrators = inst
            .weft_durable_orchestrators()
            .call_names(&mut store)
            .await?;
        let activities = inst
            .weft_durable_activities()
            .call_names(&mut store)
            .await?;
        let entities = match &self.ent_pre {
            Some(pre) => self.entity_names(pre).await?,
            None => Vec::new(),
        };
        Ok((orchestrators, activities, entities))
    }

    /// Whether this component serves entity `name` (lower case).
    pub fn serves_entity(&self, name: &str) -> bool {
        self.info.entities.iter().any(|n| n == name)
    }

    pub(crate) fn entity_pre(&self) -> Option<&EntityHostPre<EntState>> {
        self.ent_pre.as_ref()
    }

    /// Runs activity `name` once, within the activity limits. `Ok(Err(_))` is
    /// the activity's own failure (or a trap or a limit, reported as a
    /// failure); `Err` means it could not run at all.
    pub async fn run_activity(
        &self,
        name: &str,
        input: &Json,
        call: &ActivityCall,
    ) -> Result<Result<Json, Failure>, ActivityError> {
        let policy = self.policy.activity(name);
        let (mut store, stderr) = self
            .activity_store(name, &policy, Some(call))
            .map_err(|e| ActivityError::Instantiate {
                name: name.to_owned(),
                reason: format!("cannot grant the configured capabilities: {e:#}"),
            })?;
        let timeout = policy.timeout.value;
        let who = format!("activity '{name}'");
        let call = async {
            let inst = self
                .act_pre
                .instantiate_async(&mut store)
                .await
                .map_err(Stage::Instantiate)?;
            inst.weft_durable_activities()
                .call_run(&mut store, name, &input.as_str().to_owned())
                .await
                .map_err(Stage::Run)
        };
        let result = match tokio::time::timeout(timeout, call).await {
            Err(_) => Err(Failure::new(
                error_types::ACTIVITY_TIMEOUT,
                format!(
                    "{who} ran longer than its timeout of {}; make it finish sooner, or raise {}",
                    format_duration(timeout),
                    policy.timeout.name
                ),
            )),
            Ok(Ok(Ok(text))) => Json::parse(&text).map_err(|e| {
                Failure::new(
                    "weft.InvalidOutput",
                    format!("activity '{name}' returned text that is not JSON: {e}"),
                )
            }),
            Ok(Ok(Err(f))) => Err(failure(f)),
            Ok(Err(Stage::Instantiate(e))) => {
                if let Some(f) = store.data().memory.exceeded(&who) {
                    return Ok(Err(f));
                }
                if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                    .is_some()
                {
                    return Err(ActivityError::Busy {
                        name: name.to_owned(),
                    });
                }
                return Err(ActivityError::Instantiate {
                    name: name.to_owned(),
                    reason: format!("{e:#}"),
                });
            }
            Ok(Err(Stage::Run(trap))) => {
                let limit = store
                    .data()
                    .memory
                    .exceeded(&who)
                    .or_else(|| stack_overflow(&trap, &who));
                Err(limit.unwrap_or_else(|| {
                    Failure::new(
                        "weft.ActivityTrapped",
                        crate::guest::describe_trap(&trap, &stderr.tail()),
                    )
                }))
            }
        };
        // A refused request explains a failure the guest could only see as an
        // error code: say which request and which setting allows it.
        Ok(result.map_err(|mut f| {
            if let Some(why) = store.data().http.egress.refusal(&who) {
                f.message = format!("{}; {why}", f.message);
            }
            f
        }))
    }

    /// The policy this component runs under.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub(crate) fn orchestrator_pre(&self) -> &ComponentPre<OrchState> {
        &self.orch_pre
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// Where an activity call stopped.
enum Stage {
    Instantiate(wasmtime::Error),
    Run(wasmtime::Error),
}
