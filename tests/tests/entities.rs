//! Durable entities and critical sections, end to end over HTTP on the real
//! binary: the counter and critical-section examples, the entities test
//! program (rollback, hostile operations, signals and starts from
//! operations, locking rules, releases on every ending, locks across a
//! SIGKILL), the HTTP refusals, and the CLI.

use serde_json::{Value, json};
use weft_tests::http::Api;
use weft_tests::poll::{self, DEADLINE};
use weft_tests::server::Server;
use weft_tests::{cli, history, paths, store};

/// Small limits so hostile operations stop quickly.
const LIMITS: &[&str] = &[
    "--orchestrator-turn-limit",
    "300ms",
    "--orchestrator-memory",
    "32MiB",
];

fn serve(files: &[&str], extra: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let components = paths::component_set(&dir.path().join("components"), files);
    let server = Server::start_with(dir.path(), &components, extra);
    (dir, server)
}

fn probe_input(entity: &str, operation: &str, input: Value) -> String {
    json!({"entity": entity, "operation": operation, "input": input}).to_string()
}

/// Runs `CallProbe` and returns the finished status body.
fn call_probe(api: &Api, id: &str, entity: &str, operation: &str, input: Value) -> Value {
    let id = api.start_ok(
        "CallProbe",
        Some(id),
        &probe_input(entity, operation, input),
    );
    api.wait_done(&id, DEADLINE)
}

