//! The watched components directory: `.wasm` files that appear or
//! change in it while the host runs are deployed, each load or refusal logged
//! with the file's name. A bad file never stops the host.
//!
//! Writes are not atomic (a copy shows up in pieces), so a file is deployed
//! once it has been quiet for [`SETTLE`]; a half-written file that fails to
//! load is tried again on its next change. The same bytes deployed again
//! change nothing, so repeated events are harmless.

use super::weft::Weft;
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long a file must go unchanged before it is deployed.
const SETTLE: Duration = Duration::from_millis(300);

/// Keeps the watch alive; dropping it stops watching.
pub struct DirWatch {
    _watcher: notify::RecommendedWatcher,
}

impl Weft {
    /// Watches `dir` and deploys the components that appear or change in it.
    pub fn watch_components(&self, dir: &Path) -> anyhow::Result<DirWatch> {
        let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
        let mut watcher =
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
                Ok(event) if matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_)) => {
                    for path in event.paths {
                        if path.extension().is_some_and(|x| x == "wasm") {
                            let _ = tx.send(path);
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("watching the components directory: {e}"),
            })
            .map_err(|e| anyhow::anyhow!("cannot watch {}: {e}", dir.display()))?;
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| anyhow::anyhow!("cannot watch {}: {e}", dir.display()))?;
        tracing::info!(dir = %dir.display(), "watching for components");
        let weft = self.clone();
        tokio::spawn(async move {
            // Files waiting to settle, and when each last changed.
            let mut pending: HashMap<PathBuf, Instant> = HashMap::new();
            loop {
                let next_due = pending.values().min().map(|t| *t + SETTLE);
                let changed = match next_due {
                    Some(due) => tokio::select! {
                        p = rx.recv() => p.map(Some),
                        _ = tokio::time::sleep_until(due) => Some(None),
                    },
                    None => rx.recv().await.map(Some),
                };
                match changed {
                    None => return, // the watcher was dropped
                    Some(Some(path)) => {
                        pending.insert(path, Instant::now());
                    }
                    Some(None) => {
                        let now = Instant::now();
                        let ready: Vec<PathBuf> = pending
                            .iter()
                            .filter(|(_, t)| now >= **t + SETTLE)
                            .map(|(p, _)| p.clone())
                            .collect();
                        for path in ready {
                            pending.remove(&path);
                            weft.deploy_file(&path).await;
                        }
                    }
                }
            }
        });
        Ok(DirWatch { _watcher: watcher })
    }
}
