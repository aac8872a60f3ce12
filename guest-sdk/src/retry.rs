//! Retrying activities with durable timers: [`RetryPolicy`] and
//! [`OrchestrationContext::call_activity_with_retry`].
//!
//! The algorithm is Durable Task's `RetryInterceptor`: after attempt `n` fails,
//! wait `first_retry_interval * backoff_coefficient^(n-1)` (capped at
//! `max_retry_interval`) on a durable timer and try again, unless the attempts
//! are used up, the failure is not retriable, or `retry_timeout` has passed
//! since the first attempt (in orchestration time). Every attempt and every
//! wait is an ordinary task in the history, so retries survive restarts and
//! replay exactly. The decision is the pure [`RetryPolicy::delay_after`].
//!
//! Two deliberate differences from Durable Task: no timer is created after the
//! final attempt (the interceptor waits out one more delay before giving up),
//! and there is no zero-length "dummy" timer.

use crate::{Failure, LogLevel, OrchestrationContext};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How to retry a failed activity. Mirrors the WIT `retry-policy` record.
///
/// ```
/// use std::time::Duration;
/// use weft_sdk::RetryPolicy;
///
/// let policy = RetryPolicy::new(5, Duration::from_secs(1))
///     .backoff(2.0)
///     .max_interval(Duration::from_secs(30))
///     .timeout(Duration::from_secs(600))
///     .dont_retry("InvalidOrder");
/// assert_eq!(policy.max_attempts(), 5);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    first_retry_interval: Duration,
    backoff_coefficient: f64,
    max_retry_interval: Option<Duration>,
    retry_timeout: Option<Duration>,
    non_retriable_error_types: Vec<String>,
}

impl RetryPolicy {
    /// At most `max_attempts` attempts in total (1 = no retry), the first retry
    /// `first_interval` after the first failure; no backoff (coefficient 1.0),
    /// no cap, no timeout.
    ///
    /// # Panics
    ///
    /// If `max_attempts` is 0 or `first_interval` is shorter than a millisecond
    /// (timers have millisecond resolution).
    pub fn new(max_attempts: u32, first_interval: Duration) -> RetryPolicy {
        assert!(
            max_attempts >= 1,
            "a retry policy needs at least one attempt"
        );
        assert!(
            first_interval >= Duration::from_millis(1),
            "the first retry interval must be at least 1 ms, got {first_interval:?}"
        );
        RetryPolicy {
            max_attempts,
            first_retry_interval: first_interval,
            backoff_coefficient: 1.0,
            max_retry_interval: None,
            retry_timeout: None,
            non_retriable_error_types: Vec::new(),
        }
    }

    /// Multiplies each further delay by `coefficient`.
    ///
    /// # Panics
    ///
    /// If `coefficient` is not a finite number >= 1.0.
    pub fn backoff(mut self, coefficient: f64) -> RetryPolicy {
        assert!(
            coefficient.is_finite() && coefficient >= 1.0,
            "the backoff coefficient must be finite and >= 1.0, got {coefficient}"
        );
        self.backoff_coefficient = coefficient;
        self
    }

    /// Caps a single delay at `interval`.
    pub fn max_interval(mut self, interval: Duration) -> RetryPolicy {
        self.max_retry_interval = Some(interval);
        self
    }

    /// Stops retrying once `timeout` has passed since the first attempt started.
    pub fn timeout(mut self, timeout: Duration) -> RetryPolicy {
        self.retry_timeout = Some(timeout);
        self
    }

    /// Never retries failures whose `error_type` is `error_type`.
    pub fn dont_retry(mut self, error_type: impl Into<String>) -> RetryPolicy {
        self.non_retriable_error_types.push(error_type.into());
        self
    }

    /// Total attempts, including the first.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Delay before the first retry.
    pub fn first_retry_interval(&self) -> Duration {
        self.first_retry_interval
    }

    /// Factor between successive delays.
    pub fn backoff_coefficient(&self) -> f64 {
        self.backoff_coefficient
    }

    /// Upper bound of one delay, if any.
    pub fn max_retry_interval(&self) -> Option<Duration> {
        self.max_retry_interval
    }

    /// Retry budget measured from the first attempt, if any.
    pub fn retry_timeout(&self) -> Option<Duration> {
        self.retry_timeout
    }

    /// Error types that are never retried.
    pub fn non_retriable_error_types(&self) -> &[String] {
        &self.non_retriable_error_types
    }

    /// Whether `failure` may be retried at all under this policy.
    pub fn is_retriable(&self, failure: &Failure) -> bool {
        !failure.non_retriable && !self.non_retriable_error_types.contains(&failure.error_type)
    }

