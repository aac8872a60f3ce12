//! Control turns: terminate, suspend, resume and rewind.
//!
//! These change an instance without running its code, so they are computed
//! from the history alone. Each is one episode (`OrchestratorStarted`, the
//! control event, `OrchestratorCompleted`; a termination then closes the
//! history with `ExecutionCompleted`), so a later replay walks over it like any
//! other episode.

use crate::action::Action;
use crate::kinds::{self, Origin};
use crate::task::Outcome;
use std::collections::HashSet;
use weft_core::{
    Ending, EventKind, HistoryEvent, InstanceId, Request, RuntimeStatus, ScheduleId, Timestamp,
};

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
    instance: &InstanceId,
    history: &[HistoryEvent],
    status: RuntimeStatus,
    now: Timestamp,
    control: &EventKind,
) -> Option<ControlOutput> {
    let (event, actions, status) = match control {
        EventKind::ExecutionTerminated { reason, recurse }
            if Request::Terminate.accepts(status) =>
        {
            let mut actions: Vec<Action> = open_commands(history)
                .filter_map(|(kind, event)| kind.abandon(event))
                .collect();
            actions.extend(crate::release_held(instance, history));
            if *recurse {
                actions.extend(open_commands(history).filter_map(|(_, event)| {
                    let EventKind::SubOrchestrationInstanceCreated { instance_id, .. } = event
                    else {
                        return None;
                    };
                    Some(Action::TerminateOrchestration {
                        instance: instance_id.clone(),
                        reason: Some(format!(
                            "its parent '{instance}' was terminated{}",
                            reason.as_ref().map_or(String::new(), |r| format!(": {r}"))
                        )),
                    })
                }));
            }
            (
                EventKind::ExecutionTerminated {
                    reason: reason.clone(),
                    recurse: *recurse,
                },
                actions,
                RuntimeStatus::Terminated,
            )
        }
        EventKind::ExecutionSuspended { reason } if Request::Suspend.accepts(status) => (
            EventKind::ExecutionSuspended {
                reason: reason.clone(),
            },
            Vec::new(),
            RuntimeStatus::Suspended,
        ),
        EventKind::ExecutionResumed { reason } if Request::Resume.accepts(status) => (
            EventKind::ExecutionResumed {
                reason: reason.clone(),
            },
            Vec::new(),
            RuntimeStatus::Running,
        ),
        EventKind::ExecutionRewound { reason, .. } if Request::Rewind.accepts(status) => {
            rewind(instance, history, reason)
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
    if let EventKind::ExecutionTerminated { reason, .. } = event {
        let ending = Ending::Terminated(reason);
        new_events.push(HistoryEvent::new(
            now,
            EventKind::ExecutionCompleted {
                status: ending.status(),
                result: ending.output(),
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

/// Rewind: void every failure not voided yet, run those commands again with
/// the same schedule IDs (activities are enqueued again, failed children are
/// rewound), put back the pending commands that were removed when the
/// instance failed (timers), and request again the locks of the critical
/// section it was in. Completed work stays as it is.
fn rewind(
    instance: &InstanceId,
    history: &[HistoryEvent],
    reason: &Option<String>,
) -> (EventKind, Vec<Action>, RuntimeStatus) {
    let mut failed: Vec<ScheduleId> = Vec::new();
    for e in history {
        match &e.kind {
            EventKind::ExecutionRewound { voided, .. } => failed.retain(|f| !voided.contains(f)),
            k => match kinds::completion(k) {
                Some((id, Outcome::Failed(_))) => failed.push(id),
                Some((id, Outcome::Completed(_))) => failed.retain(|f| *f != id),
                None => {}
            },
        }
    }
    failed.sort();
    failed.dedup();
    let origin = Origin {
        instance: Some(instance.clone()),
        execution: history.iter().find_map(|e| match &e.kind {
            EventKind::ExecutionStarted { execution_id, .. } => Some(execution_id.clone()),
            _ => None,
        }),
    };
    let mut actions: Vec<Action> = failed
        .iter()
        .filter_map(|id| {
            let event = scheduling_event(history, *id)?;
            kinds::scheduling(event)?.0.redo(event, &origin)
        })
        .collect();
    actions.extend(open_commands(history).filter_map(|(kind, event)| kind.restore(event)));
    // The failure released the section the code was in, as every ending
    // does, but the rewound code carries on inside it: its locks are
    // requested again (the entities grant them, the section being open in
    // this history again). A grant the code already had comes back as a
    // duplicate completion, which replay drops; one it was still waiting for
    // (withdrawn when the instance failed) arrives, so the code never hangs.
    if let Some(Action::ReleaseLocks { entities, owner }) = crate::release_held(instance, history) {
        actions.push(Action::RequestLocks { entities, owner });
    }
    (
        EventKind::ExecutionRewound {
            reason: reason.clone(),
            voided: failed,
        },
        actions,
        RuntimeStatus::Running,
    )
}

/// The scheduling event of command `id`.
fn scheduling_event(history: &[HistoryEvent], id: ScheduleId) -> Option<&EventKind> {
    history
        .iter()
        .map(|e| &e.kind)
        .find(|k| kinds::scheduled(k) == Some(id))
}

/// Commands scheduled and never completed, in schedule order, with their kind.
fn open_commands(
    history: &[HistoryEvent],
) -> impl Iterator<Item = (&'static dyn kinds::CommandKind, &EventKind)> {
    let done: HashSet<ScheduleId> = history
        .iter()
        .filter_map(|e| kinds::completion(&e.kind).map(|(id, _)| id))
        .collect();
    history.iter().filter_map(move |e| {
        let (kind, id) = kinds::scheduling(&e.kind)?;
        (!done.contains(&id) && kind.resolved_at_once(&e.kind).is_none()).then_some((kind, &e.kind))
    })
}
