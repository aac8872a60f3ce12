//! Engine errors. A nondeterminism error stops the instance; the others are guest
//! bugs the runtime turns into traps.

use std::fmt;

/// The code did something other than what the history recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nondeterminism {
    /// Index of the history event that disagrees with the code.
    pub index: usize,
    /// What the history recorded there.
    pub recorded: String,
    /// What the code did instead.
    pub attempted: String,
}

impl fmt::Display for Nondeterminism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "nondeterministic orchestrator: history event {} is {}, but the code {}. \
             The orchestrator's code or input changed while this instance was running; \
             run it on the component version it started with, or start a new instance",
            self.index, self.recorded, self.attempted
        )
    }
}

/// Why a guest call could not be answered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Nondeterminism(Nondeterminism),
    #[error("unknown task handle {0}: it was not returned by this orchestration")]
    UnknownHandle(u32),
    #[error("wait-any was called with no tasks")]
    EmptyWait,
    #[error("the history has no ExecutionStarted event")]
    NotStarted,
}