    /// The pure retry decision: after attempt number `failed_attempt` (1-based)
    /// failed with `failure`, `elapsed` after the first attempt started, returns
    /// how long to wait before the next attempt, or `None` to give up.
    ///
    /// The delay is `first_retry_interval * backoff_coefficient^(failed_attempt-1)`,
    /// rounded down to whole milliseconds and capped at `max_retry_interval`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft_sdk::{Failure, RetryPolicy};
    ///
    /// let policy = RetryPolicy::new(3, Duration::from_secs(1)).backoff(2.0);
    /// let failure = Failure::new("Flaky", "try again");
    /// assert_eq!(policy.delay_after(1, Duration::ZERO, &failure), Some(Duration::from_secs(1)));
    /// assert_eq!(policy.delay_after(2, Duration::ZERO, &failure), Some(Duration::from_secs(2)));
    /// assert_eq!(policy.delay_after(3, Duration::ZERO, &failure), None); // attempts used up
    /// ```
    pub fn delay_after(
        &self,
        failed_attempt: u32,
        elapsed: Duration,
        failure: &Failure,
    ) -> Option<Duration> {
        if failed_attempt >= self.max_attempts || !self.is_retriable(failure) {
            return None;
        }
        if self.retry_timeout.is_some_and(|timeout| elapsed >= timeout) {
            return None;
        }
        let exponent = i32::try_from(failed_attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let millis =
            duration_millis(self.first_retry_interval) * self.backoff_coefficient.powi(exponent);
        // `as` saturates: an overflowing (infinite) delay becomes u64::MAX ms.
        let delay = Duration::from_millis(millis as u64);
        let delay = match self.max_retry_interval {
            Some(cap) if delay >= cap => cap,
            _ => delay,
        };
        (!delay.is_zero()).then_some(delay)
    }
}

fn duration_millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

impl OrchestrationContext {
    /// Calls activity `name` with `input`, retrying failures under `policy` with
    /// durable timers between attempts. Returns the first success, or the last
    /// failure when the policy gives up.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use weft_sdk::prelude::*;
    /// # fn f(ctx: &OrchestrationContext) -> Result<String, Failure> {
    /// let policy = RetryPolicy::new(4, Duration::from_secs(2)).backoff(2.0);
    /// ctx.call_activity_with_retry("Charge", 42, &policy)
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// If `input` cannot be encoded as JSON (see [`schedule_activity`](Self::schedule_activity)).
    pub fn call_activity_with_retry<I: Serialize, O: DeserializeOwned>(
        &self,
        name: &str,
        input: I,
        policy: &RetryPolicy,
    ) -> Result<O, Failure> {
        let what = format!("activity '{name}'");
        self.retrying(&what, policy, |attempt| {
            self.schedule_activity_attempt(name, &input, attempt).get()
        })
    }

    /// Runs orchestrator `name` with `input` as a sub-orchestration, retrying
    /// failures under `policy` with durable timers between attempts. Each
    /// attempt is a new child with the default instance ID of its call
    /// (`{this instance's ID}:{schedule ID}`).
    ///
    /// # Panics
    ///
    /// If `input` cannot be encoded as JSON.
    pub fn call_sub_orchestrator_with_retry<I: Serialize, O: DeserializeOwned>(
        &self,
        name: &str,
        input: I,
        policy: &RetryPolicy,
    ) -> Result<O, Failure> {
        let what = format!("sub-orchestration '{name}'");
        self.retrying(&what, policy, |_| {
            self.schedule_sub_orchestrator(name, None, &input).get()
        })
    }

