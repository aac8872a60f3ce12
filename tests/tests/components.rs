//! Plugins deployed into a running host and versions pinned per
//! instance, over HTTP: deploy, list, show and remove components; an
//! instance started on v1 finishes on v1 (across a restart) while new
//! instances run v2; a component that unfinished instances need cannot be
//! removed; deleting a task hub leaves every component in place.

use reqwest::Method;
use serde_json::Value;
use std::time::Duration;
use weft_tests::http::{Api, Reply};
use weft_tests::paths;
use weft_tests::server::Server;

fn wasm(name: &str) -> Vec<u8> {
    std::fs::read(paths::test_components().join(name)).expect("built test component")
}

fn deploy(api: &Api, bytes: Vec<u8>) -> Reply {
    api.run(
        api.request(Method::POST, "components")
            .header("content-type", "application/wasm")
            .body(bytes),
    )
}

fn listed(api: &Api) -> Vec<Value> {
    let r = api.get("components");
    r.expect(200);
    r.json()["components"]
        .as_array()
        .expect("components")
        .clone()
}

fn digests(api: &Api) -> Vec<String> {
    listed(api)
        .iter()
        .map(|c| c["digest"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn deploy_pin_and_remove_components_in_a_running_host() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("no-components");
    std::fs::create_dir_all(&empty).unwrap();
    let mut server = Server::start(dir.path(), &empty);
    let api = server.api();
    assert!(digests(&api).is_empty());
    // Nothing serves `Versioned` yet.
    api.start("Versioned", Some("early"), "").expect(400);

    // Refusals change nothing.
    let r = deploy(&api, b"not a component".to_vec());
    r.expect(400);
    assert!(
        r.error().contains("not a valid Wasm component"),
        "{}",
        r.body
    );
    let r = api.run(
        api.request(Method::POST, "components")
            .header("content-type", "application/json")
            .body(wasm("versioned-v1.wasm")),
    );
    r.expect(415);
    assert!(r.error().contains("application/wasm"), "{}", r.body);
    let r = api.run(
        api.request(Method::POST, "components?check=true")
            .header("content-type", "application/wasm")
            .body(wasm("versioned-v1.wasm")),
    );
    r.expect(200);
    assert_eq!(r.json()["deployed"], false, "a check deploys nothing");
    deploy(&api, Vec::new()).expect(400);
    assert!(digests(&api).is_empty(), "a refused deploy stores nothing");

    // v1: 201, then the same bytes again: 200 with the same body.
    let first = deploy(&api, wasm("versioned-v1.wasm"));
    first.expect(201);
    let v1 = first.json()["digest"].as_str().unwrap().to_owned();
    assert!(v1.starts_with("sha256:"));
    assert_eq!(
        first.json()["orchestrators"],
        serde_json::json!(["Versioned", "Steps"])
    );
    assert_eq!(
        first.json()["activities"],
        serde_json::json!(["Which", "A"])
    );
    let again = deploy(&api, wasm("versioned-v1.wasm"));
    again.expect(200);
    assert_eq!(again.json(), first.json());
    assert_eq!(digests(&api), vec![v1.clone()]);

    let a = api.start_ok("Versioned", Some("a"), "");
    let s = api.wait_status(&a, "Running");
    assert_eq!(s["componentDigest"], v1);

    // v2 becomes current for new instances; `a` stays on v1.
    let r = deploy(&api, wasm("versioned-v2.wasm"));
    r.expect(201);
    let v2 = r.json()["digest"].as_str().unwrap().to_owned();
    assert_ne!(v1, v2);
    let b = api.start_ok("Versioned", Some("b"), "");
    assert_eq!(api.wait_status(&b, "Running")["componentDigest"], v2);
    assert_eq!(api.status(&a).json()["componentDigest"], v1);

    let all = listed(&api);
    assert_eq!(all.len(), 2);
    let of = |d: &str| all.iter().find(|c| c["digest"] == d).unwrap().clone();
    assert_eq!(of(&v1)["pinnedInstances"], 1);
    assert_eq!(
        of(&v1)["currentFor"]["orchestrators"],
        serde_json::json!([])
    );
    assert_eq!(
        of(&v2)["currentFor"]["orchestrators"],
        serde_json::json!(["Steps", "Versioned"])
    );
    let one = api.get(&format!("components/{v2}"));
    one.expect(200);
    assert_eq!(one.json()["pinnedInstances"], 1);
    api.get("components/sha256:0000").expect(404);

    // v1 is needed by `a`: refused, naming it.
    let r = api.delete(&format!("components/{v1}"));
    r.expect(409);
    assert!(r.error().contains("default/a"), "{}", r.body);

    // Versions and pins survive a restart (no components directory at all).
    server.kill();
    server.restart();
    assert_eq!(digests(&api).len(), 2);
    api.raise(&a, "Go", "null").expect(202);
    api.raise(&b, "Go", "null").expect(202);
    assert_eq!(api.wait_output(&a, Duration::from_secs(30)), "v1");
    assert_eq!(api.wait_output(&b, Duration::from_secs(30)), "v2");

    // Nothing needs v1 now.
    api.delete(&format!("components/{v1}")).expect(200);
    api.get(&format!("components/{v1}")).expect(404);
    api.delete(&format!("components/{v1}")).expect(404);
    assert_eq!(digests(&api), vec![v2.clone()]);

    // Components belong to the file, not to a task hub.
    api.delete("taskhubs/default").expect(200);
    assert_eq!(digests(&api), vec![v2.clone()]);
    let c = api.start_ok("Versioned", Some("c"), "");
    api.raise(&c, "Go", "null").expect(202);
    assert_eq!(api.wait_output(&c, Duration::from_secs(30)), "v2");
    server.assert_no_panics();
}

#[test]
fn removing_the_current_version_makes_the_previous_one_current() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("no-components");
    std::fs::create_dir_all(&empty).unwrap();
    let server = Server::start(dir.path(), &empty);
    let api = server.api();
    let v1 = deploy(&api, wasm("versioned-v1.wasm")).json()["digest"].clone();
    let v2 = deploy(&api, wasm("versioned-v2.wasm")).json()["digest"].clone();
    api.delete(&format!("components/{}", v2.as_str().unwrap()))
        .expect(200);
    let id = api.start_ok("Versioned", Some("back-to-v1"), "");
    assert_eq!(api.wait_status(&id, "Running")["componentDigest"], v1);
    api.raise(&id, "Go", "null").expect(202);
    assert_eq!(api.wait_output(&id, Duration::from_secs(30)), "v1");
}

#[test]
fn the_component_body_limit_is_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("no-components");
    std::fs::create_dir_all(&empty).unwrap();
    let server = Server::start_with(dir.path(), &empty, &["--max-component-size", "2MiB"]);
    let api = server.api();
    deploy(&api, wasm("versioned-v1.wasm")).expect(201);
    // Past the 1 MiB of the JSON routes the body is still read (and refused
    // for what it is)...
    let r = deploy(&api, vec![0u8; 1536 << 10]);
    r.expect(400);
    assert!(
        r.error().contains("not a valid Wasm component"),
        "{}",
        r.body
    );
    // ...and past its own limit the answer is 413, with nothing stored.
    deploy(&api, vec![0u8; 3 << 20]).expect(413);
    // (A new client: the server does not read the refused body, so that
    // connection cannot carry another request.)
    assert_eq!(digests(&server.api()).len(), 1);
}

