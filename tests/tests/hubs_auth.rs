//! Task hubs (R-2.11, R-2.13) and the API key (R-3.6): hubs are independent
//! namespaces, created by a start and deleted with all their data; once a key
//! is configured every route wants it, and `weft serve` refuses to listen
//! beyond loopback without one.

use reqwest::Method;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;
use weft_tests::cli::{self, json_ok};
use weft_tests::http::{Api, Reply, encode};
use weft_tests::poll::{self, DEADLINE};
use weft_tests::server::{Server, serve};
use weft_tests::{paths, store};

/// A key with characters that must be percent-encoded in `code=`.
const KEY: &str = "k3y+/=&x";

fn hubs(api: &Api) -> Vec<String> {
    let r = api.get("taskhubs");
    r.expect(200);
    r.json()["taskHubs"]
        .as_array()
        .expect("taskHubs")
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect()
}

/// Polls `GET instances/{id}?taskHub={hub}` until it answers 200.
fn wait_done_in(api: &Api, hub: &str, id: &str) -> Value {
    poll::until(&format!("{hub}/{id} to finish"), DEADLINE, || {
        let r = api.get(&format!("instances/{id}?taskHub={hub}"));
        match r.status {
            200 => Ok(r.json()),
            _ => Err(format!("{} {}", r.status, r.body)),
        }
    })
}

#[test]
fn hubs_are_independent_and_deleting_one_leaves_the_others() {
    let (_dir, mut server) = serve(&paths::components(), &[]);
    let api = server.api();
    for (hub, input) in [("HubA", "\"A\""), ("HubB", "\"B\"")] {
        let r = api.post(
            &format!("orchestrators/HelloSequence/same?taskHub={hub}"),
            input,
        );
        r.expect(202);
        let status_uri = r.json()["statusQueryGetUri"].as_str().unwrap().to_owned();
        assert!(
            status_uri.ends_with(&format!("?taskHub={hub}")),
            "{status_uri}"
        );
        let s = wait_done_in(&api, hub, "same");
        assert_eq!(
            (&s["runtimeStatus"], &s["input"]),
            (&json!("Completed"), &json!(input.trim_matches('"')))
        );
        assert_eq!(
            api.get_url(&status_uri).json(),
            s,
            "the status URL names the hub"
        );
    }
    api.status("same").expect(404);
    // In flight when its hub is deleted: must not bring the hub back.
    api.post(
        "orchestrators/Approval/pending?taskHub=HubA",
        r#"{"timeoutSeconds":1}"#,
    )
    .expect(202);
    assert_eq!(ids_in(&api, "HubA"), ["same", "pending"]);
    assert_eq!(ids_in(&api, "HubB"), ["same"]);
    assert!(hubs(&api).contains(&"HubA".to_owned()));

    // Unknown hub: 404 for everything but a start.
    for (method, path) in [
        (Method::GET, "instances/same?taskHub=HubZ"),
        (Method::GET, "instances?taskHub=HubZ"),
        (Method::GET, "instances/same/history?taskHub=HubZ"),
        (Method::DELETE, "instances/same?taskHub=HubZ"),
        (
            Method::DELETE,
            "instances?taskHub=HubZ&createdTimeFrom=2000-01-01",
        ),
        (Method::POST, "instances/same/terminate?taskHub=HubZ"),
        (
            Method::POST,
            "instances/same/raiseEvent/Approval?taskHub=HubZ",
        ),
        (Method::DELETE, "taskhubs/HubZ"),
    ] {
        let r = api.run(api.request(method.clone(), path));
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
    }
    assert!(
        !hubs(&api).contains(&"HubZ".to_owned()),
        "reads do not create hubs"
    );

    let r = api.delete("taskhubs/HubA");
    r.expect(200);
    assert_eq!(r.json(), json!({"taskHub": "HubA", "deleted": true}));
    api.get("instances/same?taskHub=HubA").expect(404);
    api.get("instances?taskHub=HubA").expect(404);
    assert_eq!(wait_done_in(&api, "HubB", "same")["input"], "B");
    // The deleted instance's 1 s timer was due meanwhile; give it time to
    // (wrongly) fire, then check the hub stayed gone.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        hubs(&api)
            .iter()
            .filter(|h| h.starts_with("Hub"))
            .collect::<Vec<_>>(),
        ["HubB"]
    );

    // The CLI deletes hubs too; a second delete is a 404.
    api.post("orchestrators/HelloSequence/c1?taskHub=HubC", "")
        .expect(202);
    // (c1 may still be running: deleting abandons it.)
    let ep = server.endpoint();
    let v = json_ok(&cli::run(
        &ep,
        &["delete-task-hub", "--task-hub-name", "HubC"],
    ));
    assert_eq!(v, json!({"taskHub": "HubC", "deleted": true}));
    cli::fails(
        &cli::run(&ep, &["delete-task-hub", "--task-hub-name", "HubC"]),
        &["404", "HubC"],
    );
    cli::fails(&cli::run(&ep, &["delete-task-hub"]), &["--task-hub-name"]);
    let v = json_ok(&cli::run(
        &ep,
        &[
            "get-runtime-status",
            "--id",
            "same",
            "--task-hub-name",
            "HubB",
        ],
    ));
    assert_eq!(v["input"], "B");
    api.get("instances/c1?taskHub=HubC").expect(404);

    // A start recreates a deleted hub, empty but for the new instance.
    api.post("orchestrators/HelloSequence/fresh?taskHub=HubA", "")
        .expect(202);
    wait_done_in(&api, "HubA", "fresh");
    assert_eq!(ids_in(&api, "HubA"), ["fresh"]);

    assert!(server.stop().success());
    server.assert_no_panics();
    let stored = store::hubs(server.store());
    assert!(
        stored.contains(&"HubA".into()) && stored.contains(&"HubB".into()),
        "{stored:?}"
    );
    assert!(!stored.contains(&"HubC".into()), "{stored:?}");
    assert_eq!(store::instance_count(server.store(), "HubA"), 1);
    assert_eq!(store::instance_count(server.store(), "HubB"), 1);
}

