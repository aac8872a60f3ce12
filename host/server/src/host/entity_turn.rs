//! Entity turns: an entity's queued messages, decided in arrival order and
//! committed in one transaction.
//!
//! An entity's inbox is its queue. A turn takes every message that may run
//! now, in inbox order, and leaves the rest waiting in the inbox (and in its
//! slot's `deferred` list, so they are not read back):
//!
//! - A release (`EntityUnlockRequest`) always runs: it unlocks the entity when
//!   its owner holds it, or withdraws the owner's request still waiting here.
//!   When it unlocks, the waiting messages are looked at again from the
//!   oldest, so they keep their arrival order.
//! - While a section holds the lock, only its own calls and release run (and
//!   its own lock request again, after a rewind: it passes straight on).
//! - Otherwise the oldest message runs: an operation, or a lock request,
//!   which locks the entity and is passed to the next entity of the section
//!   (or, at the last one, granted to the orchestration).
//!
//! A lock request is granted only while its section is still open in its
//! owner's history (not released, the execution not ended): a request that
//! a release, a terminate or the end of the execution overtook never locks
//! anything. Together with the release on every ending (`release_held`),
//! no entity stays locked by an instance that has finished.
//!
//! The operations that run are one batch in one guest instance
//! (`LoadedComponent::run_entity_batch`); the new state, every caller's
//! result, the signals and starts of the operations that succeeded, the lock
//! messages and the consumed inbox entries commit as one `Op::EntityTurn`.

use super::dispatcher::Shared;
use std::sync::Arc;
use weft_core::{
    EntityId, EventKind, Failure, HistoryEvent, InstanceId, Message, ParentInstance, Timestamp,
};
use weft_runtime::{EntityOperation, OperationDone, entity_errors};
use weft_store::{EntityRecord, EntityWrite, Op, OpOutcome, Outgoing};

/// What an entity turn leaves for the next one.
pub(super) struct AfterEntityTurn {
    /// The committed row, when known.
    pub record: Option<EntityRecord>,
    /// Messages that wait for the lock (still in the inbox).
    pub deferred: Vec<(u64, Message)>,
    /// Nothing was committed: read the inbox back and run again.
    pub reload_inbox: bool,
}

impl AfterEntityTurn {
    fn retry() -> AfterEntityTurn {
        AfterEntityTurn {
            record: None,
            deferred: Vec::new(),
            reload_inbox: true,
        }
    }
}

/// One decided message, in inbox order.
enum Step {
    /// Operation `ops[index]`, answered to `caller` (a call) or not (a signal).
    Operation {
        index: usize,
        caller: Option<ParentInstance>,
    },
    /// A lock message to pass on or grant.
    Send(Box<Outgoing>),
}

/// The same section: instance, execution and the section's schedule ID.
fn same_section(a: &ParentInstance, b: &ParentInstance) -> bool {
    a.instance_id == b.instance_id
        && a.execution_id == b.execution_id
        && a.schedule_id == b.schedule_id
}

/// Whether `m` may run now, with the lock held by `holder`.
fn runnable(holder: Option<&ParentInstance>, m: &Message) -> bool {
    let Some(holder) = holder else {
        return true;
    };
    match &m.event.kind {
        EventKind::EntityUnlockRequest { .. } => true,
        // The holder's own calls; a signal (no caller) waits, as do others'.
        EventKind::EntityOperationRequested {
            caller: Some(c), ..
        } => c.instance_id == holder.instance_id && c.execution_id == holder.execution_id,
        // The holder asking again (a rewound section): already granted here.
        EventKind::EntityLockRequest { owner, .. } => same_section(holder, owner),
        _ => false,
    }
}

