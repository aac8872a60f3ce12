//! Small helpers over history events.

use weft_core::EventKind;

/// True for events that arrive from outside during an episode (and are delivered
/// to the code), as opposed to events the code's own commands produced.
pub fn is_arrival(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::ExecutionStarted { .. } | EventKind::EventRaised { .. }
    ) || crate::kinds::completion(kind).is_some()
}

/// Event names match case-insensitively.
pub(crate) fn event_key(name: &str) -> String {
    name.to_lowercase()
}
