//! Deployed components and the names they export.

use std::collections::HashMap;
use std::sync::Arc;
use weft_runtime::LoadedComponent;

/// Components by digest, and the current component for each orchestrator and
/// activity name. Instances keep the digest they started on, so old
/// digests stay here while anything may need them.
#[derive(Default)]
pub struct Registry {
    by_digest: HashMap<String, Arc<LoadedComponent>>,
    orchestrators: HashMap<String, String>,
    activities: HashMap<String, String>,
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

    /// Known orchestrator names, sorted (for error messages).
    pub fn orchestrator_names(&self) -> Vec<String> {
        let mut v: Vec<_> = self.orchestrators.keys().cloned().collect();
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
    /// Adds a component by digest only (an old version instances still need).
    pub fn insert_old(&mut self, component: Arc<LoadedComponent>) {
        self.by_digest
            .entry(component.info.digest.clone())
            .or_insert(component);
    }
}
