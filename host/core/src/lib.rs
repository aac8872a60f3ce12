//! Weft's vocabulary, shared by every other crate: typed identifiers, JSON payloads,
//! history events, inbox messages, runtime status and failures.
//!
//! Nothing here does I/O or knows about Wasm, redb or tokio. The replay engine
//! (`weft-engine`) is a pure function over these types; the store serializes them;
//! the server shows them to users.

mod durable_http;
mod entity;
mod failure;
mod history;
mod ids;
mod json;
mod lifecycle;
mod message;
mod status;
mod time;

pub use durable_http::{
    DurableHttpRequest, DurableHttpResponse, HTTP_ACTIVITY, http_errors, same_target,
};
pub use entity::{EntityId, EntityIdError};
pub use failure::Failure;
pub use history::{EventKind, HistoryEvent, ParentInstance};
pub use ids::{ExecutionId, InstanceId, InstanceIdError, ScheduleId};
pub use json::{Json, JsonError};
pub use lifecycle::{Ending, Request};
pub use message::Message;
pub use status::RuntimeStatus;
pub use time::Timestamp;
