//! The Weft guest SDK: write durable orchestrators, activities and entities in
//! plain Rust and export them as a WebAssembly component for the Weft host.
//!
//! # A component in one crate
//!
//! ```ignore
//! use weft_sdk::prelude::*;
//!
//! fn hello_sequence(ctx: &OrchestrationContext, _input: serde_json::Value) -> Result<Vec<String>, Failure> {
//!     let mut out = Vec::new();
//!     for city in ["Tokyo", "Seattle", "London"] {
//!         out.push(ctx.call_activity::<_, String>("SayHello", city)?);
//!     }
//!     Ok(out)
//! }
//!
//! fn say_hello(name: String) -> Result<String, Failure> {
//!     Ok(format!("Hello {name}!"))
//! }
//!
//! fn counter(ctx: &mut EntityContext<i64>) -> Result<(), Failure> {
//!     match ctx.operation() {
//!         "add" => {
//!             let amount: i64 = ctx.input()?;
//!             *ctx.state_mut() += amount;
//!         }
//!         "get" => ctx.set_result(&ctx.state_or_default()),
//!         _ => return Err(ctx.unknown_operation()),
//!     }
//!     Ok(())
//! }
//!
//! weft_sdk::export_component! {
//!     orchestrators: { "HelloSequence" => hello_sequence },
//!     activities: { "SayHello" => say_hello },
//!     entities: { "Counter" => counter },
//! }
//! ```
//!
//! Inputs and outputs are JSON, converted with serde. An orchestrator is a
//! function `fn(&OrchestrationContext, I) -> Result<O, E>`; an activity is
//! `fn(I) -> Result<O, E>`; an entity is `fn(&mut EntityContext<S>) ->
//! Result<(), E>` over its state `S`; `E` is anything that converts into
//! [`Failure`]. Any of the three sections may be left out.
//!
//! # Entities and critical sections
//!
//! A durable entity ([`EntityId`] `@name@key`) is a piece of state whose
//! operations the host runs one at a time, in the order each sender sent
//! them. Orchestrators [signal](OrchestrationContext::signal_entity) entities
//! (one way) and [call](OrchestrationContext::call_entity) them (waiting for
//! the result); entity operations may signal entities and start
//! orchestrations, which happen only if the operation succeeds. A failed
//! operation leaves the state as it was. Operation `delete` is built in: it
//! deletes the state without reaching the entity function.
//!
//! [`OrchestrationContext::lock`] opens a critical section on a set of
//! entities: while its [`LockGuard`] lives, only this orchestration's
//! operations run on them. The host enforces Durable Functions' rules inside a
//! section and refuses a broken one with [`Failure::LOCKING_RULES_VIOLATION`]:
//! no nested `lock`, calls only to locked entities (one pending call each), no
//! signals to locked entities, no sub-orchestrations. Dropping or releasing
//! the guard leaves the section; the host also releases the locks whenever the
//! execution ends.
//!
//! Decoding is lenient in one way, for Durable Functions' clients: the Python
//! client JSON-encodes inputs and event payloads twice, so `{"timeoutSeconds":
//! 600}` arrives as a JSON *string* holding that text. When a value does not
//! decode into the requested type but is a JSON string whose contents do, the
//! SDK decodes the contents. A type that takes strings (`String`,
//! `serde_json::Value`) gets the string unchanged.
//!
//! # Durable HTTP
//!
//! [`OrchestrationContext::call_http`] sends a [`DurableHttpRequest`] as a
//! recorded step (Durable Functions' `CallHttpAsync`): the host's built-in
//! activity `BuiltIn::HttpActivity` sends one request per call, and replay
//! answers it from the history. The SDK follows the asynchronous 202 pattern
//! (`Location` + `Retry-After`, on durable timers), retries under an
//! [`HttpRetryPolicy`] and enforces the request's timeout in orchestration
//! time.
//!
//! # Building
//!
//! The crate is a `cdylib` that depends on `weft-sdk`, `serde` and `serde_json`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//! ```
//!
//! Build it with `cargo build --target wasm32-wasip2 --release` (install the
//! target once with `rustup target add wasm32-wasip2`); the component is
//! `target/wasm32-wasip2/release/<crate_name>.wasm`. It is a component of the
//! world `weft:durable/full`: it exports the `weft:durable/orchestrators`,
//! `weft:durable/activities` and `weft:durable/entities` interfaces and
//! imports `weft:durable/orchestration` and `weft:durable/activity-context`
//! (plus the WASI interfaces `std` uses).
//!
//! # Determinism
//!
//! The host does not save an orchestrator's memory: after a restart it runs the
//! orchestrator again from the start and answers each request from the
//! recorded history. The code must therefore ask for the same things, in the
//! same order, every time it runs.
//!
//! - Everything from the outside world goes through [`OrchestrationContext`]:
//!   activities for work, durable timers instead of sleeping, events for input.
//! - Inside orchestrators the host makes `std`'s nondeterminism deterministic:
//!   `SystemTime::now()` reads the orchestration's current time, `Instant` is
//!   derived from it, random numbers (and so `HashMap` iteration order) come from
//!   a seed fixed per execution, and stdout/stderr go to the replay-safe log.
//!   Prefer [`OrchestrationContext::now`] anyway: it says what it means.
//! - Files, sockets, environment variables and other I/O fail inside
//!   orchestrators: do that in an activity, which runs with real WASI.
//! - Do not branch on [`OrchestrationContext::is_replaying`] to decide what to
//!   schedule; the host detects the divergence and stops the instance.
//!
//! # Where things are
//!
//! | module | what |
//! | --- | --- |
//! | `context` | [`OrchestrationContext`]: time, scheduling, events, status, logs |
//! | `task` | [`Task`] and [`TaskHandle`]: a scheduled task and waiting on it |
//! | `combinators` | [`OrchestrationContext::when_all`], [`OrchestrationContext::when_any`], event-with-timeout |
//! | `retry` | [`RetryPolicy`], [`OrchestrationContext::call_activity_with_retry`] and [`OrchestrationContext::call_sub_orchestrator_with_retry`] |
//! | `http` | [`DurableHttpRequest`], [`DurableHttpResponse`], [`HttpRetryPolicy`] |
//! | `http_calls` | [`OrchestrationContext::call_http`]: polling, retries, timeout |
//! | `activity_info` | [`ActivityInfo`]: an activity's instance ID, schedule ID and attempt |
//! | `entity_id` | [`EntityId`]: `@name@key`, validated like the host does |
//! | `entity_calls` | [`OrchestrationContext::signal_entity`], [`OrchestrationContext::call_entity`] |
//! | `critical_section` | [`OrchestrationContext::lock`] and [`LockGuard`] |
//! | `entity` | [`EntityContext`]: an entity operation's state, input, result, signals and starts |
//! | `failure` | [`Failure`], the error type of tasks, activities and orchestrations |
//! | `log_level` | [`LogLevel`] |
//! | `export`, `entity_export` | [`export_component!`] and the dispatch it expands to |
//! | `host`, `delivered`, `codec`, `bindings` | internals: the WIT import seam, buffered outcomes, JSON conversion, generated bindings |

