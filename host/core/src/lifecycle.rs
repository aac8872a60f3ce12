//! The instance lifecycle in one table: which status accepts which request,
//! and which status and output each way of ending gives. The engine, the
//! dispatcher, the store's ops and the client API all read these rules from
//! here, so they cannot disagree.

use crate::{Failure, Json, RuntimeStatus};

use RuntimeStatus::*;

/// Something asked of an existing instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Raise an external event (from a client or another instance).
    RaiseEvent,
    /// Terminate.
    Terminate,
    /// Suspend.
    Suspend,
    /// Resume a suspended instance.
    Resume,
    /// Rewind a failed instance.
    Rewind,
    /// Delete it and everything about it.
    Purge,
    /// Start a new execution under the same ID (a start, or a restart).
    Replace,
}

impl Request {
    /// Durable Functions' rules: the statuses in which the request is accepted.
    pub fn allowed(self) -> &'static [RuntimeStatus] {
        match self {
            Request::RaiseEvent => &[Pending, Running, ContinuedAsNew, Suspended],
            Request::Terminate => &[Pending, Running, ContinuedAsNew, Suspended],
            Request::Suspend => &[Pending, Running, ContinuedAsNew],
            Request::Resume => &[Suspended],
            Request::Rewind => &[Failed],
            Request::Purge | Request::Replace => &[Completed, Failed, Terminated],
        }
    }

    /// True when an instance in `status` accepts the request.
    pub fn accepts(self, status: RuntimeStatus) -> bool {
        self.allowed().contains(&status)
    }

    /// The verb, for messages ("cannot {action} …").
    pub fn action(self) -> &'static str {
        match self {
            Request::RaiseEvent => "raise an event for",
            Request::Terminate => "terminate",
            Request::Suspend => "suspend",
            Request::Resume => "resume",
            Request::Rewind => "rewind",
            Request::Purge => "purge",
            Request::Replace => "start a new execution of",
        }
    }

    /// What a caller whose instance is in another status can do.
    pub fn hint(self) -> &'static str {
        match self {
            Request::RaiseEvent => {
                "the instance has finished; events are only delivered to running instances"
            }
            Request::Terminate => "only instances that have not finished can be terminated",
            Request::Suspend => "it is already suspended; resume it first",
            Request::Resume => "only a suspended instance can be resumed",
            Request::Rewind => "only a failed instance can be rewound",
            Request::Purge => {
                "only Completed, Failed or Terminated instances can be purged; terminate it first"
            }
            Request::Replace => {
                "the instance has not finished; terminate it first or use another ID"
            }
        }
    }
}

/// How an execution ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The orchestrator returned a value.
    Completed(Json),
    /// The orchestrator failed (an error, a trap, nondeterminism, a limit).
    Failed(Failure),
    /// A terminate request ended it, with this reason.
    Terminated(Option<String>),
    /// It continued as new with this input.
    ContinuedAsNew(Json),
}

impl Ending {
    /// The instance's status after this ending.
    pub fn status(&self) -> RuntimeStatus {
        match self {
            Ending::Completed(_) => Completed,
            Ending::Failed(_) => Failed,
            Ending::Terminated(_) => Terminated,
            Ending::ContinuedAsNew(_) => ContinuedAsNew,
        }
    }

    /// The instance's output after this ending: the result, the serialized
    /// failure, the reason (`null` without one), or the new input (Durable
    /// Functions' `output`).
    pub fn output(&self) -> Option<Json> {
        match self {
            Ending::Completed(v) | Ending::ContinuedAsNew(v) => Some(v.clone()),
            Ending::Failed(f) => Some(Json::from_value(f)),
            Ending::Terminated(reason) => {
                Some(reason.as_ref().map_or_else(Json::null, Json::from_value))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_rule_for_every_request() {
        // Finished instances take no events and no control but rewind (Failed)
        // and purge; unfinished ones cannot be purged or replaced.
        for status in RuntimeStatus::ALL {
            let finished = status.is_terminal();
            assert_eq!(Request::RaiseEvent.accepts(status), !finished, "{status}");
            assert_eq!(Request::Terminate.accepts(status), !finished, "{status}");
            assert_eq!(Request::Purge.accepts(status), finished, "{status}");
            assert_eq!(Request::Replace.accepts(status), finished, "{status}");
        }
        assert!(Request::Rewind.accepts(Failed));
        assert!(!Request::Rewind.accepts(Completed));
    }

    #[test]
    fn endings_give_status_and_output() {
        let f = Failure::new("E", "m");
        assert_eq!(Ending::Failed(f.clone()).status(), Failed);
        assert_eq!(
            Ending::Failed(f.clone()).output(),
            Some(Json::from_value(&f))
        );
        assert_eq!(Ending::Terminated(None).output(), Some(Json::null()));
        let input = Json::parse("3").unwrap();
        assert_eq!(Ending::ContinuedAsNew(input.clone()).output(), Some(input));
    }
}
