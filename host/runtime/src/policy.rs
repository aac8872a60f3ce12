//! What each orchestrator and activity may use and reach: the operator's
//! defaults, and overrides by name.
//!
//! Names, not digests, are what an override is keyed on: a name keeps its
//! override across deploys of new versions. A limit set for a name replaces
//! the default; capabilities granted to a name are added to those every
//! activity gets. Each resolved value carries the setting it came from, so a
//! failure names the one to change.

use crate::activity::ActivityCapabilities;
use crate::limits::Limits;
use std::collections::BTreeMap;
use std::time::Duration;

/// Overrides for one orchestrator name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrchestratorOverride {
    pub turn_limit: Option<Duration>,
    pub memory: Option<u64>,
    pub max_tasks_per_turn: Option<u32>,
}

/// Overrides and extra grants for one activity name.
#[derive(Clone, Debug, Default)]
pub struct ActivityOverride {
    pub timeout: Option<Duration>,
    pub memory: Option<u64>,
    /// Added to what every activity gets.
    pub grants: ActivityCapabilities,
}

/// The whole sandbox configuration the runtime receives.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Defaults for every orchestrator and activity.
    pub limits: Limits,
    /// What every activity gets.
    pub activities: ActivityCapabilities,
    pub orchestrator: BTreeMap<String, OrchestratorOverride>,
    pub activity: BTreeMap<String, ActivityOverride>,
}

/// A value and the setting it came from (a flag, or a key of weft.toml).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub name: &'static str,
}

/// What one orchestrator runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrchestratorLimits {
    pub turn: Setting<Duration>,
    pub memory: Setting<u64>,
    pub max_tasks: Setting<u32>,
}

/// What one activity runs under and may reach.
#[derive(Clone, Debug)]
pub struct ActivityPolicy {
    pub timeout: Setting<Duration>,
    pub memory: Setting<u64>,
    pub capabilities: ActivityCapabilities,
}

fn pick<T: Copy>(over: Option<T>, default: T, flag: &'static str, key: &'static str) -> Setting<T> {
    match over {
        Some(value) => Setting { value, name: key },
        None => Setting {
            value: default,
            name: flag,
        },
    }
}

impl Policy {
    /// A policy with these defaults and no overrides.
    pub fn new(limits: Limits, activities: ActivityCapabilities) -> Policy {
        Policy {
            limits,
            activities,
            ..Policy::default()
        }
    }

    pub fn orchestrator(&self, name: &str) -> OrchestratorLimits {
        let o = self.orchestrator.get(name).cloned().unwrap_or_default();
        let l = &self.limits;
        OrchestratorLimits {
            turn: pick(
                o.turn_limit,
                l.orchestrator_turn,
                "--orchestrator-turn-limit",
                "turn-limit under [orchestrator.NAME] in weft.toml",
            ),
            memory: pick(
                o.memory,
                l.orchestrator_memory,
                "--orchestrator-memory",
                "memory under [orchestrator.NAME] in weft.toml",
            ),
            max_tasks: pick(
                o.max_tasks_per_turn,
                l.max_tasks_per_turn,
                "--max-tasks-per-turn",
                "max-tasks-per-turn under [orchestrator.NAME] in weft.toml",
            ),
        }
    }

    pub fn activity(&self, name: &str) -> ActivityPolicy {
        let o = self.activity.get(name);
        let l = &self.limits;
        let mut capabilities = self.activities.clone();
        if let Some(o) = o {
            capabilities.add(&o.grants);
        }
        ActivityPolicy {
            timeout: pick(
                o.and_then(|o| o.timeout),
                l.activity_timeout,
                "--activity-timeout",
                "timeout under [activity.NAME] in weft.toml",
            ),
            memory: pick(
                o.and_then(|o| o.memory),
                l.activity_memory,
                "--activity-memory",
                "memory under [activity.NAME] in weft.toml",
            ),
            capabilities,
        }
    }

    /// The largest memory any one guest may be given: how large the engine's
    /// memory slots must be.
    pub fn largest_memory(&self) -> u64 {
        let orch = self.orchestrator.values().filter_map(|o| o.memory);
        let act = self.activity.values().filter_map(|o| o.memory);
        orch.chain(act)
            .chain([self.limits.orchestrator_memory, self.limits.activity_memory])
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_limits_and_add_grants() {
        let mut p = Policy::new(
            Limits::default(),
            ActivityCapabilities {
                env: vec![("A".into(), "1".into())],
                ..Default::default()
            },
        );
        p.activity.insert(
            "Fetch".into(),
            ActivityOverride {
                timeout: Some(Duration::from_secs(3)),
                memory: None,
                grants: ActivityCapabilities {
                    env: vec![("A".into(), "2".into()), ("B".into(), "3".into())],
                    ..Default::default()
                },
            },
        );
        p.orchestrator.insert(
            "Big".into(),
            OrchestratorOverride {
                memory: Some(2 << 30),
                ..Default::default()
            },
        );
        let fetch = p.activity("Fetch");
        assert_eq!(fetch.timeout.value, Duration::from_secs(3));
        assert!(fetch.timeout.name.contains("[activity.NAME]"));
        assert_eq!(fetch.memory.name, "--activity-memory");
        assert_eq!(
            fetch.capabilities.env,
            vec![("A".into(), "2".into()), ("B".into(), "3".into())]
        );
        assert_eq!(p.activity("Other").capabilities.env.len(), 1);
        assert_eq!(p.orchestrator("Big").memory.value, 2 << 30);
        assert_eq!(p.orchestrator("Small").memory.value, 64 << 20);
        assert_eq!(p.largest_memory(), 2 << 30);
    }
}
