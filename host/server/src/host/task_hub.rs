//! The client API of one task hub: every instance-management operation
//! . The HTTP API and the CLI are thin layers over these calls.

use super::activities;
use super::dispatcher::Shared;
use super::errors::{ClientError, validate_event_name};
use super::replay_check::{self, ReplayMismatch};
use super::weft::Weft;
use std::sync::Arc;
use std::time::Duration;
use weft_core::{EventKind, HistoryEvent, InstanceId, Json, Message, Request};
use weft_store::{InstanceFilter, InstanceRecord, Op, OpError, OpOutcome, StoreError};

/// An instance's status as stored.
pub type Status = InstanceRecord;

/// Most instances purged per write transaction by a filter purge, so other
/// writes are not held up behind one huge transaction.
const PURGE_BATCH: usize = 1000;

/// How often a wait for completion reads the status on a shared hub while
/// another host runs the instance.
const SHARED_WAIT_POLL: Duration = Duration::from_millis(50);

/// Largest page the list call returns; a larger `top` gets this many and a
/// continuation token (Durable Functions' clients already expect short pages).
pub const MAX_PAGE: usize = 1000;

/// One task hub of a running host. Cheap to clone.
#[derive(Clone)]
pub struct TaskHub {
    shared: Arc<Shared>,
    weft: Weft,
}

impl TaskHub {
    pub(super) fn new(shared: Arc<Shared>, weft: Weft) -> TaskHub {
        TaskHub { shared, weft }
    }

    pub(super) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// This hub's name.
    pub fn name(&self) -> &str {
        self.shared.store.task_hub().as_str()
    }

    /// Resumes the work the store holds for this hub (at host start).
    /// On a hub several hosts share, the partitions this host takes are
    /// resumed as it takes them instead (`ownership.rs`).
    pub(super) async fn recover(&self) -> anyhow::Result<()> {
        if self.shared.ownership.shared() {
            return Ok(());
        }
        let store = &self.shared.store;
        let inboxes = store.all_inboxes().await?;
        let queue = store.activity_queue().await?;
        let timers = store.timers().await?;
        // Components that in-flight instances started on but the directory no longer has.
        for (id, _) in &inboxes {
            if let Some(rec) = self.shared.store.instance(id).await? {
                self.weft.ensure_component(&rec.component).await;
            }
        }
        let (n_inbox, n_queue, n_timers) = (inboxes.len(), queue.len(), timers.len());
        for t in timers {
            self.shared.timers.add(t);
        }
        for (seq, work) in queue {
            activities::dispatch(self.shared.clone(), seq, work);
        }
        for (id, messages) in inboxes {
            for (seq, m) in messages {
                self.shared.deliver(id.clone(), seq, m);
            }
        }
        if n_inbox + n_queue + n_timers > 0 {
            tracing::info!(
                task_hub = self.name(),
                instances = n_inbox,
                activities = n_queue,
                timers = n_timers,
                "resumed work from the store"
            );
        }
        Ok(())
    }

    /// Starts orchestrator `name` with `input`, under `id` or a fresh one.
    /// Returns once the start is durable. An ID whose instance has not
    /// finished is a conflict; a finished one is replaced by a new execution.
    pub async fn start(
        &self,
        name: &str,
        id: Option<&str>,
        input: Json,
    ) -> Result<InstanceId, ClientError> {
        self.start_on(name, id, input, None).await
    }

    /// [`TaskHub::start`] on the component with `digest` (which must export
    /// `name`) instead of the current one: for canaries and tests.
    pub async fn start_on(
        &self,
        name: &str,
        id: Option<&str>,
        input: Json,
        digest: Option<&str>,
    ) -> Result<InstanceId, ClientError> {
        let id = match id {
            Some(s) => InstanceId::for_new_instance(s)?,
            None => InstanceId::generate(),
        };
        let component = self.weft.component_for_start(name, digest).await?;
        let (record, start) = super::new_instance::new_instance(
            id.clone(),
            name,
            input,
            component.info.digest.clone(),
            None,
            self.shared.clock.now(),
        );
        match self
            .shared
            .store
            .submit(Op::CreateInstance {
                record: record.clone(),
                start: start.clone(),
            })
            .await?
        {
            Ok(OpOutcome::Created { inbox_seq }) => {
                metrics::counter!("weft_instances_started_total", "orchestrator" => name.to_owned())
                    .increment(1);
                self.shared.deliver_start(record, inbox_seq, start);
                Ok(id)
            }
            Ok(other) => Err(ClientError::Internal(format!("create answered {other:?}"))),
            Err(OpError::Conflict(status)) => Err(ClientError::Conflict { id, status }),
            Err(e) => Err(ClientError::Internal(e.to_string())),
        }
    }

    /// Moves an unfinished instance, checked compatible against `record`'s
    /// history, onto component `digest` (see `deploy_check`). False when it
    /// moved on since the check (or finished) and stays where it was.
    pub(super) async fn repin(&self, record: &InstanceRecord, digest: &str) -> bool {
        self.shared.repin(record, digest).await
    }

