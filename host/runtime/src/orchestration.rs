//! The host side of the `orchestration` interface for orchestrators.
//!
//! Every call is forwarded to the replay engine. `wait-any` is where turns end:
//! when nothing the guest waits for is resolved, the turn's output goes back to
//! the dispatcher and the call suspends (the guest's stack stays intact) until the
//! next turn's messages arrive — or the guest is evicted from memory, in which
//! case the call traps and a later turn rebuilds the guest by replay.

use crate::bindings::weft::durable::orchestration::{self, LogLevel, TaskOutcome};
use crate::bindings::weft::durable::types;
use crate::det_wasi::{GuestLog, OrchestrationClock};
use crate::guest::{TurnError, TurnRequest, TurnResult};
use crate::limits::LimitExceeded;
use crate::sandbox::{CpuMeter, MemLimiter};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{mpsc, oneshot};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use weft_core::{Failure, Json, Timestamp};
use weft_engine::{EngineError, Outcome, Replay, TurnOutcome};

/// Store data of an orchestrator instance.
pub struct OrchState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    /// `wasi:http` is linked so a component whose activities use it loads, but
    /// its entry point traps for orchestrators ([`crate::forbidden`]) and the
    /// allow-list is empty.
    pub(crate) http: crate::egress::HttpState,
    pub(crate) replay: Replay,
    pub(crate) clock: OrchestrationClock,
    pub(crate) replaying: Arc<AtomicBool>,
    pub(crate) instance_id: String,
    /// Where the current turn's result goes; `None` once it was sent.
    pub(crate) reply: Option<oneshot::Sender<TurnResult>>,
    pub(crate) turns: mpsc::Receiver<TurnRequest>,
    /// Set when the dispatcher dropped this guest; its trap is not a failure.
    pub(crate) evicted: bool,
    pub(crate) stderr: GuestLog,
    pub(crate) cpu: CpuMeter,
    pub(crate) memory: MemLimiter,
    /// Tasks the code scheduled in this turn's new work, and the most it may.
    pub(crate) tasks_this_turn: u32,
    pub(crate) max_tasks: crate::policy::Setting<u32>,
}

impl OrchState {
    /// Publishes the engine's clock and replay flag to WASI and logging.
    pub(crate) fn sync(&mut self) {
        self.clock.set(self.replay.now().millis());
        self.replaying
            .store(self.replay.is_replaying(), Ordering::Relaxed);
    }

    pub(crate) fn send_reply(&mut self, result: TurnResult) {
        if let Some(reply) = self.reply.take() {
            // The dispatcher may have given up on this turn; nothing to do then.
            let _ = reply.send(result);
        }
    }

    /// Counts a task the code schedules; past the limit the guest stops.
    /// Tasks matched against recorded history are not new work and not counted.
    fn count_task(&mut self) -> wasmtime::Result<()> {
        if self.replay.is_replaying() {
            return Ok(());
        }
        self.tasks_this_turn += 1;
        if self.tasks_this_turn > self.max_tasks.value {
            return Err(wasmtime::Error::new(LimitExceeded::Tasks {
                limit: self.max_tasks.value,
                setting: self.max_tasks.name,
            }));
        }
        Ok(())
    }

    /// Turns an engine error into a trap; a divergence is also reported as the turn's result.
    fn fail(&mut self, e: EngineError) -> wasmtime::Error {
        if let EngineError::Nondeterminism(d) = &e {
            self.send_reply(Err(TurnError::Nondeterminism(d.clone())));
        }
        wasmtime::Error::new(e)
    }
}

impl WasiView for OrchState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_http::WasiHttpView for OrchState {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        self.http.view(&mut self.table)
    }
}

fn json_arg(what: &str, text: &str) -> wasmtime::Result<Json> {
    Json::parse(text).map_err(|e| {
        wasmtime::format_err!("{what} is not valid JSON ({e}); pass serialized JSON text")
    })
}

