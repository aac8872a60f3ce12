//! The Weft host as a library and a binary.
//!
//! - [`host`]: the durable runtime — [`host::Weft`] owns the store, the group-commit
//!   writer, the Wasm runtime and the dispatcher (orchestration turns, the
//!   activity worker pool, durable timers), and is the in-process client API.
//! - [`http`]: Durable Functions' HTTP management routes over [`host::Weft`].
//! - [`metrics`]: `GET /metrics` in Prometheus text format.
//! - [`config`]: how settings are written (durations, sizes).
//! - [`cli`]: the `weft` command: `serve`, the instance-management commands
//!   (which talk to a server over HTTP) and `bench`.

pub mod cli;
pub mod config;
pub mod host;
pub mod http;
pub mod metrics;
