//! The runtime status of an orchestration instance.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Runtime status, with Durable Functions' names. `Canceled` is not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RuntimeStatus {
    /// Created; its first turn has not run yet.
    Pending,
    /// Started and not finished.
    Running,
    /// The orchestrator returned a value.
    Completed,
    /// The execution ended with continue-as-new; the next one is starting.
    ContinuedAsNew,
    /// The orchestrator failed (unhandled error, trap or nondeterminism).
    Failed,
    /// Ended by a terminate request.
    Terminated,
    /// Paused by a suspend request.
    Suspended,
}

impl RuntimeStatus {
    /// All statuses, in Durable Functions' numeric order where it has one.
    pub const ALL: [RuntimeStatus; 7] = [
        RuntimeStatus::Running,
        RuntimeStatus::Completed,
        RuntimeStatus::ContinuedAsNew,
        RuntimeStatus::Failed,
        RuntimeStatus::Terminated,
        RuntimeStatus::Pending,
        RuntimeStatus::Suspended,
    ];

    /// Completed, Failed and Terminated: nothing more will happen to the instance.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RuntimeStatus::Completed | RuntimeStatus::Failed | RuntimeStatus::Terminated
        )
    }

    /// The name used in the HTTP API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeStatus::Pending => "Pending",
            RuntimeStatus::Running => "Running",
            RuntimeStatus::Completed => "Completed",
            RuntimeStatus::ContinuedAsNew => "ContinuedAsNew",
            RuntimeStatus::Failed => "Failed",
            RuntimeStatus::Terminated => "Terminated",
            RuntimeStatus::Suspended => "Suspended",
        }
    }
}

impl fmt::Display for RuntimeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RuntimeStatus {
    type Err = String;
    /// Case-insensitive, as `func durable` parses statuses.
    fn from_str(s: &str) -> Result<Self, String> {
        RuntimeStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<_> = RuntimeStatus::ALL.iter().map(|s| s.as_str()).collect();
                format!(
                    "unknown runtime status '{s}'; expected one of {}",
                    names.join(", ")
                )
            })
    }
}
