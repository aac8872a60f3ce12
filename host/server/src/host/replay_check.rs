//! Replay checking: re-execute an instance's recorded history and compare.
//!
//! The history is split back into its episodes (time + arrivals) and fed to the
//! instance's component twice: once to a guest kept in memory across turns (the
//! hot path) and once to a fresh guest per turn that replays everything before
//! it (the cold path). Both must reproduce the stored history byte for byte
//! (DESIGN §4). The same check against a *new* component is the deploy-time
//! "would this version diverge?" report of.

use std::sync::Arc;
use weft_core::{EventKind, HistoryEvent, InstanceId, Timestamp};
use weft_engine::TurnOutcome;
use weft_runtime::{Guest, LoadedComponent, TurnError};

/// Where a re-execution departed from the stored history.
#[derive(Debug, thiserror::Error)]
pub enum ReplayMismatch {
    #[error("{path} path: the code diverged: {error}")]
    Diverged {
        path: &'static str,
        error: TurnError,
    },
    #[error("{path} path: history event {index} differs: stored {stored}, re-executed {produced}")]
    Differs {
        path: &'static str,
        index: usize,
        stored: String,
        produced: String,
    },
    #[error("cannot check: {0}")]
    Unavailable(String),
}

fn episodes(history: &[HistoryEvent]) -> Vec<(Timestamp, Vec<HistoryEvent>)> {
    let mut out: Vec<(Timestamp, Vec<HistoryEvent>)> = Vec::new();
    for e in history {
        match &e.kind {
            EventKind::OrchestratorStarted => out.push((e.timestamp, Vec::new())),
            EventKind::ExecutionStarted { .. }
            | EventKind::TaskCompleted { .. }
            | EventKind::TaskFailed { .. }
            | EventKind::TimerFired { .. }
            | EventKind::EventRaised { .. } => {
                if let Some(last) = out.last_mut() {
                    last.1.push(e.clone());
                }
            }
            _ => {}
        }
    }
    out
}

/// Re-executes `history` on `component` both ways and compares with it.
pub async fn check(
    component: Arc<LoadedComponent>,
    instance: &InstanceId,
    history: &[HistoryEvent],
) -> Result<(), ReplayMismatch> {
    for (path, hot) in [("hot", true), ("replay", false)] {
        let mut produced: Vec<HistoryEvent> = Vec::new();
        let mut guest: Option<Guest> = None;
        for (now, arrivals) in episodes(history) {
            let rx = match guest.as_ref().filter(|_| hot) {
                Some(g) => g
                    .turn(now, arrivals)
                    .map_err(|_| ReplayMismatch::Unavailable("guest stopped".into()))?,
                None => {
                    let (g, rx) =
                        Guest::start(component.clone(), instance, produced.clone(), now, arrivals);
                    guest = Some(g);
                    rx
                }
            };
            let out = rx
                .await
                .map_err(|_| ReplayMismatch::Unavailable("guest stopped mid-turn".into()))?
                .map_err(|error| ReplayMismatch::Diverged { path, error })?;
            let done = out.outcome != TurnOutcome::Waiting;
            produced.extend(out.new_events);
            if done {
                break;
            }
        }
        compare(path, history, &produced)?;
    }
    Ok(())
}

fn compare(
    path: &'static str,
    stored: &[HistoryEvent],
    produced: &[HistoryEvent],
) -> Result<(), ReplayMismatch> {
    let enc = |e: Option<&HistoryEvent>| {
        e.map_or("nothing".to_owned(), |e| {
            serde_json::to_string(e).expect("JSON")
        })
    };
    for index in 0..stored.len().max(produced.len()) {
        let (a, b) = (enc(stored.get(index)), enc(produced.get(index)));
        if a != b {
            return Err(ReplayMismatch::Differs {
                path,
                index,
                stored: a,
                produced: b,
            });
        }
    }
    Ok(())
}
