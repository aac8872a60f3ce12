//! Several hosts on one PostgreSQL task hub (issue 10), on the test kit's
//! private server: real `weft serve` processes sharing one hub through
//! partition leases, SIGKILLed and restarted at random while 2,000 mixed
//! orchestrations run. Every instance must end with the right output, every
//! history must show each activity result and each timer once, and replay
//! byte for byte.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weft_core::{EventKind, RuntimeStatus};
use weft_testkit::postgres::PgCluster;
use weft_tests::http::Api;
use weft_tests::server::Server;
use weft_tests::store::InProcess;
use weft_tests::{history, paths};

/// Short leases, so that takeovers happen within the test's time
/// (`WEFT_HOSTS_LEASE` sets another, e.g. the default 10s, to measure a
/// takeover as operators get it).
fn lease() -> String {
    std::env::var("WEFT_HOSTS_LEASE").unwrap_or_else(|_| "2s".into())
}

fn host(dir: &Path, url: &str) -> Server {
    Server::builder(dir, &paths::components())
        .store(Path::new(url))
        .args(&["--lease", &lease()])
        .env("XDG_CACHE_HOME", &dir.to_string_lossy())
        .start()
}

/// One orchestration the test starts, and what it must return.
struct Plan {
    id: String,
    name: &'static str,
    input: Value,
    /// The event to raise, through some host, once started.
    event: Option<&'static str>,
    output: Value,
    /// Activity results its history must hold, each once.
    activities: usize,
}

fn plans(n: usize) -> Vec<Plan> {
    (0..n)
        .map(|i| match i % 5 {
            0 | 1 => Plan {
                id: format!("hello-{i}"),
                name: "HelloSequence",
                input: Value::Null,
                event: None,
                output: json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"]),
                activities: 3,
            },
            2 => {
                let k = 2 + (i as u64 % 7);
                Plan {
                    id: format!("fan-{i}"),
                    name: "FanOutFanIn",
                    input: json!(k),
                    event: None,
                    output: json!((0..k).sum::<u64>()),
                    activities: k as usize,
                }
            }
            3 => Plan {
                id: format!("approve-{i}"),
                name: "Approval",
                input: json!({"timeoutSeconds": 3600}),
                event: Some(if i % 2 == 0 { "true" } else { "false" }),
                output: json!(if i % 2 == 0 { "approved" } else { "rejected" }),
                activities: 0,
            },
            _ => Plan {
                id: format!("timeout-{i}"),
                name: "Approval",
                input: json!({"timeoutSeconds": 2}),
                event: None,
                output: json!("timed out"),
                activities: 0,
            },
        })
        .collect()
}

/// The hosts' endpoints, and which are up (a request to a host that is
/// down fails at once and is tried on another).
struct Hosts {
    apis: Vec<Api>,
    up: Vec<AtomicBool>,
    next: AtomicUsize,
}

