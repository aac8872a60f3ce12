//! Write operations: the only way to change the store.
//!
//! An [`Op`] is one logical change (start an instance, commit a turn, deliver
//! an activity result...). [`Store::commit`](crate::Store::commit) applies a
//! batch of ops in one write transaction, in order, so later ops see earlier
//! ones. Each op first validates against the current state and only then
//! writes, so an op rejected with an [`OpError`](crate::OpError) leaves no
//! trace while its neighbours in the batch commit.

use weft_core::{EntityId, ExecutionId, HistoryEvent, InstanceId, Message, RuntimeStatus};

use crate::records::{
    ActivityWork, EntityRecord, InstanceFilter, InstanceRecord, TimerEntry, TimerKey,
};

/// One change to the store.
#[derive(Clone, Debug)]
pub enum Op {
    /// Create (or replace a terminal) instance and put `start` in its inbox.
    ///
    /// An existing instance that is not terminal rejects it with
    /// [`OpError::Conflict`](crate::OpError::Conflict). A terminal one is
    /// replaced: its history, inbox and timers are deleted first. The record's
    /// `history_len` must be 0.
    CreateInstance {
        /// The new instance row.
        record: InstanceRecord,
        /// The first inbox message (normally `ExecutionStarted`).
        start: Message,
    },
    /// The whole effect of one orchestration turn.
    Turn(TurnWrite),
    /// `op`, applied only while `fence` holds: the partition is still
    /// leased to the fence's owner at its epoch (see `lease.rs`), else
    /// [`OpError::Fenced`](crate::OpError::Fenced) with nothing written. A
    /// backend one host serves alone applies `op` as it is.
    Fenced {
        /// What the store must find.
        fence: crate::lease::Fence,
        /// The op (a turn of the partition's instance).
        op: Box<Op>,
    },
    /// An activity finished: delete work item `queue_seq` and append `message`
    /// to its instance's inbox.
    ///
    /// A work item that is gone (the result was already committed) makes this
    /// [`OpOutcome::Dropped`] with nothing written: duplicates from at-least-once
    /// execution are dropped here. If the instance is gone, runs another
    /// execution than the work item's (or `message.execution`), or is terminal,
    /// the work item is deleted and nothing is appended: also `Dropped`.
    CompleteActivity {
        /// The work item's queue sequence number.
        queue_seq: u64,
        /// The result (`TaskCompleted` or `TaskFailed`).
        message: Message,
    },
    /// A timer fired: delete the timer row and append `message` to the inbox,
    /// with the drop rules of [`Op::CompleteActivity`].
    FireTimer {
        /// The timer's key.
        key: TimerKey,
        /// The `TimerFired` message.
        message: Message,
    },
    /// Move an unfinished instance onto another component version (a deploy
    /// proven compatible with its history, R-3.3). Fenced like a turn: the
    /// row must still run `execution` with `history_len` events on
    /// component `from`, else [`OpError::Stale`](crate::OpError::Stale); a
    /// terminal instance is [`OpError::Gone`](crate::OpError::Gone). Only the
    /// row's component changes, and a turn still running on `from` is then
    /// refused ([`OpError::Repinned`](crate::OpError::Repinned)), so it needs
    /// no fence: any host may move any instance.
    Repin {
        /// The instance.
        instance: InstanceId,
        /// The execution the check replayed.
        execution: ExecutionId,
        /// The history length the check replayed.
        history_len: u32,
        /// The digest it runs on now.
        from: String,
        /// The digest to run on from now on.
        to: String,
    },
    /// Raise an external event: the instance must exist
    /// ([`OpError::NotFound`](crate::OpError::NotFound)) and not be terminal
    /// ([`OpError::Gone`](crate::OpError::Gone)).
    RaiseEvent {
        /// The target instance.
        instance: InstanceId,
        /// The `EventRaised` message.
        message: Message,
    },
    /// Deliver a control request (terminate, suspend, resume, rewind) to an
    /// instance whose status allows it: the instance must exist
    /// ([`OpError::NotFound`](crate::OpError::NotFound)) and its current status
    /// must be one of `allowed`
    /// ([`OpError::WrongStatus`](crate::OpError::WrongStatus) with the status
    /// found, nothing written). Answers [`OpOutcome::Delivered`].
    ///
    /// Unlike [`Op::RaiseEvent`], a terminal instance is not refused as such:
    /// the caller says which statuses fit. Durable Functions' rules are
    /// terminate from Pending, Running, ContinuedAsNew or Suspended; suspend
    /// from Pending, Running or ContinuedAsNew; resume from Suspended; rewind
    /// from Failed. The check is against the committed status (and earlier ops
    /// of the batch), not against requests still waiting in the inbox.
    SendControl {
        /// The target instance.
        instance: InstanceId,
        /// The request (`ExecutionTerminated`, `ExecutionSuspended`,
        /// `ExecutionResumed` or `ExecutionRewound`).
        message: Message,
        /// The statuses in which the instance accepts it.
        allowed: Vec<RuntimeStatus>,
    },
    /// Purge one instance: delete its row, its index entries, its
    /// history, its inbox, its timers and its queued activity work items.
    ///
    /// [`OpError::NotFound`](crate::OpError::NotFound) if it does not exist;
    /// [`OpError::WrongStatus`](crate::OpError::WrongStatus) if it is not
    /// terminal (Completed, Failed, Terminated), with nothing deleted. Answers
    /// [`OpOutcome::Purged`] with `instances: 1`. A result that arrives later
    /// for a deleted work item or timer is [`OpOutcome::Dropped`].
    Purge {
        /// The instance to delete.
        instance: InstanceId,
    },
    /// Purge up to `limit` terminal instances matching `filter`, oldest
    /// first (created time, then ID), each as [`Op::Purge`] does. Answers
    /// [`OpOutcome::Purged`] with how many were deleted; fewer than `limit`
    /// means none is left, `limit` means call again. Never rejected.
    ///
    /// Only Completed, Failed and Terminated instances are deleted, whatever
    /// the filter says: its statuses are intersected with those three (all
    /// three when it names none), so a filter that names only non-terminal
    /// statuses purges nothing. The created-time range and ID prefix apply as
    /// in [`Store::list_instances`](crate::Store::list_instances). The walk is
    /// over the status index within the time range; it never scans the whole
    /// hub. The whole purge is in the op's transaction: keep `limit` to a few
    /// thousand per op so other writers are not held up (see `benches/purge.rs`).
    PurgeMatching {
        /// Which instances.
        filter: InstanceFilter,
        /// At most this many are deleted (0 deletes nothing).
        limit: usize,
    },
    /// A message for an entity (a client's signal): appended to its inbox,
    /// whether or not the entity exists yet (its first message creates it).
    /// Answers [`OpOutcome::Delivered`].
    SignalEntity {
        /// The entity.
        entity: EntityId,
        /// An `EntityOperationRequested`.
        message: Message,
    },
    /// The whole effect of one entity turn: the batch's operations, lock
    /// requests and releases.
    EntityTurn(EntityWrite),
    /// Durable Functions' `CleanEntityStorage`: delete up to `limit` entity
    /// rows that have no state, no lock and nothing in their inbox. Answers
    /// [`OpOutcome::Purged`] with how many were deleted.
    CleanEntities {
        /// At most this many (0 deletes nothing).
        limit: usize,
    },
    /// Store component bytes under their content digest. Idempotent: an existing
    /// digest is left as it is.
    PutComponent {
        /// The content digest (the key).
        digest: String,
        /// The component's bytes.
        bytes: Vec<u8>,
    },
}

