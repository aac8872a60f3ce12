//! Outbound HTTP from activities: `wasi:http` reaches exactly the
//! hosts on the allow-list (`--allow-http`); any other request fails in the
//! guest with `HTTP-request-denied`, never reaches the network, and the
//! attempt's failure names the host and the setting that would allow it.
//! Orchestrators cannot send requests at all.

use serde_json::{Value, json};
use std::time::Duration;
use weft_tests::paths;
use weft_tests::server::Server;
use weft_tests::target::{BODY, Target};

const WAIT: Duration = Duration::from_secs(30);

fn fetch(api: &weft_tests::http::Api, id: &str, url: &str) -> Value {
    let input = json!({ "url": url }).to_string();
    let id = api.start_ok("FetchOne", Some(id), &input);
    api.wait_output(&id, WAIT)
}

#[test]
fn activities_reach_only_allowed_hosts() {
    let allowed = Target::start();
    let other = Target::start();
    let dir = tempfile::tempdir().unwrap();
    let components = paths::component_set(&dir.path().join("components"), &["egress.wasm"]);
    let grant = format!("127.0.0.1:{}", allowed.port);
    let server = Server::start_with(dir.path(), &components, &["--allow-http", &grant]);
    let api = server.api();

    let out = fetch(
        &api,
        "allowed",
        &format!("http://127.0.0.1:{}/hello", allowed.port),
    );
    assert_eq!(out["ok"], json!({ "status": 200, "body": BODY }), "{out}");
    let reached = allowed.connections();
    assert_eq!(reached, 1);

    // Another port of the same host, the same address spelled differently,
    // and another host: each refused before any connection is made.
    for (id, url, target) in [
        (
            "other-port",
            format!("http://127.0.0.1:{}/", other.port),
            format!("127.0.0.1:{}", other.port),
        ),
        (
            "by-name",
            format!("http://localhost:{}/", allowed.port),
            format!("localhost:{}", allowed.port),
        ),
        (
            "as-number",
            format!("http://2130706433:{}/", allowed.port),
            format!("2130706433:{}", allowed.port),
        ),
    ] {
        let out = fetch(&api, id, &url);
        let failed = &out["failed"];
        assert_eq!(failed["type"], "FetchFailed", "{id}: {out}");
        let message = failed["message"].as_str().unwrap();
        for word in [
            "HttpRequestDenied",
            &target,
            "--allow-http",
            "allow-http in weft.toml",
        ] {
            assert!(
                message.contains(word),
                "{id}: '{word}' missing from: {message}"
            );
        }
    }
    assert_eq!(other.connections(), 0, "a refused request must not connect");
    assert_eq!(
        allowed.connections(),
        reached,
        "a refused request must not connect"
    );
    assert!(
        server.log().contains("refused outbound HTTP"),
        "the refusal is logged"
    );

    // An orchestrator may not send a request even to an allowed host.
    let input = json!({ "url": format!("http://127.0.0.1:{}/", allowed.port) }).to_string();
    let id = api.start_ok("FetchDirect", Some("direct"), &input);
    let s = api.wait_done(&id, WAIT);
    assert_eq!(s["runtimeStatus"], "Failed", "{s}");
    let message = s["output"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("orchestrators cannot use outbound HTTP") && message.contains("activity"),
        "{s}"
    );
    assert_eq!(allowed.connections(), reached);
    server.assert_no_panics();
}

/// Without `--allow-http`, activities reach nothing.
#[test]
fn no_host_is_allowed_by_default() {
    let target = Target::start();
    let dir = tempfile::tempdir().unwrap();
    let components = paths::component_set(&dir.path().join("components"), &["egress.wasm"]);
    let server = Server::start(dir.path(), &components);
    let out = fetch(
        &server.api(),
        "default",
        &format!("http://127.0.0.1:{}/", target.port),
    );
    assert_eq!(out["failed"]["type"], "FetchFailed", "{out}");
    assert_eq!(target.connections(), 0);
}