    /// Durable Task's retry loop around `attempt(n)` (n from 1).
    fn retrying<O>(
        &self,
        what: &str,
        policy: &RetryPolicy,
        mut attempt_once: impl FnMut(u32) -> Result<O, Failure>,
    ) -> Result<O, Failure> {
        let first_attempt_at = self.now_millis();
        let mut attempt = 1;
        loop {
            let failure = match attempt_once(attempt) {
                Ok(output) => return Ok(output),
                Err(failure) => failure,
            };
            let elapsed = Duration::from_millis(self.now_millis().saturating_sub(first_attempt_at));
            let Some(delay) = policy.delay_after(attempt, elapsed, &failure) else {
                return Err(failure);
            };
            self.log(
                LogLevel::Warn,
                format!(
                    "{what} failed on attempt {attempt} of {}: {failure}; retrying in {} ms",
                    policy.max_attempts,
                    delay.as_millis()
                ),
            );
            self.sleep(delay)?;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Command, FakeHost};

    fn flaky() -> Failure {
        Failure::new("Flaky", "again")
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn delays_grow_by_the_backoff_and_stop_at_max_attempts() {
        let p = RetryPolicy::new(5, secs(1)).backoff(2.0);
        let delays: Vec<_> = (1..=5)
            .map(|n| p.delay_after(n, Duration::ZERO, &flaky()))
            .collect();
        assert_eq!(
            delays,
            vec![
                Some(secs(1)),
                Some(secs(2)),
                Some(secs(4)),
                Some(secs(8)),
                None
            ]
        );
    }

    #[test]
    fn delays_are_capped_at_the_max_interval() {
        let p = RetryPolicy::new(10, secs(1))
            .backoff(3.0)
            .max_interval(secs(5));
        assert_eq!(p.delay_after(2, Duration::ZERO, &flaky()), Some(secs(3)));
        assert_eq!(p.delay_after(3, Duration::ZERO, &flaky()), Some(secs(5)));
        assert_eq!(p.delay_after(9, Duration::ZERO, &flaky()), Some(secs(5)));
    }

    #[test]
    fn delays_round_down_to_milliseconds() {
        let p = RetryPolicy::new(3, Duration::from_millis(3)).backoff(1.5);
        assert_eq!(
            p.delay_after(2, Duration::ZERO, &flaky()),
            Some(Duration::from_millis(4))
        );
    }

    #[test]
    fn huge_delays_saturate_instead_of_overflowing() {
        let p = RetryPolicy::new(u32::MAX, secs(1)).backoff(10.0);
        assert_eq!(
            p.delay_after(400, Duration::ZERO, &flaky()),
            Some(Duration::from_millis(u64::MAX))
        );
        let capped = p.max_interval(secs(60));
        assert_eq!(
            capped.delay_after(400, Duration::ZERO, &flaky()),
            Some(secs(60))
        );
    }

    #[test]
    fn the_timeout_counts_from_the_first_attempt() {
        let p = RetryPolicy::new(10, secs(1)).timeout(secs(30));
        assert_eq!(p.delay_after(1, secs(29), &flaky()), Some(secs(1)));
        assert_eq!(p.delay_after(1, secs(30), &flaky()), None);
    }

    #[test]
    fn non_retriable_failures_stop_retrying() {
        let p = RetryPolicy::new(10, secs(1)).dont_retry("Fatal");
        assert_eq!(
            p.delay_after(1, Duration::ZERO, &Failure::new("Fatal", "x")),
            None
        );
        assert_eq!(
            p.delay_after(1, Duration::ZERO, &flaky().non_retriable()),
            None
        );
        assert!(p.delay_after(1, Duration::ZERO, &flaky()).is_some());
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let p = RetryPolicy::new(1, secs(1));
        assert_eq!(p.delay_after(1, Duration::ZERO, &flaky()), None);
    }

    #[test]
    #[should_panic(expected = "at least one attempt")]
    fn zero_attempts_panics() {
        let _ = RetryPolicy::new(0, secs(1));
    }

    #[test]
    #[should_panic(expected = "at least 1 ms")]
    fn sub_millisecond_interval_panics() {
        let _ = RetryPolicy::new(2, Duration::from_micros(10));
    }

    #[test]
    #[should_panic(expected = ">= 1.0")]
    fn shrinking_backoff_panics() {
        let _ = RetryPolicy::new(2, secs(1)).backoff(0.5);
    }

    #[test]
    fn retries_with_durable_timers_until_success() {
        let (ctx, fake) = FakeHost::context(10_000);
        // attempt 1 (#0) fails at t=10s; timer #1 at 11s; attempt 2 (#2) fails at 11s;
        // timer #3 at 13s; attempt 3 (#4) succeeds.
        fake.fail(0, flaky());
        fake.complete_at(1, "null", 11_000);
        fake.fail(2, flaky());
        fake.complete_at(3, "null", 13_000);
        fake.complete(4, "\"ok\"");
        let p = RetryPolicy::new(5, secs(1)).backoff(2.0);
        let out: String = ctx.call_activity_with_retry("Charge", 7, &p).unwrap();
        assert_eq!(out, "ok");
        assert_eq!(
            fake.commands(),
            vec![
                Command::activity("Charge", "7"),
                Command::Timer(11_000),
                // Retries tell the host (and the activity) their attempt number.
                Command::Attempt {
                    name: "Charge".into(),
                    attempt: 2
                },
                Command::Timer(13_000),
                Command::Attempt {
                    name: "Charge".into(),
                    attempt: 3
                },
            ]
        );
    }

    #[test]
    fn gives_up_with_the_last_failure_and_no_trailing_timer() {
        let (ctx, fake) = FakeHost::context(0);
        fake.fail(0, Failure::new("F", "1"));
        fake.complete_at(1, "null", 1_000);
        fake.fail(2, Failure::new("F", "2"));
        let p = RetryPolicy::new(2, secs(1));
        let err = ctx
            .call_activity_with_retry::<_, String>("A", (), &p)
            .unwrap_err();
        assert_eq!(err, Failure::new("F", "2"));
        assert_eq!(fake.commands().len(), 3, "{:?}", fake.commands());
    }

    #[test]
    fn gives_up_when_the_timeout_has_passed() {
        let (ctx, fake) = FakeHost::context(0);
        fake.fail_at(0, flaky(), 5_000);
        let p = RetryPolicy::new(5, secs(1)).timeout(secs(5));
        assert!(
            ctx.call_activity_with_retry::<_, String>("A", (), &p)
                .is_err()
        );
        assert_eq!(fake.commands(), vec![Command::activity("A", "null")]);
    }
}
