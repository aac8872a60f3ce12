//! [`OrchestrationContext::call_http`]: a durable HTTP request with Durable
//! Functions' 202 polling, retries and a timeout in orchestration time.
//!
//! Every request is one call of the built-in activity and every wait (the
//! `Retry-After` between polls, a retry's backoff) is a durable timer, so a
//! call that polls for an hour is a handful of history events, survives
//! restarts and replays without sending anything again. Every decision is made
//! from recorded answers and orchestration time, never the wall clock, which
//! keeps it deterministic.

use crate::http::{HTTP_ACTIVITY, HttpActivityInput, millis, resolve_location, retry_after};
use crate::{
    DurableHttpRequest, DurableHttpResponse, Failure, HttpRetryPolicy, LogLevel,
    OrchestrationContext,
};
use serde_json::json;
use std::time::Duration;

impl OrchestrationContext {
    /// Sends `request` as a durable step and returns the final answer.
    ///
    /// - The request is sent once (one recorded activity call), or retried
    ///   under its [`HttpRetryPolicy`] with durable timers between attempts.
    /// - With polling on (the default for GET), a `202 Accepted` with a
    ///   `Location` header is followed: wait `Retry-After` seconds (1 s if it
    ///   is absent or not a number) on a durable timer, GET the location (same
    ///   headers, no content; a relative location is resolved against the
    ///   previous request's URI), and repeat until the answer is not 202. A 202
    ///   without a location is returned as it is.
    /// - With a [timeout](DurableHttpRequest::timeout), every request is given
    ///   what is left of it, no wait goes past it, and once it has passed the
    ///   call fails with [`Failure::HTTP_TIMEOUT`]. Without one, polling goes
    ///   on until the answer is not 202.
    ///
    /// Any status other than a retried one is an answer, not a failure: check
    /// [`DurableHttpResponse::status_code`]. Failures are the host's
    /// (`Failure::HTTP_*`), [`Failure::HTTP_STATUS`] after the retries of a
    /// listed status, and [`Failure::HTTP_TIMEOUT`].
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use weft_sdk::prelude::*;
    /// # fn f(ctx: &OrchestrationContext) -> Result<serde_json::Value, Failure> {
    /// let request = DurableHttpRequest::get("https://api.example.com/reports/7")
    ///     .timeout(Duration::from_secs(3600));
    /// let response = ctx.call_http(&request)?;
    /// response.json()
    /// # }
    /// ```
    pub fn call_http(&self, request: &DurableHttpRequest) -> Result<DurableHttpResponse, Failure> {
        let deadline = Deadline::start(self, request);
        let mut input = request.first_input(None);
        loop {
            let response = self.send_http(&mut input, request.retry_policy(), &deadline)?;
            if !request.is_polling() || response.status_code != 202 {
                return Ok(response);
            }
            let Some(location) = response
                .header("location")
                .map(str::trim)
                .filter(|location| !location.is_empty())
            else {
                return Ok(response);
            };
            let next = resolve_location(&input.uri, location);
            deadline.wait(self, retry_after(&response), &input)?;
            input = request.poll_input(next);
        }
    }

    /// Sends `input` with what is left of the deadline, retrying under `retry`.
    fn send_http(
        &self,
        input: &mut HttpActivityInput,
        retry: Option<&HttpRetryPolicy>,
        deadline: &Deadline,
    ) -> Result<DurableHttpResponse, Failure> {
        let first_attempt_at = self.now_millis();
        let mut attempt = 1;
        loop {
            input.timeout_ms = deadline.remaining(self, input)?.map(millis);
            let outcome = self
                .schedule_activity_attempt::<_, DurableHttpResponse>(
                    HTTP_ACTIVITY,
                    &*input,
                    attempt,
                )
                .get();
            let failure = match (outcome, retry) {
                (Ok(response), Some(policy)) if policy.retries_status(response.status_code) => {
                    status_failure(input, &response)
                }
                (Ok(response), _) => return Ok(response),
                (Err(failure), _) => failure,
            };
            let Some(policy) = retry else {
                return Err(failure);
            };
            let elapsed = Duration::from_millis(self.now_millis().saturating_sub(first_attempt_at));
            let Some(delay) = policy.delay_after(attempt, elapsed, &failure) else {
                return Err(failure);
            };
            self.log(
                LogLevel::Warn,
                format!(
                    "{} {} failed on attempt {attempt} of {}: {failure}; retrying in {} ms",
                    input.method,
                    input.uri,
                    policy.policy().max_attempts(),
                    delay.as_millis()
                ),
            );
            deadline.wait(self, delay, input)?;
            attempt += 1;
        }
    }
}