impl Shared {
    /// Runs and commits one turn of entity `instance` over `queue` (the
    /// waiting messages and the new ones, in inbox order).
    pub(super) async fn entity_turn(
        self: &Arc<Self>,
        instance: &InstanceId,
        mut queue: Vec<(u64, Message)>,
        cached: Option<EntityRecord>,
    ) -> AfterEntityTurn {
        let Some(entity) = instance.entity() else {
            tracing::error!(%instance, "not an entity ID; its messages are left in the inbox");
            return AfterEntityTurn {
                record: None,
                deferred: Vec::new(),
                reload_inbox: false,
            };
        };
        let row = match cached {
            Some(r) => r,
            None => match self.store.entity(&entity).await {
                Ok(Some(r)) => r,
                Ok(None) => EntityRecord {
                    entity: entity.clone(),
                    state: None,
                    locked_by: None,
                    last_operation: Timestamp(0),
                },
                Err(e) => {
                    tracing::error!(%entity, "cannot read the entity: {e}; retrying");
                    return AfterEntityTurn::retry();
                }
            },
        };
        let now = self.clock.now();
        let mut locked_by = row.locked_by.clone();
        let mut consumed = Vec::new();
        let mut ops = Vec::new();
        let mut steps = Vec::new();
        let mut i = 0;
        while i < queue.len() {
            if !runnable(locked_by.as_ref(), &queue[i].1) {
                i += 1;
                continue;
            }
            let (seq, m) = queue.remove(i);
            consumed.push(seq);
            match m.event.kind {
                EventKind::EntityOperationRequested {
                    operation,
                    input,
                    caller,
                } => {
                    steps.push(Step::Operation {
                        index: ops.len(),
                        caller,
                    });
                    ops.push(EntityOperation { operation, input });
                }
                EventKind::EntityLockRequest {
                    owner,
                    entities,
                    position,
                } => {
                    if entities.get(position as usize) != Some(&entity) {
                        tracing::error!(%entity, owner = %owner.instance_id, "a lock request for another entity arrived here; dropped");
                        continue;
                    }
                    match self.section_open(&owner).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::info!(%entity, owner = %owner.instance_id, "lock request dropped: its section was released or its orchestration ended");
                            continue;
                        }
                        Err(e) => {
                            tracing::error!(%entity, "cannot check the lock owner: {e}; retrying");
                            return AfterEntityTurn::retry();
                        }
                    }
                    locked_by = Some(owner.clone());
                    steps.push(Step::Send(Box::new(pass_on(
                        owner, entities, position, now,
                    ))));
                }
                EventKind::EntityUnlockRequest { owner } => {
                    if locked_by.as_ref().is_some_and(|h| same_section(h, &owner)) {
                        locked_by = None;
                        i = 0; // the oldest waiting message goes first
                    } else {
                        // Not held: withdraw the owner's request waiting here.
                        queue.retain(|(s, w)| {
                            let withdrawn = matches!(&w.event.kind,
                                EventKind::EntityLockRequest { owner: o, .. } if same_section(o, &owner));
                            if withdrawn {
                                consumed.push(*s);
                            }
                            !withdrawn
                        });
                    }
                }
                other => {
                    tracing::warn!(%entity, kind = other.type_name(), "message dropped: entities take operations and lock messages only");
                }
            }
        }
        if consumed.is_empty() {
            // Everything waits for the lock: nothing to commit.
            return AfterEntityTurn {
                record: Some(row),
                deferred: queue,
                reload_inbox: false,
            };
        }
        let outcomes = match self.run_operations(&entity, &row, &ops, now).await {
            Some(o) => o,
            None => return AfterEntityTurn::retry(),
        };
        let mut state = row.state.clone();
        let mut outbox = Vec::new();
        for step in steps {
            match step {
                Step::Send(out) => outbox.push(*out),
                Step::Operation { index, caller } => {
                    let outcome = &outcomes[index];
                    if let Ok(done) = outcome {
                        state = done.state.clone();
                    }
                    self.answer(&entity, &ops[index], outcome, caller, now, &mut outbox);
                }
            }
        }
        metrics::counter!("weft_entity_operations_total").increment(ops.len() as u64);
        let record = EntityRecord {
            entity: entity.clone(),
            state,
            locked_by,
            last_operation: if ops.is_empty() {
                row.last_operation
            } else {
                now
            },
        };
        let write = EntityWrite {
            record: record.clone(),
            consumed_inbox: consumed,
            outbox,
        };
        let op = self.fenced(instance, Op::EntityTurn(write));
        match self.store.submit(op).await {
            Ok(Ok(OpOutcome::TurnCommitted { delivered, .. })) => {
                for (to, seq, message) in delivered {
                    self.deliver(to, seq, message);
                }
                AfterEntityTurn {
                    record: Some(record),
                    deferred: queue,
                    reload_inbox: false,
                }
            }
            other => {
                tracing::warn!(%entity, "entity turn not committed: {other:?}; retrying");
                AfterEntityTurn::retry()
            }
        }
    }

    /// Whether `owner`'s section is still open: its execution runs and its
    /// history has not released the section.
    async fn section_open(&self, owner: &ParentInstance) -> Result<bool, weft_store::StoreError> {
        let Some(r) = self.store.instance(&owner.instance_id).await? else {
            return Ok(false);
        };
        if r.execution_id != owner.execution_id || r.status.is_terminal() {
            return Ok(false);
        }
        let history = self.store.history(&owner.instance_id).await?;
        Ok(weft_engine::section_is_open(&history, owner.schedule_id))
    }

    /// Runs the batch on the current component for the entity's name.
    /// `None`: no instance slot was free; nothing may be committed.
    async fn run_operations(
        &self,
        entity: &EntityId,
        row: &EntityRecord,
        ops: &[EntityOperation],
        now: Timestamp,
    ) -> Option<Vec<Result<OperationDone, Failure>>> {
        if ops.is_empty() {
            return Some(Vec::new());
        }
        let component = self
            .registry
            .read()
            .expect("registry lock")
            .entity(entity.name());
        let Some(component) = component else {
            let f = Failure::new(
                entity_errors::NOT_FOUND,
                format!(
                    "no deployed component serves entity '{}'; deploy a component that exports it",
                    entity.name()
                ),
            );
            return Some(ops.iter().map(|_| Err(f.clone())).collect());
        };
        match component
            .run_entity_batch(entity, row.state.clone(), ops, now)
            .await
        {
            Ok(outcomes) => Some(outcomes),
            Err(e) => {
                tracing::warn!(%entity, "{e}; the batch runs again shortly");
                None
            }
        }
    }

    /// The messages one operation's outcome sends: the caller's answer, and
    /// (only when it succeeded) its signals and starts.
    fn answer(
        &self,
        entity: &EntityId,
        op: &EntityOperation,
        outcome: &Result<OperationDone, Failure>,
        caller: Option<ParentInstance>,
        now: Timestamp,
        outbox: &mut Vec<Outgoing>,
    ) {
        let reply = |kind: EventKind, caller: &ParentInstance| Outgoing::Deliver {
            instance: caller.instance_id.clone(),
            message: Message::for_execution(
                caller.execution_id.clone(),
                HistoryEvent::new(now, kind),
            ),
        };
        match outcome {
            Ok(done) => {
                if let Some(c) = &caller {
                    outbox.push(reply(
                        EventKind::EntityOperationCompleted {
                            scheduled_id: c.schedule_id,
                            result: done.result.clone(),
                        },
                        c,
                    ));
                }
                for s in &done.signals {
                    outbox.push(signal(&s.entity, &s.operation, s.input.clone(), None, now));
                }
                for s in &done.starts {
                    let id = s.instance_id.clone().unwrap_or_else(InstanceId::generate);
                    match self.child_start(&id, &s.name, &s.input, &None, now) {
                        Some((record, start)) => outbox.push(Outgoing::Start {
                            record: Box::new(record),
                            start,
                            refused: None,
                        }),
                        None => {
                            tracing::warn!(%entity, orchestrator = %s.name, "operation '{}' started an orchestrator no deployed component serves; not started", op.operation)
                        }
                    }
                }
            }
            Err(f) => {
                metrics::counter!("weft_entity_operations_failed_total").increment(1);
                match &caller {
                    Some(c) => outbox.push(reply(
                        EventKind::EntityOperationFailed {
                            scheduled_id: c.schedule_id,
                            failure: f.clone(),
                        },
                        c,
                    )),
                    None => {
                        tracing::warn!(%entity, operation = %op.operation, error_type = %f.error_type, "signalled operation failed: {}", f.message)
                    }
                }
            }
        }
    }
}

