//! Durable entities: a batch of operations on one entity, run in one guest
//! instance.
//!
//! The server decides which of an entity's queued messages run (arrival
//! order, locks) and commits the outcome; this module only runs operations.
//! Each operation gets the state the previous successful one left; a failed
//! operation (its own error, a trap or a limit) leaves the state as it was and
//! fails only itself. A trap poisons the instance, so the next operation gets
//! a fresh one.
//!
//! Entities see the orchestrators' deterministic WASI ([`crate::det_wasi`]):
//! the clock reads the batch's time, random numbers come from a generator
//! seeded by the entity and that time, files, sockets and HTTP trap. Each
//! operation runs within the orchestrator CPU limit of one turn, and the
//! instance within the orchestrator memory limit (an `[orchestrator.NAME]`
//! override under the entity's name applies).

use crate::bindings::weft::durable::types;
use crate::det_wasi::{GuestLog, OrchestrationClock, orchestrator_wasi};
use crate::entity_bindings::exports::weft::durable::entities::OperationOutput;
use crate::entity_bindings::{EntityHost, EntityHostPre};
use crate::limits::LimitExceeded;
use crate::orchestration::from_wit_failure;
use crate::sandbox::{CpuMeter, MemLimiter, stack_overflow};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use wasmtime::Store;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use weft_core::{EntityId, Failure, InstanceId, Json, Timestamp};

/// Error types of the failures an entity operation can get from the host.
pub mod entity_errors {
    /// No deployed component serves the entity's name.
    pub const NOT_FOUND: &str = "weft.EntityNotFound";
    /// The operation trapped (a panic, or a forbidden call).
    pub const TRAPPED: &str = "weft.EntityTrapped";
    /// The operation returned a state, result or message that is not valid.
    pub const INVALID_OUTPUT: &str = "weft.InvalidOutput";
}

/// Store data of an entity batch.
pub struct EntState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    /// Linked so the component loads; the entry point traps, the list is empty.
    pub(crate) http: crate::egress::HttpState,
    pub(crate) cpu: CpuMeter,
    pub(crate) memory: MemLimiter,
}

impl WasiView for EntState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_http::WasiHttpView for EntState {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        self.http.view(&mut self.table)
    }
}

impl types::Host for EntState {}

fn not_for_entities(func: &str) -> wasmtime::Error {
    wasmtime::format_err!(
        "entities cannot call {func}: an operation gets its state and input and returns the new state; \
         it sends signals and starts orchestrations through its result (EntityContext in the SDK)"
    )
}

impl crate::bindings::weft::durable::activity_context::Host for EntState {
    async fn instance_id(&mut self) -> wasmtime::Result<String> {
        Err(not_for_entities("activity-context::instance-id"))
    }
    async fn schedule_id(&mut self) -> wasmtime::Result<u32> {
        Err(not_for_entities("activity-context::schedule-id"))
    }
    async fn attempt(&mut self) -> wasmtime::Result<u32> {
        Err(not_for_entities("activity-context::attempt"))
    }
}

fn not_for_entities_orch(func: &str) -> wasmtime::Error {
    not_for_entities(&format!("orchestration::{func}"))
}

crate::refuse::refuse_orchestration!(EntState, not_for_entities_orch);

/// One operation of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityOperation {
    pub operation: String,
    pub input: Json,
}

/// A signal an operation sends (delivered only when the operation is committed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalOut {
    pub entity: EntityId,
    pub operation: String,
    pub input: Json,
}

/// An orchestration an operation starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartOut {
    pub name: String,
    /// `None`: the host picks a random ID.
    pub instance_id: Option<InstanceId>,
    pub input: Json,
}

/// What an operation that succeeded did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationDone {
    /// The state afterwards; `None` deletes the entity.
    pub state: Option<Json>,
    /// The result for a caller.
    pub result: Json,
    pub signals: Vec<SignalOut>,
    pub starts: Vec<StartOut>,
}

