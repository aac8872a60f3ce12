//! A running orchestrator, kept in memory between turns.
//!
//! Each guest is a tokio task that owns a Wasmtime store. The dispatcher sends
//! it one [`TurnRequest`] at a time; the guest's `wait-any` import answers with
//! the turn's [`TurnOutput`] when it blocks, and waits for the next request with
//! its stack intact. Dropping the [`Guest`] evicts it: the pending import traps,
//! the task ends, and the next turn rebuilds the state by replay.

use crate::component::LoadedComponent;
use crate::det_wasi::{GuestLog, OrchestrationClock, orchestrator_wasi};
use crate::forbidden::Forbidden;
use crate::limits::LimitExceeded;
use crate::orchestration::{OrchState, from_wit_failure};
use crate::sandbox::{CpuMeter, MemLimiter, stack_overflow};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio::sync::{mpsc, oneshot};
use wasmtime::Store;
use wasmtime::component::ResourceTable;
use weft_core::{EventKind, Failure, HistoryEvent, InstanceId, Json, Timestamp};
use weft_engine::{Nondeterminism, Replay, TurnOutcome, TurnOutput};

/// New arrivals for one turn, and where to send its result.
pub struct TurnRequest {
    pub now: Timestamp,
    pub messages: Vec<HistoryEvent>,
    pub reply: oneshot::Sender<TurnResult>,
}

/// What a turn produced, or why it produced nothing to commit.
pub type TurnResult = Result<TurnOutput, TurnError>;

/// A turn that must not be committed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum TurnError {
    /// The code diverged from the history; nothing from this run may be recorded.
    #[error("{0}")]
    Nondeterminism(Nondeterminism),
    /// The host could not run the guest (bad history, instantiation failure).
    #[error("{0}")]
    Host(String),
    /// Every instance slot is in use; run the turn again later.
    #[error("{0}")]
    Busy(String),
    /// The guest ran into a sandbox limit (CPU, memory, stack, tasks). Limits
    /// depend on configuration and timing, not on the history, so the stop is
    /// not recorded in history: the instance fails with this failure.
    #[error("{}", .0.message)]
    Limit(Failure),
}

/// Handle to a hot orchestrator guest.
pub struct Guest {
    turns: mpsc::Sender<TurnRequest>,
}

impl Guest {
    /// Starts a guest over `history` (empty for a new instance) and runs its
    /// first turn with `messages`.
    pub fn start(
        component: Arc<LoadedComponent>,
        instance: &InstanceId,
        history: Vec<HistoryEvent>,
        now: Timestamp,
        messages: Vec<HistoryEvent>,
    ) -> (Guest, oneshot::Receiver<TurnResult>) {
        let (tx, rx) = mpsc::channel(1);
        let (reply, result) = oneshot::channel();
        let instance = instance.clone();
        tokio::spawn(run(
            component,
            instance,
            history,
            TurnRequest {
                now,
                messages,
                reply,
            },
            rx,
        ));
        (Guest { turns: tx }, result)
    }

    /// Runs the next turn on this guest. Gives the messages back if the guest is
    /// gone (it finished or trapped), so the caller can replay instead.
    pub fn turn(
        &self,
        now: Timestamp,
        messages: Vec<HistoryEvent>,
    ) -> Result<oneshot::Receiver<TurnResult>, Vec<HistoryEvent>> {
        let (reply, result) = oneshot::channel();
        match self.turns.try_send(TurnRequest {
            now,
            messages,
            reply,
        }) {
            Ok(()) => Ok(result),
            Err(e) => Err(e.into_inner().messages),
        }
    }
}

/// A readable cause for a trap: the guest's panic message when there is one.
pub(crate) fn describe_trap(trap: &wasmtime::Error, stderr_tail: &str) -> String {
    if let Some(pos) = stderr_tail.rfind("panicked at") {
        return format!(
            "guest panicked: {}",
            stderr_tail[pos + "panicked at".len()..].trim()
        );
    }
    match trap.downcast_ref::<wasmtime::Trap>() {
        Some(t) => format!("guest trapped: {t}"),
        None => format!("guest trapped: {}", trap.root_cause()),
    }
}

/// The failure to report when `err` stopped the guest because of a limit.
fn limit_failure(err: &wasmtime::Error, state: &OrchState, who: &str) -> Option<Failure> {
    if let Some(l) = err.downcast_ref::<LimitExceeded>() {
        return Some(l.failure(who));
    }
    state
        .memory
        .exceeded(who)
        .or_else(|| stack_overflow(err, who))
}

