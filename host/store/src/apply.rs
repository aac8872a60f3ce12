//! Applying ops inside one write transaction.
//!
//! Every op reads and validates first and writes only once it is accepted, so
//! an op answered with an [`OpError`] has written nothing even though it shares
//! the transaction with the rest of its batch. A [`StoreError`] aborts the
//! whole transaction instead.
//!
//! Index upkeep lives here and nowhere else: every instance row write goes
//! through [`put_instance`] (created and status indexes), every timer write
//! through [`insert_timer`] / [`remove_timer`] (per-instance timer index),
//! every work item through [`enqueue_activity`] / [`remove_activity`]
//! (per-instance activity index). Purges (`purge.rs`) delete through the same
//! indexes.

use weft_core::{ExecutionId, InstanceId, Message, Request, RuntimeStatus};

use crate::codec;
use crate::entities;
use crate::error::{During, OpError, StoreError};
use crate::ops::{Op, OpOutcome, Outgoing, TurnWrite};
use crate::purge;
use crate::records::{ActivityWork, InstanceRecord, TimerEntry, TimerKey};
use crate::tables::{META_NEXT_ACTIVITY_SEQ, META_NEXT_INBOX_SEQ, WriteTables, status_code};
use crate::wire::TimerV1;

/// The answer to one op.
pub type OpResult = Result<OpOutcome, OpError>;

/// The sequence counters of a hub, loaded once per transaction and saved in it,
/// so a number is never handed out twice, even across crashes.
pub(crate) struct Sequences {
    next_inbox: u64,
    next_activity: u64,
}

impl Sequences {
    pub(crate) fn load(t: &WriteTables<'_>) -> Result<Sequences, StoreError> {
        use redb::ReadableTable;
        let get = |key: &str| -> Result<u64, StoreError> {
            Ok(t.meta
                .get(key)
                .during("reading sequence counters")?
                .map_or(1, |g| g.value()))
        };
        Ok(Sequences {
            next_inbox: get(META_NEXT_INBOX_SEQ)?,
            next_activity: get(META_NEXT_ACTIVITY_SEQ)?,
        })
    }

    pub(crate) fn save(&self, t: &mut WriteTables<'_>) -> Result<(), StoreError> {
        const DURING: &str = "saving sequence counters";
        t.meta
            .insert(META_NEXT_INBOX_SEQ, self.next_inbox)
            .during(DURING)?;
        t.meta
            .insert(META_NEXT_ACTIVITY_SEQ, self.next_activity)
            .during(DURING)?;
        Ok(())
    }

    fn take_inbox(&mut self) -> u64 {
        let seq = self.next_inbox;
        self.next_inbox += 1;
        seq
    }

    fn take_activity(&mut self) -> u64 {
        let seq = self.next_activity;
        self.next_activity += 1;
        seq
    }
}

/// Applies one op. `Err` only for storage failures, which abort the transaction.
pub(crate) fn apply(
    t: &mut WriteTables<'_>,
    seq: &mut Sequences,
    op: Op,
) -> Result<OpResult, StoreError> {
    match op {
        Op::CreateInstance { record, start } => create_instance(t, seq, record, start),
        Op::Turn(turn) => commit_turn(t, seq, turn),
        Op::CompleteActivity { queue_seq, message } => match remove_activity(t, queue_seq)? {
            None => Ok(Ok(OpOutcome::Dropped)),
            Some(work) => deliver_if_current(t, seq, &work.instance, &work.execution, message),
        },
        Op::FireTimer { key, message } => match remove_timer(t, &key)? {
            None => Ok(Ok(OpOutcome::Dropped)),
            Some(execution) => deliver_if_current(t, seq, &key.instance, &execution, message),
        },
        Op::RaiseEvent { instance, message } => match get_instance(t, &instance)? {
            None => Ok(Err(OpError::NotFound)),
            Some(r) if r.status.is_terminal() => Ok(Err(OpError::Gone(r.status))),
            Some(_) => {
                let inbox_seq = append_inbox(t, seq, &instance, message)?;
                Ok(Ok(OpOutcome::Delivered { inbox_seq }))
            }
        },
        Op::SendControl {
            instance,
            message,
            allowed,
        } => match get_instance(t, &instance)? {
            None => Ok(Err(OpError::NotFound)),
            Some(r) if !allowed.contains(&r.status) => Ok(Err(OpError::WrongStatus(r.status))),
            Some(_) => {
                let inbox_seq = append_inbox(t, seq, &instance, message)?;
                Ok(Ok(OpOutcome::Delivered { inbox_seq }))
            }
        },
        Op::Repin {
            instance,
            execution,
            history_len,
            from,
            to,
        } => match get_instance(t, &instance)? {
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
                put_instance(t, Some(&r), new)?;
                Ok(Ok(OpOutcome::Done))
            }
        },
        Op::SignalEntity { entity, message } => {
            let inbox_seq = append_inbox(t, seq, &entity.instance_id(), message)?;
            Ok(Ok(OpOutcome::Delivered { inbox_seq }))
        }
        Op::EntityTurn(write) => entities::commit_turn(t, seq, write),
        Op::CleanEntities { limit } => entities::clean(t, limit),
        Op::Purge { instance } => purge::purge_one(t, &instance),
        Op::PurgeMatching { filter, limit } => purge::purge_matching(t, &filter, limit),
        Op::PutComponent { digest, bytes } => {
            use redb::ReadableTable;
            const DURING: &str = "storing a component";
            if t.components.get(digest.as_str()).during(DURING)?.is_none() {
                t.components
                    .insert(digest.as_str(), bytes.as_slice())
                    .during(DURING)?;
            }
            Ok(Ok(OpOutcome::Done))
        }
    }
}

