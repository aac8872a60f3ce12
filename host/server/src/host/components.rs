//! Deploying, listing and removing components: the rules, once,
//! for every front end (HTTP, CLI, the watched directory).
//!
//! - A deploy compiles and describes the component first; bytes that are not
//!   a Weft component are refused and change nothing. New bytes are stored in
//!   the file's registry and become current for every name they export; the
//!   same bytes again change nothing.
//! - Instances keep the digest they started on; a removal is refused while
//!   any unfinished instance (Pending, Running, Suspended) of any task hub is
//!   pinned to the digest.
//! - At start the registry is read back: current components are loaded (from
//!   the compiled cache), others on demand when an instance needs them.

use super::errors::{ClientError, DeployError};
use super::weft::Weft;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use weft_runtime::{ComponentInfo, LoadedComponent};
use weft_store::ComponentRecord;

/// Unfinished instances named in a refusal, at most.
const NAMED_PINNED: usize = 10;

/// What a deploy did.
#[derive(Clone, Debug)]
pub struct Deployed {
    pub info: ComponentInfo,
    /// False when the same bytes were already deployed (nothing changed).
    pub created: bool,
}

/// A stored component as the API shows it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentView {
    pub digest: String,
    pub orchestrators: Vec<String>,
    pub activities: Vec<String>,
    pub entities: Vec<String>,
    pub capabilities: Vec<String>,
    pub size: u64,
    pub deployed_time: String,
    /// The names this component is the current version of.
    pub current_for: CurrentFor,
    /// Unfinished instances pinned to it.
    pub pinned_instances: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CurrentFor {
    pub orchestrators: Vec<String>,
    pub activities: Vec<String>,
    pub entities: Vec<String>,
}

impl Weft {
    /// Compiles a component, stores it by digest, and makes it current for the
    /// names it exports; the same bytes again change nothing.
    pub async fn deploy(&self, bytes: Vec<u8>) -> Result<Deployed, DeployError> {
        let component = self.runtime().load(&bytes).await?;
        self.register(component, bytes).await
    }

    /// Stores an already compiled component and makes it current (the second
    /// half of [`Weft::deploy`]).
    pub(super) async fn register(
        &self,
        component: Arc<LoadedComponent>,
        bytes: Vec<u8>,
    ) -> Result<Deployed, DeployError> {
        let info = component.info.clone();
        let record = ComponentRecord {
            digest: info.digest.clone(),
            orchestrators: info.orchestrators.clone(),
            activities: info.activities.clone(),
            entities: info.entities.clone(),
            capabilities: info.capabilities.clone(),
            size: bytes.len() as u64,
            deployed: self.clock().now(),
        };
        let created = self.root().put_component(&record, bytes).await?;
        let mut registry = self.registry().write().expect("registry lock");
        if created {
            registry.insert(component);
        } else {
            registry.insert_old(component);
        }
        Ok(Deployed { info, created })
    }

    /// The component a new instance of orchestrator `name` runs on: the one
    /// with `digest` when the start names it (a canary or a test; loaded on
    /// demand), else the current one for the name.
    pub async fn component_for_start(
        &self,
        name: &str,
        digest: Option<&str>,
    ) -> Result<Arc<LoadedComponent>, ClientError> {
        let Some(digest) = digest else {
            let registry = self.registry().read().expect("registry lock");
            return registry
                .orchestrator(name)
                .ok_or_else(|| ClientError::UnknownOrchestrator {
                    name: name.to_owned(),
                    known: registry.orchestrator_names(),
                });
        };
        let component = super::registry::ensure_loaded(
            self.registry(),
            self.runtime(),
            self.root().as_ref(),
            digest,
        )
        .await
        .ok_or_else(|| ClientError::ComponentNotFound(digest.to_owned()))?;
        if !component.info.orchestrators.iter().any(|o| o == name) {
            return Err(ClientError::InvalidArgument(format!(
                "component {digest} does not export orchestrator '{name}'; it exports [{}]",
                component.info.orchestrators.join(", ")
            )));
        }
        Ok(component)
    }

    /// Every stored component, oldest deploy first.
    pub async fn component_list(&self) -> Result<Vec<ComponentView>, ClientError> {
        let records = self.root().registered_components().await?;
        let pinned = self.pinned().await?;
        let registry = self.registry().read().expect("registry lock");
        Ok(records
            .into_iter()
            .map(|r| {
                let (orchestrators, activities, entities) = registry.current_names(&r.digest);
                ComponentView {
                    pinned_instances: pinned.get(&r.digest).map_or(0, Vec::len),
                    current_for: CurrentFor {
                        orchestrators,
                        activities,
                        entities,
                    },
                    deployed_time: r.deployed.to_rfc3339(),
                    digest: r.digest,
                    orchestrators: r.orchestrators,
                    activities: r.activities,
                    entities: r.entities,
                    capabilities: r.capabilities,
                    size: r.size,
                }
            })
            .collect())
    }

    /// One stored component.
    pub async fn component(&self, digest: &str) -> Result<ComponentView, ClientError> {
        self.component_list()
            .await?
            .into_iter()
            .find(|c| c.digest == digest)
            .ok_or_else(|| ClientError::ComponentNotFound(digest.to_owned()))
    }

    /// Removes a component no unfinished instance is pinned to.
    pub async fn remove_component(&self, digest: &str) -> Result<(), ClientError> {
        if let Some(ids) = self.pinned().await?.remove(digest) {
            return Err(ClientError::ComponentPinned {
                digest: digest.to_owned(),
                count: ids.len(),
                instances: ids.into_iter().take(NAMED_PINNED).collect(),
            });
        }
        let removed = self.root().remove_component(digest).await?;
        let current = self.root().current_components().await?;
        if !removed {
            return Err(ClientError::ComponentNotFound(digest.to_owned()));
        }
        let mut registry = self.registry().write().expect("registry lock");
        registry.remove(digest);
        registry.reset_current(&current);
        Ok(())
    }

    /// Unfinished instances of every task hub by the digest they are pinned
    /// to, as `hub/instance`.
    async fn pinned(&self) -> Result<HashMap<String, Vec<String>>, ClientError> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for (hub, r) in self.unfinished().await? {
            out.entry(r.component)
                .or_default()
                .push(format!("{hub}/{}", r.instance_id));
        }
        Ok(out)
    }

    /// Reads the registry back at start: registers components that a store of
    /// the old layout kept per task hub, then loads the current component of
    /// every name. A component that no longer loads is logged and skipped.
    pub(super) async fn load_registry(&self) -> anyhow::Result<()> {
        let legacy = self.root().legacy_components().await?;
        let migrated = !legacy.is_empty();
        for (digest, bytes) in legacy {
            match self.deploy(bytes).await {
                Ok(d) => {
                    tracing::info!(digest = %d.info.digest, "component registered from the old store layout")
                }
                Err(e) => tracing::error!(
                    digest,
                    "stored component does not load, not registered: {e}"
                ),
            }
        }
        if migrated {
            self.root().drop_legacy_components().await?;
        }
        let current = self.root().current_components().await?;
        let mut digests: Vec<&str> = current.iter().map(|(_, _, d)| d.as_str()).collect();
        digests.sort();
        digests.dedup();
        for digest in digests {
            self.ensure_component(digest).await;
        }
        self.registry()
            .write()
            .expect("registry lock")
            .reset_current(&current);
        Ok(())
    }
}