#[test]
fn the_cli_deploys_lists_shows_removes_and_starts_on_a_named_version() {
    use weft_tests::cli;
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("no-components");
    std::fs::create_dir_all(&empty).unwrap();
    let server = Server::start(dir.path(), &empty);
    let api = server.api();
    let ep = server.endpoint();
    let v1_file = paths::test_components().join("versioned-v1.wasm");
    let v2_file = paths::test_components().join("versioned-v2.wasm");
    let (v1_path, v2_path) = (v1_file.to_str().unwrap(), v2_file.to_str().unwrap());

    let out = cli::json_ok(&cli::run(&ep, &["deploy", v1_path, v2_path]));
    assert_eq!(out[0]["created"], true);
    assert_eq!(out[1]["created"], true);
    let v1 = out[0]["digest"].as_str().unwrap().to_owned();
    let v2 = out[1]["digest"].as_str().unwrap().to_owned();
    let again = cli::json_ok(&cli::run(&ep, &["deploy", v1_path]));
    assert_eq!(again[0]["created"], false);
    assert_eq!(again[0]["digest"], v1.as_str());

    // A file that is not a component: a readable refusal, nothing stored.
    let bad = dir.path().join("bad.wasm");
    std::fs::write(&bad, b"\0asm but not really").unwrap();
    cli::fails(
        &cli::run(&ep, &["deploy", bad.to_str().unwrap()]),
        &["bad.wasm", "400", "not a valid Wasm component"],
    );
    cli::fails(
        &cli::run(&ep, &["deploy", "/no/such/file.wasm"]),
        &["cannot read"],
    );
    let listed = cli::json_ok(&cli::run(&ep, &["components"]));
    assert_eq!(listed["components"].as_array().unwrap().len(), 2);
    let shown = cli::json_ok(&cli::run(&ep, &["components", "show", &v2]));
    assert_eq!(
        shown["currentFor"]["orchestrators"],
        serde_json::json!(["Steps", "Versioned"])
    );

    // A start may name the version (a canary, or the old one).
    let started = cli::json_ok(&cli::run(
        &ep,
        &[
            "start-new",
            "--function-name",
            "Versioned",
            "--id",
            "on-v1",
            "--component-digest",
            &v1,
        ],
    ));
    assert_eq!(started["id"], "on-v1");
    assert_eq!(
        api.wait_status("on-v1", "Running")["componentDigest"],
        v1.as_str()
    );
    api.raise("on-v1", "Go", "null").expect(202);
    assert_eq!(api.wait_output("on-v1", Duration::from_secs(30)), "v1");
    // A digest that is not stored, or does not serve the name: 4xx, nothing created.
    let r = api.run(api.request(
        Method::POST,
        "orchestrators/Versioned/nope?componentDigest=sha256:0000",
    ));
    r.expect(404);
    let hello = deploy(
        &api,
        std::fs::read(paths::components().join("hello-sequence.wasm")).unwrap(),
    );
    let hello = hello.json()["digest"].as_str().unwrap().to_owned();
    let r = api.run(api.request(
        Method::POST,
        &format!("orchestrators/Versioned/nope?componentDigest={hello}"),
    ));
    r.expect(400);
    assert!(
        r.error()
            .contains("does not export orchestrator 'Versioned'"),
        "{}",
        r.body
    );
    api.status("nope").expect(404);

    let removed = cli::json_ok(&cli::run(&ep, &["components", "remove", &hello]));
    assert_eq!(removed["removed"], true);
    cli::fails(&cli::run(&ep, &["components", "remove", &hello]), &["404"]);
}