    /// The instance's status, or `None` if there is no such instance.
    pub async fn status(&self, id: &str) -> Result<Option<Status>, ClientError> {
        let id = InstanceId::new(id)?;
        Ok(self.shared.store.instance(&id).await?)
    }

    /// The instance's full history (empty for an unknown instance).
    pub async fn history(&self, id: &str) -> Result<Vec<HistoryEvent>, ClientError> {
        let id = InstanceId::new(id)?;
        Ok(self.shared.store.history(&id).await?)
    }

    /// One page of at most `top` (and at most [`MAX_PAGE`]) instances matching
    /// `filter`, in creation order, and the continuation token for the next page
    /// . Served from indexes.
    pub async fn list(
        &self,
        filter: &InstanceFilter,
        top: usize,
        continuation: Option<&str>,
    ) -> Result<(Vec<Status>, Option<String>), ClientError> {
        let top = top.min(MAX_PAGE);
        self.shared.store.list_instances(filter, top, continuation).await.map_err(|e| match e {
            StoreError::BadContinuation(m) => ClientError::InvalidArgument(format!(
                "invalid continuation token ({m}); pass the x-ms-continuation-token of the previous page unchanged"
            )),
            other => ClientError::Store(other),
        })
    }

    /// Raises external event `name` with `data`: buffered if the instance
    /// is not waiting yet; kept until resume if it is suspended.
    pub async fn raise_event(&self, id: &str, name: &str, data: Json) -> Result<(), ClientError> {
        let id = InstanceId::new(id)?;
        validate_event_name(name)?;
        let message = Message::new(HistoryEvent::new(
            self.shared.clock.now(),
            EventKind::EventRaised {
                name: name.to_owned(),
                input: data,
            },
        ));
        match self
            .shared
            .store
            .submit(Op::RaiseEvent {
                instance: id.clone(),
                message: message.clone(),
            })
            .await?
        {
            Ok(OpOutcome::Delivered { inbox_seq }) => {
                self.shared.deliver(id, inbox_seq, message);
                Ok(())
            }
            Ok(other) => Err(ClientError::Internal(format!(
                "raise event answered {other:?}"
            ))),
            Err(OpError::NotFound) => Err(ClientError::NotFound(id)),
            Err(OpError::Gone(status)) => Err(ClientError::Gone { id, status }),
            Err(e) => Err(ClientError::Internal(e.to_string())),
        }
    }

    /// Terminates the instance with `reason`. Asynchronous, like any
    /// message: running activities are not stopped; their results are dropped.
    /// Its sub-orchestrations keep running (Durable Functions' rule) unless
    /// `recurse`, which terminates every running descendant too.
    pub async fn terminate(
        &self,
        id: &str,
        reason: Option<String>,
        recurse: bool,
    ) -> Result<(), ClientError> {
        self.control(
            id,
            Request::Terminate,
            EventKind::ExecutionTerminated { reason, recurse },
        )
        .await
    }

    /// Suspends the instance: arrivals are kept and processed on resume.
    pub async fn suspend(&self, id: &str, reason: Option<String>) -> Result<(), ClientError> {
        self.control(
            id,
            Request::Suspend,
            EventKind::ExecutionSuspended { reason },
        )
        .await
    }

    /// Resumes a suspended instance.
    pub async fn resume(&self, id: &str, reason: Option<String>) -> Result<(), ClientError> {
        self.control(id, Request::Resume, EventKind::ExecutionResumed { reason })
            .await
    }

    /// Rewinds a failed instance: its failed activities run again,
    /// completed work is kept, and it carries on from there.
    pub async fn rewind(&self, id: &str, reason: Option<String>) -> Result<(), ClientError> {
        self.control(
            id,
            Request::Rewind,
            EventKind::ExecutionRewound {
                reason,
                voided: Vec::new(),
            },
        )
        .await
    }

    async fn control(
        &self,
        id: &str,
        request: Request,
        event: EventKind,
    ) -> Result<(), ClientError> {
        let id = InstanceId::new(id)?;
        let message = Message::new(HistoryEvent::new(self.shared.clock.now(), event));
        let op = Op::SendControl {
            instance: id.clone(),
            message: message.clone(),
            allowed: request.allowed().to_vec(),
        };
        match self.shared.store.submit(op).await? {
            Ok(OpOutcome::Delivered { inbox_seq }) => {
                self.shared.deliver(id, inbox_seq, message);
                Ok(())
            }
            Ok(other) => Err(ClientError::Internal(format!(
                "{} answered {other:?}",
                request.action()
            ))),
            Err(OpError::NotFound) => Err(ClientError::NotFound(id)),
            // A finished instance is gone (410); rewind accepts Failed, the one
            // finished status it can act on, so the rule holds for it too.
            Err(OpError::WrongStatus(status)) if status.is_terminal() => {
                Err(ClientError::Gone { id, status })
            }
            Err(OpError::WrongStatus(status)) => Err(ClientError::WrongStatus {
                id,
                status,
                action: request.action(),
                hint: request.hint(),
            }),
            Err(e) => Err(ClientError::Internal(e.to_string())),
        }
    }

