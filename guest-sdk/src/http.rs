//! Durable HTTP (Durable Functions' `CallHttpAsync`): [`DurableHttpRequest`],
//! [`DurableHttpResponse`] and [`HttpRetryPolicy`]. The call itself,
//! [`OrchestrationContext::call_http`](crate::OrchestrationContext::call_http),
//! is in `http_calls.rs`.
//!
//! A request is an activity call to the host's built-in activity
//! [`HTTP_ACTIVITY`], so it is recorded and replayed like any activity: the
//! host sends it once and answers it from the history afterwards. Its input is
//! the JSON a [`DurableHttpRequest`] serializes to; the host sends exactly one
//! request per call (no redirects, no polling), which keeps every step the SDK
//! takes (polls, retries, the waits between them) visible in the history.

use crate::{Failure, RetryPolicy};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::time::Duration;

/// The name of the built-in activity that performs one request (Durable
/// Functions' own name, so histories read the same).
pub(crate) const HTTP_ACTIVITY: &str = "BuiltIn::HttpActivity";

/// Failures the host marks non-retriable: sending the same request again
/// cannot succeed, whatever the policy says.
const NEVER_RETRIED: [&str; 3] = [
    Failure::HTTP_EGRESS_DENIED,
    Failure::HTTP_RESPONSE_TOO_LARGE,
    Failure::INVALID_HTTP_REQUEST,
];

/// An HTTP request made as a durable step, for
/// [`OrchestrationContext::call_http`](crate::OrchestrationContext::call_http).
///
/// It serializes to the input of the built-in activity (its own timeout as
/// `timeoutMs`); polling and the retry policy are the SDK's business and are
/// not part of that JSON.
///
/// ```
/// use std::time::Duration;
/// use weft_sdk::{DurableHttpRequest, HttpRetryPolicy, RetryPolicy};
///
/// let request = DurableHttpRequest::post("https://api.example.com/jobs", r#"{"size": 3}"#)
///     .header("Content-Type", "application/json")
///     .timeout(Duration::from_secs(600))
///     .polling(true)
///     .retry(HttpRetryPolicy::new(RetryPolicy::new(3, Duration::from_secs(5)), [500, 503]));
/// assert_eq!(request.method(), "POST");
/// assert!(request.is_polling());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DurableHttpRequest {
    method: String,
    uri: String,
    headers: BTreeMap<String, String>,
    content: Option<String>,
    timeout: Option<Duration>,
    polling: bool,
    retry: Option<HttpRetryPolicy>,
}

impl DurableHttpRequest {
    /// A request with `method` (sent as given; the host refuses an invalid one
    /// with [`Failure::INVALID_HTTP_REQUEST`]) to the absolute `uri`; no
    /// headers, no content, no timeout, no retries. It polls if the method is
    /// GET: only a GET is safe to answer with "202, look over there" by default.
    pub fn new(method: impl Into<String>, uri: impl Into<String>) -> DurableHttpRequest {
        let method = method.into();
        DurableHttpRequest {
            polling: method.eq_ignore_ascii_case("GET"),
            method,
            uri: uri.into(),
            headers: BTreeMap::new(),
            content: None,
            timeout: None,
            retry: None,
        }
    }

    /// A GET of `uri`, which follows the 202 pattern.
    pub fn get(uri: impl Into<String>) -> DurableHttpRequest {
        DurableHttpRequest::new("GET", uri)
    }

    /// A POST of `content` to `uri`, which does not poll unless asked to.
    pub fn post(uri: impl Into<String>, content: impl Into<String>) -> DurableHttpRequest {
        DurableHttpRequest::new("POST", uri).content(content)
    }

