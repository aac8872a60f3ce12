//! Harness for Weft's end-to-end tests (the files in `tests/tests/`).
//!
//! The tests drive the real release binary (`target/release/weft`) over real
//! HTTP on loopback, with the real components built by
//! `scripts/build-components.sh` and real redb files in temporary directories.
//!
//! - [`paths`]: where the binary and the component directories are.
//! - [`server`]: spawn `weft serve` on a free port (with extra flags, environment
//!   or `--listen` IP), kill it (SIGKILL) or stop it (SIGTERM), restart it on
//!   the same store, read its log.
//! - [`http`]: small blocking HTTP helpers for the Durable Functions routes.
//! - [`poll_target`]: a loopback server answering 202 + Location, for durable HTTP.
//! - [`poll`]: wait for a condition with a deadline (tests never sleep for a state).
//! - [`store`]: read a store file in-process once its server has exited.
//! - [`history`]: the history invariants every finished instance must satisfy.
//! - [`cli`]: run the `weft` management commands and read their output.
//! - [`schedule`]: replayable random kill schedules.
//! - [`flaky`]: serve the rewind test program and read its activity counters.

pub mod cli;
pub mod flaky;
pub mod history;
pub mod http;
pub mod paths;
pub mod poll;
pub mod poll_target;
pub mod schedule;
pub mod server;
pub mod store;
pub mod target;
