//! Host configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a host keeps its task hubs: a redb file, or a PostgreSQL database
/// that several hosts may share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    /// The embedded store file (created if absent).
    Redb(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user@host:port/database`).
    Postgres(String),
}

impl StoreLocation {
    /// Reads `--store`: `postgres://…` or `postgresql://…` is PostgreSQL;
    /// `redb://PATH` or a plain path is a redb file.
    pub fn parse(text: &str) -> Result<StoreLocation, String> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres(text.to_owned()));
        }
        match text.strip_prefix("redb://") {
            Some("") => {
                Err("--store redb:// names no file; write redb://PATH or just the path".into())
            }
            Some(path) => Ok(StoreLocation::Redb(path.into())),
            None if text.is_empty() => {
                Err("--store is empty; give a file path or a postgres:// URL".into())
            }
            None => Ok(StoreLocation::Redb(text.into())),
        }
    }
}

impl<P: AsRef<Path>> From<P> for StoreLocation {
    fn from(path: P) -> StoreLocation {
        StoreLocation::Redb(path.as_ref().to_owned())
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Redb(path) => write!(f, "{}", path.display()),
            // The password, if the URL has one, stays out of logs.
            StoreLocation::Postgres(url) => match url.split_once('@') {
                Some((user, rest)) if user.contains(':') => {
                    let scheme_user = user.rsplit_once(':').map_or(user, |(u, _)| u);
                    write!(f, "{scheme_user}:***@{rest}")
                }
                _ => f.write_str(url),
            },
        }
    }
}

/// Default for [`HostConfig::max_history`].
pub const DEFAULT_MAX_HISTORY: usize = 100_000;

/// Default for [`HostConfig::max_http_response`]: 1 MiB.
pub const DEFAULT_MAX_HTTP_RESPONSE: usize = 1 << 20;

/// How a host is set up. `serve` fills it from flags.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Where the task hubs are kept.
    pub store: StoreLocation,
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
    /// How long a host's partition leases last on a shared (PostgreSQL)
    /// task hub without renewal.
    pub lease: Duration,
    /// Largest response body a durable HTTP call records, in bytes.
    pub max_http_response: usize,
    /// Where time comes from (timestamps, timers): the system clock, or a
    /// test's [`ManualClock`](super::ManualClock).
    pub clock: super::HostClock,
}

impl HostConfig {
    pub fn new(store: impl Into<StoreLocation>) -> HostConfig {
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
            lease: weft_store::pg::DEFAULT_LEASE,
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

    /// The cache directory actually used unless set: `<store>.cache/` for
    /// a redb file; for PostgreSQL, `weft/` in the user's cache directory
    /// (`$XDG_CACHE_HOME`, else `~/.cache`, else the temporary directory).
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(|| match &self.store {
            StoreLocation::Redb(path) => {
                let mut p = path.clone().into_os_string();
                p.push(".cache");
                PathBuf::from(p)
            }
            StoreLocation::Postgres(_) => std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
                .unwrap_or_else(std::env::temp_dir)
                .join("weft"),
        })
    }
}
