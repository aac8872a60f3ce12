//! Deployed components and the names they export.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use weft_runtime::{LoadedComponent, Runtime};
use weft_store::Storage;

/// Components by digest, and the current component for each orchestrator,
/// activity and entity name. Instances keep the digest they started on, so old
/// digests stay here while anything may need them.
#[derive(Default)]
pub struct Registry {
    by_digest: HashMap<String, Arc<LoadedComponent>>,
    orchestrators: HashMap<String, String>,
    activities: HashMap<String, String>,
    entities: HashMap<String, String>,
}

impl Registry {
    /// Adds a component and makes it current for every name it exports.
    pub fn insert(&mut self, component: Arc<LoadedComponent>) {
        let digest = component.info.digest.clone();
        for name in &component.info.orchestrators {
            self.orchestrators.insert(name.clone(), digest.clone());
        }
        for name in &component.info.activities {
            self.activities.insert(name.clone(), digest.clone());
        }
        for name in &component.info.entities {
            self.entities.insert(name.clone(), digest.clone());
        }
        self.by_digest.insert(digest, component);
    }

    pub fn get(&self, digest: &str) -> Option<Arc<LoadedComponent>> {
        self.by_digest.get(digest).cloned()
    }

    /// The current component serving orchestrator `name`.
    pub fn orchestrator(&self, name: &str) -> Option<Arc<LoadedComponent>> {
        self.orchestrators.get(name).and_then(|d| self.get(d))
    }

    /// The component to run activity `name` for an instance on `instance_digest`:
    /// that component when it exports the activity, else the current one.
    pub fn activity(&self, name: &str, instance_digest: &str) -> Option<Arc<LoadedComponent>> {
        if let Some(c) = self.by_digest.get(instance_digest)
            && c.info.activities.iter().any(|a| a == name)
        {
            return Some(c.clone());
        }
        self.activities.get(name).and_then(|d| self.get(d))
    }

    /// The current component serving entity `name` (lower case). Entities
    /// are not pinned: each batch runs on the current code for the name.
    pub fn entity(&self, name: &str) -> Option<Arc<LoadedComponent>> {
        self.entities.get(name).and_then(|d| self.get(d))
    }

    /// Known orchestrator names, sorted (for error messages).
    pub fn orchestrator_names(&self) -> Vec<String> {
        let mut v: Vec<_> = self.orchestrators.keys().cloned().collect();
        v.sort();
        v
    }

    /// Known entity names, sorted.
    pub fn entity_names(&self) -> Vec<String> {
        let mut v: Vec<_> = self.entities.keys().cloned().collect();
        v.sort();
        v
    }

    /// Known activity names, sorted.
    pub fn activity_names(&self) -> Vec<String> {
        let mut v: Vec<_> = self.activities.keys().cloned().collect();
        v.sort();
        v
    }

    pub fn components(&self) -> Vec<Arc<LoadedComponent>> {
        self.by_digest.values().cloned().collect()
    }
}

impl Registry {
    /// Makes `digest` (loaded) current for `kind` name `name`.
    pub fn set_current(&mut self, kind: weft_store::NameKind, name: &str, digest: &str) {
        let names = match kind {
            weft_store::NameKind::Orchestrator => &mut self.orchestrators,
            weft_store::NameKind::Activity => &mut self.activities,
            weft_store::NameKind::Entity => &mut self.entities,
        };
        names.insert(name.to_owned(), digest.to_owned());
    }

    /// Replaces which digest is current for every name (after a removal).
    pub fn reset_current(&mut self, current: &[weft_store::CurrentName]) {
        self.orchestrators.clear();
        self.activities.clear();
        self.entities.clear();
        for (kind, name, digest) in current {
            self.set_current(*kind, name, digest);
        }
    }

    /// Forgets a removed component.
    pub fn remove(&mut self, digest: &str) {
        self.by_digest.remove(digest);
    }

    /// The names `digest` is current for: (orchestrators, activities, entities).
    pub fn current_names(&self, digest: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
        let pick = |m: &HashMap<String, String>| {
            let mut v: Vec<String> = m
                .iter()
                .filter(|(_, d)| *d == digest)
                .map(|(n, _)| n.clone())
                .collect();
            v.sort();
            v
        };
        (
            pick(&self.orchestrators),
            pick(&self.activities),
            pick(&self.entities),
        )
    }

    /// Adds a component by digest only (an old version instances still need).
    pub fn insert_old(&mut self, component: Arc<LoadedComponent>) {
        self.by_digest
            .entry(component.info.digest.clone())
            .or_insert(component);
    }
}

/// The component stored under `digest`, loaded (compiled, or read from the
/// compiled cache) into `registry` first if it is not yet: old versions that
/// pinned instances need are loaded on demand. `None`, logged, when it is not
/// stored or no longer loads.
pub async fn ensure_loaded(
    registry: &RwLock<Registry>,
    runtime: &Runtime,
    store: &dyn Storage,
    digest: &str,
) -> Option<Arc<LoadedComponent>> {
    if let Some(c) = registry.read().expect("registry lock").get(digest) {
        return Some(c);
    }
    match store.component(digest).await {
        Ok(Some(bytes)) => match runtime.load(&bytes).await {
            Ok(c) => {
                registry
                    .write()
                    .expect("registry lock")
                    .insert_old(c.clone());
                Some(c)
            }
            Err(e) => {
                tracing::error!(digest, "stored component does not load: {e}");
                None
            }
        },
        Ok(None) => {
            tracing::error!(
                digest,
                "an instance needs component {digest}, which is not stored; deploy it"
            );
            None
        }
        Err(e) => {
            tracing::error!(digest, "cannot read stored component: {e}");
            None
        }
    }
}