/// A response whose status the retry policy lists, as a failed attempt; the
/// response goes in the details so that the last one is not lost.
fn status_failure(input: &HttpActivityInput, response: &DurableHttpResponse) -> Failure {
    Failure {
        details: serde_json::to_value(response).ok(),
        ..Failure::new(
            Failure::HTTP_STATUS,
            format!(
                "{} {} answered with status {}",
                input.method, input.uri, response.status_code
            ),
        )
    }
}

/// The end of a call's timeout, in orchestration milliseconds.
struct Deadline<'a> {
    request: &'a DurableHttpRequest,
    at: Option<u64>,
}

impl<'a> Deadline<'a> {
    /// Starts the clock now, at the first send.
    fn start(ctx: &OrchestrationContext, request: &'a DurableHttpRequest) -> Deadline<'a> {
        Deadline {
            request,
            at: request
                .request_timeout()
                .map(|timeout| ctx.now_millis().saturating_add(millis(timeout))),
        }
    }

    /// What is left (`None` without a timeout), or [`Failure::HTTP_TIMEOUT`]
    /// once nothing is; `last` is the request about to be sent or just answered.
    fn remaining(
        &self,
        ctx: &OrchestrationContext,
        last: &HttpActivityInput,
    ) -> Result<Option<Duration>, Failure> {
        let Some(at) = self.at else {
            return Ok(None);
        };
        let now = ctx.now_millis();
        if now >= at {
            return Err(self.expired(last));
        }
        Ok(Some(Duration::from_millis(at - now)))
    }

    /// Waits `delay` on a durable timer, but not past the deadline: waiting
    /// longer could only end in the timeout, later.
    fn wait(
        &self,
        ctx: &OrchestrationContext,
        delay: Duration,
        last: &HttpActivityInput,
    ) -> Result<(), Failure> {
        let delay = match self.remaining(ctx, last)? {
            Some(left) => delay.min(left),
            None => delay,
        };
        ctx.sleep(delay)
    }

    fn expired(&self, last: &HttpActivityInput) -> Failure {
        let timeout = self.request.request_timeout().unwrap_or_default();
        Failure::new(
            Failure::HTTP_TIMEOUT,
            format!(
                "{} {} had no final answer within its timeout of {timeout:?}",
                self.request.method(),
                self.request.uri()
            ),
        )
        .with_details(json!({
            "uri": self.request.uri(),
            "lastUri": last.uri,
            "timeoutMs": millis(timeout),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RetryPolicy;
    use crate::testing::{Command, FakeHost};
    use serde_json::{Value, json};

    /// What the code asked for, with activity inputs as JSON.
    #[derive(Debug, PartialEq)]
    enum Step {
        Send(Value),
        Retry(u32),
        Timer(u64),
    }

    fn steps(fake: &FakeHost) -> Vec<Step> {
        fake.commands()
            .into_iter()
            .map(|command| match command {
                Command::Activity { name, input } => {
                    assert_eq!(name, HTTP_ACTIVITY);
                    Step::Send(serde_json::from_str(&input).unwrap())
                }
                Command::Attempt { name, attempt } => {
                    assert_eq!(name, HTTP_ACTIVITY);
                    Step::Retry(attempt)
                }
                Command::Timer(at) => Step::Timer(at),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    fn get(uri: &str, timeout_ms: Option<u64>) -> Step {
        Step::Send(json!({
            "method": "GET", "uri": uri, "headers": {}, "content": null, "timeoutMs": timeout_ms
        }))
    }

    /// The activity result for `status` with `headers` and `content`.
    fn answer(status: u16, headers: &[(&str, &str)], content: &str) -> String {
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        json!({"statusCode": status, "headers": headers, "content": content}).to_string()
    }

    fn policy(attempts: u32, codes: &[u16]) -> HttpRetryPolicy {
        HttpRetryPolicy::new(
            RetryPolicy::new(attempts, Duration::from_secs(1)).backoff(2.0),
            codes.iter().copied(),
        )
    }

    #[test]
    fn a_get_is_one_call_of_the_built_in_activity() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, &answer(200, &[("content-type", "text/plain")], "hi"));
        let request = DurableHttpRequest::get("http://h/a").header("Accept", "text/plain");
        let response = ctx.call_http(&request).unwrap();
        assert_eq!(response.status_code, 200);
        assert_eq!(response.content, "hi");
        assert_eq!(response.header("Content-Type"), Some("text/plain"));
        assert_eq!(
            steps(&fake),
            vec![Step::Send(json!({
                "method": "GET", "uri": "http://h/a", "headers": {"Accept": "text/plain"},
                "content": null, "timeoutMs": null
            }))]
        );
    }

    /// 202 (Retry-After 2, absolute-path location) -> 202 (no Retry-After,
    /// relative location) -> 200, starting at t = 1 s.
    fn poll_twice() -> (Result<DurableHttpResponse, Failure>, FakeHost) {
        let (ctx, fake) = FakeHost::context(1_000);
        fake.complete(
            0,
            &answer(
                202,
                &[("location", "/jobs/7/status"), ("retry-after", "2")],
                "",
            ),
        );
        fake.complete_at(1, "null", 3_000);
        fake.complete(2, &answer(202, &[("location", "next")], "running"));
        fake.complete_at(3, "null", 4_000);
        fake.complete(4, &answer(200, &[], r#"{"done":true}"#));
        let request = DurableHttpRequest::get("http://h/api/start?x=1").header("Auth", "t");
        (ctx.call_http(&request), fake)
    }

    #[test]
    fn polls_202_answers_honouring_retry_after_and_relative_locations() {
        let (response, fake) = poll_twice();
        let response = response.unwrap();
        assert_eq!(response.status_code, 200);
        assert_eq!(response.json::<Value>().unwrap(), json!({"done": true}));
        let send = |uri: &str| {
            Step::Send(json!({
                "method": "GET", "uri": uri, "headers": {"Auth": "t"},
                "content": null, "timeoutMs": null
            }))
        };
        assert_eq!(
            steps(&fake),
            vec![
                send("http://h/api/start?x=1"),
                Step::Timer(3_000), // Retry-After: 2
                send("http://h/jobs/7/status"),
                Step::Timer(4_000), // no Retry-After: 1 s
                send("http://h/jobs/7/next"),
            ]
        );
    }

    #[test]
    fn the_same_answers_give_the_same_steps() {
        let (first, first_fake) = poll_twice();
        let (second, second_fake) = poll_twice();
        assert_eq!(first, second);
        assert_eq!(steps(&first_fake), steps(&second_fake));
    }

    #[test]
    fn a_polling_post_polls_with_a_get_without_content() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, &answer(202, &[("location", "http://other/s")], ""));
        fake.complete(1, "null");
        fake.complete(2, &answer(201, &[], "made"));
        let request = DurableHttpRequest::post("http://h/jobs", "{}").polling(true);
        assert_eq!(ctx.call_http(&request).unwrap().status_code, 201);
        assert_eq!(
            steps(&fake),
            vec![
                Step::Send(json!({
                    "method": "POST", "uri": "http://h/jobs", "headers": {},
                    "content": "{}", "timeoutMs": null
                })),
                Step::Timer(1_000),
                get("http://other/s", None),
            ]
        );
    }

    #[test]
    fn a_post_is_not_polled_by_default() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, &answer(202, &[("location", "/s")], ""));
        let response = ctx
            .call_http(&DurableHttpRequest::post("http://h/jobs", "{}"))
            .unwrap();
        assert_eq!(response.status_code, 202);
        assert_eq!(fake.commands().len(), 1);
    }

    #[test]
    fn a_202_without_a_location_is_the_answer() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, &answer(202, &[("retry-after", "5")], ""));
        let response = ctx
            .call_http(&DurableHttpRequest::get("http://h/a"))
            .unwrap();
        assert_eq!(response.status_code, 202);
        assert_eq!(steps(&fake), vec![get("http://h/a", None)]);
    }

    #[test]
    fn polling_stops_with_a_timeout_failure_and_sends_what_is_left() {
        let (ctx, fake) = FakeHost::context(0);
        let accepted = answer(202, &[("location", "/s"), ("retry-after", "3")], "");
        fake.complete(0, &accepted);
        fake.complete_at(1, "null", 3_000);
        fake.complete(2, &accepted);
        fake.complete_at(3, "null", 5_000);
        let request = DurableHttpRequest::get("http://h/a").timeout(Duration::from_secs(5));
        let err = ctx.call_http(&request).unwrap_err();
        assert_eq!(err.error_type, Failure::HTTP_TIMEOUT);
        assert!(err.message.contains("GET http://h/a"), "{}", err.message);
        assert!(err.message.contains("5s"), "{}", err.message);
        assert_eq!(
            err.details,
            Some(json!({"uri": "http://h/a", "lastUri": "http://h/s", "timeoutMs": 5000}))
        );
        assert_eq!(
            steps(&fake),
            vec![
                get("http://h/a", Some(5_000)),
                Step::Timer(3_000),
                get("http://h/s", Some(2_000)),
                Step::Timer(5_000), // Retry-After 3 is cut at the deadline
            ]
        );
    }

    #[test]
    fn a_listed_status_is_retried_then_the_answer_returned() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, &answer(503, &[], "busy"));
        fake.complete_at(1, "null", 1_000);
        fake.complete(2, &answer(200, &[], "ok"));
        let request = DurableHttpRequest::get("http://h/a").retry(policy(3, &[503]));
        assert_eq!(ctx.call_http(&request).unwrap().content, "ok");
        assert_eq!(
            steps(&fake),
            vec![get("http://h/a", None), Step::Timer(1_000), Step::Retry(2)]
        );
        let logs = fake.logs();
        assert_eq!(logs.len(), 1);
        assert!(
            logs[0]
                .1
                .contains("GET http://h/a failed on attempt 1 of 3"),
            "{}",
            logs[0].1
        );
    }

