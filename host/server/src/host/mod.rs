//! The durable runtime and its in-process client API.
//!
//! Data flow (see ARCHITECTURE.md): a start, an activity result, a fired timer
//! or a raised event is first committed to the instance's inbox (through the
//! group-commit [`weft_store::WriterHandle`]), then handed to the
//! [`dispatcher`], which runs one turn per instance at a time and commits the
//! turn's whole effect in one transaction before dispatching its activities and
//! timers.

mod activities;
mod client;
mod config;
mod dispatcher;
mod lru;
mod registry;
mod replay_check;
mod timers;

pub use client::{ClientError, DeployError, Status, Weft, validate_event_name};
pub use config::HostConfig;
pub use registry::Registry;
pub use replay_check::ReplayMismatch;
