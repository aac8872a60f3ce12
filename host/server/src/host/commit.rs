//! Committing a turn, and handing out its work once it is durable.
//!
//! A turn's whole effect is one `Op::Turn`: its history events, the inbox
//! entries it consumed, the instance row, and the work its actions cause —
//! activity work items, timers, and the outbox of messages to other
//! instances (child starts, sent events, a child's report to its parent),
//! plus the next execution of a continue-as-new. Only after the commit is
//! the work handed out.

use super::activities;
use super::dispatcher::Shared;
use std::sync::Arc;
use weft_core::{
    EventKind, ExecutionId, Failure, HistoryEvent, InstanceId, Json, Message, RuntimeStatus,
    Timestamp,
};
use weft_engine::{Action, NextExecution};
use weft_store::{
    ActivityWork, InstanceRecord, Op, OpOutcome, Outgoing, TimerEntry, TimerKey, TurnWrite,
};

/// What one commit changes for an instance.
pub(super) struct Change {
    /// The row after the commit.
    pub record: InstanceRecord,
    /// Inbox entries the turn consumed.
    pub consumed: Vec<u64>,
    /// History events to append.
    pub new_events: Vec<HistoryEvent>,
    /// The work the turn's new commands cause.
    pub actions: Vec<Action>,
    /// Set when the execution continued as new.
    pub next_execution: Option<NextExecution>,
}

impl Change {
    /// Only the row changes (a status the history does not record).
    pub fn row(record: InstanceRecord) -> Change {
        Change {
            record,
            consumed: Vec::new(),
            new_events: Vec::new(),
            actions: Vec::new(),
            next_execution: None,
        }
    }
}

/// The work items of one turn, split by where they go.
#[derive(Default)]
struct Work {
    activities: Vec<ActivityWork>,
    timers: Vec<TimerEntry>,
    cancel_timers: Vec<TimerKey>,
    outbox: Vec<Outgoing>,
}

impl Shared {
    /// Commits `change` to `old`'s instance. Only after the commit are
    /// activities dispatched, timers armed, delivered messages handed to their
    /// instances and waiters woken. Returns the committed row (for a
    /// continue-as-new, the next execution's); `None` if the turn was not
    /// committed (it was stale, or storage failed) and the caller reloads.
    pub(super) async fn commit(
        self: &Arc<Self>,
        old: &InstanceRecord,
        change: Change,
    ) -> Option<InstanceRecord> {
        if self.is_closed() {
            return None;
        }
        let Change {
            mut record,
            consumed,
            mut new_events,
            actions,
            next_execution,
        } = change;
        let instance = record.instance_id.clone();
        let now = record.updated;
        let mut work = self.work_items(&record, &actions, now);
        let continue_as_new = next_execution.map(|next| {
            // The old execution's last episode is not kept, nor its new work
            // items; its messages to others (the outbox) still go.
            new_events.clear();
            work.activities.clear();
            work.timers.clear();
            next_start(&mut record, next)
        });
        if let Some(report) = report_to_parent(old, &record) {
            work.outbox.push(report);
        }
        // The rows of instances this commit may start, so their first turns
        // need not read them back.
        let mut started: Vec<InstanceRecord> = work.outbox.iter().filter_map(start_row).collect();
        if continue_as_new.is_some() {
            started.push(record.clone());
        }
        let write = TurnWrite {
            instance: instance.clone(),
            expected_execution: old.execution_id.clone(),
            expected_history_len: old.history_len,
            new_events,
            consumed_inbox: consumed,
            record: record.clone(),
            activities: work.activities.clone(),
            timers: work.timers.clone(),
            cancel_timers: work.cancel_timers.clone(),
            outbox: work.outbox,
            continue_as_new,
        };
        match self
            .store
            .submit(self.fenced(&instance, Op::Turn(write)))
            .await
        {
            Ok(Ok(OpOutcome::TurnCommitted {
                activity_seqs,
                delivered,
            })) => {
                for (seq, item) in activity_seqs.into_iter().zip(work.activities) {
                    activities::dispatch(self.clone(), seq, item);
                }
                for t in work.timers {
                    self.timers.add(t);
                }
                for k in work.cancel_timers {
                    self.timers.cancel(k);
                }
                for (to, seq, message) in delivered {
                    let row = match message.kind() {
                        EventKind::ExecutionStarted { execution_id, .. } => started
                            .iter()
                            .position(|r| r.instance_id == to && r.execution_id == *execution_id)
                            .map(|i| started.swap_remove(i)),
                        _ => None,
                    };
                    match row {
                        Some(row) => self.deliver_start(row, seq, message),
                        None => self.deliver(to, seq, message),
                    }
                }
                if record.status.is_terminal() {
                    self.notify_finished(&instance);
                }
                Some(record)
            }
            Ok(other) => {
                // Stale: the instance changed under us (for example replaced by a new start).
                tracing::warn!(%instance, "turn not committed: {other:?}; reloading the instance");
                None
            }
            Err(e) if e.fault().is_some() => {
                // The writer logs the fault once per retry step.
                tracing::debug!(%instance, "turn not committed: {e}; retrying when storage works");
                None
            }
            Err(e) => {
                tracing::error!(%instance, "turn not committed: {e}; retrying");
                None
            }
        }
    }

