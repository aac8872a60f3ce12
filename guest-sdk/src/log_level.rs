//! [`LogLevel`]: the severity of a replay-safe log line.

use crate::bindings::weft::durable::orchestration::LogLevel as WitLogLevel;

/// Severity of a log line written with [`OrchestrationContext::log`].
///
/// The host drops lines written while the orchestration replays, so each line
/// appears once however often the code re-executes.
///
/// [`OrchestrationContext::log`]: crate::OrchestrationContext::log
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Information useful when debugging.
    Debug,
    /// Normal progress.
    Info,
    /// Something unexpected that the orchestration survives.
    Warn,
    /// Something failed.
    Error,
}

impl From<LogLevel> for WitLogLevel {
    fn from(level: LogLevel) -> WitLogLevel {
        match level {
            LogLevel::Trace => WitLogLevel::Trace,
            LogLevel::Debug => WitLogLevel::Debug,
            LogLevel::Info => WitLogLevel::Info,
            LogLevel::Warn => WitLogLevel::Warn,
            LogLevel::Error => WitLogLevel::Error,
        }
    }
}
