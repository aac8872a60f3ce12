//! Control turns: terminate, suspend, resume, rewind.
//!
//! A control request is an inbox message like any other, so it is ordered with
//! the arrivals around it and survives a crash. Its turn does not run the
//! orchestrator: [`weft_engine::apply_control`] computes it from the history.
//! The hot guest is dropped (the next turn replays, walking over the control
//! episode), and arrivals held while the instance was suspended, or left in the
//! inbox when it failed, are read back after a resume or a rewind.

use super::commit::Change;
use super::dispatcher::{AfterTurn, Shared};
use std::sync::Arc;
use weft_core::{Ending, EventKind, InstanceId, Message, RuntimeStatus};
use weft_engine::apply_control;

/// True for the messages that [`Shared::control_turn`] handles.
pub fn is_control(m: &Message) -> bool {
    matches!(
        m.kind(),
        EventKind::ExecutionTerminated { .. }
            | EventKind::ExecutionSuspended { .. }
            | EventKind::ExecutionResumed { .. }
            | EventKind::ExecutionRewound { .. }
    )
}

impl Shared {
    /// Applies one control message to the instance and commits the result.
    pub(super) async fn control_turn(
        self: &Arc<Self>,
        instance: &InstanceId,
        seq: u64,
        message: Message,
    ) -> AfterTurn {
        let loaded = match self.store.instance(instance).await {
            Ok(r) => self.store.history(instance).await.map(|h| (r, h)),
            Err(e) => Err(e),
        };
        let (old, history) = match loaded {
            Ok((Some(r), h)) => (r, h),
            Ok((None, _)) => return AfterTurn::done(None, None),
            Err(e) => {
                tracing::error!(%instance, "cannot read instance: {e}; retrying");
                return AfterTurn::retry();
            }
        };
        let now = self.clock.now();
        let mut record = old.clone();
        record.updated = now;
        let Some(out) = apply_control(instance, &history, old.status, now, message.kind()) else {
            // Not applicable any more (say, a second suspend): consume it, change nothing.
            tracing::info!(%instance, status = %old.status, "ignoring {} for an instance that is {}", message.kind().type_name(), old.status);
            record.updated = old.updated;
            let change = Change {
                consumed: vec![seq],
                ..Change::row(record)
            };
            return match self.commit(&old, change).await {
                Some(record) => AfterTurn::done(None, Some(record)),
                None => AfterTurn::retry(),
            };
        };
        record.status = out.status;
        record.history_len += out.new_events.len() as u32;
        match message.kind() {
            EventKind::ExecutionTerminated { reason, .. } => {
                record.output = Ending::Terminated(reason.clone()).output();
            }
            EventKind::ExecutionRewound { .. } => record.output = None,
            _ => {}
        }
        let change = Change {
            consumed: vec![seq],
            new_events: out.new_events,
            actions: out.actions,
            ..Change::row(record)
        };
        let Some(record) = self.commit(&old, change).await else {
            return AfterTurn::retry();
        };
        let released = matches!(old.status, RuntimeStatus::Suspended | RuntimeStatus::Failed)
            && matches!(record.status, RuntimeStatus::Running);
        AfterTurn {
            guest: None,
            record: Some(record),
            reload_inbox: released,
        }
    }
}
