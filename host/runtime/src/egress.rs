//! Outbound HTTP for activities: `wasi:http` restricted to the
//! operator's allow-list.
//!
//! Deny by default. An entry is `HOST[:PORT]`, optionally with a scheme
//! (`https://HOST[:PORT]`): HOST is a name or address matched exactly (letter
//! case and a trailing dot aside), `*.example.com` (any subdomain, not the
//! domain itself) or `*` (any host). Without a port, an entry allows the
//! scheme's default port (80 for http, 443 for https).
//!
//! The check is on the request's own authority, which is also what the host
//! connects to, so an address spelled another way (`2130706433`, `0x7f.1`)
//! matches only an entry spelled that way. A refused request fails in the
//! guest with `wasi:http`'s `HTTP-request-denied`; the host logs it, and if
//! the attempt then fails, its failure says which request was refused and the
//! setting that allows it (the guest's error code cannot carry that text).

use http::uri::Scheme;
use std::fmt;
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
};

/// One allow-list entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Option<String>,
    host: HostPattern,
    port: Option<u16>,
    text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    Any,
    Subdomains(String),
    Exact(String),
}

impl AllowedHost {
    /// Parses `[SCHEME://]HOST[:PORT]`; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<AllowedHost, String> {
        let bad = |why: &str| {
            format!(
                "'{text}' is not an outbound HTTP host: {why}; write HOST, HOST:PORT or https://HOST[:PORT]"
            )
        };
        let (scheme, rest) = match text.split_once("://") {
            Some((s, rest)) => {
                let s = s.to_ascii_lowercase();
                if s != "http" && s != "https" {
                    return Err(bad("the scheme must be http or https"));
                }
                (Some(s), rest)
            }
            None => (None, text),
        };
        if rest.contains('/') || rest.contains('?') || rest.contains('@') {
            return Err(bad("paths, queries and user names are not allowed"));
        }
        let (host, port) = split_port(rest).map_err(|why| bad(&why))?;
        let host = normalize(host);
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        let pattern = if host == "*" {
            HostPattern::Any
        } else if let Some(domain) = host.strip_prefix("*.") {
            if domain.is_empty() || domain.contains('*') {
                return Err(bad("a wildcard is written *.example.com"));
            }
            HostPattern::Subdomains(domain.to_owned())
        } else if host.contains('*') {
            return Err(bad(
                "a wildcard is written *.example.com, or * for any host",
            ));
        } else {
            HostPattern::Exact(host)
        };
        Ok(AllowedHost {
            scheme,
            host: pattern,
            port,
            text: text.to_owned(),
        })
    }

    fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        if self.scheme.as_deref().is_some_and(|s| s != scheme) {
            return false;
        }
        let port_ok = match self.port {
            Some(p) => p == port,
            None => port == default_port(scheme),
        };
        let host_ok = match &self.host {
            // A wildcard never reaches the machine itself or its link: those
            // need an entry naming them.
            HostPattern::Any => !is_local(host),
            HostPattern::Exact(h) => h == host,
            HostPattern::Subdomains(d) => {
                !is_local(host)
                    && host
                        .strip_suffix(d.as_str())
                        .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
            }
        };
        port_ok && host_ok
    }
}

/// Loopback and link-local hosts (`localhost`, 127.0.0.0/8, ::1,
/// 169.254.0.0/16 — where cloud metadata services answer — and fe80::/10).
fn is_local(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    // `2130706433`, `0x7f.1`, `127.1`: other spellings of an IPv4 address
    // that a resolver may still connect to; only the dotted quad is read.
    let numeric = host.starts_with(|c: char| c.is_ascii_digit())
        && host
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == '.' || c == 'x');
    if numeric && !host.contains(':') && host.parse::<std::net::Ipv4Addr>().is_err() {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => a.is_loopback() || a.is_link_local() || a.is_unspecified(),
        Ok(std::net::IpAddr::V6(a)) => {
            a.is_loopback()
                || a.is_unspecified()
                || (a.segments()[0] & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_link_local())
        }
        Err(_) => false,
    }
}

/// Whether `uri` may be requested under `allowed`; `Err` names the target
/// (`host:port`) to allow, for the refusal's message. Activities' `wasi:http`
/// and the host's durable HTTP use this one rule.
pub fn check_egress(allowed: &[AllowedHost], uri: &http::Uri) -> Result<(), String> {
    let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
    let Some(authority) = uri.authority() else {
        return Err(uri.to_string());
    };
    // `allowed.test@elsewhere.test`: the host is the part after `@`, but the
    // connection would be made to the whole text; refuse it outright.
    if authority.as_str().contains('@') {
        return Err(authority.to_string());
    }
    let host = normalize(
        authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']'),
    );
    let port = authority
        .port_u16()
        .unwrap_or_else(|| default_port(&scheme));
    if allowed.iter().any(|a| a.allows(&scheme, &host, port)) {
        return Ok(());
    }
    Err(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

impl std::str::FromStr for AllowedHost {
    type Err = String;
    fn from_str(text: &str) -> Result<AllowedHost, String> {
        AllowedHost::parse(text)
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `host[:port]`, with IPv6 addresses in brackets.
fn split_port(text: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address needs its closing ]")?;
        match after {
            "" => (addr, None),
            p => (
                addr,
                Some(p.strip_prefix(':').ok_or("expected :PORT after ]")?),
            ),
        }
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("'{p}' is not a port (1 to 65535)"))?,
        ),
    };
    Ok((host, port))
}