/// A batch could not run at all; nothing of it may be committed.
#[derive(Debug, thiserror::Error)]
pub enum EntityRunError {
    /// Every instance slot is in use; run the batch again later.
    #[error("no free instance slot for entity '{0}'")]
    Busy(String),
}

/// An instance serving one batch.
struct Live {
    store: Store<EntState>,
    bindings: EntityHost,
    stderr: GuestLog,
}

impl crate::component::LoadedComponent {
    /// Runs `operations` on `entity`, starting from `state`, at time `now`.
    /// Returns one outcome per operation, in order; the state after the batch
    /// is the last successful operation's (or `state` when none succeeded).
    pub async fn run_entity_batch(
        &self,
        entity: &EntityId,
        state: Option<Json>,
        operations: &[EntityOperation],
        now: Timestamp,
    ) -> Result<Vec<Result<OperationDone, Failure>>, EntityRunError> {
        let Some(pre) = self
            .entity_pre()
            .filter(|_| self.serves_entity(entity.name()))
        else {
            let f = not_served(entity, &self.info.digest);
            return Ok(operations.iter().map(|_| Err(f.clone())).collect());
        };
        let mut current = state;
        let mut live: Option<Live> = None;
        let mut outcomes = Vec::with_capacity(operations.len());
        for op in operations {
            let who = format!("operation '{}' of entity '{entity}'", op.operation);
            let mut instance = match live.take() {
                Some(l) => l,
                None => match self.new_entity_instance(pre, entity, now).await {
                    Ok(l) => l,
                    Err(Start::Busy) => return Err(EntityRunError::Busy(entity.to_string())),
                    Err(Start::Failed(store, stderr, e)) => {
                        outcomes.push(Err(stopped(&e, &store, &who, &stderr.tail())));
                        continue;
                    }
                },
            };
            instance.store.data_mut().cpu.start_turn();
            let state_text = current.as_ref().map(|s| s.as_str().to_owned());
            let input = op.input.as_str().to_owned();
            let called = instance
                .bindings
                .weft_durable_entities()
                .call_run(
                    &mut instance.store,
                    entity.name(),
                    entity.key(),
                    &op.operation,
                    &input,
                    state_text.as_ref(),
                )
                .await;
            match called {
                Ok(Ok(out)) => match done(out, &who) {
                    Ok(d) => {
                        current = d.state.clone();
                        outcomes.push(Ok(d));
                    }
                    Err(f) => outcomes.push(Err(f)),
                },
                Ok(Err(f)) => outcomes.push(Err(from_wit_failure(f))),
                Err(trap) => {
                    // The instance may be broken mid-operation: drop it.
                    let tail = instance.stderr.tail();
                    outcomes.push(Err(stopped(&trap, &instance.store, &who, &tail)));
                    continue;
                }
            }
            live = Some(instance);
        }
        Ok(outcomes)
    }

    /// A store for entity work under `limits_of`'s limits, its clock at `now`.
    fn entity_store(
        &self,
        label: String,
        limits_of: &str,
        now: Timestamp,
    ) -> (Store<EntState>, GuestLog) {
        let limits = self.policy().orchestrator(limits_of);
        let log = |stream| GuestLog::new(label.clone(), Arc::new(AtomicBool::new(false)), stream);
        let clock = OrchestrationClock::default();
        clock.set(now.millis());
        let seed = format!("{label}@{}", now.millis());
        let stderr = log("stderr");
        let mut store = Store::new(
            self.engine(),
            EntState {
                wasi: orchestrator_wasi(&seed, &clock, log("stdout"), stderr.clone()),
                table: ResourceTable::new(),
                http: crate::egress::HttpState::new(Vec::new()),
                cpu: CpuMeter::orchestrator(limits.turn, 1),
                memory: MemLimiter::new(limits.memory),
            },
        );
        store.limiter(|s| &mut s.memory);
        // Each operation within the turn limit (`start_turn` before each).
        crate::sandbox::meter_ticks(&mut store, |s| &mut s.cpu);
        (store, stderr)
    }

