//! Durable Functions' HTTP management API (reference §1) over [`Weft`].
//!
//! Routes live under `/runtime/webhooks/durabletask/`. Status codes follow the
//! extension's code behaviour; where it answers 500 for a caller's mistake we
//! answer the proper 4xx (SPEC ): 409 for starting a running ID, for
//! suspending a suspended instance, resuming or rewinding one in the wrong
//! status, or purging one that has not finished. `openapi.yaml` at the
//! repository root describes every route.
//!
//! Files: `routes` (the table), `auth` (API key), `params` (query parsing),
//! `start`, `instances` (status, list, purge, history), `operations` (events and
//! control requests), `components` (deploy, list, remove), `hubs`, `payload` and `history` (bodies), `error`.

mod auth;
mod components;
mod entities;
mod error;
mod history;
mod hubs;
mod instances;
pub mod listen;
mod operations;
mod params;
mod payload;
mod routes;
mod start;

pub use payload::encode;
pub use routes::{MAX_BODY, router};

use crate::host::Weft;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct ApiState {
    pub weft: Weft,
    /// When set, every request must carry it (`code=` or `Authorization: Bearer`).
    pub api_key: Option<String>,
    /// Largest component accepted by `POST …/components`, bytes.
    pub max_component: usize,
    /// The Prometheus recorder `GET /metrics` renders (`None`: not enabled).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}
