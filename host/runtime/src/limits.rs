//! The sandbox's limits: one typed configuration the runtime receives,
//! and the typed failure each limit produces.
//!
//! Every limit fails the same way (DESIGN §11, like [`crate::forbidden`]): a
//! `weft.*` error type, a message with the limit's value and the setting that
//! changes it.

use std::time::Duration;
use weft_core::Failure;

/// What one orchestrator turn or one activity call may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// CPU time one orchestrator turn may use for new work (replaying recorded
    /// episodes is budgeted separately, see [`crate::sandbox`]).
    pub orchestrator_turn: Duration,
    /// Wall-clock time one activity call may take.
    pub activity_timeout: Duration,
    /// Linear memory (all memories together) of one orchestrator instance, bytes.
    pub orchestrator_memory: u64,
    /// Linear memory of one activity call, bytes.
    pub activity_memory: u64,
    /// Tasks (activities, timers, event waits) one orchestrator turn may schedule.
    pub max_tasks_per_turn: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            orchestrator_turn: Duration::from_secs(1),
            activity_timeout: Duration::from_secs(5 * 60),
            orchestrator_memory: 64 << 20,
            activity_memory: 256 << 20,
            max_tasks_per_turn: 10_000,
        }
    }
}

/// Error types of the failures the limits produce, as users see them.
pub mod error_types {
    pub const CPU: &str = "weft.CpuLimitExceeded";
    pub const MEMORY: &str = "weft.MemoryLimitExceeded";
    pub const STACK: &str = "weft.StackOverflow";
    pub const TASKS: &str = "weft.TaskLimitExceeded";
    pub const ACTIVITY_TIMEOUT: &str = "weft.ActivityTimeout";
    pub const HISTORY: &str = "weft.HistoryLimitExceeded";
}

/// Formats a byte count the way the settings take it (`64MiB`).
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}B")
}

/// Formats a duration the way the settings take it (`1s`, `5m`, `250ms`).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) && ms > 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A limit a guest ran into. Raised from the epoch callback and the host
/// imports as a `wasmtime::Error`, so the guest stops at once and the host can
/// tell it apart from a trap.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    #[error(
        "ran for more than {} of CPU time in one turn without waiting (the orchestrator turn limit); \
         move long computations into an activity, or raise {setting}",
        format_duration(*limit)
    )]
    Cpu {
        limit: Duration,
        setting: &'static str,
    },
    #[error(
        "replaying its recorded history took more than {} of CPU time ({} per recorded episode, the \
         orchestrator turn limit); the code no longer does what its history recorded in that time: raise \
         {setting}",
        format_duration(*budget), format_duration(*limit)
    )]
    ReplayCpu {
        limit: Duration,
        budget: Duration,
        setting: &'static str,
    },
    #[error(
        "scheduled more than {limit} tasks (activities, timers, event waits) in one turn; wait on some of \
         them before scheduling more, or raise {setting}"
    )]
    Tasks { limit: u32, setting: &'static str },
}

impl LimitExceeded {
    /// The failure an orchestrator gets: `who` names the orchestrator and instance.
    pub fn failure(&self, who: &str) -> Failure {
        let error_type = match self {
            LimitExceeded::Cpu { .. } | LimitExceeded::ReplayCpu { .. } => error_types::CPU,
            LimitExceeded::Tasks { .. } => error_types::TASKS,
        };
        Failure::new(error_type, format!("{who} {self}"))
    }
}
