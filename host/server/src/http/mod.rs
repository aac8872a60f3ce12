//! Durable Functions' HTTP management API (reference §1) over [`Weft`].
//!
//! Routes live under `/runtime/webhooks/durabletask/`. Status codes follow the
//! extension's code behaviour; where it answers 500 for a caller's mistake we
//! answer the proper 4xx (SPEC ), e.g. 409 for starting a running ID.

mod error;
mod payload;
mod routes;

pub use payload::encode;
pub use routes::router;

use crate::host::Weft;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct ApiState {
    pub weft: Weft,
}