fn create_instance(
    t: &mut WriteTables<'_>,
    seq: &mut Sequences,
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
    let existing = get_instance(t, &id)?;
    if let Some(old) = &existing {
        if !old.status.is_terminal() {
            return Ok(Err(OpError::Conflict(old.status)));
        }
        clear_instance(t, id.as_str())?;
    }
    put_instance(t, existing.as_ref(), record)?;
    let inbox_seq = append_inbox(t, seq, &id, start)?;
    Ok(Ok(OpOutcome::Created { inbox_seq }))
}

fn commit_turn(
    t: &mut WriteTables<'_>,
    seq: &mut Sequences,
    turn: TurnWrite,
) -> Result<OpResult, StoreError> {
    let id = turn.instance.clone();
    let Some(current) = get_instance(t, &id)? else {
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
    if let Err(why) = validate_turn(&turn) {
        return Ok(Err(OpError::Invalid(why)));
    }

    const DURING: &str = "writing a turn";
    let key = id.as_str();
    if turn.continue_as_new.is_some() {
        // The next execution starts with an empty history.
        t.history
            .retain_in((key, 0)..=(key, u32::MAX), |_, _| false)
            .during(DURING)?;
    }
    for (i, event) in turn.new_events.into_iter().enumerate() {
        let index = turn.expected_history_len + i as u32;
        t.history
            .insert((key, index), codec::encode_event(event).as_slice())
            .during(DURING)?;
    }
    for inbox_seq in turn.consumed_inbox {
        t.inbox.remove((key, inbox_seq)).during(DURING)?;
    }
    put_instance(t, Some(&current), turn.record)?;
    let mut delivered = Vec::new();
    for message in turn.continue_as_new.into_iter().flatten() {
        let inbox_seq = append_inbox(t, seq, &id, message.clone())?;
        delivered.push((id.clone(), inbox_seq, message));
    }
    let mut activity_seqs = Vec::with_capacity(turn.activities.len());
    for work in turn.activities {
        activity_seqs.push(enqueue_activity(t, seq, work)?);
    }
    for timer in turn.timers {
        insert_timer(t, timer)?;
    }
    for key in &turn.cancel_timers {
        remove_timer(t, key)?;
    }
    for out in turn.outbox {
        send(t, seq, &id, out, &mut delivered)?;
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
    t: &mut WriteTables<'_>,
    seq: &mut Sequences,
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
                && get_instance(t, &id)?.is_none_or(|r| Request::Replace.accepts(r.status));
            if !free {
                if let Some(m) = refused {
                    let inbox_seq = append_inbox(t, seq, sender, m.clone())?;
                    delivered.push((sender.clone(), inbox_seq, m));
                }
                return Ok(());
            }
            if let Ok(OpOutcome::Created { inbox_seq }) =
                create_instance(t, seq, *record, start.clone())?
            {
                delivered.push((id, inbox_seq, start));
            }
        }
        Outgoing::Deliver { instance, message } if instance.is_entity() => {
            let inbox_seq = append_inbox(t, seq, &instance, message.clone())?;
            delivered.push((instance, inbox_seq, message));
        }
        Outgoing::Deliver { instance, message } => {
            let Some(r) = get_instance(t, &instance)? else {
                return Ok(());
            };
            let current = message
                .execution
                .as_ref()
                .is_none_or(|e| *e == r.execution_id);
            if Request::RaiseEvent.accepts(r.status) && current {
                let inbox_seq = append_inbox(t, seq, &instance, message.clone())?;
                delivered.push((instance, inbox_seq, message));
            }
        }
        Outgoing::Rewind {
            instance,
            rewind,
            start,
        } => match get_instance(t, &instance)? {
            Some(r) if Request::Rewind.accepts(r.status) => {
                let inbox_seq = append_inbox(t, seq, &instance, rewind.clone())?;
                delivered.push((instance, inbox_seq, rewind));
            }
            // Still running: its report will come.
            Some(r) if !r.status.is_terminal() => {}
            _ => send(t, seq, sender, *start, delivered)?,
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
    t: &mut WriteTables<'_>,
    seq: &mut Sequences,
    instance: &InstanceId,
    execution: &ExecutionId,
    message: Message,
) -> Result<OpResult, StoreError> {
    let Some(record) = get_instance(t, instance)? else {
        return Ok(Ok(OpOutcome::Dropped));
    };
    let current = record.execution_id == *execution
        && message.execution.as_ref().is_none_or(|e| e == execution)
        && !record.status.is_terminal();
    if !current {
        return Ok(Ok(OpOutcome::Dropped));
    }
    let inbox_seq = append_inbox(t, seq, instance, message)?;
    Ok(Ok(OpOutcome::Delivered { inbox_seq }))
}

pub(crate) fn get_instance(
    t: &WriteTables<'_>,
    id: &InstanceId,
) -> Result<Option<InstanceRecord>, StoreError> {
    use redb::ReadableTable;
    t.instances
        .get(id.as_str())
        .during("reading an instance row")?
        .map(|g| codec::decode_instance(g.value(), id.as_str()))
        .transpose()
}

/// Writes an instance row and moves its index entries from `old` (the row it
/// replaces, if any) to `new`.
fn put_instance(
    t: &mut WriteTables<'_>,
    old: Option<&InstanceRecord>,
    new: InstanceRecord,
) -> Result<(), StoreError> {
    const DURING: &str = "writing an instance row";
    let id = new.instance_id.clone();
    let key = id.as_str();
    if let Some(old) = old {
        t.by_created.remove((old.created.0, key)).during(DURING)?;
        t.by_status
            .remove((status_code(old.status), old.created.0, key))
            .during(DURING)?;
    }
    let (created, status): (u64, RuntimeStatus) = (new.created.0, new.status);
    t.by_created.insert((created, key), ()).during(DURING)?;
    t.by_status
        .insert((status_code(status), created, key), ())
        .during(DURING)?;
    t.instances
        .insert(key, codec::encode_instance(new).as_slice())
        .during(DURING)?;
    Ok(())
}

pub(crate) fn append_inbox(
    t: &mut WriteTables<'_>,
    seq: &mut Sequences,
    instance: &InstanceId,
    message: Message,
) -> Result<u64, StoreError> {
    let inbox_seq = seq.take_inbox();
    t.inbox
        .insert(
            (instance.as_str(), inbox_seq),
            codec::encode_message(message).as_slice(),
        )
        .during("appending to an inbox")?;
    Ok(inbox_seq)
}

/// Deletes an instance's history, inbox and timers (before it is replaced, or
/// when it is purged). Work items are left: see [`remove_activities_of`].
pub(crate) fn clear_instance(t: &mut WriteTables<'_>, key: &str) -> Result<(), StoreError> {
    use redb::ReadableTable;
    const DURING: &str = "clearing an instance's rows";
    t.history
        .retain_in((key, 0)..=(key, u32::MAX), |_, _| false)
        .during(DURING)?;
    t.inbox
        .retain_in((key, 0)..=(key, u64::MAX), |_, _| false)
        .during(DURING)?;
    let timers: Vec<(u32, u64)> = t
        .timers_by_instance
        .range((key, 0)..=(key, u32::MAX))
        .during(DURING)?
        .map(|r| r.map(|(k, v)| (k.value().1, v.value())))
        .collect::<Result<_, _>>()
        .during(DURING)?;
    for (timer_id, fire_at) in timers {
        t.timers.remove((fire_at, key, timer_id)).during(DURING)?;
    }
    t.timers_by_instance
        .retain_in((key, 0)..=(key, u32::MAX), |_, _| false)
        .during(DURING)?;
    Ok(())
}

/// Puts a work item on the queue under a fresh sequence number, with its
/// per-instance index entry.
fn enqueue_activity(
    t: &mut WriteTables<'_>,
    seq: &mut Sequences,
    work: ActivityWork,
) -> Result<u64, StoreError> {
    const DURING: &str = "enqueueing an activity";
    let queue_seq = seq.take_activity();
    t.activities_by_instance
        .insert((work.instance.as_str(), queue_seq), ())
        .during(DURING)?;
    t.activities
        .insert(queue_seq, codec::encode_activity(work).as_slice())
        .during(DURING)?;
    Ok(queue_seq)
}

/// Deletes work item `queue_seq` and its index entry; returns it when it existed.
fn remove_activity(
    t: &mut WriteTables<'_>,
    queue_seq: u64,
) -> Result<Option<ActivityWork>, StoreError> {
    const DURING: &str = "removing an activity work item";
    let work = t
        .activities
        .remove(queue_seq)
        .during(DURING)?
        .map(|g| codec::decode_activity(g.value(), queue_seq))
        .transpose()?;
    if let Some(work) = &work {
        t.activities_by_instance
            .remove((work.instance.as_str(), queue_seq))
            .during(DURING)?;
    }
    Ok(work)
}

/// Deletes every queued work item of instance `key` (whatever execution scheduled it),
/// found through the per-instance index. Returns how many there were.
pub(crate) fn remove_activities_of(
    t: &mut WriteTables<'_>,
    key: &str,
) -> Result<usize, StoreError> {
    use redb::ReadableTable;
    const DURING: &str = "deleting an instance's work items";
    let seqs: Vec<u64> = t
        .activities_by_instance
        .range((key, 0)..=(key, u64::MAX))
        .during(DURING)?
        .map(|r| r.map(|(k, _)| k.value().1))
        .collect::<Result<_, _>>()
        .during(DURING)?;
    if seqs.is_empty() {
        return Ok(0);
    }
    for queue_seq in &seqs {
        t.activities.remove(*queue_seq).during(DURING)?;
    }
    t.activities_by_instance
        .retain_in((key, 0)..=(key, u64::MAX), |_, _| false)
        .during(DURING)?;
    Ok(seqs.len())
}

/// Inserts a timer; one with the same instance and timer ID is replaced.
fn insert_timer(t: &mut WriteTables<'_>, entry: TimerEntry) -> Result<(), StoreError> {
    const DURING: &str = "writing a timer";
    let key = entry.key.instance.as_str();
    let timer_id = entry.key.timer_id.0;
    let fire_at = entry.key.fire_at.0;
    let previous = t
        .timers_by_instance
        .insert((key, timer_id), fire_at)
        .during(DURING)?
        .map(|g| g.value());
    if let Some(previous) = previous.filter(|p| *p != fire_at) {
        t.timers.remove((previous, key, timer_id)).during(DURING)?;
    }
    let value = codec::encode_timer(TimerV1 {
        execution: entry.execution,
    });
    t.timers
        .insert((fire_at, key, timer_id), value.as_slice())
        .during(DURING)?;
    Ok(())
}

/// Deletes a timer; returns its execution when it existed.
fn remove_timer(
    t: &mut WriteTables<'_>,
    key: &TimerKey,
) -> Result<Option<ExecutionId>, StoreError> {
    const DURING: &str = "deleting a timer";
    let id = key.instance.as_str();
    let timer_id = key.timer_id.0;
    let removed = t
        .timers
        .remove((key.fire_at.0, id, timer_id))
        .during(DURING)?
        .map(|g| codec::decode_timer(g.value(), id, timer_id))
        .transpose()?;
    if removed.is_some() {
        t.timers_by_instance.remove((id, timer_id)).during(DURING)?;
    }
    Ok(removed.map(|v| v.execution))
}