async fn run(
    component: Arc<LoadedComponent>,
    id: InstanceId,
    history: Vec<HistoryEvent>,
    first: TurnRequest,
    turns: mpsc::Receiver<TurnRequest>,
) {
    let recorded_episodes = history
        .iter()
        .filter(|e| matches!(e.kind, EventKind::OrchestratorStarted))
        .count();
    let instance = id.as_str().to_owned();
    let mut replay = Replay::new(id, history);
    replay.begin_turn(first.now, first.messages);
    let start = match replay.start() {
        Ok(s) => s,
        Err(e) => {
            let _ = first
                .reply
                .send(Err(TurnError::Host(format!("instance '{instance}': {e}"))));
            return;
        }
    };
    let limits = component.policy().orchestrator(&start.name);
    let who = format!("orchestrator '{}' of instance '{instance}'", start.name);
    let clock = OrchestrationClock::default();
    let replaying = Arc::new(AtomicBool::new(true));
    let stdout = GuestLog::new(instance.clone(), replaying.clone(), "stdout");
    let stderr = GuestLog::new(instance.clone(), replaying.clone(), "stderr");
    let state = OrchState {
        wasi: orchestrator_wasi(&start.execution_id.0, &clock, stdout, stderr.clone()),
        table: ResourceTable::new(),
        http: crate::egress::HttpState::new(Vec::new()),
        replay,
        clock,
        replaying,
        instance_id: instance.clone(),
        reply: Some(first.reply),
        turns,
        evicted: false,
        stderr,
        cpu: CpuMeter::orchestrator(limits.turn, recorded_episodes),
        memory: MemLimiter::new(limits.memory),
        tasks_this_turn: 0,
        max_tasks: limits.max_tasks,
    };
    let mut store = Store::new(component.engine(), state);
    store.limiter(|s| &mut s.memory);
    // Before instantiating: instantiation runs guest code, and a new store's
    // deadline has already passed.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut cx| {
        let s = cx.data_mut();
        let replaying = s.replay.is_replaying();
        s.cpu.on_tick(replaying).map_err(wasmtime::Error::new)
    });
    store.data_mut().sync();
    let result = match component
        .orchestrator_pre()
        .instantiate_async(&mut store)
        .await
    {
        Ok(bindings) => {
            bindings
                .weft_durable_orchestrators()
                .call_run(&mut store, &start.name, &start.input.as_str().to_owned())
                .await
        }
        Err(e) => {
            let msg = format!(
                "could not instantiate orchestrator '{}' for instance '{instance}': {e:#}",
                start.name
            );
            let err = if let Some(f) = limit_failure(&e, store.data(), &who) {
                TurnError::Limit(f)
            } else if e
                .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                .is_some()
            {
                TurnError::Busy(msg)
            } else {
                TurnError::Host(msg)
            };
            store.data_mut().send_reply(Err(err));
            return;
        }
    };
    let state = store.data_mut();
    if state.evicted || state.reply.is_none() {
        return;
    }
    let outcome = match result {
        // A successful return ends the execution, or continues it as new when asked.
        Ok(Ok(text)) => match Json::parse(&text) {
            Ok(v) => state.replay.outcome_of(Ok(v)),
            Err(e) => TurnOutcome::Failed(Failure::new(
                "weft.InvalidOutput",
                format!(
                    "orchestrator '{}' returned text that is not JSON: {e}",
                    start.name
                ),
            )),
        },
        Ok(Err(f)) => TurnOutcome::Failed(from_wit_failure(f)),
        Err(trap) => {
            if let Some(d) = state.replay.divergence() {
                let d = d.clone();
                state.send_reply(Err(TurnError::Nondeterminism(d)));
                return;
            }
            if let Some(f) = limit_failure(&trap, state, &who) {
                state.send_reply(Err(TurnError::Limit(f)));
                return;
            }
            match trap.downcast_ref::<Forbidden>() {
                Some(f) => TurnOutcome::Failed(Failure::new("weft.Forbidden", f.to_string())),
                None => TurnOutcome::Failed(Failure::new(
                    "weft.OrchestratorTrapped",
                    format!(
                        "orchestrator '{}': {}",
                        start.name,
                        describe_trap(&trap, &state.stderr.tail())
                    ),
                )),
            }
        }
    };
    let out = state
        .replay
        .finish_turn(outcome)
        .map_err(TurnError::Nondeterminism);
    state.send_reply(out);
}
