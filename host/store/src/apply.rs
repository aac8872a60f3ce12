//! What each op does, against a write transaction of either backend.
//!
//! Every op reads and validates first and writes only once it is accepted, so
//! an op answered with an [`OpError`] has written nothing even though it shares
//! the transaction with the rest of its batch. A [`StoreError`] aborts the
//! whole transaction instead.
//!
//! The rules are written once, against [`Tx`] (`tx.rs`); the backends only
//! read and write rows. Purges are in `purge.rs`, entity turns in
//! `entities.rs`.

use weft_core::{ExecutionId, InstanceId, Message, Request};

use crate::entities;
use crate::error::{OpError, StoreError};
use crate::ops::{Op, OpOutcome, Outgoing, TurnWrite};
use crate::purge;
use crate::records::InstanceRecord;
use crate::tx::Tx;

/// The answer to one op.
pub type OpResult = Result<OpOutcome, OpError>;

/// [`OpError::Consumed`] for the first of `seqs` that is no longer in
/// `id`'s inbox: another turn took it, so this one ran on a stale view.
pub(crate) fn first_consumed(
    t: &mut impl Tx,
    id: &InstanceId,
    seqs: &[u64],
) -> Result<Option<OpError>, StoreError> {
    for seq in seqs {
        if !t.inbox_has(id.as_str(), *seq)? {
            return Ok(Some(OpError::Consumed {
                instance: id.clone(),
                seq: *seq,
            }));
        }
    }
    Ok(None)
}

/// Applies one op. `Err` only for storage failures, which abort the transaction.
pub(crate) fn apply(t: &mut impl Tx, op: Op) -> Result<OpResult, StoreError> {
    match op {
        Op::CreateInstance { record, start } => create_instance(t, record, start),
        Op::Turn(turn) => commit_turn(t, turn),
        Op::Fenced { fence, op } => {
            if t.fence_holds(&fence)? {
                apply(t, *op)
            } else {
                Ok(Err(OpError::Fenced {
                    partition: fence.partition,
                    owner: fence.owner,
                    epoch: fence.epoch,
                }))
            }
        }
        Op::CompleteActivity { queue_seq, message } => match t.remove_activity(queue_seq)? {
            None => Ok(Ok(OpOutcome::Dropped)),
            Some(work) => deliver_if_current(t, &work.instance, &work.execution, message),
        },
        Op::FireTimer { key, message } => match t.remove_timer(&key)? {
            None => Ok(Ok(OpOutcome::Dropped)),
            Some(execution) => deliver_if_current(t, &key.instance, &execution, message),
        },
        Op::RaiseEvent { instance, message } => match t.instance(&instance)? {
            None => Ok(Err(OpError::NotFound)),
            Some(r) if r.status.is_terminal() => Ok(Err(OpError::Gone(r.status))),
            Some(_) => {
                let inbox_seq = t.append_inbox(&instance, message)?;
                Ok(Ok(OpOutcome::Delivered { inbox_seq }))
            }
        },
        Op::SendControl {
            instance,
            message,
            allowed,
        } => match t.instance(&instance)? {
            None => Ok(Err(OpError::NotFound)),
            Some(r) if !allowed.contains(&r.status) => Ok(Err(OpError::WrongStatus(r.status))),
            Some(_) => {
                let inbox_seq = t.append_inbox(&instance, message)?;
                Ok(Ok(OpOutcome::Delivered { inbox_seq }))
            }
        },
        Op::Repin {
            instance,
            execution,
            history_len,
            from,
            to,
        } => match t.instance(&instance)? {
            None => Ok(Err(OpError::NotFound)),
            Some(r) if r.status.is_terminal() => Ok(Err(OpError::Gone(r.status))),
            Some(r)
                if r.execution_id != execution
                    || r.history_len != history_len
                    || r.component != from =>
            {
                Ok(Err(OpError::Stale {
                    instance,
                    expected_execution: execution,
                    expected_history_len: history_len,
                    found_execution: r.execution_id,
                    found_history_len: r.history_len,
                }))
            }
            Some(r) => {
                let mut new = r.clone();
                new.component = to;
                t.put_instance(Some(&r), new)?;
                Ok(Ok(OpOutcome::Done))
            }
        },
        Op::SignalEntity { entity, message } => {
            let inbox_seq = t.append_inbox(&entity.instance_id(), message)?;
            Ok(Ok(OpOutcome::Delivered { inbox_seq }))
        }
        Op::EntityTurn(write) => entities::commit_turn(t, write),
        Op::CleanEntities { limit } => entities::clean(t, limit),
        Op::Purge { instance } => purge::purge_one(t, &instance),
        Op::PurgeMatching { filter, limit } => purge::purge_matching(t, &filter, limit),
        Op::PutComponent { digest, bytes } => {
            t.put_component_bytes(&digest, &bytes)?;
            Ok(Ok(OpOutcome::Done))
        }
    }
}