    /// Sends header `name: value`, replacing a header of the same name in any
    /// letter case (HTTP header names are case-insensitive). Polls send the
    /// same headers.
    pub fn header(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> DurableHttpRequest {
        let name = name.into();
        self.headers
            .retain(|old, _| !old.eq_ignore_ascii_case(&name));
        self.headers.insert(name, value.into());
        self
    }

    /// Sends `text` as the body.
    pub fn content(mut self, text: impl Into<String>) -> DurableHttpRequest {
        self.content = Some(text.into());
        self
    }

    /// Gives the whole call `timeout`, measured in orchestration time from the
    /// first send: every request gets what is left of it, and polling (and
    /// retrying) stops with [`Failure::HTTP_TIMEOUT`] once it has passed.
    ///
    /// # Panics
    ///
    /// If `timeout` is shorter than a millisecond (timers have millisecond
    /// resolution).
    pub fn timeout(mut self, timeout: Duration) -> DurableHttpRequest {
        assert!(
            timeout >= Duration::from_millis(1),
            "an HTTP timeout must be at least 1 ms, got {timeout:?}"
        );
        self.timeout = Some(timeout);
        self
    }

    /// Whether to follow the asynchronous 202 pattern: on `202 Accepted` with
    /// a `Location` header, wait `Retry-After` and GET the location until the
    /// answer is not 202. On by default for GET only.
    pub fn polling(mut self, polling: bool) -> DurableHttpRequest {
        self.polling = polling;
        self
    }

    /// Retries each request (the first send and every poll) under `policy`.
    pub fn retry(mut self, policy: HttpRetryPolicy) -> DurableHttpRequest {
        self.retry = Some(policy);
        self
    }

    /// The method, as given.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The URI of the first request.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The headers sent with every request.
    pub fn headers(&self) -> &BTreeMap<String, String> {
        &self.headers
    }

    /// The body, if any.
    pub fn body(&self) -> Option<&str> {
        self.content.as_deref()
    }

    /// The budget of the whole call, if any.
    pub fn request_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Whether the 202 pattern is followed.
    pub fn is_polling(&self) -> bool {
        self.polling
    }

    /// The retry policy, if any.
    pub fn retry_policy(&self) -> Option<&HttpRetryPolicy> {
        self.retry.as_ref()
    }

    /// The built-in activity's input for the first send, with `timeout` left.
    pub(crate) fn first_input(&self, timeout: Option<Duration>) -> HttpActivityInput {
        HttpActivityInput {
            method: self.method.clone(),
            uri: self.uri.clone(),
            headers: self.headers.clone(),
            content: self.content.clone(),
            timeout_ms: timeout.map(millis),
        }
    }

    /// The input of a poll: a GET of `uri` with the same headers, no content.
    pub(crate) fn poll_input(&self, uri: String) -> HttpActivityInput {
        HttpActivityInput {
            method: "GET".to_owned(),
            uri,
            headers: self.headers.clone(),
            content: None,
            timeout_ms: None,
        }
    }
}

impl Serialize for DurableHttpRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.first_input(self.timeout).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DurableHttpRequest {
    /// Reads the activity input JSON; polling takes its default for the
    /// method, and there is no retry policy (neither is in that JSON).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let input = HttpActivityInput::deserialize(deserializer)?;
        if input.timeout_ms == Some(0) {
            return Err(serde::de::Error::custom("timeoutMs must be at least 1"));
        }
        let mut request = DurableHttpRequest::new(input.method, input.uri);
        request.headers = input.headers;
        request.content = input.content;
        request.timeout = input.timeout_ms.map(Duration::from_millis);
        Ok(request)
    }
}

/// The built-in activity's input: the host contract, field for field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HttpActivityInput {
    pub(crate) method: String,
    pub(crate) uri: String,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) content: Option<String>,
    /// What is left of the call's timeout when this request is sent.
    #[serde(default)]
    pub(crate) timeout_ms: Option<u64>,
}

/// Whole milliseconds of `d`, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The answer to a durable HTTP request, as the host recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DurableHttpResponse {
    /// The status code, e.g. 200.
    pub status_code: u16,
    /// The headers, names in lower case; a header sent more than once has its
    /// values joined with `", "`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body as text.
    #[serde(default)]
    pub content: String,
}

impl DurableHttpResponse {
    /// The value of header `name`, in any letter case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status_code)
    }

    /// Decodes the body as JSON into `T`; fails with [`Failure::DESERIALIZE`].
    /// Unlike inputs, a body encoded twice is not unwrapped: it is what the
    /// server sent.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Failure> {
        serde_json::from_str(&self.content).map_err(|e| {
            Failure::new(
                Failure::DESERIALIZE,
                format!(
                    "the content of an HTTP {} response does not decode as {}: {e}",
                    self.status_code,
                    std::any::type_name::<T>()
                ),
            )
        })
    }
}

/// How to retry durable HTTP requests: a [`RetryPolicy`] (attempts, backoff,
/// timeout) plus the status codes that count as failed attempts.
///
/// Transport failures ([`Failure::HTTP_REQUEST_FAILED`]) are retried as the
/// policy says; a response with one of `status_codes` becomes a
/// [`Failure::HTTP_STATUS`] and is retried the same way (the last one is
/// returned as that failure, the response in its details). Egress denials,
/// oversized responses and invalid requests are never retried.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRetryPolicy {
    policy: RetryPolicy,
    status_codes: Vec<u16>,
}