/// The whole effect of one orchestration turn, fenced on the state it was
/// computed from.
#[derive(Clone, Debug)]
pub struct TurnWrite {
    /// The instance the turn ran for.
    pub instance: InstanceId,
    /// The execution the turn ran for; the record's must equal it, else
    /// [`OpError::Stale`](crate::OpError::Stale).
    pub expected_execution: ExecutionId,
    /// The history length the turn started from; the record's must equal it,
    /// else [`OpError::Stale`](crate::OpError::Stale).
    pub expected_history_len: u32,
    /// Appended at indexes `expected_history_len..`.
    pub new_events: Vec<HistoryEvent>,
    /// Inbox sequence numbers the turn consumed; deleted. Every one must
    /// still be in the inbox, else [`OpError::Consumed`](crate::OpError::Consumed):
    /// another turn took it first.
    pub consumed_inbox: Vec<u64>,
    /// Replaces the instance row. Its `history_len` must equal
    /// `expected_history_len + new_events.len()` and its execution must be
    /// `expected_execution`, else [`OpError::Invalid`](crate::OpError::Invalid).
    /// Its component must be the stored one, else
    /// [`OpError::Repinned`](crate::OpError::Repinned): the instance was
    /// moved to another component while the turn ran on the old one.
    pub record: InstanceRecord,
    /// Enqueued in order; each gets a fresh queue sequence number.
    pub activities: Vec<ActivityWork>,
    /// Inserted (a timer with the same instance and ID is replaced).
    pub timers: Vec<TimerEntry>,
    /// Deleted if present.
    pub cancel_timers: Vec<TimerKey>,
    /// Messages to other instances, written in the turn's transaction (the
    /// outbox), in order. A crash can neither lose nor repeat one.
    pub outbox: Vec<Outgoing>,
    /// Continue-as-new: when set, the execution ends and the next one begins
    /// in this transaction. The stored history is deleted and `new_events`
    /// must be empty (the old execution's last episode is not kept); `record`
    /// is the next execution's row (same instance, another execution ID,
    /// `history_len` 0); these messages (its start, then the events carried
    /// over) go into the inbox in order. Inbox entries not consumed stay for
    /// the next execution.
    pub continue_as_new: Option<Vec<Message>>,
}

