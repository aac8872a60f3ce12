//! Host configuration.

use std::path::PathBuf;

/// Default for [`HostConfig::max_history`].
pub const DEFAULT_MAX_HISTORY: usize = 100_000;

/// Default for [`HostConfig::max_http_response`]: 1 MiB.
pub const DEFAULT_MAX_HTTP_RESPONSE: usize = 1 << 20;

/// How a host is set up. `serve` fills it from flags.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// The redb file (created if absent).
    pub store: PathBuf,
    /// Directory of `.wasm` components loaded at start (optional).
    pub components: Option<PathBuf>,
    /// Where compiled machine code is cached (default: next to the store).
    pub cache_dir: Option<PathBuf>,
    /// Most orchestrator guests kept in memory between turns; the rest replay.
    pub max_hot: usize,
    /// Most activities running at once.
    pub max_activities: usize,
    /// Most orchestration turns running at once.
    pub max_turns: usize,
    /// The task hub used when a request names none.
    pub default_hub: String,
    /// What each orchestrator turn or activity call may use, and what
    /// activities may reach: defaults and overrides by name.
    pub policy: weft_runtime::Policy,
    /// Most events one execution's history may hold.
    pub max_history: usize,
    /// Largest response body a durable HTTP call records, in bytes.
    pub max_http_response: usize,
    /// Where time comes from (timestamps, timers): the system clock, or a
    /// test's [`ManualClock`](super::ManualClock).
    pub clock: super::HostClock,
}

impl HostConfig {
    pub fn new(store: impl Into<PathBuf>) -> HostConfig {
        HostConfig {
            store: store.into(),
            components: None,
            cache_dir: None,
            max_hot: 4096,
            max_activities: 256,
            max_turns: 512,
            default_hub: "default".to_owned(),
            policy: Default::default(),
            max_history: DEFAULT_MAX_HISTORY,
            max_http_response: DEFAULT_MAX_HTTP_RESPONSE,
            clock: super::HostClock::system(),
        }
    }

    /// Wasm instance slots to pool: every hot guest, every turn (a turn may
    /// create a guest before the oldest hot one is evicted), every running
    /// activity, plus a margin for describing components at deploy.
    pub fn instance_slots(&self) -> u32 {
        (self.max_hot + self.max_turns + self.max_activities + 16) as u32
    }

    /// The cache directory actually used: `<store>.cache/` unless set.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(|| {
            let mut p = self.store.clone().into_os_string();
            p.push(".cache");
            PathBuf::from(p)
        })
    }
}
