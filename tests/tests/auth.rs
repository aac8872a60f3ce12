//! The API key (R-3.6): once configured, every route wants it (`code=` or
//! `Authorization: Bearer`), and `weft serve` refuses to listen beyond
//! loopback without one.

use reqwest::Method;
use serde_json::json;
use std::process::{Command, Stdio};
use weft_tests::cli::{self, json_ok};
use weft_tests::http::{Api, Reply, encode};
use weft_tests::paths;
use weft_tests::poll::{self, DEADLINE};
use weft_tests::server::Server;

/// A key with characters that must be percent-encoded in `code=`.
const KEY: &str = "k3y+/=&x";

/// Every route, with a body where it takes one; IDs name instance `victim`.
const ROUTES: [(&str, &str); 16] = [
    ("POST", "orchestrators/HelloSequence"),
    ("POST", "orchestrators/HelloSequence/intruder"),
    ("GET", "instances"),
    ("DELETE", "instances?createdTimeFrom=2000-01-01"),
    ("GET", "instances/victim"),
    ("GET", "instances/victim/history"),
    ("GET", "instances/victim/management"),
    ("POST", "instances/victim/raiseEvent/Approval"),
    ("POST", "instances/victim/suspend"),
    ("POST", "instances/victim/resume"),
    ("POST", "instances/victim/terminate"),
    ("POST", "instances/victim/rewind"),
    ("POST", "instances/victim/restart"),
    ("DELETE", "instances/victim"),
    ("GET", "taskhubs"),
    ("DELETE", "taskhubs/Spare"),
];