pub(crate) fn to_wit_failure(f: Failure) -> types::Failure {
    types::Failure {
        error_type: f.error_type,
        message: f.message,
        details: f.details.map(|d| d.as_str().to_owned()),
        non_retriable: f.non_retriable,
    }
}

pub(crate) fn from_wit_failure(f: types::Failure) -> Failure {
    Failure {
        error_type: f.error_type,
        message: f.message,
        details: f.details.and_then(|d| Json::parse(&d).ok()),
        non_retriable: f.non_retriable,
    }
}

impl types::Host for OrchState {}

impl crate::bindings::weft::durable::activity_context::Host for OrchState {
    async fn instance_id(&mut self) -> wasmtime::Result<String> {
        Err(only_for_activities("instance-id"))
    }
    async fn schedule_id(&mut self) -> wasmtime::Result<u32> {
        Err(only_for_activities("schedule-id"))
    }
    async fn attempt(&mut self) -> wasmtime::Result<u32> {
        Err(only_for_activities("attempt"))
    }
}

fn only_for_activities(func: &str) -> wasmtime::Error {
    wasmtime::format_err!(
        "orchestrators cannot call activity-context::{func}: it describes an activity call; \
         use orchestration::instance-id in an orchestrator"
    )
}

impl orchestration::Host for OrchState {
    async fn instance_id(&mut self) -> wasmtime::Result<String> {
        Ok(self.instance_id.clone())
    }

