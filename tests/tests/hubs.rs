//! Task hubs (R-2.11, R-2.13): independent namespaces in one store, created by
//! a start and deleted with all their data, even with work in flight.

use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use weft_tests::cli::{self, json_ok};
use weft_tests::http::{Api, encode};
use weft_tests::server::{Server, serve};
use weft_tests::{paths, store};

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
        let s = api.wait_done_in(hub, "same");
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
    assert!(api.task_hubs().contains(&"HubA".to_owned()));

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
        !api.task_hubs().contains(&"HubZ".to_owned()),
        "reads do not create hubs"
    );

    let r = api.delete("taskhubs/HubA");
    r.expect(200);
    assert_eq!(r.json(), json!({"taskHub": "HubA", "deleted": true}));
    api.get("instances/same?taskHub=HubA").expect(404);
    api.get("instances?taskHub=HubA").expect(404);
    assert_eq!(api.wait_done_in("HubB", "same")["input"], "B");
    // The deleted instance's 1 s timer was due meanwhile; give it time to
    // (wrongly) fire, then check the hub stayed gone.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        api.task_hubs()
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
    api.wait_done_in("HubA", "fresh");
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
        api.task_hubs().iter().all(|h| h == "default"),
        "{:?}",
        api.task_hubs()
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
    api.wait_done_in("Staging", "s1");
    api.status("s1").expect(200);
    assert!(api.task_hubs().contains(&"Staging".to_owned()));
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
    assert_eq!(api.task_hubs(), ["default"], "the deleted hub came back");
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
    assert_eq!(api.task_hubs(), ["default"], "refused starts created hubs");
    api.get("instances?taskHub=HubQ").expect(404);
}