    #[test]
    fn transport_failures_are_retried_and_the_last_status_is_the_failure() {
        let (ctx, fake) = FakeHost::context(0);
        fake.fail(0, Failure::new(Failure::HTTP_REQUEST_FAILED, "refused"));
        fake.complete_at(1, "null", 1_000);
        fake.complete(2, &answer(500, &[], "oops"));
        fake.complete_at(3, "null", 3_000);
        fake.complete(4, &answer(500, &[], "oops"));
        let request = DurableHttpRequest::get("http://h/a").retry(policy(3, &[500]));
        let err = ctx.call_http(&request).unwrap_err();
        assert_eq!(err.error_type, Failure::HTTP_STATUS);
        assert_eq!(err.message, "GET http://h/a answered with status 500");
        assert_eq!(
            err.details,
            Some(json!({"statusCode": 500, "headers": {}, "content": "oops"}))
        );
        assert_eq!(
            steps(&fake),
            vec![
                get("http://h/a", None),
                Step::Timer(1_000),
                Step::Retry(2),
                Step::Timer(3_000), // backoff 2.0
                Step::Retry(3),
            ]
        );
    }

    #[test]
    fn non_retriable_failures_are_not_retried() {
        for error_type in [
            Failure::HTTP_EGRESS_DENIED,
            Failure::HTTP_RESPONSE_TOO_LARGE,
            Failure::INVALID_HTTP_REQUEST,
        ] {
            let (ctx, fake) = FakeHost::context(0);
            // Not flagged non-retriable: the error type alone decides.
            fake.fail(0, Failure::new(error_type, "no"));
            let request = DurableHttpRequest::get("http://h/a").retry(policy(5, &[]));
            assert_eq!(ctx.call_http(&request).unwrap_err().error_type, error_type);
            assert_eq!(steps(&fake), vec![get("http://h/a", None)]);
        }
    }