fn normalize(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

/// The `wasi:http` hooks of one activity call: the allow-list, and the
/// requests it refused.
pub(crate) struct Egress {
    allowed: Vec<AllowedHost>,
    refused: Vec<String>,
}

impl Egress {
    pub(crate) fn new(allowed: Vec<AllowedHost>) -> Egress {
        Egress {
            allowed,
            refused: Vec::new(),
        }
    }

    /// Why the first refused request was refused, for the attempt's failure.
    pub(crate) fn refusal(&self, who: &str) -> Option<String> {
        let target = self.refused.first()?;
        Some(format!(
            "{who} was refused outbound HTTP to {target}: it is not on the allow-list; allow it with \
             --allow-http {target} (or allow-http in weft.toml, for every activity or under [activity.NAME])"
        ))
    }

    /// `Err(host:port)` when the request may not be sent.
    fn check(&self, uri: &http::Uri) -> Result<(), String> {
        check_egress(&self.allowed, uri)
    }
}

impl WasiHttpHooks for Egress {
    fn is_supported_scheme(&mut self, scheme: &Scheme) -> bool {
        *scheme == Scheme::HTTP || *scheme == Scheme::HTTPS
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                    ),
                    HttpError,
                >,
            > + Send,
    > {
        match self.check(request.uri()) {
            Ok(()) => {
                drop(fut);
                Box::new(async move {
                    use http_body_util::BodyExt;
                    let (res, io) =
                        wasmtime_wasi_http::default_send_request(request, options).await?;
                    Ok((
                        res.map(BodyExt::boxed_unsync),
                        Box::new(io) as Box<dyn Future<Output = _> + Send>,
                    ))
                })
            }
            Err(target) => {
                tracing::warn!(%target, "refused outbound HTTP from an activity: not on the allow-list (--allow-http)");
                self.refused.push(target);
                Box::new(async { Err(HttpError::HttpRequestDenied) })
            }
        }
    }
}

/// `wasi:http` state of a store: the context and the hooks.
pub(crate) struct HttpState {
    pub(crate) ctx: WasiHttpCtx,
    pub(crate) egress: Egress,
}

impl HttpState {
    pub(crate) fn new(allowed: Vec<AllowedHost>) -> HttpState {
        HttpState {
            ctx: WasiHttpCtx::new(),
            egress: Egress::new(allowed),
        }
    }

    pub(crate) fn view<'a>(
        &'a mut self,
        table: &'a mut wasmtime::component::ResourceTable,
    ) -> WasiHttpCtxView<'a> {
        WasiHttpCtxView {
            ctx: &mut self.ctx,
            table,
            hooks: &mut self.egress,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(list: &[&str], url: &str) -> bool {
        let e = Egress::new(
            list.iter()
                .map(|t| AllowedHost::parse(t).unwrap())
                .collect(),
        );
        e.check(&url.parse().unwrap()).is_ok()
    }

    #[test]
    fn deny_by_default() {
        assert!(!allowed(&[], "https://example.com/"));
    }

    #[test]
    fn exact_host_and_default_port() {
        let list = ["api.example.com"];
        assert!(allowed(&list, "https://api.example.com/x"));
        assert!(allowed(&list, "http://API.Example.com./x"));
        assert!(!allowed(&list, "https://api.example.com:8443/"));
        assert!(!allowed(&list, "https://example.com/"));
        assert!(!allowed(&list, "https://api.example.com.evil.net/"));
    }

    #[test]
    fn ports_schemes_and_wildcards() {
        assert!(allowed(&["127.0.0.1:8080"], "http://127.0.0.1:8080/"));
        assert!(!allowed(&["127.0.0.1:8080"], "http://127.0.0.1:8081/"));
        assert!(!allowed(&["127.0.0.1:8080"], "http://2130706433:8080/"));
        assert!(!allowed(&["127.0.0.1:8080"], "http://localhost:8080/"));
        assert!(allowed(&["[::1]:9000"], "http://[::1]:9000/"));
        assert!(allowed(&["https://a.test"], "https://a.test/"));
        assert!(!allowed(&["https://a.test"], "http://a.test:443/"));
        assert!(allowed(&["*.example.com"], "https://x.example.com/"));
        assert!(!allowed(&["*.example.com"], "https://example.com/"));
        assert!(!allowed(&["*.example.com"], "https://badexample.com/"));
        assert!(allowed(&["*:8080"], "http://anything:8080/"));
        assert!(!allowed(&["*"], "http://a.test@b.test/"));
    }

    #[test]
    fn wildcards_never_reach_loopback_or_link_local() {
        for uri in [
            "http://127.0.0.1/",
            "http://127.9.9.9/",
            "http://localhost/",
            "http://api.localhost/",
            "http://[::1]/",
            "http://169.254.169.254/",
            "http://[fe80::1]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://127.1/",
        ] {
            assert!(!allowed(&["*"], uri), "{uri}");
            assert!(!allowed(&["*:80"], uri), "{uri}");
        }
        assert!(allowed(&["*"], "http://93.184.216.34/"));
        assert!(allowed(&["*"], "http://deadbeef.example/"));
        assert!(allowed(&["127.0.0.1"], "http://127.0.0.1/"));
        assert!(allowed(&["localhost:80"], "http://localhost/"));
        assert!(allowed(&["169.254.169.254"], "http://169.254.169.254/"));
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        for (text, why) in [
            ("", "empty"),
            ("ftp://x", "scheme"),
            ("x.test/path", "paths"),
            ("x.test:http", "port"),
            ("x.test:0", "port"),
            ("a*.test", "wildcard"),
            ("[::1", "closing"),
        ] {
            let err = AllowedHost::parse(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