impl Hosts {
    /// Runs `f` on a host that is up, trying the next one on a connection
    /// error, until it answers.
    fn call<T>(&self, mut f: impl FnMut(&Api) -> Result<T, reqwest::Error>) -> T {
        let started = Instant::now();
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % self.apis.len();
            if self.up[i].load(Ordering::SeqCst)
                && let Ok(v) = f(&self.apis[i])
            {
                return v;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "no host answered for 2 minutes"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn hosts_sigkilled_at_random_finish_2000_orchestrations_exactly_once() {
    let t0 = Instant::now();
    let url = PgCluster::shared().fresh_database("hosts");
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    // Two hosts first; the third joins after the fifth kill.
    let mut servers: Vec<Option<Server>> = vec![
        Some(host(dirs[0].path(), &url)),
        Some(host(dirs[1].path(), &url)),
        None,
    ];
    let third = host(dirs[2].path(), &url);
    let hosts = Hosts {
        apis: servers
            .iter()
            .map(|s| s.as_ref().unwrap_or(&third).api())
            .collect(),
        up: vec![
            AtomicBool::new(true),
            AtomicBool::new(true),
            AtomicBool::new(false),
        ],
        next: AtomicUsize::new(0),
    };
    let mut third = Some(third);
    {
        let t = third.as_mut().unwrap();
        t.kill();
    }
    servers[2] = third;

    let plans = plans(2000);
    let started = AtomicUsize::new(0);
    let finished = Mutex::new(BTreeMap::<usize, Value>::new());
    let mut next = weft_tests::schedule::seeded("WEFT_HOSTS_SEED");
    let mut kills = 0;
    let queue = Mutex::new((0..plans.len()).rev().collect::<Vec<_>>());
    std::thread::scope(|scope| {
        // Four clients start the plans through whichever host is up, and
        // raise each approval's event through whichever host is up then.
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let Some(i) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let p = &plans[i];
                    let input = p.input.to_string();
                    let status = hosts.call(|api| api.try_start(p.name, Some(&p.id), &input));
                    // 409: an earlier start was committed but its answer lost to a kill.
                    assert!(
                        status.status == 202 || status.status == 409,
                        "start {}: {} {}",
                        p.id,
                        status.status,
                        status.body
                    );
                    if let Some(data) = p.event {
                        let r = hosts.call(|api| api.try_raise(&p.id, "Approval", data));
                        // 410: an earlier raise landed, its answer lost to a
                        // kill, and the instance finished on it (its output
                        // says so below).
                        assert!(
                            r.status == 202 || r.status == 410,
                            "raise {}: {} {}",
                            p.id,
                            r.status,
                            r.body
                        );
                    }
                    started.fetch_add(1, Ordering::SeqCst);
                    // About 80 starts a second in all: the work spreads over
                    // the kills instead of finishing before most of them.
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
        }
        // One client waits for every instance through whichever host is up.
        scope.spawn(|| {
            for (i, p) in plans.iter().enumerate() {
                let deadline = Instant::now() + Duration::from_secs(300);
                loop {
                    let r = hosts.call(|api| api.try_get(&format!("instances/{}", p.id)));
                    if r.status == 200 {
                        finished.lock().unwrap().insert(i, r.json());
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "{} not finished: {} {}",
                        p.id,
                        r.status,
                        r.body
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        });
        // The killer: SIGKILL a random host every 1–3 s, restart it 0.3–2.3 s
        // later, always leaving one up; at least 10 kills, and on until
        // everything finished.
        let limit = Instant::now() + Duration::from_secs(400);
        while kills < 10 || finished.lock().unwrap().len() < plans.len() {
            assert!(Instant::now() < limit, "the test ran out of time");
            std::thread::sleep(Duration::from_millis(1000 + next(2000)));
            if kills == 5 && !hosts.up[2].load(Ordering::SeqCst) {
                servers[2].as_mut().unwrap().restart();
                hosts.up[2].store(true, Ordering::SeqCst);
                eprintln!("host 2 joined after {:?}", t0.elapsed());
                continue;
            }
            let live: Vec<usize> = (0..3)
                .filter(|i| hosts.up[*i].load(Ordering::SeqCst))
                .collect();
            if live.len() < 2 {
                continue;
            }
            let victim = live[next(live.len() as u64) as usize];
            hosts.up[victim].store(false, Ordering::SeqCst);
            servers[victim].as_mut().unwrap().kill();
            kills += 1;
            eprintln!(
                "kill {kills}: host {victim} at {:?}, {} started, {} finished",
                t0.elapsed(),
                started.load(Ordering::SeqCst),
                finished.lock().unwrap().len()
            );
            std::thread::sleep(Duration::from_millis(300 + next(2000)));
            servers[victim].as_mut().unwrap().restart();
            hosts.up[victim].store(true, Ordering::SeqCst);
        }
    });
    assert!(kills >= 10, "{kills} kills");
    eprintln!(
        "all {} finished after {:?} and {kills} kills",
        plans.len(),
        t0.elapsed()
    );

    let finished = finished.into_inner().unwrap();
    for (i, p) in plans.iter().enumerate() {
        let s = &finished[&i];
        assert_eq!(s["runtimeStatus"], "Completed", "{} {}: {s}", p.name, p.id);
        assert_eq!(s["output"], p.output, "{} {}: {s}", p.name, p.id);
    }
    for s in servers.iter_mut().flatten() {
        s.assert_no_panics();
        s.kill();
    }

    // Every history from the database: each step once, replaying exactly.
    let check = InProcess::open(Path::new(&url), &paths::components());
    for p in &plans {
        let rec = check.status(&p.id).expect("instance in store");
        assert_eq!(rec.status, RuntimeStatus::Completed, "{}", p.id);
        let h = check.history(&p.id);
        history::assert_well_formed(&p.id, &h);
        if p.event.is_none() {
            // An approval's timeout timer stays pending once its event won.
            history::assert_all_resolved(&p.id, &h);
        }
        assert_eq!(
            history::count(&h, "TaskCompleted"),
            p.activities,
            "{}: {}",
            p.id,
            history::outline(&h)
        );
        let fired = h
            .iter()
            .filter(|e| matches!(e.kind, EventKind::TimerFired { .. }))
            .count();
        let expect_fired = usize::from(p.name == "Approval" && p.event.is_none());
        assert_eq!(fired, expect_fired, "{}: {}", p.id, history::outline(&h));
        if let Err(e) = check.check_replay(&p.id) {
            panic!("{}: replay differs from the stored history: {e}", p.id);
        }
    }
    eprintln!("multi-host kill test done in {:?}", t0.elapsed());
}

#[test]
fn two_hosts_serve_one_hub_and_the_survivor_takes_over_a_killed_one() {
    let url = PgCluster::shared().fresh_database("hosts");
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = host(da.path(), &url);
    let b = host(db.path(), &url);
    let (api_a, api_b) = (a.api(), b.api());
    // Started on either host, with events raised through the other: every
    // instance runs wherever its partition is served.
    let ids: Vec<String> = (0..40)
        .map(|i| {
            let api = if i % 2 == 0 { &api_a } else { &api_b };
            api.start_ok(
                "Approval",
                Some(&format!("wait-{i}")),
                r#"{"timeoutSeconds":600}"#,
            )
        })
        .collect();
    for id in &ids {
        api_b.wait_approval_waiting(id);
    }
    for id in &ids[..20] {
        api_b.raise(id, "Approval", "true").expect(202);
    }
    for id in &ids[..20] {
        assert_eq!(
            api_a.wait_output(id, Duration::from_secs(60)),
            json!("approved")
        );
    }
    // a dies with half of the instances' partitions; b takes them over
    // once a's leases expire, and the rest complete through b alone.
    a.kill();
    let killed = Instant::now();
    for id in &ids[20..] {
        api_b.raise(id, "Approval", "false").expect(202);
    }
    for id in &ids[20..] {
        assert_eq!(
            api_b.wait_output(id, Duration::from_secs(60)),
            json!("rejected")
        );
    }
    eprintln!(
        "takeover: after the SIGKILL, every instance finished on the survivor within {:.2} s (lease {})",
        killed.elapsed().as_secs_f64(),
        lease()
    );
    b.assert_no_panics();
}

/// A deploy with `migrate` through one host moves every compatible
/// instance, also those another host serves: that host's next turn on the
/// old code is refused by the store and runs again on the new one.
#[test]
fn a_deploy_through_one_host_moves_the_instances_the_other_host_serves() {
    let url = PgCluster::shared().fresh_database("hosts");
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = host(da.path(), &url);
    let b = host(db.path(), &url);
    let (api_a, api_b) = (a.api(), b.api());
    let post = |api: &Api, query: &str, name: &str, code: u16| -> Value {
        let bytes = std::fs::read(paths::test_components().join(name)).unwrap();
        let r = api.run(
            api.request(reqwest::Method::POST, &format!("components{query}"))
                .header("content-type", "application/wasm")
                .body(bytes),
        );
        r.expect(code);
        r.json()
    };
    let v1 = post(&api_a, "", "versioned-v1.wasm", 201)["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    // "0": waits for Go before recording anything (compatible with v3).
    let ids: Vec<String> = (0..24).map(|i| format!("steps-{i}")).collect();
    for id in &ids {
        api_a.start_ok("Steps", Some(id), "0");
    }
    for id in &ids {
        api_b.wait_status(id, "Running");
    }
    // Both hosts serve some of them (the hosts share the partitions fairly
    // within a few lease rounds).
    let schema = weft_store::pg::Schema::hub(&weft_store::Hub::default_hub()).ident();
    weft_tests::poll::until(
        "both hosts to serve some of the instances",
        Duration::from_secs(30),
        || {
            let rows = PgCluster::shared().psql_in(
                &url,
                &format!("SELECT part, owner FROM {schema}.partitions"),
            );
            let owner: BTreeMap<u32, String> = rows
                .lines()
                .filter_map(|l| l.split_once('|'))
                .map(|(p, o)| (p.parse().unwrap(), o.to_owned()))
                .collect();
            let serving: std::collections::BTreeSet<&String> = ids
                .iter()
                .filter_map(|id| owner.get(&weft_store::partition_of(id)))
                .filter(|o| !o.is_empty())
                .collect();
            if serving.len() == 2 {
                Ok(())
            } else {
                Err(format!("owners {serving:?}"))
            }
        },
    );

    let report = post(&api_a, "?migrate=compatible", "versioned-v3.wasm", 200);
    assert_eq!(report["checked"], 24, "{report}");
    assert_eq!(report["migrated"], 24, "{report}");
    let v3 = report["digest"].as_str().unwrap().to_owned();
    assert_ne!(v1, v3);
    for id in &ids {
        assert_eq!(
            api_b.status(id).json()["componentDigest"],
            v3.as_str(),
            "{id}"
        );
    }
    for (i, id) in ids.iter().enumerate() {
        let api = if i % 2 == 0 { &api_a } else { &api_b };
        api.raise(id, "Go", "null").expect(202);
    }
    for id in &ids {
        assert_eq!(
            api_a.wait_output(id, Duration::from_secs(60)),
            "v3",
            "{id} finishes on the version it was moved to"
        );
    }
    a.assert_no_panics();
    b.assert_no_panics();
}