    async fn new_entity_instance(
        &self,
        pre: &EntityHostPre<EntState>,
        entity: &EntityId,
        now: Timestamp,
    ) -> Result<Live, Start> {
        let (mut store, stderr) = self.entity_store(format!("entity {entity}"), entity.name(), now);
        match pre.instantiate_async(&mut store).await {
            Ok(bindings) => Ok(Live {
                store,
                bindings,
                stderr,
            }),
            Err(e)
                if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                    .is_some() =>
            {
                Err(Start::Busy)
            }
            Err(e) => Err(Start::Failed(Box::new(store), stderr, e)),
        }
    }

    /// The entity names the component reports, checked: each must be a valid
    /// entity name in lower case (IDs lower-case the name; a mixed-case name
    /// could never be reached).
    pub(crate) async fn entity_names(
        &self,
        pre: &EntityHostPre<EntState>,
    ) -> wasmtime::Result<Vec<String>> {
        let (mut store, _) = self.entity_store("describe".into(), "", Timestamp(0));
        let names = pre
            .instantiate_async(&mut store)
            .await?
            .weft_durable_entities()
            .call_names(&mut store)
            .await?;
        for name in &names {
            EntityId::new(name, "")
                .map_err(|e| wasmtime::format_err!("entity name '{name}' is not valid: {e}"))?;
            if name.to_lowercase() != *name {
                return Err(wasmtime::format_err!(
                    "entity name '{name}' is not lower case; report names as entity IDs spell them ('{}')",
                    name.to_lowercase()
                ));
            }
        }
        Ok(names)
    }
}

/// Why no instance could be made for a batch.
enum Start {
    Busy,
    Failed(Box<Store<EntState>>, GuestLog, wasmtime::Error),
}

/// The failure of an operation stopped by a trap or a limit.
fn stopped(err: &wasmtime::Error, store: &Store<EntState>, who: &str, stderr: &str) -> Failure {
    if let Some(l) = err.downcast_ref::<LimitExceeded>() {
        return l.failure(who);
    }
    store
        .data()
        .memory
        .exceeded(who)
        .or_else(|| stack_overflow(err, who))
        .unwrap_or_else(|| {
            Failure::new(
                entity_errors::TRAPPED,
                format!("{who}: {}", crate::guest::describe_trap(err, stderr)),
            )
        })
}

/// The failure every operation on an entity no component serves gets.
pub(crate) fn not_served(entity: &EntityId, digest: &str) -> Failure {
    Failure::new(
        entity_errors::NOT_FOUND,
        format!(
            "no entity named '{}' is served (component {digest} does not export it); \
             deploy a component that exports entity '{}'",
            entity.name(),
            entity.name()
        ),
    )
}

/// Checks and converts an operation's output.
fn done(out: OperationOutput, who: &str) -> Result<OperationDone, Failure> {
    let invalid = |what: String| {
        Failure::new(
            entity_errors::INVALID_OUTPUT,
            format!("{who} returned {what}"),
        )
    };
    let json = |what: &str, text: &str| {
        Json::parse(text).map_err(|e| invalid(format!("{what} that is not JSON: {e}")))
    };
    let state = out
        .state
        .as_deref()
        .map(|s| json("a state", s))
        .transpose()?;
    let result = json("a result", &out.result)?;
    let mut signals = Vec::with_capacity(out.signals.len());
    for s in out.signals {
        let entity = EntityId::parse(&s.entity_id)
            .map_err(|e| invalid(format!("a signal to an invalid entity ID: {e}")))?;
        signals.push(SignalOut {
            entity,
            operation: s.operation,
            input: json("a signal input", &s.input)?,
        });
    }
    let mut starts = Vec::with_capacity(out.starts.len());
    for s in out.starts {
        let instance_id = s
            .instance_id
            .map(InstanceId::new)
            .transpose()
            .map_err(|e| invalid(format!("a start with an invalid instance ID: {e}")))?;
        starts.push(StartOut {
            name: s.name,
            instance_id,
            input: json("a start input", &s.input)?,
        });
    }
    Ok(OperationDone {
        state,
        result,
        signals,
        starts,
    })
}