/// The whole effect of one entity turn, committed in one transaction: the
/// messages it consumed, the row after it, and its outbox (results to
/// callers, lock requests passed on or granted, signals, starts).
#[derive(Clone, Debug)]
pub struct EntityWrite {
    /// The entity's row after the turn (it replaces the stored one).
    pub record: EntityRecord,
    /// Inbox sequence numbers the turn consumed; deleted. Every one must
    /// still be in the inbox, else [`OpError::Consumed`](crate::OpError::Consumed).
    pub consumed_inbox: Vec<u64>,
    /// Messages to others, written in order.
    pub outbox: Vec<Outgoing>,
}

/// A message from a turn to another instance (or, when refused, back to the
/// sender).
#[derive(Clone, Debug)]
pub enum Outgoing {
    /// Create an instance, as [`Op::CreateInstance`] does. When the ID is
    /// taken by an instance that has not finished, nothing is created and
    /// `refused` (when given) goes into the sender's inbox instead: the
    /// waiting parent's task fails, it never hangs.
    Start {
        /// The new instance's row.
        record: Box<InstanceRecord>,
        /// Its start message.
        start: Message,
        /// For the sender when the start is refused.
        refused: Option<Message>,
    },
    /// Append `message` to `instance`'s inbox when the instance exists, has
    /// not finished, and (when the message names one) runs that execution;
    /// otherwise it is dropped, and the turn commits all the same. An
    /// entity's inbox always takes it (the first message creates the entity).
    Deliver {
        /// The target.
        instance: InstanceId,
        /// An `EventRaised`, or a child's report to its parent.
        message: Message,
    },
    /// Rewind `instance` when it is Failed (`rewind` into its inbox, as
    /// [`Op::SendControl`] would); when it is absent or ended otherwise,
    /// start it as `start` does.
    Rewind {
        /// The child.
        instance: InstanceId,
        /// The `ExecutionRewound` request.
        rewind: Message,
        /// The start used when there is nothing to rewind.
        start: Box<Outgoing>,
    },
}

/// What an accepted op did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpOutcome {
    /// Applied; nothing to report (`PutComponent`).
    Done,
    /// The instance was created; `start` went into its inbox at `inbox_seq`.
    Created {
        /// The start message's inbox sequence number.
        inbox_seq: u64,
    },
    /// The message was appended to the inbox at `inbox_seq`.
    Delivered {
        /// The message's inbox sequence number.
        inbox_seq: u64,
    },
    /// The message was not delivered (duplicate, old execution, finished
    /// instance); any work item or timer it completed is gone.
    Dropped,
    /// The turn was committed; its activities got these queue sequence numbers,
    /// in the order of [`TurnWrite::activities`].
    TurnCommitted {
        /// Queue sequence numbers of the enqueued activities.
        activity_seqs: Vec<u64>,
        /// Every inbox message the turn wrote (its outbox as delivered,
        /// refusals to the sender, a next execution's start), with its
        /// instance and inbox sequence number, in order.
        delivered: Vec<(InstanceId, u64, Message)>,
    },
    /// Instances were purged (`Purge`: always 1; `PurgeMatching`: 0 to `limit`).
    Purged {
        /// How many instances were deleted, with everything they had.
        instances: u64,
    },
}