    fn work_items(&self, record: &InstanceRecord, actions: &[Action], now: Timestamp) -> Work {
        let instance: &InstanceId = &record.instance_id;
        let mut work = Work::default();
        for action in actions {
            match action {
                Action::ScheduleActivity {
                    id,
                    name,
                    input,
                    attempt,
                } => {
                    // The instance's own component when it exports the activity
                    // for durable HTTP, whose policy applies.
                    let component = if name == weft_core::HTTP_ACTIVITY {
                        record.component.clone()
                    } else {
                        self.registry
                            .read()
                            .expect("registry lock")
                            .activity(name, &record.component)
                            .map(|c| c.info.digest.clone())
                            .unwrap_or_default()
                    };
                    work.activities.push(ActivityWork {
                        instance: instance.clone(),
                        execution: record.execution_id.clone(),
                        scheduled_id: *id,
                        name: name.clone(),
                        input: input.clone(),
                        component,
                        attempt: *attempt,
                    });
                }
                Action::CreateTimer { id, fire_at } => work.timers.push(TimerEntry {
                    key: TimerKey {
                        fire_at: *fire_at,
                        instance: instance.clone(),
                        timer_id: *id,
                    },
                    execution: record.execution_id.clone(),
                }),
                Action::CancelTimer { id, fire_at } => work.cancel_timers.push(TimerKey {
                    fire_at: *fire_at,
                    instance: instance.clone(),
                    timer_id: *id,
                }),
                Action::StartOrchestration {
                    id,
                    instance: child,
                    name,
                    input,
                    parent,
                } => {
                    let refuse = |why: String| {
                        Message::for_execution(
                            record.execution_id.clone(),
                            HistoryEvent::new(
                                now,
                                EventKind::SubOrchestrationInstanceFailed {
                                    scheduled_id: *id,
                                    failure: Failure::new("weft.SubOrchestrationNotStarted", why),
                                },
                            ),
                        )
                    };
                    let Some(start) = self.child_start(child, name, input, parent, now) else {
                        let why = format!(
                            "no deployed component serves orchestrator '{name}', so sub-orchestration \
                             '{child}' was not started; deploy a component that exports it"
                        );
                        tracing::warn!(%instance, "{why}");
                        if parent.is_some() {
                            work.outbox.push(Outgoing::Deliver {
                                instance: instance.clone(),
                                message: refuse(why),
                            });
                        }
                        continue;
                    };
                    let refused = parent.is_some().then(|| {
                        refuse(format!(
                            "cannot start sub-orchestration '{name}' as instance '{child}': that ID \
                             belongs to this orchestration or to an instance that has not finished; \
                             pass another instance ID"
                        ))
                    });
                    work.outbox.push(Outgoing::Start {
                        record: Box::new(start.0),
                        start: start.1,
                        refused,
                    });
                }
                Action::RewindOrchestration {
                    instance: child,
                    name,
                    input,
                    parent,
                } => {
                    let Some((rec, start)) = self.child_start(child, name, input, parent, now)
                    else {
                        tracing::warn!(%instance, "no deployed component serves orchestrator '{name}'; child '{child}' is not rewound");
                        continue;
                    };
                    let rewind = Message::new(HistoryEvent::new(
                        now,
                        EventKind::ExecutionRewound {
                            reason: Some(format!("its parent '{instance}' was rewound")),
                            voided: Vec::new(),
                        },
                    ));
                    work.outbox.push(Outgoing::Rewind {
                        instance: child.clone(),
                        rewind,
                        start: Box::new(Outgoing::Start {
                            record: Box::new(rec),
                            start,
                            refused: None,
                        }),
                    });
                }
                Action::TerminateOrchestration {
                    instance: child,
                    reason,
                } => work.outbox.push(Outgoing::Deliver {
                    instance: child.clone(),
                    message: Message::new(HistoryEvent::new(
                        now,
                        EventKind::ExecutionTerminated {
                            reason: reason.clone(),
                            recurse: true,
                        },
                    )),
                }),
                Action::SignalEntity {
                    entity,
                    operation,
                    input,
                } => work.outbox.push(super::entity_turn::signal(
                    entity,
                    operation,
                    input.clone(),
                    None,
                    now,
                )),
                Action::CallEntity {
                    entity,
                    operation,
                    input,
                    caller,
                } => work.outbox.push(super::entity_turn::signal(
                    entity,
                    operation,
                    input.clone(),
                    Some(caller.clone()),
                    now,
                )),
                // The first entity (in lock order) gets the request; each
                // passes it on, the last grants it.
                Action::RequestLocks { entities, owner } => match entities.first() {
                    Some(first) => work.outbox.push(Outgoing::Deliver {
                        instance: first.instance_id(),
                        message: Message::new(HistoryEvent::new(
                            now,
                            EventKind::EntityLockRequest {
                                owner: owner.clone(),
                                entities: entities.clone(),
                                position: 0,
                            },
                        )),
                    }),
                    None => tracing::error!(%instance, "a lock request without entities; dropped"),
                },
                Action::ReleaseLocks { entities, owner } => {
                    for e in entities {
                        work.outbox.push(Outgoing::Deliver {
                            instance: e.instance_id(),
                            message: Message::new(HistoryEvent::new(
                                now,
                                EventKind::EntityUnlockRequest {
                                    owner: owner.clone(),
                                },
                            )),
                        });
                    }
                }
                Action::SendEvent {
                    instance: target,
                    name,
                    input,
                } => work.outbox.push(Outgoing::Deliver {
                    instance: target.clone(),
                    message: Message::new(HistoryEvent::new(
                        now,
                        EventKind::EventRaised {
                            name: name.clone(),
                            input: input.clone(),
                        },
                    )),
                }),
            }
        }
        work
    }

