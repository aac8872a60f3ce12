//! [`ActivityInfo`]: what an activity knows about the call it serves.

use crate::bindings::weft::durable::activity_context as wit;

/// The call an activity is serving. Activities run at least once (a crash
/// after the work but before its result is recorded runs it again), so work
/// with outside effects needs an idempotency key; this is where it comes from.
///
/// ```no_run
/// fn charge(order: u64) -> Result<String, weft_sdk::Failure> {
///     let call = weft_sdk::ActivityInfo::current();
///     // Send `call.idempotency_key()` with the payment request: a repeat of
///     // this call carries the same key, a retry gets a new one.
///     Ok(format!("charged {order} as {}", call.idempotency_key()))
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityInfo {
    /// The orchestration instance that scheduled the call.
    pub instance_id: String,
    /// The call's schedule ID in that instance's execution.
    pub schedule_id: u32,
    /// 1 for the first attempt; a retry policy's retries count up.
    pub attempt: u32,
}

impl ActivityInfo {
    /// The call being served. Only inside an activity: an orchestrator that
    /// calls it traps.
    pub fn current() -> ActivityInfo {
        ActivityInfo {
            instance_id: wit::instance_id(),
            schedule_id: wit::schedule_id(),
            attempt: wit::attempt(),
        }
    }

    /// `{instanceId}:{scheduleId}`: the same for every run of this call
    /// (including a run again after a crash), different for each retry
    /// (a retry is a new call) and for every other call.
    pub fn idempotency_key(&self) -> String {
        format!("{}:{}", self.instance_id, self.schedule_id)
    }
}