fn create_instance(
    t: &mut impl Tx,
    record: InstanceRecord,
    start: Message,
) -> Result<OpResult, StoreError> {
    if record.history_len != 0 {
        return Ok(Err(OpError::Invalid(format!(
            "a new instance record must have history_len 0, not {}",
            record.history_len
        ))));
    }
    let id = record.instance_id.clone();
    let existing = t.instance(&id)?;
    if let Some(old) = &existing {
        if !old.status.is_terminal() {
            return Ok(Err(OpError::Conflict(old.status)));
        }
        clear_instance(t, id.as_str())?;
    }
    t.put_instance(existing.as_ref(), record)?;
    let inbox_seq = t.append_inbox(&id, start)?;
    Ok(Ok(OpOutcome::Created { inbox_seq }))
}

fn commit_turn(t: &mut impl Tx, turn: TurnWrite) -> Result<OpResult, StoreError> {
    let id = turn.instance.clone();
    let Some(current) = t.instance(&id)? else {
        return Ok(Err(OpError::NotFound));
    };
    if current.execution_id != turn.expected_execution
        || current.history_len != turn.expected_history_len
    {
        return Ok(Err(OpError::Stale {
            instance: id,
            expected_execution: turn.expected_execution,
            expected_history_len: turn.expected_history_len,
            found_execution: current.execution_id,
            found_history_len: current.history_len,
        }));
    }
    if current.component != turn.record.component {
        // A turn never changes the component; only `Op::Repin` does, and a
        // turn computed on the old code must not land after it.
        return Ok(Err(OpError::Repinned {
            instance: id,
            ran_on: turn.record.component,
            pinned: current.component,
        }));
    }
    if let Err(why) = validate_turn(&turn) {
        return Ok(Err(OpError::Invalid(why)));
    }
    if let Some(e) = first_consumed(t, &id, &turn.consumed_inbox)? {
        return Ok(Err(e));
    }

    let key = id.as_str();
    if turn.continue_as_new.is_some() {
        // The next execution starts with an empty history.
        t.clear_history(key)?;
    }
    t.append_history(&id, turn.expected_history_len, turn.new_events)?;
    for inbox_seq in turn.consumed_inbox {
        t.remove_inbox(key, inbox_seq)?;
    }
    t.put_instance(Some(&current), turn.record)?;
    let mut delivered = Vec::new();
    for message in turn.continue_as_new.into_iter().flatten() {
        let inbox_seq = t.append_inbox(&id, message.clone())?;
        delivered.push((id.clone(), inbox_seq, message));
    }
    let mut activity_seqs = Vec::with_capacity(turn.activities.len());
    for work in turn.activities {
        activity_seqs.push(t.enqueue_activity(work)?);
    }
    for timer in turn.timers {
        t.insert_timer(timer)?;
    }
    for key in &turn.cancel_timers {
        t.remove_timer(key)?;
    }
    for out in turn.outbox {
        send(t, &id, out, &mut delivered)?;
    }
    Ok(Ok(OpOutcome::TurnCommitted {
        activity_seqs,
        delivered,
    }))
}

