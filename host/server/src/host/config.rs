//! Host configuration.

use std::path::PathBuf;

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
}

impl HostConfig {
    pub fn new(store: impl Into<PathBuf>) -> HostConfig {
        HostConfig {
            store: store.into(),
            components: None,
            cache_dir: None,
            max_hot: 4096,
            max_activities: 256,
        }
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