fn call(
    api: &Api,
    method: &str,
    path: &str,
    auth: impl Fn(reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder,
) -> Reply {
    let m = Method::from_bytes(method.as_bytes()).unwrap();
    api.run(auth(
        api.request(m, path)
            .header("content-type", "application/json"),
    ))
}

fn with_query(path: &str, kv: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{kv}")
}

#[test]
fn with_an_api_key_every_route_wants_it() {
    let dir = tempfile::tempdir().unwrap();
    let comps = paths::component_set(
        &dir.path().join("c"),
        &["hello-sequence.wasm", "human-interaction.wasm"],
    );
    let mut server = Server::start_with(dir.path(), &comps, &["--api-key", KEY]);
    let open = server.api();
    let keyed = open.with_key(KEY);
    keyed.start_ok("Approval", Some("victim"), r#"{"timeoutSeconds":3600}"#);
    let before = keyed.wait_approval_waiting("victim");
    keyed
        .post("orchestrators/HelloSequence/s?taskHub=Spare", "")
        .expect(202);
    keyed.wait_done_in("Spare", "s");

    let code = format!("code={}", encode(KEY));
    for (method, path) in ROUTES {
        for (how, r) in [
            ("no key", call(&open, method, path, |r| r)),
            (
                "wrong Bearer",
                call(&open, method, path, |r| r.bearer_auth("nope")),
            ),
            (
                "wrong code",
                call(&open, method, &with_query(path, "code=nope"), |r| r),
            ),
            (
                "key without its encoding",
                call(
                    &open,
                    method,
                    &with_query(path, &format!("code={KEY}")),
                    |r| r,
                ),
            ),
            (
                "wrong Bearer, right code",
                call(&open, method, &with_query(path, &code), |r| {
                    r.bearer_auth("nope")
                }),
            ),
        ] {
            assert_eq!(r.status, 401, "{method} {path} with {how}: {}", r.body);
            assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"));
            assert!(!r.error().is_empty());
        }
    }
    // Nothing of that reached an instance or a hub.
    assert_eq!(keyed.status("victim").json(), before);
    assert_eq!(keyed.list_ids(""), ["victim"]);
    assert_eq!(keyed.task_hubs(), ["Spare", "default"]);

    // The key as ?code= and as Bearer: every route answers as without a key.
    for (method, path) in ROUTES {
        let by_code = call(&open, method, &with_query(path, &code), |r| r);
        let by_bearer = call(&keyed, method, path, |r| r);
        for (how, r) in [("?code=", by_code), ("Bearer", by_bearer)] {
            assert!(
                r.status != 401 && r.status < 500,
                "{method} {path} with the key as {how}: {} {}",
                r.status,
                r.body
            );
        }
    }

    // Management URLs carry the code and work as given, without other auth.
    let r = keyed.start("Approval", Some("linked"), r#"{"timeoutSeconds":3600}"#);
    r.expect(202);
    let links = r.json();
    let url = |k: &str| links[k].as_str().unwrap().replace("{text}", "because");
    assert!(url("statusQueryGetUri").contains(&code), "{links}");
    assert_eq!(
        r.header("location").as_deref(),
        links["statusQueryGetUri"].as_str()
    );
    keyed.wait_approval_waiting("linked");
    let go = |m: Method, u: String| {
        let req = open
            .request_url(m, &u)
            .header("content-type", "application/json");
        open.run(req.body("true"))
    };
    go(Method::GET, url("statusQueryGetUri")).expect(202);
    go(Method::POST, url("suspendPostUri")).expect(202);
    keyed.wait_status("linked", "Suspended");
    go(Method::POST, url("resumePostUri")).expect(202);
    keyed.wait_status("linked", "Running");
    go(
        Method::POST,
        url("sendEventPostUri").replace("{eventName}", "Approval"),
    )
    .expect(202);
    assert_eq!(keyed.wait_output("linked", DEADLINE), "approved");
    let restarted = go(Method::POST, url("restartPostUri"));
    restarted.expect(202);
    let copy = restarted.json()["id"].as_str().unwrap().to_owned();
    let m = keyed.get(&format!("instances/{copy}/management")).json();
    assert!(m["rewindPostUri"].as_str().unwrap().contains(&code), "{m}");
    keyed.wait_approval_waiting(&copy);
    go(
        Method::POST,
        m["rewindPostUri"].as_str().unwrap().replace("{text}", "x"),
    )
    .expect(409);
    go(
        Method::POST,
        m["terminatePostUri"]
            .as_str()
            .unwrap()
            .replace("{text}", "bye"),
    )
    .expect(202);
    keyed.wait_status(&copy, "Terminated");
    go(Method::DELETE, url("purgeHistoryDeleteUri")).expect(200);
    keyed.status("linked").expect(404);

    // The CLI: --api-key, or WEFT_API_KEY.
    let ep = server.endpoint();
    let args = ["get-runtime-status", "--id", &copy];
    cli::fails(&cli::run(&ep, &args), &["401"]);
    cli::fails(
        &cli::run(&ep, &[&args[..], &["--api-key", "nope"]].concat()),
        &["401"],
    );
    let v = json_ok(&cli::run(&ep, &[&args[..], &["--api-key", KEY]].concat()));
    assert_eq!(v["runtimeStatus"], "Terminated");
    let v = json_ok(&cli::run_env(&ep, &args, &[("WEFT_API_KEY", KEY)]));
    assert_eq!(v["output"], "bye");
    server.stop();
    server.assert_no_panics();
}

/// Runs `weft serve --listen 0.0.0.0:0` (no key anywhere), which must exit.
fn serve_everywhere(
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(paths::weft_bin())
        .args(["serve", "--listen", "0.0.0.0:0", "--store"])
        .arg(dir.join("weft.redb"))
        .arg("--components")
        .arg(paths::components())
        .env_remove("WEFT_API_KEY")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn weft serve");
    let status = poll::until("weft serve to refuse and exit", DEADLINE, || {
        child
            .try_wait()
            .map_err(|e| e.to_string())?
            .ok_or("still running".to_owned())
    });
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status, err)
}

#[test]
fn listening_beyond_loopback_needs_a_key() {
    let dir = tempfile::tempdir().unwrap();
    {
        let env: &[(&str, &str)] = &[];
        let (status, err) = serve_everywhere(dir.path(), env);
        assert!(!status.success(), "started without a key ({env:?}): {err}");
        assert!(
            err.contains("0.0.0.0") && err.contains("API key") && err.contains("--api-key"),
            "the refusal should say why and what to do: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            !dir.path().join("weft.redb").exists(),
            "no store was created"
        );
    }

    // A key that is blank after trimming is no key at all: refused at start,
    // whatever the address.
    for blank in ["", "   ", "\t"] {
        let (status, err) = serve_everywhere(dir.path(), &[("WEFT_API_KEY", blank)]);
        assert!(
            !status.success(),
            "started with a blank key {blank:?}: {err}"
        );
        assert!(
            err.contains("API key is empty") && err.contains("--api-key"),
            "the refusal should say why: {err}"
        );
    }
    assert!(!dir.path().join("weft.redb").exists());

    // With a key (here from WEFT_API_KEY) it serves; reach it through 127.0.0.1.
    let comps = paths::component_set(&dir.path().join("c"), &["hello-sequence.wasm"]);
    let server = Server::builder(dir.path(), &comps)
        .listen_ip("0.0.0.0")
        .env("WEFT_API_KEY", KEY)
        .start();
    let open = server.api();
    open.start("HelloSequence", None, "").expect(401);
    let api = open.with_key(KEY);
    let id = api.start_ok("HelloSequence", None, "");
    assert_eq!(
        api.wait_output(&id, DEADLINE),
        json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );
}

/// The `Authorization` scheme is case-insensitive; whitespace is not a key.
#[test]
fn bearer_in_any_case_and_no_whitespace_keys() {
    let dir = tempfile::tempdir().unwrap();
    let comps = paths::component_set(&dir.path().join("c"), &["hello-sequence.wasm"]);
    let server = Server::builder(dir.path(), &comps)
        .args(&["--api-key", "  s3cret  "])
        .start();
    let api = server.api();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = call(&api, "GET", "instances", |b| {
            b.header("authorization", format!("{scheme} s3cret"))
        });
        assert_eq!(r.status, 200, "{scheme}: {}", r.body);
    }
    // The key was trimmed at start: the padded form is the same key.
    call(&api, "GET", "instances?code=s3cret", |b| b).expect(200);
    call(&api, "GET", "instances?code=+s3cret+", |b| b).expect(200);
    for wrong in [
        "instances?code=+",
        "instances?code=%20%20",
        "instances?code=",
    ] {
        let r = call(&api, "GET", wrong, |b| b);
        assert_eq!(r.status, 401, "{wrong}: {}", r.body);
    }
    let r = call(&api, "GET", "instances", |b| {
        b.header("authorization", "Basic s3cret")
    });
    assert_eq!(
        r.status, 401,
        "another scheme is not a bearer key: {}",
        r.body
    );
}
