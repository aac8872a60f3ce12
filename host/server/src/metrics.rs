//! `GET /metrics`: Prometheus text format, every name prefixed `weft_`.
//!
//! Counters and histograms are recorded where things happen (the dispatcher,
//! the activity pool, the store's writer thread) through the `metrics`
//! facade; without an installed recorder (in-process embedders, tests) they
//! cost nothing. Gauges of current state (hot guests, pending inbox messages,
//! timers) are read from the host when scraped.
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `weft_instances_started_total` | counter | `orchestrator` |
//! | `weft_instances_completed_total` | counter | `orchestrator` |
//! | `weft_instances_failed_total` | counter | `orchestrator` |
//! | `weft_turns_total` | counter | |
//! | `weft_replays_total` | counter | (a guest rebuilt from stored history) |
//! | `weft_commits_total` | counter | |
//! | `weft_commit_seconds` | histogram | |
//! | `weft_commit_batch_ops` | histogram | |
//! | `weft_activity_runs_total` | counter | `activity`, `outcome` (`completed`, `failed`) |
//! | `weft_activity_seconds` | histogram | `activity` |
//! | `weft_limits_hit_total` | counter | `kind` (the failure's error type) |
//! | `weft_events_dropped_total` | counter | (events raised to an instance that then completed or was terminated without waiting for them) |
//! | `weft_connections_refused_total` | counter | (connections past --max-connections, answered 503) |
//! | `weft_hot_guests` | gauge | `task_hub` |
//! | `weft_inbox_pending` | gauge | `task_hub` |
//! | `weft_timers_pending` | gauge | `task_hub` |

use crate::host::Weft;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Histogram buckets for durations, seconds.
const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];
/// Histogram buckets for batch sizes, ops.
const OPS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0,
];

/// Installs the process's Prometheus recorder (once, by `serve`).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)?
        .set_buckets_for_metric(Matcher::Full("weft_commit_batch_ops".into()), OPS)?
        .install_recorder()
        .map_err(|e| anyhow::anyhow!("cannot install the metrics recorder: {e}"))
}

/// The scrape: current-state gauges first, then everything recorded.
pub fn render(handle: &PrometheusHandle, weft: &Weft) -> String {
    for (hub, gauges) in weft.gauges() {
        metrics::gauge!("weft_hot_guests", "task_hub" => hub.clone()).set(gauges.hot as f64);
        metrics::gauge!("weft_inbox_pending", "task_hub" => hub.clone()).set(gauges.pending as f64);
        metrics::gauge!("weft_timers_pending", "task_hub" => hub).set(gauges.timers as f64);
    }
    handle.render()
}