    /// Starts the instance's orchestrator again with its original input:
    /// under a new random ID, or under the same ID (which must have finished).
    pub async fn restart(
        &self,
        id: &str,
        new_instance_id: bool,
    ) -> Result<InstanceId, ClientError> {
        let instance = InstanceId::new(id)?;
        let status = self
            .status(id)
            .await?
            .ok_or_else(|| ClientError::NotFound(instance.clone()))?;
        let target = if new_instance_id { None } else { Some(id) };
        self.start(&status.name, target, status.input).await
    }

    /// Deletes a finished instance and everything about it.
    pub async fn purge(&self, id: &str) -> Result<u64, ClientError> {
        let instance = InstanceId::new(id)?;
        match self
            .shared
            .store
            .submit(Op::Purge {
                instance: instance.clone(),
            })
            .await?
        {
            Ok(OpOutcome::Purged { instances }) => Ok(instances),
            Ok(other) => Err(ClientError::Internal(format!("purge answered {other:?}"))),
            Err(OpError::NotFound) => Err(ClientError::NotFound(instance)),
            Err(OpError::WrongStatus(status)) => Err(ClientError::WrongStatus {
                id: instance,
                status,
                action: Request::Purge.action(),
                hint: Request::Purge.hint(),
            }),
            Err(e) => Err(ClientError::Internal(e.to_string())),
        }
    }

    /// Deletes every finished instance matching `filter`; never one that has not
    /// finished, whatever the filter says. Returns how many were deleted.
    pub async fn purge_matching(&self, filter: InstanceFilter) -> Result<u64, ClientError> {
        if filter.created_from.is_none() {
            return Err(ClientError::InvalidArgument(
                "purging by filter needs createdTimeFrom (the start of the created-time range)"
                    .into(),
            ));
        }
        let mut total = 0;
        loop {
            let op = Op::PurgeMatching {
                filter: filter.clone(),
                limit: PURGE_BATCH,
            };
            match self.shared.store.submit(op).await? {
                Ok(OpOutcome::Purged { instances }) => {
                    total += instances;
                    if (instances as usize) < PURGE_BATCH {
                        return Ok(total);
                    }
                }
                Ok(other) => {
                    return Err(ClientError::Internal(format!("purge answered {other:?}")));
                }
                Err(e) => return Err(ClientError::Internal(e.to_string())),
            }
        }
    }

    /// Waits up to `timeout` for the instance to finish. Returns its status at
    /// the end either way; `None` if it does not exist. On a hub
    /// other hosts share, the instance may finish on another host: the
    /// status is also read every [`SHARED_WAIT_POLL`] while another host
    /// runs it.
    pub async fn wait_for_completion(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<Option<Status>, ClientError> {
        let instance = InstanceId::new(id)?;
        let finished = self.shared.watch(&instance);
        match self.status(id).await? {
            Some(s) if !s.status.is_terminal() => {}
            other => return Ok(other),
        }
        if !self.shared.ownership.shared() {
            let _ = tokio::time::timeout(timeout, finished).await;
            return self.status(id).await;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut finished = std::pin::pin!(finished);
        loop {
            // Run here, the instance's end wakes `finished`; the poll is only
            // a safety net then (its partition may move meanwhile).
            let every = if self.shared.ownership.owns(&instance) {
                Duration::from_secs(1)
            } else {
                SHARED_WAIT_POLL
            };
            let next = (tokio::time::Instant::now() + every).min(deadline);
            let _ = tokio::time::timeout_at(next, &mut finished).await;
            let status = self.status(id).await?;
            match &status {
                Some(s) if !s.status.is_terminal() && tokio::time::Instant::now() < deadline => {}
                _ => return Ok(status),
            }
        }
    }

    /// Re-executes the instance's stored history on the component it started on,
    /// once kept hot and once replayed turn by turn, and checks that both
    /// reproduce the stored history byte for byte.
    pub async fn check_replay(&self, id: &str) -> Result<(), ReplayMismatch> {
        let unavailable = |e: String| ReplayMismatch::Unavailable(e);
        let record = self
            .status(id)
            .await
            .map_err(|e| unavailable(e.to_string()))?
            .ok_or_else(|| unavailable(format!("no instance '{id}'")))?;
        self.weft.ensure_component(&record.component).await;
        let component = self
            .shared
            .registry
            .read()
            .expect("registry lock")
            .get(&record.component)
            .ok_or_else(|| {
                unavailable(format!("component {} is not available", record.component))
            })?;
        let history = self
            .history(id)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        replay_check::check(component, &record.instance_id, &history).await
    }
}