    #[test]
    fn without_a_policy_statuses_are_answers_and_failures_are_returned() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, &answer(500, &[], "oops"));
        fake.fail(1, Failure::new(Failure::HTTP_REQUEST_FAILED, "refused"));
        let request = DurableHttpRequest::get("http://h/a");
        assert_eq!(ctx.call_http(&request).unwrap().status_code, 500);
        let err = ctx.call_http(&request).unwrap_err();
        assert_eq!(err, Failure::new(Failure::HTTP_REQUEST_FAILED, "refused"));
        assert_eq!(fake.commands().len(), 2);
    }

    #[test]
    fn a_retry_wait_is_cut_at_the_timeout() {
        let (ctx, fake) = FakeHost::context(0);
        fake.fail(0, Failure::new(Failure::HTTP_REQUEST_FAILED, "refused"));
        fake.complete_at(1, "null", 2_000);
        let request = DurableHttpRequest::get("http://h/a")
            .timeout(Duration::from_secs(2))
            .retry(HttpRetryPolicy::new(
                RetryPolicy::new(5, Duration::from_secs(5)),
                [],
            ));
        let err = ctx.call_http(&request).unwrap_err();
        assert_eq!(err.error_type, Failure::HTTP_TIMEOUT);
        assert_eq!(
            steps(&fake),
            vec![get("http://h/a", Some(2_000)), Step::Timer(2_000)]
        );
    }

    #[test]
    fn an_answer_after_the_deadline_is_still_returned_unless_it_is_a_202() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete_at(0, &answer(200, &[], "late"), 9_000);
        fake.complete_at(1, &answer(202, &[("location", "/s")], ""), 20_000);
        let request = DurableHttpRequest::get("http://h/a").timeout(Duration::from_secs(1));
        assert_eq!(ctx.call_http(&request).unwrap().content, "late");
        let err = ctx.call_http(&request).unwrap_err();
        assert_eq!(err.error_type, Failure::HTTP_TIMEOUT);
        assert_eq!(fake.commands().len(), 2, "no timer after the deadline");
    }
}
