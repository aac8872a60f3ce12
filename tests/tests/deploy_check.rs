//! A deploy checked against running instances before it happens:
//! `?check=true` / `weft deploy --check` names exactly the running instances
//! a changed component would break, deploying nothing; `?migrate=compatible`
//! / `--migrate` deploys and moves the others onto it, which then finish on
//! the new code while the diverging ones finish on the old.

use reqwest::Method;
use serde_json::Value;
use std::time::Duration;
use weft_tests::http::{Api, Reply};
use weft_tests::server::Server;
use weft_tests::{cli, paths};

fn file(name: &str) -> String {
    paths::test_components()
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

fn post(api: &Api, query: &str, name: &str) -> Reply {
    api.run(
        api.request(Method::POST, &format!("components{query}"))
            .header("content-type", "application/wasm")
            .body(std::fs::read(file(name)).unwrap()),
    )
}

fn verdicts(report: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = report["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .map(|i| {
            (
                i["instanceId"].as_str().unwrap().to_owned(),
                i["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

fn pair(id: &str, result: &str) -> (String, String) {
    (id.to_owned(), result.to_owned())
}

/// Waits until `id`'s history shows its first activity completed.
fn wait_recorded(api: &Api, id: &str) {
    weft_tests::poll::until(
        &format!("{id} to record A"),
        Duration::from_secs(30),
        || {
            let h = api.history(id);
            if h.iter().any(|e| e["eventType"] == "TaskCompleted") {
                Ok(())
            } else {
                Err(format!("{} events", h.len()))
            }
        },
    );
}

#[test]
fn check_names_the_instances_a_change_would_break_and_migrate_moves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("none");
    std::fs::create_dir_all(&empty).unwrap();
    let server = Server::start(dir.path(), &empty);
    let api = server.api();
    let ep = server.endpoint();
    let v1 = post(&api, "", "versioned-v1.wasm").json()["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    // x*: `A` recorded; y*: nothing recorded yet; z: an orchestrator v3 does not serve.
    for id in ["x1", "x2"] {
        api.start_ok("Steps", Some(id), "1");
    }
    for id in ["y1", "y2"] {
        api.start_ok("Steps", Some(id), "0");
    }
    api.start_ok("Versioned", Some("z"), "");
    for id in ["x1", "x2"] {
        wait_recorded(&api, id);
    }
    for id in ["y1", "y2", "z"] {
        api.wait_status(id, "Running");
    }

    // The check deploys nothing and names exactly x1 and x2.
    let r = post(&api, "?check=true", "versioned-v3.wasm");
    r.expect(200);
    let report = r.json();
    assert_eq!(report["deployed"], false);
    assert_eq!(
        verdicts(&report),
        vec![
            pair("x1", "diverges"),
            pair("x2", "diverges"),
            pair("y1", "compatible"),
            pair("y2", "compatible"),
        ]
    );
    assert_eq!(report["checked"], 4);
    assert_eq!(report["compatible"], 2);
    assert_eq!(report["diverges"], 2);
    let x1 = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instanceId"] == "x1")
        .unwrap();
    assert!(x1["historyIndex"].as_u64().is_some(), "{x1}");
    assert!(x1["recorded"].as_str().unwrap().contains("'A'"), "{x1}");
    assert!(x1["attempted"].as_str().unwrap().contains("'B'"), "{x1}");
    assert!(
        x1["message"].as_str().unwrap().contains("history event"),
        "the same wording as weft.Nondeterminism: {x1}"
    );
    let listed = api.get("components").json();
    assert_eq!(listed["components"].as_array().unwrap().len(), 1);
    for id in ["x1", "y1"] {
        assert_eq!(api.status(id).json()["componentDigest"], v1.as_str());
    }

    // The CLI: exit 2 when anything would diverge, 0 when nothing would.
    let out = cli::run(&ep, &["deploy", "--check", &file("versioned-v3.wasm")]);
    assert_eq!(out.status.code(), Some(2), "{}", cli::text(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed[0]["diverges"], 2);
    assert!(cli::text(&out.stderr).contains("would diverge"));
    let ok = cli::json_ok(&cli::run(
        &ep,
        &["deploy", "--check", &file("versioned-v2.wasm")],
    ));
    assert_eq!(ok[0]["checked"], 5, "v2 serves Steps and Versioned");
    assert_eq!(ok[0]["diverges"], 0);

    // Bad requests change nothing.
    post(&api, "?migrate=everything", "versioned-v3.wasm").expect(400);
    post(&api, "?check=true&migrate=compatible", "versioned-v3.wasm").expect(400);
    let garbage = api.run(
        api.request(Method::POST, "components?check=true")
            .header("content-type", "application/wasm")
            .body(b"nope".to_vec()),
    );
    garbage.expect(400);
    assert_eq!(
        api.get("components").json()["components"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Migrate: deploys v3 and moves y1 and y2; x1 and x2 stay on v1.
    let r = post(&api, "?migrate=compatible", "versioned-v3.wasm");
    r.expect(200);
    let report = r.json();
    assert_eq!(report["deployed"], true);
    assert_eq!(report["migrated"], 2);
    let v3 = report["digest"].as_str().unwrap().to_owned();
    for (id, digest) in [
        ("x1", &v1),
        ("x2", &v1),
        ("y1", &v3),
        ("y2", &v3),
        ("z", &v1),
    ] {
        assert_eq!(
            api.status(id).json()["componentDigest"],
            digest.as_str(),
            "{id}"
        );
    }
    // Listing (and the CLI) filter by the version instances run on.
    let on_v3 = api.get(&format!("instances?componentDigest={v3}"));
    on_v3.expect(200);
    assert_eq!(weft_tests::http::ids(&on_v3.json()), vec!["y1", "y2"]);
    let on_v1 = cli::json_ok(&cli::run(
        &ep,
        &["get-instances", "--component-digest", &v1, "--top", "2"],
    ));
    assert_eq!(weft_tests::http::ids(&on_v1["instances"]), vec!["x1", "x2"]);
    assert!(
        on_v1["continuationToken"].is_string(),
        "z is on the next page"
    );
    for id in ["x1", "x2", "y1", "y2", "z"] {
        api.raise(id, "Go", "null").expect(202);
    }
    for (id, answer) in [
        ("x1", "v1"),
        ("x2", "v1"),
        ("y1", "v3"),
        ("y2", "v3"),
        ("z", "v1"),
    ] {
        assert_eq!(
            api.wait_output(id, Duration::from_secs(30)),
            answer,
            "{id} finishes on the version it runs on"
        );
    }
    // Purge by filter honours the component too.
    let purged = api.delete(&format!(
        "instances?createdTimeFrom=2000-01-01T00:00:00Z&componentDigest={v3}"
    ));
    purged.expect(200);
    assert_eq!(purged.json()["instancesDeleted"], 2);
    api.status("y1").expect(404);
    api.status("x1").expect(200);
    server.assert_no_panics();
}
