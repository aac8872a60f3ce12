//! History invariants (reliability plan §9.1 item 5, the parts visible in one
//! instance's history): a finished instance's history must satisfy all of
//! them, however often the host was killed while it ran.

use std::collections::{HashMap, HashSet};
use weft_core::{EventKind, HistoryEvent, RuntimeStatus};

/// The event type names, in order, for failure messages.
pub fn outline(history: &[HistoryEvent]) -> String {
    history
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{i}:{}", e.kind.describe()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every rule a finished instance's history breaks (empty when well formed):
///
/// - it starts with `OrchestratorStarted` then `ExecutionStarted`, and has
///   exactly one `ExecutionStarted`;
/// - `OrchestratorStarted` and `OrchestratorCompleted` alternate, starting with
///   `OrchestratorStarted`, and every episode is closed;
/// - each schedule ID (`TaskScheduled`, `TimerCreated`) is used once;
/// - every `TaskCompleted`/`TaskFailed` refers to an earlier `TaskScheduled`,
///   every `TimerFired` to an earlier `TimerCreated`, each at most once;
/// - exactly one `ExecutionCompleted` (a termination too ends with one, of
///   status Terminated), and it is the last event (one more per
///   `ExecutionRewound`, whose voided failures no longer count as completions).
pub fn violations(history: &[HistoryEvent]) -> Vec<String> {
    let mut v = Vec::new();
    if history.len() < 2 {
        v.push(format!("history has {} events", history.len()));
        return v;
    }
    if !matches!(history[0].kind, EventKind::OrchestratorStarted) {
        v.push(format!("event 0 is {}", history[0].kind.describe()));
    }
    if !matches!(history[1].kind, EventKind::ExecutionStarted { .. }) {
        v.push(format!("event 1 is {}", history[1].kind.describe()));
    }
    let mut in_episode = false;
    let mut scheduled_tasks = HashSet::new();
    let mut scheduled_timers = HashSet::new();
    // Sub-orchestrations and sent events share the schedule IDs.
    let mut scheduled_other = HashSet::new();
    let mut completed: HashMap<u32, usize> = HashMap::new();
    let mut fired: HashMap<u32, usize> = HashMap::new();
    let mut starts = 0;
    let mut rewinds = 0;
    let mut ends = Vec::new();
    for (i, e) in history.iter().enumerate() {
        match &e.kind {
            EventKind::OrchestratorStarted => {
                if in_episode {
                    v.push(format!(
                        "event {i}: OrchestratorStarted inside an open episode"
                    ));
                }
                in_episode = true;
            }
            EventKind::OrchestratorCompleted => {
                if !in_episode {
                    v.push(format!(
                        "event {i}: OrchestratorCompleted without OrchestratorStarted"
                    ));
                }
                in_episode = false;
            }
            EventKind::ExecutionStarted { .. } => starts += 1,
            EventKind::TaskScheduled { id, .. } | EventKind::TimerCreated { id, .. } => {
                if !in_episode {
                    v.push(format!(
                        "event {i}: {} outside an episode",
                        e.kind.describe()
                    ));
                }
                let new = !scheduled_other.contains(&id.0)
                    && if matches!(e.kind, EventKind::TaskScheduled { .. }) {
                        !scheduled_timers.contains(&id.0) && scheduled_tasks.insert(id.0)
                    } else {
                        !scheduled_tasks.contains(&id.0) && scheduled_timers.insert(id.0)
                    };
                if !new {
                    v.push(format!("event {i}: schedule ID {id} used again"));
                }
            }
            EventKind::SubOrchestrationInstanceCreated { id, .. }
            | EventKind::EventSent { id, .. }
            | EventKind::EntityOperationSignaled { id, .. }
            | EventKind::EntityOperationCalled { id, .. }
            | EventKind::EntityLockRequested { id, .. }
            | EventKind::EntityUnlockSent { id, .. } => {
                let taken = scheduled_tasks.contains(&id.0) || scheduled_timers.contains(&id.0);
                if taken || !scheduled_other.insert(id.0) {
                    v.push(format!("event {i}: schedule ID {id} used again"));
                }
            }
            EventKind::TaskCompleted { scheduled_id, .. }
            | EventKind::TaskFailed { scheduled_id, .. }
            | EventKind::SubOrchestrationInstanceCompleted { scheduled_id, .. }
            | EventKind::SubOrchestrationInstanceFailed { scheduled_id, .. }
            | EventKind::EntityOperationCompleted { scheduled_id, .. }
            | EventKind::EntityOperationFailed { scheduled_id, .. }
            | EventKind::EntityLockGranted { scheduled_id } => {
                let sub = !matches!(
                    e.kind,
                    EventKind::TaskCompleted { .. } | EventKind::TaskFailed { .. }
                );
                let known = match sub {
                    true => scheduled_other.contains(&scheduled_id.0),
                    false => scheduled_tasks.contains(&scheduled_id.0),
                };
                if !known {
                    v.push(format!(
                        "event {i}: completion of {scheduled_id}, which no earlier TaskScheduled has"
                    ));
                }
                *completed.entry(scheduled_id.0).or_default() += 1;
            }
            EventKind::TimerFired { timer_id, .. } => {
                if !scheduled_timers.contains(&timer_id.0) {
                    v.push(format!(
                        "event {i}: TimerFired {timer_id}, which no earlier TimerCreated has"
                    ));
                }
                *fired.entry(timer_id.0).or_default() += 1;
            }
            EventKind::ExecutionCompleted { .. } => ends.push(i),
            EventKind::ExecutionRewound { voided, .. } => {
                // The voided failures no longer count: those tasks run again.
                rewinds += 1;
                for id in voided {
                    completed.remove(&id.0);
                }
            }
            EventKind::EntityOperationRequested { .. }
            | EventKind::EntityLockRequest { .. }
            | EventKind::EntityUnlockRequest { .. } => {
                v.push(format!(
                    "event {i}: {} belongs in an entity's inbox, not in a history",
                    e.kind.type_name()
                ));
            }
            EventKind::EventRaised { .. }
            | EventKind::ExecutionTerminated { .. }
            | EventKind::ExecutionSuspended { .. }
            | EventKind::ExecutionResumed { .. } => {}
        }
    }
    if starts != 1 {
        v.push(format!("{starts} ExecutionStarted events"));
    }
    if in_episode {
        v.push("the last episode is not closed by OrchestratorCompleted".into());
    }
    for (id, n) in completed.iter().filter(|(_, n)| **n > 1) {
        v.push(format!("task #{id} completed {n} times"));
    }
    for (id, n) in fired.iter().filter(|(_, n)| **n > 1) {
        v.push(format!("timer #{id} fired {n} times"));
    }
    // One end per run: the first, plus one after each rewind; the last is the
    // last event.
    let end_is_last = ends.last() == Some(&(history.len() - 1));
    if !end_is_last || ends.len() != rewinds + 1 {
        v.push(format!(
            "ExecutionCompleted at {ends:?} with {rewinds} rewinds; \
             expected {} of them, the last at index {}",
            rewinds + 1,
            history.len() - 1
        ));
    }
    v
}

/// Fails the test unless `history` is a well-formed finished history
/// ([`violations`] is empty).
#[track_caller]
pub fn assert_well_formed(id: &str, history: &[HistoryEvent]) {
    let v = violations(history);
    assert!(
        v.is_empty(),
        "instance '{id}': history breaks invariants: {v:?}\nhistory: {}",
        outline(history)
    );
}

/// Fails the test unless every scheduled activity has exactly one completion
/// and every timer fired exactly once (no step lost), for an orchestrator that
/// awaits everything it schedules.
#[track_caller]
pub fn assert_all_resolved(id: &str, history: &[HistoryEvent]) {
    let mut open: HashMap<u32, &'static str> = HashMap::new();
    for e in history {
        match &e.kind {
            EventKind::TaskScheduled { id, .. } => {
                open.insert(id.0, "activity");
            }
            EventKind::TimerCreated { id, .. } => {
                open.insert(id.0, "timer");
            }
            EventKind::SubOrchestrationInstanceCreated {
                id,
                detached: false,
                ..
            } => {
                open.insert(id.0, "sub-orchestration");
            }
            EventKind::TaskCompleted { scheduled_id, .. }
            | EventKind::TaskFailed { scheduled_id, .. }
            | EventKind::SubOrchestrationInstanceCompleted { scheduled_id, .. }
            | EventKind::SubOrchestrationInstanceFailed { scheduled_id, .. } => {
                open.remove(&scheduled_id.0);
            }
            EventKind::TimerFired { timer_id, .. } => {
                open.remove(&timer_id.0);
            }
            _ => {}
        }
    }
    assert!(
        open.is_empty(),
        "instance '{id}': scheduled but never resolved: {open:?}\nhistory: {}",
        outline(history)
    );
}

/// The status recorded by the last `ExecutionCompleted`, if any.
pub fn final_status(history: &[HistoryEvent]) -> Option<RuntimeStatus> {
    history.iter().rev().find_map(|e| match &e.kind {
        EventKind::ExecutionCompleted { status, .. } => Some(*status),
        _ => None,
    })
}

/// How many events of type `name` (e.g. `"TaskScheduled"`) the history has.
pub fn count(history: &[HistoryEvent], name: &str) -> usize {
    history
        .iter()
        .filter(|e| e.kind.type_name() == name)
        .count()
}

#[cfg(test)]
mod tests {
    //! The oracle must catch what it is for: these histories are built by hand.
    use super::*;
    use weft_core::{ExecutionId, Json, ScheduleId, Timestamp};

    fn ev(kind: EventKind) -> HistoryEvent {
        HistoryEvent::new(Timestamp(1), kind)
    }

    /// One activity (#0) and one timer (#1), both resolved, then completion.
    fn good() -> Vec<HistoryEvent> {
        vec![
            ev(EventKind::OrchestratorStarted),
            ev(EventKind::ExecutionStarted {
                name: "X".into(),
                input: Json::null(),
                execution_id: ExecutionId("e".into()),
                component: "sha256:0".into(),
                parent: None,
            }),
            ev(EventKind::TaskScheduled {
                id: ScheduleId(0),
                name: "Step".into(),
                input: Json::null(),
                attempt: None,
            }),
            ev(EventKind::TimerCreated {
                id: ScheduleId(1),
                fire_at: Timestamp(2),
            }),
            ev(EventKind::OrchestratorCompleted),
            ev(EventKind::OrchestratorStarted),
            ev(EventKind::TaskCompleted {
                scheduled_id: ScheduleId(0),
                result: Json::null(),
            }),
            ev(EventKind::TimerFired {
                timer_id: ScheduleId(1),
                fire_at: Timestamp(2),
            }),
            ev(EventKind::OrchestratorCompleted),
            ev(EventKind::ExecutionCompleted {
                status: RuntimeStatus::Completed,
                result: Some(Json::null()),
                failure: None,
            }),
        ]
    }

    #[test]
    fn a_good_history_passes() {
        assert_eq!(violations(&good()), Vec::<String>::new());
        assert_all_resolved("good", &good());
    }

    #[test]
    fn duplicates_and_orphans_are_caught() {
        let mut dup = good();
        dup.insert(7, dup[6].clone()); // TaskCompleted #0 twice
        assert!(
            violations(&dup)
                .iter()
                .any(|v| v.contains("completed 2 times"))
        );

        let mut fired_twice = good();
        fired_twice.insert(8, fired_twice[7].clone());
        assert!(
            violations(&fired_twice)
                .iter()
                .any(|v| v.contains("fired 2 times"))
        );

        let mut orphan = good();
        orphan[6] = ev(EventKind::TaskCompleted {
            scheduled_id: ScheduleId(9),
            result: Json::null(),
        });
        assert!(!violations(&orphan).is_empty());

        let mut rescheduled = good();
        rescheduled.insert(3, rescheduled[2].clone());
        assert!(
            violations(&rescheduled)
                .iter()
                .any(|v| v.contains("used again"))
        );
    }

    #[test]
    fn a_termination_ends_with_execution_completed() {
        // As the host writes it: the control episode, then ExecutionCompleted.
        let mut terminated = good();
        let end = terminated.pop().unwrap();
        terminated.extend([
            ev(EventKind::OrchestratorStarted),
            ev(EventKind::ExecutionTerminated {
                reason: None,
                recurse: false,
            }),
            ev(EventKind::OrchestratorCompleted),
            end,
        ]);
        assert_eq!(violations(&terminated), Vec::<String>::new());
        let end_rule = |h: &[HistoryEvent]| {
            violations(h)
                .iter()
                .any(|v| v.contains("ExecutionCompleted at"))
        };
        // No episode may follow the end.
        let mut late = terminated.clone();
        late.extend([
            ev(EventKind::OrchestratorStarted),
            ev(EventKind::OrchestratorCompleted),
        ]);
        assert!(end_rule(&late));
        // A termination without its ExecutionCompleted is not finished.
        let mut open = terminated;
        open.pop();
        assert!(end_rule(&open));
    }

    #[test]
    fn episode_and_end_rules_are_caught() {
        let mut two_ends = good();
        two_ends.push(two_ends[9].clone());
        assert!(!violations(&two_ends).is_empty());

        let mut no_end = good();
        no_end.pop();
        assert!(
            violations(&no_end)
                .iter()
                .any(|v| v.contains("ExecutionCompleted"))
        );

        let mut unbalanced = good();
        unbalanced.remove(4); // OrchestratorCompleted of the first episode
        assert!(
            violations(&unbalanced)
                .iter()
                .any(|v| v.contains("inside an open episode"))
        );
    }

    #[test]
    #[should_panic(expected = "never resolved")]
    fn an_unresolved_step_is_caught() {
        let mut lost = good();
        lost.remove(6); // the TaskCompleted
        assert_all_resolved("lost", &lost);
    }
}
