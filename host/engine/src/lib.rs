//! The replay engine: what an orchestrator's imports answer, and what a turn records.
//!
//! [`Replay`] holds one execution's history and is driven by the guest's calls
//! (schedule an activity, create a timer, wait for an event, wait for any of some
//! tasks). It answers from history while the code re-executes recorded steps, and
//! records new commands once the code goes past them. It is pure: no clock (the
//! caller passes the episode's time), no I/O, no Wasm — so it is tested by tables
//! of (history, commands) -> decisions, and the runtime only forwards calls.
//!
//! The model (see `ARCHITECTURE.md`, "Replay"): a history is a list of episodes.
//! Each episode's arrivals (completions, fired timers, raised events) are
//! *delivered* in order, and only when the code blocks on something still
//! unresolved does the engine deliver the next episode. A wait returns the task
//! that was resolved first in delivery order, so a run over the same history
//! makes the same choices whether it was kept in memory or rebuilt by replay.

mod action;
mod control;
mod error;
mod events;
mod guid;
mod kinds;
mod replay;
mod section;
mod task;

pub use action::{Action, NextExecution, TurnOutcome, TurnOutput};
pub use control::{ControlOutput, apply_control};
pub use error::{EngineError, Nondeterminism};
pub use events::is_arrival;
pub use replay::{CUSTOM_STATUS_LIMIT, Replay, StartInfo, release_held, section_is_open};
pub use section::LOCKING_RULES_VIOLATION;
pub use task::{Outcome, TaskHandle};
