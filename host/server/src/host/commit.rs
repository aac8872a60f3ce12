//! Committing a turn, and handing out its work once it is durable.

use super::activities;
use super::dispatcher::Shared;
use std::sync::Arc;
use weft_core::{HistoryEvent, InstanceId};
use weft_engine::Action;
use weft_store::{ActivityWork, InstanceRecord, Op, OpOutcome, TimerEntry, TimerKey, TurnWrite};

impl Shared {
    /// Commits a turn of `old`'s instance: `new_events` appended, inbox entries
    /// `consumed`, the row replaced by `record`, `actions` turned into work items
    /// and timers. Only after the commit are activities dispatched, timers armed
    /// and waiters woken. False if the turn was not committed (it was stale, or
    /// storage failed); the caller then reloads the instance.
    pub(super) async fn commit(
        self: &Arc<Self>,
        old: &InstanceRecord,
        record: &InstanceRecord,
        consumed: Vec<u64>,
        new_events: Vec<HistoryEvent>,
        actions: &[Action],
    ) -> bool {
        let instance = &record.instance_id;
        if self.is_closed() {
            return false;
        }
        let (activities, timers, cancel_timers) = self.work_items(record, actions);
        let write = TurnWrite {
            instance: instance.clone(),
            expected_execution: old.execution_id.clone(),
            expected_history_len: old.history_len,
            new_events,
            consumed_inbox: consumed,
            record: record.clone(),
            activities: activities.clone(),
            timers: timers.clone(),
            cancel_timers: cancel_timers.clone(),
        };
        match self.store.submit(Op::Turn(write)).await {
            Ok(Ok(OpOutcome::TurnCommitted { activity_seqs })) => {
                for (seq, work) in activity_seqs.into_iter().zip(activities) {
                    activities::dispatch(self.clone(), seq, work);
                }
                for t in timers {
                    self.timers.add(t);
                }
                for k in cancel_timers {
                    self.timers.cancel(k);
                }
                if record.status.is_terminal() {
                    self.notify_finished(instance);
                }
                true
            }
            Ok(other) => {
                // Stale: the instance changed under us (for example replaced by a new start).
                tracing::warn!(%instance, "turn not committed: {other:?}; reloading the instance");
                false
            }
            Err(e) if e.fault().is_some() => {
                // The writer logs the fault once per retry step.
                tracing::debug!(%instance, "turn not committed: {e}; retrying when storage works");
                false
            }
            Err(e) => {
                tracing::error!(%instance, "turn not committed: {e}; retrying");
                false
            }
        }
    }

    fn work_items(
        &self,
        record: &InstanceRecord,
        actions: &[Action],
    ) -> (Vec<ActivityWork>, Vec<TimerEntry>, Vec<TimerKey>) {
        let instance: &InstanceId = &record.instance_id;
        let mut activities = Vec::new();
        let mut timers = Vec::new();
        let mut cancel_timers = Vec::new();
        for action in actions {
            match action {
                Action::ScheduleActivity { id, name, input } => {
                    // The instance's own component when it exports the activity.
                    let component = self
                        .registry
                        .read()
                        .expect("registry lock")
                        .activity(name, &record.component)
                        .map(|c| c.info.digest.clone())
                        .unwrap_or_default();
                    activities.push(ActivityWork {
                        instance: instance.clone(),
                        execution: record.execution_id.clone(),
                        scheduled_id: *id,
                        name: name.clone(),
                        input: input.clone(),
                        component,
                    });
                }
                Action::CreateTimer { id, fire_at } => timers.push(TimerEntry {
                    key: TimerKey {
                        fire_at: *fire_at,
                        instance: instance.clone(),
                        timer_id: *id,
                    },
                    execution: record.execution_id.clone(),
                }),
                Action::CancelTimer { id, fire_at } => cancel_timers.push(TimerKey {
                    fire_at: *fire_at,
                    instance: instance.clone(),
                    timer_id: *id,
                }),
            }
        }
        (activities, timers, cancel_timers)
    }
}