/// An operation request for an entity's inbox: for `caller` (a call) or
/// none (a signal). Clients, orchestrations and operations all send this.
pub(super) fn operation_request(
    operation: &str,
    input: weft_core::Json,
    caller: Option<ParentInstance>,
    now: Timestamp,
) -> Message {
    Message::new(HistoryEvent::new(
        now,
        EventKind::EntityOperationRequested {
            operation: operation.to_owned(),
            input,
            caller,
        },
    ))
}

/// [`operation_request`] as an outbox delivery to `entity`.
pub(super) fn signal(
    entity: &EntityId,
    operation: &str,
    input: weft_core::Json,
    caller: Option<ParentInstance>,
    now: Timestamp,
) -> Outgoing {
    Outgoing::Deliver {
        instance: entity.instance_id(),
        message: operation_request(operation, input, caller, now),
    }
}

/// After locking `entities[position]`: the request for the next entity, or
/// the grant for the owner at the last one.
fn pass_on(
    owner: ParentInstance,
    entities: Vec<EntityId>,
    position: u32,
    now: Timestamp,
) -> Outgoing {
    let next = position + 1;
    match entities.get(next as usize) {
        Some(e) => Outgoing::Deliver {
            instance: e.instance_id(),
            message: Message::new(HistoryEvent::new(
                now,
                EventKind::EntityLockRequest {
                    owner: owner.clone(),
                    entities: entities.clone(),
                    position: next,
                },
            )),
        },
        None => Outgoing::Deliver {
            instance: owner.instance_id.clone(),
            message: Message::for_execution(
                owner.execution_id.clone(),
                HistoryEvent::new(
                    now,
                    EventKind::EntityLockGranted {
                        scheduled_id: owner.schedule_id,
                    },
                ),
            ),
        },
    }
}
