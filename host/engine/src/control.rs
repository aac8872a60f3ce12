//! Control turns: terminate, suspend, resume and rewind.
//!
//! These change an instance without running its code, so they are computed
//! from the history alone. Each is one episode (`OrchestratorStarted`, the
//! control event, `OrchestratorCompleted`; a termination then closes the
//! history with `ExecutionCompleted`), so a later replay walks over it like any
//! other episode.

use crate::action::Action;
use std::collections::{HashMap, HashSet};
use weft_core::{EventKind, HistoryEvent, Json, RuntimeStatus, ScheduleId, Timestamp};

/// What a control turn records and asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlOutput {
    pub new_events: Vec<HistoryEvent>,
    pub actions: Vec<Action>,
    /// The instance's status after the turn.
    pub status: RuntimeStatus,
}

/// Applies control event `control` (as it arrived in the inbox) to an instance
/// in `status` with `history`. `None` means it does not apply in that status
/// (for example resuming a running instance) and is dropped.
pub fn apply_control(
    history: &[HistoryEvent],
    status: RuntimeStatus,
    now: Timestamp,
    control: &EventKind,
) -> Option<ControlOutput> {
    let (event, actions, status) = match control {
        EventKind::ExecutionTerminated { reason } if !status.is_terminal() => {
            let cancel = open_timers(history)
                .into_iter()
                .map(|(id, fire_at)| Action::CancelTimer { id, fire_at })
                .collect();
            (
                EventKind::ExecutionTerminated {
                    reason: reason.clone(),
                },
                cancel,
                RuntimeStatus::Terminated,
            )
        }
        EventKind::ExecutionSuspended { reason }
            if matches!(status, RuntimeStatus::Running | RuntimeStatus::Pending) =>
        {
            (
                EventKind::ExecutionSuspended {
                    reason: reason.clone(),
                },
                Vec::new(),
                RuntimeStatus::Suspended,
            )
        }
        EventKind::ExecutionResumed { reason } if status == RuntimeStatus::Suspended => (
            EventKind::ExecutionResumed {
                reason: reason.clone(),
            },
            Vec::new(),
            RuntimeStatus::Running,
        ),
        EventKind::ExecutionRewound { reason, .. } if status == RuntimeStatus::Failed => {
            rewind(history, reason)
        }
        _ => return None,
    };
    let floor = history
        .iter()
        .rev()
        .find(|e| matches!(e.kind, EventKind::OrchestratorStarted))
        .map(|e| e.timestamp);
    let now = floor.map_or(now, |f| now.max(f));
    let mut new_events = vec![
        HistoryEvent::new(now, EventKind::OrchestratorStarted),
        HistoryEvent::new(now, event.clone()),
        HistoryEvent::new(now, EventKind::OrchestratorCompleted),
    ];
    // Like every ending, a termination is closed by `ExecutionCompleted`.
    if let EventKind::ExecutionTerminated { reason } = event {
        new_events.push(HistoryEvent::new(
            now,
            EventKind::ExecutionCompleted {
                status: RuntimeStatus::Terminated,
                result: Some(reason.map_or_else(Json::null, |r| Json::from_value(&r))),
                failure: None,
            },
        ));
    }
    Some(ControlOutput {
        new_events,
        actions,
        status,
    })
}

/// Rewind: void every failure not voided yet, run those activities again with
/// the same schedule IDs, and re-create the timers that had not fired (they were
/// removed when the instance failed). Completed work stays as it is.
fn rewind(
    history: &[HistoryEvent],
    reason: &Option<String>,
) -> (EventKind, Vec<Action>, RuntimeStatus) {
    let mut scheduled: HashMap<ScheduleId, (String, weft_core::Json)> = HashMap::new();
    let mut failed: Vec<ScheduleId> = Vec::new();
    for e in history {
        match &e.kind {
            EventKind::TaskScheduled { id, name, input } => {
                scheduled.insert(*id, (name.clone(), input.clone()));
            }
            EventKind::TaskFailed { scheduled_id, .. } => failed.push(*scheduled_id),
            EventKind::TaskCompleted { scheduled_id, .. } => failed.retain(|f| f != scheduled_id),
            EventKind::ExecutionRewound { voided, .. } => failed.retain(|f| !voided.contains(f)),
            _ => {}
        }
    }
    failed.sort();
    failed.dedup();
    let mut actions: Vec<Action> = failed
        .iter()
        .filter_map(|id| {
            scheduled
                .get(id)
                .map(|(name, input)| Action::ScheduleActivity {
                    id: *id,
                    name: name.clone(),
                    input: input.clone(),
                })
        })
        .collect();
    actions.extend(
        open_timers(history)
            .into_iter()
            .map(|(id, fire_at)| Action::CreateTimer { id, fire_at }),
    );
    (
        EventKind::ExecutionRewound {
            reason: reason.clone(),
            voided: failed,
        },
        actions,
        RuntimeStatus::Running,
    )
}

/// Timers created and not fired, in schedule order.
fn open_timers(history: &[HistoryEvent]) -> Vec<(ScheduleId, Timestamp)> {
    let fired: HashSet<ScheduleId> = history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TimerFired { timer_id, .. } => Some(*timer_id),
            _ => None,
        })
        .collect();
    history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TimerCreated { id, fire_at } if !fired.contains(id) => Some((*id, *fire_at)),
            _ => None,
        })
        .collect()
}
