//! [`Delivered`]: outcomes the host has handed over that code has not consumed yet.
//!
//! [`OrchestrationContext::when_any`] must not consume an outcome (the caller
//! reads it later with [`Task::get`]), and the WIT contract does not promise
//! that `wait-any` may be asked again about a task it already answered, so the
//! SDK keeps what it was told here and never asks twice. Invariant: once a
//! handle's outcome is here, the host is not asked about it again;
//! [`Delivered::take`] hands it out once.
//!
//! [`OrchestrationContext::when_any`]: crate::OrchestrationContext::when_any
//! [`Task::get`]: crate::Task::get

use crate::host::Outcome;
use std::collections::BTreeMap;

/// Buffered outcomes by task handle, with the order in which they arrived.
#[derive(Debug, Default)]
pub(crate) struct Delivered {
    by_handle: BTreeMap<u32, (u64, Outcome)>,
    next_sequence: u64,
}

impl Delivered {
    /// Records that `handle` completed with `outcome`, after everything recorded so far.
    pub(crate) fn insert(&mut self, handle: u32, outcome: Outcome) {
        self.by_handle.insert(handle, (self.next_sequence, outcome));
        self.next_sequence += 1;
    }

    /// Removes and returns the outcome of `handle`, if it has arrived.
    pub(crate) fn take(&mut self, handle: u32) -> Option<Outcome> {
        self.by_handle.remove(&handle).map(|(_, outcome)| outcome)
    }

    /// The position in `handles` of the task whose outcome arrived first, if any has.
    pub(crate) fn earliest_of(&self, handles: &[u32]) -> Option<usize> {
        handles
            .iter()
            .enumerate()
            .filter_map(|(index, handle)| self.by_handle.get(handle).map(|(seq, _)| (*seq, index)))
            .min()
            .map(|(_, index)| index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(s: &str) -> Outcome {
        Outcome::Completed(s.to_owned())
    }

    #[test]
    fn earliest_follows_arrival_order_not_list_order() {
        let mut d = Delivered::default();
        d.insert(7, done("1"));
        d.insert(3, done("2"));
        assert_eq!(d.earliest_of(&[3, 7]), Some(1));
        assert_eq!(d.earliest_of(&[1, 3]), Some(1));
        assert_eq!(d.earliest_of(&[1, 2]), None);
    }

    #[test]
    fn take_removes() {
        let mut d = Delivered::default();
        d.insert(1, done("x"));
        assert_eq!(d.take(1), Some(done("x")));
        assert_eq!(d.take(1), None);
        assert_eq!(d.earliest_of(&[1]), None);
    }
}
