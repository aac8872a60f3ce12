//! The durable runtime and its in-process client API.
//!
//! Data flow (see ARCHITECTURE.md): a start, an activity result, a fired timer
//! or a raised event is first committed to the instance's inbox (through the
//! group-commit [`weft_store::WriterHandle`]), then handed to the
//! [`dispatcher`], which runs one turn per instance at a time and commits the
//! turn's whole effect in one transaction before dispatching its activities and
//! timers. [`Weft`] is the host; [`TaskHub`] is the client API of one task hub,
//! each with its own dispatcher, sharing the Wasm runtime and the components.

mod activities;
mod clock;
mod commit;
mod components;
mod config;
mod control;
mod deploy_check;
mod dispatcher;
mod durable_http_call;
mod entity_client;
mod entity_turn;
mod errors;
mod lru;
mod new_instance;
mod ownership;
mod registry;
mod replay_check;
mod storage;
mod task_hub;
mod timers;
mod watch;
mod weft;

pub use clock::{Clock, HostClock, ManualClock, SystemClock};
pub use components::{ComponentView, CurrentFor, Deployed};
pub use config::{DEFAULT_MAX_HISTORY, DEFAULT_MAX_HTTP_RESPONSE, HostConfig, StoreLocation};
pub use deploy_check::{CheckReport, InstanceCheck};
pub use dispatcher::Gauges;
pub use entity_client::MAX_ENTITY_PAGE;
pub use errors::{ClientError, DeployError, validate_event_name};
pub use registry::Registry;
pub use replay_check::ReplayMismatch;
pub use task_hub::{MAX_PAGE, Status, TaskHub};
pub use watch::DirWatch;
pub use weft::Weft;