    /// The row and start message of a child, on the current component for
    /// its name (whichever component that is); `None` when none serves it.
    pub(super) fn child_start(
        &self,
        child: &InstanceId,
        name: &str,
        input: &Json,
        parent: &Option<weft_core::ParentInstance>,
        now: Timestamp,
    ) -> Option<(InstanceRecord, Message)> {
        let component = self
            .registry
            .read()
            .expect("registry lock")
            .orchestrator(name)?
            .info
            .digest
            .clone();
        Some(super::new_instance::new_instance(
            child.clone(),
            name,
            input.clone(),
            component,
            parent.clone(),
            now,
        ))
    }
}

/// The row an outbox entry would create.
fn start_row(out: &Outgoing) -> Option<InstanceRecord> {
    match out {
        Outgoing::Start { record, .. } => Some((**record).clone()),
        Outgoing::Rewind { start, .. } => start_row(start),
        Outgoing::Deliver { .. } => None,
    }
}

/// Turns `record` into the next execution's row and returns its first inbox
/// messages: the start, then the events carried over. Same instance, name,
/// component, parent and custom status; a new execution ID; status
/// `ContinuedAsNew` until its first turn runs.
fn next_start(record: &mut InstanceRecord, next: NextExecution) -> Vec<Message> {
    let execution = ExecutionId::generate();
    record.execution_id = execution.clone();
    record.status = RuntimeStatus::ContinuedAsNew;
    record.output = Some(next.input.clone());
    record.input = next.input.clone();
    record.history_len = 0;
    let start = HistoryEvent::new(
        record.updated,
        EventKind::ExecutionStarted {
            name: record.name.clone(),
            input: next.input,
            execution_id: execution,
            component: record.component.clone(),
            parent: record.parent.clone(),
        },
    );
    std::iter::once(start)
        .chain(next.carried)
        .map(Message::new)
        .collect()
}

/// The report a sub-orchestration sends its parent when this commit ends it
/// (completed, failed for any reason, or terminated): the outcome, for the
/// parent's execution and task. One place for every way an instance ends.
fn report_to_parent(old: &InstanceRecord, new: &InstanceRecord) -> Option<Outgoing> {
    let parent = new.parent.as_ref()?;
    if old.status.is_terminal() || !new.status.is_terminal() {
        return None;
    }
    let output = new.output.clone().unwrap_or_else(Json::null);
    let scheduled_id = parent.schedule_id;
    let kind = match new.status {
        RuntimeStatus::Completed => EventKind::SubOrchestrationInstanceCompleted {
            scheduled_id,
            result: output,
        },
        RuntimeStatus::Failed => EventKind::SubOrchestrationInstanceFailed {
            scheduled_id,
            failure: serde_json::from_str::<Failure>(output.as_str()).unwrap_or_else(|_| {
                Failure::new(
                    "weft.Failed",
                    format!("sub-orchestration '{}' failed", new.instance_id),
                )
            }),
        },
        _ => EventKind::SubOrchestrationInstanceFailed {
            scheduled_id,
            failure: Failure {
                details: Some(output),
                ..Failure::new(
                    "weft.Terminated",
                    format!("sub-orchestration '{}' was terminated", new.instance_id),
                )
            },
        },
    };
    Some(Outgoing::Deliver {
        instance: parent.instance_id.clone(),
        message: Message::for_execution(
            parent.execution_id.clone(),
            HistoryEvent::new(new.updated, kind),
        ),
    })
}