#[test]
fn counter_example_is_signalled_over_http_and_read_back() {
    let (_dir, server) = serve(&["counter.wasm"], &[]);
    let api = server.api();
    for n in [5, 7, 30] {
        api.signal("Counter", "c1", "add", &n.to_string())
            .expect(202);
    }
    api.wait_entity("counter", "c1", &json!(42));
    // The name is case-insensitive; the key is not.
    assert_eq!(api.entity("COUNTER", "c1").expect(200).json(), json!(42));
    assert_eq!(api.entity("counter", "C1").status, 404);
    api.signal("counter", "c1", "reset", "").expect(202);
    api.wait_entity("counter", "c1", &json!(0));

    // An orchestrator signals 50 times, then calls `get`.
    let id = api.start_ok("CountTo", Some("count-to"), r#"{"key":"c2","n":50}"#);
    assert_eq!(api.wait_output(&id, DEADLINE), json!(50));
    let h = api.history(&id);
    let count = |t: &str| h.iter().filter(|e| e["eventType"] == t).count();
    assert_eq!(count("EntityOperationSignaled"), 50);
    assert_eq!(count("EntityOperationCalled"), 1);
    assert_eq!(count("EntityOperationCompleted"), 1);

    // List: both counters, with state on request; a name filter.
    let list = api.get("entities?fetchState=true").expect(200).json();
    let items = list.as_array().expect("an array");
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(
        items[0]["entityId"],
        json!({"name": "counter", "key": "c1"})
    );
    assert_eq!(items[0]["state"], json!(0));
    assert_eq!(items[1]["state"], json!(50));
    assert!(items[0]["lastOperationTime"].is_string());
    let bare = api.get("entities/counter").expect(200).json();
    assert!(bare[0].get("state").is_none(), "{bare}");
    let page = api.get("entities/counter?top=1");
    page.expect(200);
    assert_eq!(page.json().as_array().unwrap().len(), 1);
    let token = page.header("x-ms-continuation-token").expect("a next page");
    let next = api.run(
        api.request(reqwest::Method::GET, "entities/counter?top=1")
            .header("x-ms-continuation-token", token),
    );
    assert_eq!(next.expect(200).json()[0]["entityId"]["key"], "c2");

    // DELETE signals `delete`: the entity is gone, and cleaning removes its row.
    api.delete("entities/counter/c1").expect(202);
    poll::until("c1 to be deleted", DEADLINE, || {
        match api.entity("counter", "c1").status {
            404 => Ok(()),
            s => Err(s.to_string()),
        }
    });
    let cleaned = api.delete("entities").expect(200).json();
    assert_eq!(cleaned["emptyEntitiesRemoved"], 1, "{cleaned}");
    assert_eq!(api.get("entities").json().as_array().unwrap().len(), 1);
}

#[test]
fn bad_entity_requests_are_refused_and_change_nothing() {
    let (_dir, server) = serve(&["counter.wasm"], &[]);
    let api = server.api();
    let r = api.signal("counter", "a#b", "add", "1");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.error().contains("'#'"), "{}", r.error());
    let r = api.post("entities/counter/k", "1".to_owned());
    assert_eq!(r.status, 400);
    assert!(r.error().contains("op"), "{}", r.error());
    let r = api.signal("nosuch", "k", "add", "1");
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(
        r.error().contains("counter"),
        "names the served ones: {}",
        r.error()
    );
    let r = api.signal("counter", "k", "add", "{not json");
    assert_eq!(r.status, 400);
    let r = api.get("entities?top=0");
    assert_eq!(r.status, 400);
    let r = api.run(
        api.request(reqwest::Method::GET, "entities")
            .header("x-ms-continuation-token", "not-an-entity"),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(api.get("entities").expect(200).json(), json!([]));
    // `$` is the empty key, on every route.
    api.signal("counter", "$", "add", "3").expect(202);
    api.wait_entity("counter", "$", &json!(3));
    let list = api.get("entities?fetchState=true").json();
    assert_eq!(
        list[0]["entityId"],
        json!({"name": "counter", "key": ""}),
        "{list}"
    );
}

#[test]
fn transfers_conserve_the_total_and_never_overdraw() {
    let (dir, mut server) = serve(&["critical-section.wasm"], &[]);
    let api = server.api();
    for a in 0..5 {
        api.signal("Account", &format!("a{a}"), "deposit", "100")
            .expect(202);
    }
    for a in 0..5 {
        api.wait_entity("account", &format!("a{a}"), &json!(100));
    }
    let mut ids = Vec::new();
    for n in 0..40u32 {
        let (from, to) = (n % 5, (n * 3 + 1) % 5);
        let input =
            json!({"from": format!("a{from}"), "to": format!("a{to}"), "amount": 10 + n % 50});
        ids.push(api.start_ok("Transfer", Some(&format!("t{n}")), &input.to_string()));
    }
    let mut moved = 0;
    for id in &ids {
        let out = api.wait_output(id, DEADLINE);
        if out["transferred"] == true {
            moved += 1;
        }
    }
    assert!(moved > 0);
    let keys: Vec<String> = (0..5).map(|a| format!("a{a}")).collect();
    let b = api.start_ok(
        "Balance",
        Some("balance"),
        &json!({"keys": keys}).to_string(),
    );
    assert_eq!(api.wait_output(&b, DEADLINE), json!(500));
    // Overdrawing fails only that operation; the balance is unchanged.
    let t = api.start_ok(
        "Transfer",
        Some("too-much"),
        r#"{"from":"a0","to":"a1","amount":100000}"#,
    );
    assert_eq!(api.wait_output(&t, DEADLINE)["transferred"], false);
    server.stop();
    for e in store::entities(server.store()) {
        assert!(e.locked_by.is_none(), "{} still locked: {e:?}", e.entity);
        let balance: i64 = serde_json::from_str(e.state.as_ref().unwrap().as_str()).unwrap();
        assert!(balance >= 0, "{} overdrawn: {balance}", e.entity);
    }
    // Every history is well formed and replays byte for byte, hot and replayed.
    let host = store::InProcess::open(server.store(), &dir.path().join("components"));
    for id in ids
        .iter()
        .map(String::as_str)
        .chain(["balance", "too-much"])
    {
        let h = host.history(id);
        history::assert_well_formed(id, &h);
        history::assert_all_resolved(id, &h);
        host.check_replay(id)
            .unwrap_or_else(|e| panic!("{id} does not replay: {e}"));
    }
}

#[test]
fn the_locking_rules_fail_each_violation_with_a_clear_error() {
    let (_dir, server) = serve(&["entities-test.wasm"], &[]);
    let api = server.api();
    let id = api.start_ok("Rules", Some("rules"), r#""r""#);
    let v = "weft.LockingRulesViolation";
    assert_eq!(api.wait_output(&id, DEADLINE), json!([v, v, v, v, "ok", v]));
    // The section was released: another section gets the same locks.
    let id = api.start_ok(
        "HoldLocks",
        Some("after-rules"),
        r#"{"entities":["@probe@r-a","@probe@r-b"],"event":"go"}"#,
    );
    api.wait_for(&id, "holding the locks", DEADLINE, |s| {
        s["runtimeStatus"] == "Running"
    });
    poll::until("the locks to be granted", DEADLINE, || {
        let h = api.history(&id);
        match h.iter().any(|e| e["eventType"] == "EntityLockGranted") {
            true => Ok(()),
            false => Err(format!("{h:?}")),
        }
    });
    api.raise(&id, "go", "null").expect(202);
    api.wait_done(&id, DEADLINE);
}

#[test]
fn a_failing_operation_rolls_back_and_fails_only_its_caller() {
    let (_dir, server) = serve(&["entities-test.wasm"], LIMITS);
    let api = server.api();
    let e = "@probe@rb";
    let s = call_probe(&api, "set", e, "set", json!(1));
    assert_eq!(s["runtimeStatus"], "Completed", "{s}");
    let s = call_probe(&api, "fail", e, "fail", json!("no"));
    assert_eq!(s["runtimeStatus"], "Failed", "{s}");
    assert!(s["output"].to_string().contains("test.Failed"), "{s}");
    let s = call_probe(&api, "get", e, "get", json!(null));
    assert_eq!(
        s["output"],
        json!(1),
        "the failed operation's state was kept: {s}"
    );
    // Hostile operations stop at the limits and fail only themselves.
    for (op, error) in [
        ("spin", "weft.CpuLimitExceeded"),
        ("alloc", "weft.MemoryLimitExceeded"),
    ] {
        let s = call_probe(&api, op, e, op, json!(null));
        assert_eq!(s["runtimeStatus"], "Failed", "{s}");
        assert!(s["output"].to_string().contains(error), "{op}: {s}");
    }
    let s = call_probe(&api, "get-after", e, "get", json!(null));
    assert_eq!(s["output"], json!(1), "{s}");
    // An unknown operation is named.
    let s = call_probe(&api, "unknown-op", e, "frobnicate", json!(null));
    assert!(
        s["output"].to_string().contains("weft.OperationNotFound"),
        "{s}"
    );
    server.assert_no_panics();
}

#[test]
fn operations_signal_entities_and_start_orchestrations_after_they_commit() {
    let (_dir, server) = serve(&["entities-test.wasm"], &[]);
    let api = server.api();
    api.signal(
        "probe",
        "sender",
        "signal",
        &json!({"entity": "@probe@receiver", "operation": "set", "input": "hello"}).to_string(),
    )
    .expect(202);
    api.wait_entity("probe", "receiver", &json!("hello"));
    // A body that is not sent as JSON is the input as a JSON string.
    api.run(
        api.request(reqwest::Method::POST, "entities/probe/text?op=set")
            .header("content-type", "text/plain")
            .body("plain words"),
    )
    .expect(202);
    api.wait_entity("probe", "text", &json!("plain words"));
    api.signal(
        "probe",
        "starter",
        "start",
        &json!({"name": "Noop", "instance_id": "from-entity", "input": null}).to_string(),
    )
    .expect(202);
    let s = api.wait_done("from-entity", DEADLINE);
    assert_eq!(s["runtimeStatus"], "Completed", "{s}");
    // Operations on one entity run in arrival order.
    for n in 0..30 {
        api.signal("probe", "order", "append", &n.to_string())
            .expect(202);
    }
    let expected: Vec<u32> = (0..30).collect();
    api.wait_entity("probe", "order", &json!(expected));
    // The clock an operation reads is the host's time of its batch.
    let before = weft_core::Timestamp::now().millis();
    let s = call_probe(&api, "clock", "@probe@clock", "echo_clock", json!(null));
    let now = s["output"]["now"].as_u64().expect("a time");
    assert!(
        now >= before.saturating_sub(1000) && now <= weft_core::Timestamp::now().millis(),
        "{s}"
    );
}

#[test]
fn locks_are_released_when_the_holder_fails_or_is_terminated() {
    let (_dir, server) = serve(&["entities-test.wasm"], &[]);
    let api = server.api();
    let hold = |id: &str, e: &str| {
        api.start_ok(
            "HoldLocks",
            Some(id),
            &json!({"entities": [e], "event": "go"}).to_string(),
        )
    };
    let granted = |id: &str| {
        poll::until("the lock to be granted", DEADLINE, || {
            match api
                .history(id)
                .iter()
                .any(|e| e["eventType"] == "EntityLockGranted")
            {
                true => Ok(()),
                false => Err(api.status(id).body),
            }
        })
    };
    // Terminate.
    hold("holder", "@probe@t");
    granted("holder");
    let waiting = api.start_ok(
        "CallProbe",
        Some("waiter"),
        &probe_input("@probe@t", "set", json!(7)),
    );
    api.wait_for(&waiting, "the call to wait", DEADLINE, |s| {
        s["runtimeStatus"] == "Running"
    });
    assert_eq!(
        api.entity("probe", "t").status,
        404,
        "the call waits for the lock"
    );
    api.control("holder", "terminate", "").expect(202);
    assert_eq!(
        api.wait_done(&waiting, DEADLINE)["runtimeStatus"],
        "Completed"
    );
    api.wait_entity("probe", "t", &json!(7));

    // Failure with the guard never dropped: the host releases.
    let id = api.start_ok(
        "LockThenFail",
        Some("fails"),
        r#"{"entities":["@probe@f"]}"#,
    );
    assert_eq!(api.wait_done(&id, DEADLINE)["runtimeStatus"], "Failed");
    let s = call_probe(&api, "after-fail", "@probe@f", "set", json!(8));
    assert_eq!(s["runtimeStatus"], "Completed", "{s}");
}

#[test]
fn a_lock_survives_a_sigkill_with_the_same_holder() {
    let (_dir, mut server) = serve(&["entities-test.wasm"], &[]);
    let api = server.api();
    let id = api.start_ok(
        "HoldLocks",
        Some("holder"),
        r#"{"entities":["@probe@k"],"event":"go"}"#,
    );
    poll::until("the lock to be granted", DEADLINE, || {
        match api
            .history(&id)
            .iter()
            .any(|e| e["eventType"] == "EntityLockGranted")
        {
            true => Ok(()),
            false => Err(api.status(&id).body),
        }
    });
    let w = api.start_ok(
        "CallProbe",
        Some("waiter"),
        &probe_input("@probe@k", "set", json!(1)),
    );
    api.wait_for(&w, "the call to wait", DEADLINE, |s| {
        s["runtimeStatus"] == "Running"
    });
    server.kill();
    let locked: Vec<_> = store::entities(server.store())
        .into_iter()
        .filter(|e| e.locked_by.is_some())
        .collect();
    assert_eq!(locked.len(), 1, "{locked:?}");
    assert_eq!(
        locked[0].locked_by.as_ref().unwrap().instance_id.as_str(),
        "holder"
    );
    server.restart();
    let api = server.api();
    assert_eq!(api.status(&w).json()["runtimeStatus"], "Running");
    api.raise(&id, "go", "null").expect(202);
    assert_eq!(api.wait_done(&w, DEADLINE)["runtimeStatus"], "Completed");
    api.wait_entity("probe", "k", &json!(1));
}

#[test]
fn cli_signals_reads_and_lists_entities() {
    let (_dir, server) = serve(&["counter.wasm"], &[]);
    let ep = server.endpoint();
    let out = cli::run(
        &ep,
        &[
            "signal-entity",
            "--name",
            "Counter",
            "--key",
            "x",
            "--operation",
            "add",
            "--input",
            "4",
        ],
    );
    assert!(out.status.success(), "{}", cli::text(&out.stderr));
    server.api().wait_entity("counter", "x", &json!(4));
    let state = cli::json_ok(&cli::run(
        &ep,
        &["get-entity", "--name", "counter", "--key", "x"],
    ));
    assert_eq!(state, json!(4));
    let list = cli::json_ok(&cli::run(&ep, &["get-entities", "--fetch-state"]));
    assert_eq!(list["entities"][0]["state"], json!(4), "{list}");
    cli::fails(
        &cli::run(&ep, &["get-entity", "--name", "counter", "--key", "none"]),
        &["404"],
    );
    cli::fails(
        &cli::run(
            &ep,
            &[
                "signal-entity",
                "--name",
                "counter",
                "--key",
                "x",
                "--operation",
                "add",
                "--input",
                "{",
            ],
        ),
        &["--input"],
    );
}

/// Issue 9 §5: 200 concurrent transfers between 10 accounts, the server
/// SIGKILLed three times while they run: the total is conserved, no account
/// goes negative, every transfer ends, and no lock outlives its holder.
#[test]
fn transfers_survive_repeated_sigkills() {
    const ACCOUNTS: u32 = 10;
    const TRANSFERS: u32 = 200;
    let (_dir, mut server) = serve(&["critical-section.wasm"], &[]);
    let api = server.api();
    for a in 0..ACCOUNTS {
        api.signal("account", &format!("a{a}"), "deposit", "100")
            .expect(202);
    }
    for a in 0..ACCOUNTS {
        api.wait_entity("account", &format!("a{a}"), &json!(100));
    }
    let input = |n: u32| {
        let (from, to) = (n % ACCOUNTS, (n * 7 + 3) % ACCOUNTS);
        json!({"from": format!("a{from}"), "to": format!("a{to}"), "amount": 1 + (n * 13) % 60})
            .to_string()
    };
    let mut todo: Vec<u32> = (0..TRANSFERS).collect();
    for round in 0..4u64 {
        let api = server.api();
        // Three rounds end in a SIGKILL, each once more transfers finished
        // (40, 90, 140), while starts arrive and transfers hold locks.
        let killer = (round < 3).then(|| {
            let pid = server.pid();
            let watcher = Api::new(&server.endpoint());
            let target = 40 + 50 * round as usize;
            std::thread::spawn(move || {
                poll::until(
                    "transfers to finish before the kill",
                    DEADLINE,
                    || match watcher.list("?runtimeStatus=Completed", None) {
                        r if r.status == 200
                            && r.json().as_array().map_or(0, Vec::len) >= target =>
                        {
                            Ok(())
                        }
                        r => Err(format!("{} {}", r.status, r.body.len())),
                    },
                );
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            })
        });
        let mut left = Vec::new();
        for &n in &todo {
            match api.try_start("Transfer", Some(&format!("t{n}")), &input(n)) {
                // 409: started before a kill took the answer.
                Ok(r) if r.status == 202 || r.status == 409 => {}
                Ok(r) => panic!("start t{n}: {} {}", r.status, r.body),
                Err(_) => left.push(n),
            }
        }
        todo = left;
        if let Some(k) = killer {
            k.join().unwrap();
            server.kill(); // reaps the killed process
            let stored = store::instances(server.store());
            let done = stored.iter().filter(|s| s.status.is_terminal()).count();
            let locked = store::entities(server.store())
                .iter()
                .filter(|e| e.locked_by.is_some())
                .count();
            eprintln!(
                "kill {}: {} transfers stored, {done} finished, {} to start, {locked} accounts locked",
                round + 1,
                stored.len(),
                todo.len()
            );
            server.restart();
        }
    }
    assert!(todo.is_empty(), "never started: {todo:?}");
    let api = server.api();
    let mut moved = 0;
    for n in 0..TRANSFERS {
        let s = api.wait_done(&format!("t{n}"), std::time::Duration::from_secs(120));
        assert_eq!(s["runtimeStatus"], "Completed", "t{n}: {s}");
        moved += usize::from(s["output"]["transferred"] == true);
    }
    assert!(
        moved > TRANSFERS as usize / 4,
        "only {moved} transfers moved money"
    );
    server.stop();
    let entities = store::entities(server.store());
    assert_eq!(entities.len(), ACCOUNTS as usize);
    let mut total = 0;
    for e in &entities {
        assert!(e.locked_by.is_none(), "{} still locked: {e:?}", e.entity);
        let balance: i64 = serde_json::from_str(e.state.as_ref().unwrap().as_str()).unwrap();
        assert!(balance >= 0, "{} overdrawn: {balance}", e.entity);
        total += balance;
    }
    assert_eq!(total, 100 * ACCOUNTS as i64, "money was created or lost");
}

/// A rewind voids the failed entity call and calls the operation again: the
/// instance ends again (here failing the same way), it never waits forever.
#[test]
fn a_rewound_entity_call_runs_again_and_never_hangs() {
    let (_dir, server) = serve(&["entities-test.wasm"], &[]);
    let api = server.api();
    let s = call_probe(&api, "rewound", "@probe@rw", "fail", json!("first"));
    assert_eq!(s["runtimeStatus"], "Failed", "{s}");
    api.control("rewound", "rewind", "").expect(202);
    poll::until("the rewound call to be answered again", DEADLINE, || {
        let h = api.history("rewound");
        let failed = h
            .iter()
            .filter(|e| e["eventType"] == "EntityOperationFailed")
            .count();
        match (
            failed,
            api.status("rewound").json()["runtimeStatus"].as_str(),
        ) {
            (2, Some("Failed")) => Ok(()),
            (n, status) => Err(format!("{n} failures, {status:?}")),
        }
    });
}
