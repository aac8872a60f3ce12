//! The built-in activity [`HTTP_ACTIVITY`]: one durable HTTP request, made by
//! the host (see `weft_core::durable_http`).
//!
//! Egress is closed by default: the request's host must be on the same
//! allow-list activities' outbound HTTP uses (`--allow-http`, `allow-http`
//! in weft.toml, or under `[activity."BuiltIn::HttpActivity"]`), and
//! loopback and link-local hosts need an entry that names them. A refusal is
//! a non-retriable failure naming the host and the setting; it is recorded
//! like any activity failure, so replay sees the same refusal. Redirects are
//! not followed (a redirect could lead off the allow-list): a 3xx is an
//! answer like any other. The response body is read up to the host's cap
//! (`--max-http-response`, default 1 MiB); past it the call fails.

use super::dispatcher::Shared;
use std::sync::OnceLock;
use std::time::Duration;
use weft_core::{
    DurableHttpRequest, DurableHttpResponse, Failure, HTTP_ACTIVITY, Json, http_errors,
};
use weft_store::ActivityWork;

/// How long a request may take when it names no timeout (it still may not
/// exceed the activity timeout).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(100);

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("weft/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the durable HTTP client builds")
    })
}

fn refuse(error_type: &str, message: String) -> Failure {
    Failure {
        non_retriable: true,
        ..Failure::new(error_type, message)
    }
}

/// Runs one durable HTTP request for `work`.
pub(super) async fn run(shared: &Shared, work: &ActivityWork) -> Result<Json, Failure> {
    let request: DurableHttpRequest = serde_json::from_str(work.input.as_str()).map_err(|e| {
        refuse(
            http_errors::INVALID_REQUEST,
            format!("the durable HTTP request does not decode: {e}"),
        )
    })?;
    let uri: axum::http::Uri = request.uri.parse().map_err(|e| {
        refuse(
            http_errors::INVALID_REQUEST,
            format!("'{}' is not a URI: {e}", request.uri),
        )
    })?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(refuse(
            http_errors::INVALID_REQUEST,
            format!(
                "'{}' is not an http:// or https:// URI; durable HTTP speaks HTTP only",
                request.uri
            ),
        ));
    }
    // The policy of the component the instance runs on (its per-activity
    // override included), as for its other activities.
    let policy = match shared.load_component(&work.component).await {
        Some(c) => c.policy().activity(HTTP_ACTIVITY),
        None => shared.default_policy().activity(HTTP_ACTIVITY),
    };
    if let Err(target) = weft_runtime::check_egress(&policy.capabilities.allow_http, &uri) {
        tracing::warn!(instance = %work.instance, %target, "refused durable HTTP: not on the allow-list (--allow-http)");
        return Err(refuse(
            http_errors::EGRESS_DENIED,
            format!(
                "durable HTTP to {target} was refused: it is not on the allow-list; allow it with \
                 --allow-http {target} (or allow-http in weft.toml, for every activity or under \
                 [activity.\"{HTTP_ACTIVITY}\"]); loopback and link-local hosts need an entry naming them"
            ),
        ));
    }
    let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| {
            refuse(
                http_errors::INVALID_REQUEST,
                format!("'{}' is not an HTTP method", request.method),
            )
        })?;
    let timeout = request
        .timeout_ms
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
        .min(policy.timeout.value);
    let mut req = client()
        .request(method, request.uri.as_str())
        .timeout(timeout);
    for (name, value) in &request.headers {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            refuse(
                http_errors::INVALID_REQUEST,
                format!("'{name}' is not an HTTP header name"),
            )
        })?;
        let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
            refuse(
                http_errors::INVALID_REQUEST,
                format!("the value of header '{name}' is not valid header text"),
            )
        })?;
        req = req.header(name, value);
    }
    if let Some(body) = &request.content {
        req = req.body(body.clone());
    }
    let failed = |e: reqwest::Error| {
        let why = if e.is_timeout() {
            format!("took longer than {} ms", timeout.as_millis())
        } else {
            format!("failed: {e}")
        };
        Failure::new(
            http_errors::REQUEST_FAILED,
            format!("{} {} {why}", request.method, request.uri),
        )
    };
    let mut resp = req.send().await.map_err(failed)?;
    let mut headers = std::collections::BTreeMap::<String, String>::new();
    for (name, value) in resp.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let status_code = resp.status().as_u16();
    let cap = shared.max_http_response;
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > cap {
            return Err(refuse(
                http_errors::RESPONSE_TOO_LARGE,
                format!(
                    "the response to {} {} is larger than the cap of {} bytes; raise --max-http-response \
                     (max-http-response in weft.toml), or have the endpoint answer less",
                    request.method, request.uri, cap
                ),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let content = String::from_utf8(body).map_err(|_| {
        refuse(
            http_errors::INVALID_RESPONSE,
            format!(
                "the response to {} {} is not UTF-8 text; durable HTTP records text bodies",
                request.method, request.uri
            ),
        )
    })?;
    let response = DurableHttpResponse {
        status_code,
        headers,
        content,
    };
    Ok(Json::from_value(&response))
}
