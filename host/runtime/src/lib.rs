//! The Wasmtime embedding: everything that touches Wasm.
//!
//! - [`config`]: one [`wasmtime::Engine`] with a deterministic configuration.
//! - [`component`]: load a component by content digest (compiled once, cached on
//!   disk), list what it exports and which capabilities it imports.
//! - [`orchestration`]: the host side of the `orchestration` interface — each call
//!   goes to the replay engine ([`weft_engine::Replay`]).
//! - [`guest`]: a running orchestrator kept in memory between turns ("hot"),
//!   driven one turn at a time over a channel.
//! - [`det_wasi`] and [`forbidden`]: the deterministic WASI orchestrators see;
//!   files and sockets trap with an error that says to use an activity.
//! - [`entity`]: a batch of operations on one durable entity, in one
//!   instance with the orchestrators' deterministic WASI.
//! - [`activity`]: activities run with ordinary, configured WASI;
//!   [`egress`] is their outbound HTTP, limited to an allow-list.
//! - [`limits`] and [`sandbox`]: CPU, memory, stack and task limits, and how
//!   each stops a guest with a failure that names it; [`policy`]
//!   resolves them, and what activities may reach, for each name.
//!
//! Nothing here knows about storage or HTTP: the server gives a turn its
//! history and messages and commits what the turn returns.

mod activity;
mod bindings;
mod component;
mod config;
mod det_wasi;
mod egress;
mod entity;
mod entity_bindings;
mod forbidden;
mod guest;
mod limits;
mod orchestration;
mod policy;
mod refuse;
mod sandbox;

pub use activity::{ActivityCall, ActivityCapabilities, ActivityError};
pub use component::{ComponentInfo, LoadError, LoadedComponent, Runtime, digest_of};
pub use egress::{AllowedHost, check_egress};
pub use entity::{
    EntityOperation, EntityRunError, OperationDone, SignalOut, StartOut, entity_errors,
};
pub use guest::{Guest, TurnError, TurnRequest, TurnResult};
pub use limits::{LimitExceeded, Limits, error_types, format_bytes, format_duration};
pub use policy::{
    ActivityOverride, ActivityPolicy, OrchestratorLimits, OrchestratorOverride, Policy, Setting,
};
