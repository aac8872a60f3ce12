//! Replay checking: re-execute an instance's recorded history and compare.
//!
//! The history is split back into its episodes (time + arrivals) and fed to the
//! instance's component twice: once to a guest kept in memory across turns (the
//! hot path) and once to a fresh guest per turn that replays everything before
//! it (the cold path). Both must reproduce the stored history byte for byte
//! (DESIGN §4). The same check against a *new* component is the deploy-time
//! "would this version diverge?" report of.

use std::sync::Arc;
use weft_core::{EventKind, HistoryEvent, InstanceId, RuntimeStatus, Timestamp};
use weft_engine::apply_control;
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

/// One recorded episode: a turn of the code with its arrivals, or a control
/// request applied without running the code.
enum Episode {
    Turn(Timestamp, Vec<HistoryEvent>),
    Control(Timestamp, EventKind),
}

fn episodes(history: &[HistoryEvent]) -> Vec<Episode> {
    let mut out: Vec<Episode> = Vec::new();
    for e in history {
        match &e.kind {
            EventKind::OrchestratorStarted => out.push(Episode::Turn(e.timestamp, Vec::new())),
            EventKind::ExecutionTerminated { .. }
            | EventKind::ExecutionSuspended { .. }
            | EventKind::ExecutionResumed { .. }
            | EventKind::ExecutionRewound { .. } => {
                if let Some(last) = out.last_mut() {
                    let at = match last {
                        Episode::Turn(t, _) | Episode::Control(t, _) => *t,
                    };
                    *last = Episode::Control(at, e.kind.clone());
                }
            }
            k if weft_engine::is_arrival(k) => {
                if let Some(Episode::Turn(_, arrivals)) = out.last_mut() {
                    arrivals.push(e.clone());
                }
            }
            _ => {}
        }
    }
    out
}

/// Re-executes `history` on `component` both ways and compares with it. Control
/// episodes are re-applied as the dispatcher applies them (and drop the hot guest).
pub async fn check(
    component: Arc<LoadedComponent>,
    instance: &InstanceId,
    history: &[HistoryEvent],
) -> Result<(), ReplayMismatch> {
    for (path, hot) in [("hot", true), ("replay", false)] {
        let mut produced: Vec<HistoryEvent> = Vec::new();
        let mut guest: Option<Guest> = None;
        let mut status = RuntimeStatus::Pending;
        for episode in episodes(history) {
            let (now, arrivals) = match episode {
                Episode::Control(now, event) => {
                    guest = None;
                    let out = apply_control(instance, &produced, status, now, &event).ok_or_else(
                        || {
                            ReplayMismatch::Unavailable(format!(
                                "{} does not apply to a {status} instance",
                                event.type_name()
                            ))
                        },
                    )?;
                    status = out.status;
                    produced.extend(out.new_events);
                    continue;
                }
                Episode::Turn(now, arrivals) => (now, arrivals),
            };
            if status.is_terminal() || status == RuntimeStatus::Suspended {
                continue; // arrivals held or ignored, as the dispatcher does
            }
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
            status = out.outcome.status();
            produced.extend(out.new_events);
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
