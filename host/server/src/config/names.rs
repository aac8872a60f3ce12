//! Settings for one orchestrator or activity name, from weft.toml's
//! `[orchestrator.NAME]` and `[activity.NAME]` tables (see
//! `weft_runtime::Policy` for how they combine with the defaults).

use super::values::{Count, DirGrant, EnvGrant, GuestMemory, HttpGrant, Limit, capabilities};
use serde::Deserialize;

/// `[orchestrator.NAME]`: limits that replace the defaults for that name.
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OrchestratorTable {
    pub turn_limit: Option<Limit>,
    pub memory: Option<GuestMemory>,
    pub max_tasks_per_turn: Option<Count>,
}

/// `[activity.NAME]`: limits that replace the defaults, and grants added to
/// those every activity gets.
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ActivityTable {
    pub timeout: Option<Limit>,
    pub memory: Option<GuestMemory>,
    #[serde(default)]
    pub dir: Vec<DirGrant>,
    #[serde(default)]
    pub env: Vec<EnvGrant>,
    #[serde(default)]
    pub allow_http: Vec<HttpGrant>,
}

impl OrchestratorTable {
    pub fn resolve(self) -> weft_runtime::OrchestratorOverride {
        weft_runtime::OrchestratorOverride {
            turn_limit: self.turn_limit.map(|l| l.0),
            memory: self.memory.map(|m| m.0),
            max_tasks_per_turn: self.max_tasks_per_turn.map(|c| c.0),
        }
    }
}

impl ActivityTable {
    pub fn resolve(self) -> weft_runtime::ActivityOverride {
        weft_runtime::ActivityOverride {
            timeout: self.timeout.map(|l| l.0),
            memory: self.memory.map(|m| m.0),
            grants: capabilities(&self.dir, &self.env, &self.allow_http),
        }
    }
}
