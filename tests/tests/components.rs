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
    r.expect(501);
    deploy(&api, Vec::new()).expect(400);
    assert!(digests(&api).is_empty(), "a refused deploy stores nothing");

    // v1: 201, then the same bytes again: 200 with the same body.
    let first = deploy(&api, wasm("versioned-v1.wasm"));
    first.expect(201);
    let v1 = first.json()["digest"].as_str().unwrap().to_owned();
    assert!(v1.starts_with("sha256:"));
    assert_eq!(
        first.json()["orchestrators"],
        serde_json::json!(["Versioned"])
    );
    assert_eq!(first.json()["activities"], serde_json::json!(["Which"]));
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
        serde_json::json!(["Versioned"])
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
    assert_eq!(digests(&api).len(), 1);
}
