//! Inbox messages: what arrives for an instance between turns.

use crate::{EventKind, ExecutionId, HistoryEvent};
use serde::{Deserialize, Serialize};

/// A message waiting in an instance's inbox. It becomes the history event it
/// carries when the next turn takes it.
///
/// `execution` names the execution a completion belongs to; a message for an
/// older execution of the same instance ID (one that was replaced by a new
/// start) is dropped instead of being applied to the wrong run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionId>,
    pub event: HistoryEvent,
}

impl Message {
    /// A message for any execution (start requests and external events).
    pub fn new(event: HistoryEvent) -> Message {
        Message {
            execution: None,
            event,
        }
    }

    /// A message that belongs to `execution` (activity results, fired timers).
    pub fn for_execution(execution: ExecutionId, event: HistoryEvent) -> Message {
        Message {
            execution: Some(execution),
            event,
        }
    }

    pub fn kind(&self) -> &EventKind {
        &self.event.kind
    }
}