fn ids_in(api: &Api, hub: &str) -> Vec<String> {
    api.list_ids(&format!("?taskHub={hub}"))
}

#[test]
fn hub_names_breaking_the_rule_are_400_and_create_nothing() {
    let (_dir, server) = serve(&paths::components(), &[]);
    let api = server.api();
    let long = format!("H{}", "a".repeat(45));
    for bad in ["ab", "1abc", "hub-a", "hub_a", "Hüb", long.as_str()] {
        let q = format!("taskHub={}", encode(bad));
        for r in [
            api.post(&format!("orchestrators/HelloSequence/x?{q}"), ""),
            api.get(&format!("instances/x?{q}")),
            api.get(&format!("instances?{q}")),
            api.delete(&format!("taskhubs/{}", encode(bad))),
        ] {
            assert_eq!(r.status, 400, "hub {bad:?}: {}", r.body);
            assert!(r.error().contains("task hub"), "{}", r.error());
        }
    }
    assert!(
        hubs(&api).iter().all(|h| h == "default"),
        "{:?}",
        hubs(&api)
    );
    // `weft serve --task-hub-name` sets the hub of requests that name none.
    let dir = tempfile::tempdir().unwrap();
    let other = Server::start_with(
        dir.path(),
        &paths::components(),
        &["--task-hub-name", "Staging"],
    );
    let api = other.api();
    let r = api.start("HelloSequence", Some("s1"), "");
    assert!(
        r.json()["statusQueryGetUri"]
            .as_str()
            .unwrap()
            .contains("taskHub=Staging")
    );
    wait_done_in(&api, "Staging", "s1");
    api.status("s1").expect(200);
    assert!(hubs(&api).contains(&"Staging".to_owned()));
}

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
    wait_done_in(&keyed, "Spare", "s");

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
    assert_eq!(hubs(&keyed), ["Spare", "default"]);

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
    for env in [&[][..], &[("WEFT_API_KEY", "")][..]] {
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

#[test]
fn deleting_a_hub_with_work_in_flight_leaves_nothing_behind() {
    let (_dir, mut server) = serve(&paths::components(), &[]);
    let api = server.api();
    std::thread::scope(|s| {
        for i in 0..20 {
            let api = api.clone();
            s.spawn(move || {
                api.post(
                    &format!("orchestrators/FanOutFanIn/f{i}?taskHub=HubX"),
                    "50",
                )
                .expect(202);
            });
        }
    });
    api.delete("taskhubs/HubX").expect(200);
    // The abandoned work needs a moment to run into the deletion: wait, then
    // check that nothing brought the hub back (a sleep to prove a negative).
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(hubs(&api), ["default"], "the deleted hub came back");
    api.get("instances?taskHub=HubX").expect(404);
    assert!(server.stop().success());
    server.assert_no_panics();
    assert!(!store::hubs(server.store()).contains(&"HubX".into()));
}

#[test]
fn a_refused_start_does_not_create_its_hub() {
    let (_dir, server) = serve(&paths::components(), &[]);
    let api = server.api();
    api.post("orchestrators/NoSuch?taskHub=HubQ", "")
        .expect(400);
    api.post("orchestrators/HelloSequence?taskHub=HubR", "{bad")
        .expect(400);
    api.post("orchestrators/HelloSequence/%40x?taskHub=HubS", "")
        .expect(400);
    assert_eq!(hubs(&api), ["default"], "refused starts created hubs");
    api.get("instances?taskHub=HubQ").expect(404);
}