/// Writes one outbox message of a turn of `sender`; what was written to an
/// inbox is added to `delivered`. Never rejects: a message that cannot be
/// delivered is dropped (or, for a refused start, answered to the sender).
pub(crate) fn send(
    t: &mut impl Tx,
    sender: &InstanceId,
    out: Outgoing,
    delivered: &mut Vec<(InstanceId, u64, Message)>,
) -> Result<(), StoreError> {
    match out {
        Outgoing::Start {
            record,
            start,
            refused,
        } => {
            let id = record.instance_id.clone();
            // An instance never replaces itself from its own turn.
            let free = id != *sender
                && t.instance(&id)?
                    .is_none_or(|r| Request::Replace.accepts(r.status));
            if !free {
                if let Some(m) = refused {
                    let inbox_seq = t.append_inbox(sender, m.clone())?;
                    delivered.push((sender.clone(), inbox_seq, m));
                }
                return Ok(());
            }
            if let Ok(OpOutcome::Created { inbox_seq }) =
                create_instance(t, *record, start.clone())?
            {
                delivered.push((id, inbox_seq, start));
            }
        }
        Outgoing::Deliver { instance, message } if instance.is_entity() => {
            let inbox_seq = t.append_inbox(&instance, message.clone())?;
            delivered.push((instance, inbox_seq, message));
        }
        Outgoing::Deliver { instance, message } => {
            let Some(r) = t.instance(&instance)? else {
                return Ok(());
            };
            let current = message
                .execution
                .as_ref()
                .is_none_or(|e| *e == r.execution_id);
            if Request::RaiseEvent.accepts(r.status) && current {
                let inbox_seq = t.append_inbox(&instance, message.clone())?;
                delivered.push((instance, inbox_seq, message));
            }
        }
        Outgoing::Rewind {
            instance,
            rewind,
            start,
        } => match t.instance(&instance)? {
            Some(r) if Request::Rewind.accepts(r.status) => {
                let inbox_seq = t.append_inbox(&instance, rewind.clone())?;
                delivered.push((instance, inbox_seq, rewind));
            }
            // Still running: its report will come.
            Some(r) if !r.status.is_terminal() => {}
            _ => send(t, sender, *start, delivered)?,
        },
    }
    Ok(())
}

/// Checks that a turn agrees with itself (the fencing check has passed).
fn validate_turn(turn: &TurnWrite) -> Result<(), String> {
    let new_len = u32::try_from(turn.new_events.len())
        .ok()
        .and_then(|n| turn.expected_history_len.checked_add(n))
        .ok_or("the turn makes the history longer than 2^32 events")?;
    if turn.record.instance_id != turn.instance {
        return Err(format!(
            "turn for '{}' carries the record of '{}'",
            turn.instance, turn.record.instance_id
        ));
    }
    if turn.continue_as_new.is_some() {
        if turn.record.execution_id == turn.expected_execution
            || turn.record.history_len != 0
            || !turn.new_events.is_empty()
        {
            return Err(format!(
                "a continue-as-new turn of execution {} needs a record of another execution \
                 with history_len 0 and no new events (got execution {}, history_len {}, {} events)",
                turn.expected_execution,
                turn.record.execution_id,
                turn.record.history_len,
                turn.new_events.len()
            ));
        }
    } else if turn.record.execution_id != turn.expected_execution {
        return Err(format!(
            "turn for execution {} carries a record of execution {}",
            turn.expected_execution, turn.record.execution_id
        ));
    } else if turn.record.history_len != new_len {
        return Err(format!(
            "record history_len is {} but {} + {} new events make {new_len}",
            turn.record.history_len,
            turn.expected_history_len,
            turn.new_events.len()
        ));
    }
    let foreign = turn
        .timers
        .iter()
        .map(|e| &e.key)
        .chain(&turn.cancel_timers)
        .find(|k| k.instance != turn.instance);
    if let Some(k) = foreign {
        return Err(format!(
            "turn for '{}' touches timer {} of '{}'",
            turn.instance, k.timer_id, k.instance
        ));
    }
    Ok(())
}

/// Appends `message` to the inbox of `instance` if it still runs `execution`
/// (and the message, when it names one, is for that execution).
fn deliver_if_current(
    t: &mut impl Tx,
    instance: &InstanceId,
    execution: &ExecutionId,
    message: Message,
) -> Result<OpResult, StoreError> {
    let Some(record) = t.instance(instance)? else {
        return Ok(Ok(OpOutcome::Dropped));
    };
    let current = record.execution_id == *execution
        && message.execution.as_ref().is_none_or(|e| e == execution)
        && !record.status.is_terminal();
    if !current {
        return Ok(Ok(OpOutcome::Dropped));
    }
    let inbox_seq = t.append_inbox(instance, message)?;
    Ok(Ok(OpOutcome::Delivered { inbox_seq }))
}

/// Deletes an instance's history, inbox and timers (before it is replaced, or
/// when it is purged). Work items are left: see [`Tx::remove_activities_of`].
pub(crate) fn clear_instance(t: &mut impl Tx, key: &str) -> Result<(), StoreError> {
    t.clear_history(key)?;
    t.clear_inbox(key)?;
    t.clear_timers(key)
}
