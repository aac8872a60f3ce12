//! The rewind test program (`tests/programs/flaky`, orchestrator `RewindMe`):
//! a server that serves it with the `/state` directory its activities keep
//! their run counters in, reading those counters, and waiting for rewinds.
//!
//! `RewindMe {"key": k, "failTimes": n}` runs `Count(k-before)`, sleeps 200 ms
//! on a durable timer, runs `Flaky` (which fails its first `n` runs for `k`),
//! then `Count(k-after)`, and returns `{"before", "flaky", "after"}`: the run
//! number each activity saw.

use crate::http::{Api, event_types};
use crate::paths;
use crate::poll;
use crate::server::Server;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A server serving `flaky.wasm` (and any other components asked for) with
/// `--activity-dir <state>:/state`.
pub struct Flaky {
    /// Declared first, so it is killed before the directory goes away.
    pub server: Server,
    /// The host directory the activities see as `/state`.
    pub state: PathBuf,
    pub dir: tempfile::TempDir,
}

/// Starts a server on a fresh temporary directory with `flaky.wasm` and the
/// components `more` (file names, e.g. `"human-interaction.wasm"`).
pub fn serve(more: &[&str]) -> Flaky {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = vec!["flaky.wasm"];
    files.extend_from_slice(more);
    let components = paths::component_set(&dir.path().join("components"), &files);
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("create state directory");
    let grant = format!("{}:/state", state.display());
    let server = Server::start_with(dir.path(), &components, &["--activity-dir", &grant]);
    Flaky { server, state, dir }
}

impl Flaky {
    /// How often activity counter `key` was bumped (0 if never): `Flaky` uses
    /// the instance's key, `Count` uses `<key>-before` and `<key>-after`.
    pub fn runs(&self, key: &str) -> u32 {
        counter(&self.state, key)
    }
}

/// The counter file `<state>/<key>.count` (0 if absent).
pub fn counter(state: &Path, key: &str) -> u32 {
    match std::fs::read_to_string(state.join(format!("{key}.count"))) {
        Ok(s) => s.trim().parse().expect("a counter file holds a number"),
        Err(_) => 0,
    }
}

/// `RewindMe`'s input.
pub fn input(key: &str, fail_times: u32) -> String {
    format!(r#"{{"key":"{key}","failTimes":{fail_times}}}"#)
}

/// Waits until instance `id` has finished again after its `rewinds`-th
/// rewind: its history has that many `ExecutionRewound` events and ends with
/// an `ExecutionCompleted` after the last of them. Returns the status body.
/// (Right after a rewind request is accepted the instance still shows its old
/// Failed status, so the status alone cannot tell.)
pub fn wait_after_rewinds(api: &Api, id: &str, rewinds: usize) -> Value {
    poll::until(
        &format!("instance '{id}' to finish after rewind #{rewinds}"),
        poll::DEADLINE,
        || {
            let types = event_types(&api.history(id));
            let seen = types.iter().filter(|t| *t == "ExecutionRewound").count();
            let last_rewind = types.iter().rposition(|t| t == "ExecutionRewound");
            let last_end = types.iter().rposition(|t| t == "ExecutionCompleted");
            if seen == rewinds && last_end > last_rewind {
                let r = api.status(id);
                r.expect(200);
                Ok(r.json())
            } else {
                Err(format!("history: {types:?}"))
            }
        },
    )
}