#![warn(missing_docs)]

mod activity_info;
#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings;
mod codec;
mod combinators;
mod context;
mod critical_section;
mod delivered;
mod entity;
mod entity_calls;
mod entity_export;
mod entity_id;
mod export;
mod failure;
mod host;
mod http;
mod http_calls;
mod log_level;
mod retry;
mod task;
#[cfg(test)]
mod testing;

pub use activity_info::ActivityInfo;
pub use context::OrchestrationContext;
pub use critical_section::LockGuard;
pub use entity::EntityContext;
pub use entity_id::EntityId;
pub use failure::Failure;
pub use http::{DurableHttpRequest, DurableHttpResponse, HttpRetryPolicy};
pub use log_level::LogLevel;
pub use retry::RetryPolicy;
pub use task::{Task, TaskHandle};

/// The names an author needs, for `use weft_sdk::prelude::*`.
pub mod prelude {
    pub use crate::{
        ActivityInfo, DurableHttpRequest, DurableHttpResponse, EntityContext, EntityId, Failure,
        HttpRetryPolicy, LockGuard, LogLevel, OrchestrationContext, RetryPolicy, Task, TaskHandle,
    };
}

/// Support for [`export_component!`]; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::entity_export::{EntityEntry, EntityRequest, entity, entity_names, run_entity};
    pub use crate::export::{
        ActivityEntry, OrchestratorEntry, activity, names, orchestrate, run_activity,
        run_orchestrator,
    };
}