    async fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(self.replay.now().millis())
    }

    async fn is_replaying(&mut self) -> wasmtime::Result<bool> {
        Ok(self.replay.is_replaying())
    }

    async fn call_activity(&mut self, name: String, input: String) -> wasmtime::Result<u32> {
        let input = json_arg("call-activity input", &input)?;
        self.count_task()?;
        self.replay
            .call_activity(&name, input)
            .map_err(|e| self.fail(e))
    }

    async fn create_timer(&mut self, fire_at: u64) -> wasmtime::Result<u32> {
        self.count_task()?;
        self.replay
            .create_timer(Timestamp(fire_at))
            .map_err(|e| self.fail(e))
    }

    async fn wait_for_event(&mut self, name: String) -> wasmtime::Result<u32> {
        self.count_task()?;
        self.replay.wait_for_event(&name).map_err(|e| self.fail(e))
    }

    async fn cancel(&mut self, task: u32) -> wasmtime::Result<()> {
        self.replay.cancel(task).map_err(|e| self.fail(e))
    }

    async fn call_sub_orchestrator(
        &mut self,
        name: String,
        instance_id: Option<String>,
        input: String,
    ) -> wasmtime::Result<u32> {
        let input = json_arg("call-sub-orchestrator input", &input)?;
        self.count_task()?;
        self.replay
            .call_sub_orchestrator(&name, instance_id.as_deref(), input, false)
            .map_err(|e| self.fail(e))
    }

    async fn start_orchestration(
        &mut self,
        name: String,
        instance_id: Option<String>,
        input: String,
    ) -> wasmtime::Result<u32> {
        let input = json_arg("start-orchestration input", &input)?;
        self.count_task()?;
        self.replay
            .call_sub_orchestrator(&name, instance_id.as_deref(), input, true)
            .map_err(|e| self.fail(e))
    }

    async fn send_event(
        &mut self,
        instance_id: String,
        name: String,
        input: String,
    ) -> wasmtime::Result<()> {
        let input = json_arg("send-event input", &input)?;
        self.count_task()?;
        self.replay
            .send_event(&instance_id, &name, input)
            .map(drop)
            .map_err(|e| self.fail(e))
    }

    async fn continue_as_new(
        &mut self,
        input: String,
        preserve_unprocessed_events: bool,
    ) -> wasmtime::Result<()> {
        let input = json_arg("continue-as-new input", &input)?;
        self.replay
            .continue_as_new(input, preserve_unprocessed_events);
        Ok(())
    }

    async fn new_guid(&mut self) -> wasmtime::Result<String> {
        Ok(self.replay.new_guid())
    }

    async fn signal_entity(
        &mut self,
        entity_id: String,
        operation: String,
        input: String,
    ) -> wasmtime::Result<u32> {
        let input = json_arg("signal-entity input", &input)?;
        self.count_task()?;
        self.replay
            .signal_entity(&entity_id, &operation, input)
            .map_err(|e| self.fail(e))
    }

    async fn call_entity(
        &mut self,
        entity_id: String,
        operation: String,
        input: String,
    ) -> wasmtime::Result<u32> {
        let input = json_arg("call-entity input", &input)?;
        self.count_task()?;
        self.replay
            .call_entity(&entity_id, &operation, input)
            .map_err(|e| self.fail(e))
    }

    async fn lock_entities(&mut self, entity_ids: Vec<String>) -> wasmtime::Result<u32> {
        self.count_task()?;
        self.replay
            .lock_entities(&entity_ids)
            .map_err(|e| self.fail(e))
    }

    async fn unlock_entities(&mut self) -> wasmtime::Result<()> {
        self.replay.unlock_entities().map_err(|e| self.fail(e))
    }

    async fn call_activity_attempt(
        &mut self,
        name: String,
        input: String,
        attempt: u32,
    ) -> wasmtime::Result<u32> {
        let input = json_arg("call-activity-attempt input", &input)?;
        self.count_task()?;
        self.replay
            .call_activity_attempt(&name, input, attempt)
            .map_err(|e| self.fail(e))
    }

    async fn wait_any(&mut self, tasks: Vec<u32>) -> wasmtime::Result<(u32, TaskOutcome)> {
        loop {
            let polled = self.replay.poll_any(&tasks).map_err(|e| self.fail(e));
            self.sync();
            if let Some((handle, outcome)) = polled? {
                let outcome = match outcome {
                    Outcome::Completed(v) => TaskOutcome::Completed(v.as_str().to_owned()),
                    Outcome::Failed(f) => TaskOutcome::Failed(to_wit_failure(f)),
                };
                return Ok((handle, outcome));
            }
            // Nothing resolved: this turn is over.
            match self.replay.finish_turn(TurnOutcome::Waiting) {
                Ok(out) => self.send_reply(Ok(out)),
                Err(d) => {
                    self.send_reply(Err(TurnError::Nondeterminism(d.clone())));
                    return Err(wasmtime::Error::new(EngineError::Nondeterminism(d)));
                }
            }
            match self.turns.recv().await {
                Some(req) => {
                    self.replay.begin_turn(req.now, req.messages);
                    self.reply = Some(req.reply);
                    self.cpu.start_turn();
                    self.tasks_this_turn = 0;
                }
                None => {
                    self.evicted = true;
                    wasmtime::bail!("guest evicted from memory; it will be rebuilt by replay");
                }
            }
        }
    }

    async fn set_custom_status(
        &mut self,
        status: Option<String>,
    ) -> wasmtime::Result<Result<(), String>> {
        let status = match status {
            None => None,
            Some(text) => match Json::parse(&text) {
                Ok(j) => Some(j),
                Err(e) => return Ok(Err(format!("custom status is not valid JSON: {e}"))),
            },
        };
        Ok(self.replay.set_custom_status(status))
    }

    async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        if self.replay.is_replaying() {
            return Ok(());
        }
        let id = &self.instance_id;
        match level {
            LogLevel::Trace => tracing::trace!(target: "weft::guest", instance = %id, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "weft::guest", instance = %id, "{message}"),
            LogLevel::Info => tracing::info!(target: "weft::guest", instance = %id, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "weft::guest", instance = %id, "{message}"),
            LogLevel::Error => tracing::error!(target: "weft::guest", instance = %id, "{message}"),
        }
        Ok(())
    }
}
