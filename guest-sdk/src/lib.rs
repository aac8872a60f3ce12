//! The Weft guest SDK: write durable orchestrators and activities in plain
//! Rust and export them as a WebAssembly component for the Weft host.
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
//! weft_sdk::export_component! {
//!     orchestrators: { "HelloSequence" => hello_sequence },
//!     activities: { "SayHello" => say_hello },
//! }
//! ```
//!
//! Inputs and outputs are JSON, converted with serde. An orchestrator is a
//! function `fn(&OrchestrationContext, I) -> Result<O, E>`; an activity is
//! `fn(I) -> Result<O, E>`; `E` is anything that converts into [`Failure`].
//!
//! Decoding is lenient in one way, for Durable Functions' clients: the Python
//! client JSON-encodes inputs and event payloads twice, so `{"timeoutSeconds":
//! 600}` arrives as a JSON *string* holding that text. When a value does not
//! decode into the requested type but is a JSON string whose contents do, the
//! SDK decodes the contents. A type that takes strings (`String`,
//! `serde_json::Value`) gets the string unchanged.
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
//! `target/wasm32-wasip2/release/<crate_name>.wasm`. It exports the
//! `weft:durable/orchestrators` and `weft:durable/activities` interfaces and
//! imports `weft:durable/orchestration` (plus the WASI interfaces `std` uses).
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
//! | `activity_info` | [`ActivityInfo`]: an activity's instance ID, schedule ID and attempt |
//! | `failure` | [`Failure`], the error type of tasks, activities and orchestrations |
//! | `log_level` | [`LogLevel`] |
//! | `export` | [`export_component!`] and the dispatch it expands to |
//! | `host`, `delivered`, `codec`, `bindings` | internals: the WIT import seam, buffered outcomes, JSON conversion, generated bindings |

#![warn(missing_docs)]

mod activity_info;
#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings;
mod codec;
mod combinators;
mod context;
mod delivered;
mod export;
mod failure;
mod host;
mod log_level;
mod retry;
mod task;
#[cfg(test)]
mod testing;

pub use activity_info::ActivityInfo;
pub use context::OrchestrationContext;
pub use failure::Failure;
pub use log_level::LogLevel;
pub use retry::RetryPolicy;
pub use task::{Task, TaskHandle};

/// The names an author needs, for `use weft_sdk::prelude::*`.
pub mod prelude {
    pub use crate::{
        ActivityInfo, Failure, LogLevel, OrchestrationContext, RetryPolicy, Task, TaskHandle,
    };
}

/// Support for [`export_component!`]; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::{
        ActivityEntry, OrchestratorEntry, activity, names, orchestrate, run_activity,
        run_orchestrator,
    };
}