impl HttpRetryPolicy {
    /// Retries under `policy`, also on responses with a status in `status_codes`.
    pub fn new(
        policy: RetryPolicy,
        status_codes: impl IntoIterator<Item = u16>,
    ) -> HttpRetryPolicy {
        HttpRetryPolicy {
            policy,
            status_codes: status_codes.into_iter().collect(),
        }
    }

    /// The attempts, backoff and timeout.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The status codes that count as failed attempts.
    pub fn status_codes(&self) -> &[u16] {
        &self.status_codes
    }

    /// Whether a response with `status_code` is a failed attempt.
    pub fn retries_status(&self, status_code: u16) -> bool {
        self.status_codes.contains(&status_code)
    }

    /// The pure decision, [`RetryPolicy::delay_after`] except that failures
    /// the host marks non-retriable are never retried, flag or no flag.
    pub fn delay_after(
        &self,
        failed_attempt: u32,
        elapsed: Duration,
        failure: &Failure,
    ) -> Option<Duration> {
        if NEVER_RETRIED.contains(&failure.error_type.as_str()) {
            return None;
        }
        self.policy.delay_after(failed_attempt, elapsed, failure)
    }
}

/// Where a `Location` header points, resolved against `base`, the URI of the
/// request it answered: an absolute URI as is, `//host/p` with the base's
/// scheme, `/p` on the base's scheme and authority, `?q` on the base's path,
/// and `p` relative to the last `/` of the base's path. Dot segments are
/// left for the server.
pub(crate) fn resolve_location(base: &str, location: &str) -> String {
    if has_scheme(location) {
        return location.to_owned();
    }
    let Some((scheme, rest)) = base.split_once("://") else {
        return location.to_owned();
    };
    if let Some(network_path) = location.strip_prefix("//") {
        return format!("{scheme}://{network_path}");
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let origin = format!("{scheme}://{authority}");
    if location.starts_with('/') {
        return format!("{origin}{location}");
    }
    let path = tail.split(['?', '#']).next().unwrap_or("");
    if location.starts_with('?') {
        return format!("{origin}{path}{location}");
    }
    let directory = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{origin}{directory}{location}")
}

/// Whether `uri` starts with a scheme (RFC 3986: a letter, then letters,
/// digits, `+`, `-` or `.`, then `:`).
fn has_scheme(uri: &str) -> bool {
    let Some((scheme, _)) = uri.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// How long a 202 asks to wait: `Retry-After` in whole seconds, else 1 s
/// (also for the HTTP-date form, which orchestration code has no use for).
pub(crate) fn retry_after(response: &DurableHttpResponse) -> Duration {
    response
        .header("retry-after")
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(status_code: u16, headers: &[(&str, &str)]) -> DurableHttpResponse {
        DurableHttpResponse {
            status_code,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            content: String::new(),
        }
    }

    #[test]
    fn serializes_to_the_activity_input() {
        let get = DurableHttpRequest::get("http://h/a")
            .header("Accept", "application/json")
            .timeout(Duration::from_secs(30));
        assert_eq!(
            serde_json::to_value(&get).unwrap(),
            json!({
                "method": "GET",
                "uri": "http://h/a",
                "headers": {"Accept": "application/json"},
                "content": null,
                "timeoutMs": 30000
            })
        );
        let post = DurableHttpRequest::post("http://h/jobs", "{}");
        assert_eq!(
            serde_json::to_value(&post).unwrap(),
            json!({"method": "POST", "uri": "http://h/jobs", "headers": {}, "content": "{}", "timeoutMs": null})
        );
    }

    #[test]
    fn deserializes_from_the_activity_input_with_default_polling() {
        let request: DurableHttpRequest = serde_json::from_value(
            json!({"method": "GET", "uri": "http://h/a", "headers": {"x": "1"}, "timeoutMs": 500}),
        )
        .unwrap();
        assert_eq!(
            request,
            DurableHttpRequest::get("http://h/a")
                .header("x", "1")
                .timeout(Duration::from_millis(500))
        );
        let bad = serde_json::from_value::<DurableHttpRequest>(
            json!({"method": "GET", "uri": "http://h/a", "timeoutMs": 0}),
        );
        assert!(bad.is_err());
    }

    #[test]
    fn only_get_polls_by_default() {
        assert!(DurableHttpRequest::get("http://h").is_polling());
        assert!(DurableHttpRequest::new("get", "http://h").is_polling());
        assert!(!DurableHttpRequest::post("http://h", "").is_polling());
        assert!(!DurableHttpRequest::new("DELETE", "http://h").is_polling());
        assert!(
            !DurableHttpRequest::get("http://h")
                .polling(false)
                .is_polling()
        );
        assert!(
            DurableHttpRequest::post("http://h", "")
                .polling(true)
                .is_polling()
        );
    }

    #[test]
    fn a_header_replaces_one_of_the_same_name_in_any_case() {
        let request = DurableHttpRequest::get("http://h")
            .header("Accept", "text/plain")
            .header("accept", "application/json")
            .header("X-Id", "7");
        let names: Vec<_> = request.headers().keys().cloned().collect();
        assert_eq!(names, vec!["X-Id", "accept"]);
        assert_eq!(request.headers()["accept"], "application/json");
    }

    #[test]
    #[should_panic(expected = "at least 1 ms")]
    fn a_sub_millisecond_timeout_panics() {
        let _ = DurableHttpRequest::get("http://h").timeout(Duration::from_micros(10));
    }

    #[test]
    fn response_headers_are_found_in_any_case() {
        let r = response(202, &[("location", "/s/1"), ("retry-after", "5")]);
        assert_eq!(r.header("Location"), Some("/s/1"));
        assert_eq!(r.header("RETRY-AFTER"), Some("5"));
        assert_eq!(r.header("etag"), None);
        assert!(r.is_success());
        assert!(!response(404, &[]).is_success());
    }

    #[test]
    fn response_json_decodes_or_fails_with_deserialize() {
        let mut r = response(200, &[]);
        r.content = r#"{"done": true}"#.to_owned();
        assert_eq!(
            r.json::<serde_json::Value>().unwrap(),
            json!({"done": true})
        );
        r.content = "not json".to_owned();
        let err = r.json::<serde_json::Value>().unwrap_err();
        assert_eq!(err.error_type, Failure::DESERIALIZE);
        assert!(err.message.contains("HTTP 200 response"), "{}", err.message);
    }

    #[test]
    fn a_response_decodes_from_the_activity_result() {
        let r: DurableHttpResponse = serde_json::from_value(json!({
            "statusCode": 202, "headers": {"location": "/s"}, "content": ""
        }))
        .unwrap();
        assert_eq!(r, response(202, &[("location", "/s")]));
    }

    #[test]
    fn locations_resolve_against_the_request_uri() {
        let base = "https://h:8080/api/jobs/start?x=1";
        let cases = [
            ("http://other/s", "http://other/s"),
            ("//cdn/s", "https://cdn/s"),
            ("/status/1", "https://h:8080/status/1"),
            ("status/1", "https://h:8080/api/jobs/status/1"),
            ("status?id=2", "https://h:8080/api/jobs/status?id=2"),
            ("?page=2", "https://h:8080/api/jobs/start?page=2"),
        ];
        for (location, expected) in cases {
            assert_eq!(resolve_location(base, location), expected, "{location}");
        }
        assert_eq!(resolve_location("http://h", "s"), "http://h/s");
        assert_eq!(resolve_location("http://h?q", "/s"), "http://h/s");
    }

    #[test]
    fn retry_after_is_whole_seconds_else_one_second() {
        let wait = |v: Option<&str>| {
            let headers: Vec<_> = v.map(|v| ("Retry-After", v)).into_iter().collect();
            retry_after(&response(202, &headers))
        };
        assert_eq!(wait(Some("3")), Duration::from_secs(3));
        assert_eq!(wait(Some(" 0 ")), Duration::ZERO);
        assert_eq!(wait(None), Duration::from_secs(1));
        assert_eq!(wait(Some("soon")), Duration::from_secs(1));
        assert_eq!(
            wait(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn the_host_s_non_retriable_failures_are_never_retried() {
        let p = HttpRetryPolicy::new(RetryPolicy::new(3, Duration::from_secs(1)), [503]);
        let at = |t: &str| p.delay_after(1, Duration::ZERO, &Failure::new(t, "x"));
        assert_eq!(
            at(Failure::HTTP_REQUEST_FAILED),
            Some(Duration::from_secs(1))
        );
        assert_eq!(at(Failure::HTTP_STATUS), Some(Duration::from_secs(1)));
        assert_eq!(at(Failure::HTTP_EGRESS_DENIED), None);
        assert_eq!(at(Failure::HTTP_RESPONSE_TOO_LARGE), None);
        assert_eq!(at(Failure::INVALID_HTTP_REQUEST), None);
        assert!(p.retries_status(503) && !p.retries_status(500));
    }
}
