//! The API key: Durable Functions' `code=` query parameter, or an
//! `Authorization: Bearer` header. Required on every route once configured.

use super::ApiState;
use super::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Refuses requests without the configured key (401); passes all when none is set.
pub async fn require_key(State(st): State<ApiState>, req: Request, next: Next) -> Response {
    let Some(key) = st.api_key.as_deref() else {
        return next.run(req).await;
    };
    // The scheme is case-insensitive (RFC 9110 §11.1): `bearer KEY` works too.
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    // Keys are trimmed at start (and may not be blank), so trimming here makes
    // `code=+KEY` the key but never lets whitespace alone match.
    let code = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("code="))
            .map(|c| super::params::decode(c).trim().to_owned())
    });
    let given = bearer.map(str::to_owned).or(code);
    match given {
        Some(g) if constant_time_eq(g.as_bytes(), key.as_bytes()) => next.run(req).await,
        Some(_) => unauthorized("the API key is wrong"),
        None => unauthorized(
            "this server requires an API key: pass ?code=KEY or the header 'Authorization: Bearer KEY'",
        ),
    }
}

fn unauthorized(msg: &str) -> Response {
    let mut resp = ApiError {
        status: StatusCode::UNAUTHORIZED,
        message: msg.to_owned(),
    }
    .into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    resp
}

/// Compares without an early exit, so timing does not reveal how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn compares_exactly() {
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"abc", b"ab"));
    }
}