#[test]
fn a_watched_directory_deploys_components_that_appear_and_survives_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("watched");
    std::fs::create_dir_all(&watched).unwrap();
    let server = Server::start_with(dir.path(), &watched, &["--watch"]);
    let api = server.api();
    assert!(digests(&api).is_empty());

    std::fs::write(watched.join("broken.wasm"), b"garbage").unwrap();
    std::fs::copy(
        paths::test_components().join("versioned-v1.wasm"),
        watched.join("versioned.wasm"),
    )
    .unwrap();
    weft_tests::poll::until(
        "the watched component to be served",
        Duration::from_secs(30),
        || {
            let r = api.start("Versioned", Some("watched"), "");
            if r.status == 202 { Ok(()) } else { Err(r.body) }
        },
    );
    // The same file name changing to new bytes deploys them as the new current version.
    std::fs::copy(
        paths::test_components().join("versioned-v2.wasm"),
        watched.join("versioned.wasm"),
    )
    .unwrap();
    weft_tests::poll::until("v2 to be deployed", Duration::from_secs(30), || {
        let n = digests(&api).len();
        if n == 2 {
            Ok(())
        } else {
            Err(format!("{n} components"))
        }
    });
    api.raise("watched", "Go", "null").expect(202);
    assert_eq!(
        api.wait_output("watched", Duration::from_secs(30)),
        "v1",
        "pinned to v1"
    );
    let log = server.log();
    let at = log
        .find("component not loaded")
        .expect("the refusal is logged");
    let entry: String = log[at..].chars().take(2000).collect();
    assert!(
        entry.contains("broken.wasm"),
        "the refusal names the file: {entry}"
    );
    server.assert_no_panics();
}
