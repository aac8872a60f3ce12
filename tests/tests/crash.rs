//! The crash test (R-1.3; reliability plan §9.3 R1, PR-sized): the real
//! binary, SIGKILLed repeatedly while ~100 instances run activities and
//! durable timers, restarted on the same store each time. Every instance must
//! end with the right output, and every history must show each step exactly
//! once and replay byte for byte.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use weft_core::{EventKind, RuntimeStatus};
use weft_tests::http::Api;
use weft_tests::server::Server;
use weft_tests::store::{self, InProcess};
use weft_tests::{history, paths, poll};

/// One instance the test starts, and what it must return.
struct Plan {
    id: String,
    name: &'static str,
    input: Value,
    /// Number of `Step` activities (each returns 2 * its input 0..steps).
    steps: u64,
    /// Number of durable timers.
    timers: usize,
    /// Sub-orchestrations (each a CrashMix of `steps`), for a CrashParent.
    children: u64,
    /// A CrashCountdown: one step per execution, continuing as new.
    eternal: bool,
}

impl Plan {
    fn expected(&self) -> u64 {
        self.children.max(1) * (0..self.steps).map(|i| 2 * i).sum::<u64>()
    }
}

fn plans() -> Vec<Plan> {
    let mut v = Vec::new();
    for i in 0..80u64 {
        // 3..=18 steps, each an activity then a 300 ms timer: 0.9–5.4 s per
        // instance, so that instances are in flight through most kills.
        let steps = 3 + i % 16;
        v.push(Plan {
            id: format!("mix-{i:02}"),
            name: "CrashMix",
            input: json!({"steps": steps, "timerMs": 300}),
            steps,
            timers: steps as usize,
            children: 0,
            eternal: false,
        });
    }
    for i in 0..20u64 {
        let n = 5 + i % 3;
        v.push(Plan {
            id: format!("fan-{i:02}"),
            name: "FanTimers",
            input: json!(n),
            steps: n,
            timers: n as usize,
            children: 0,
            eternal: false,
        });
    }
    // Parents with children, and eternal orchestrations.
    for i in 0..10u64 {
        let steps = 3 + i % 4;
        v.push(Plan {
            id: format!("parent-{i:02}"),
            name: "CrashParent",
            input: json!({"children": 3, "steps": steps, "timerMs": 300}),
            steps,
            timers: 0,
            children: 3,
            eternal: false,
        });
    }
    for i in 0..10u64 {
        let n = 10 + i;
        v.push(Plan {
            id: format!("eternal-{i:02}"),
            name: "CrashCountdown",
            input: json!({"n": n, "timerMs": 200}),
            steps: n,
            timers: 0,
            children: 0,
            eternal: true,
        });
    }
    v
}

/// SIGKILL from another thread, `after` from now (the server is killed while
/// this thread is in the middle of its requests).
fn kill_later(pid: u32, after: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(after);
        sigkill(pid);
    })
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn sigkill(pid: u32) {
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg(pid.to_string())
        .status();
}

/// Starts the plans in `todo` from 4 threads at once until all are
/// acknowledged or the server dies; returns the acknowledged plan indexes. With
/// `kill_after_acks`, SIGKILLs `pid` as soon as that many were acknowledged,
/// so the kill lands while start requests are in flight.
fn start_concurrently(
    api: &Api,
    plans: &[Plan],
    todo: Vec<usize>,
    kill_after_acks: Option<(usize, u32)>,
) -> Vec<usize> {
    let queue = Mutex::new(VecDeque::from(todo));
    let acked = Mutex::new(Vec::new());
    let busy = AtomicUsize::new(4);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let Some(i) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let p = &plans[i];
                    match api.try_start(p.name, Some(&p.id), &p.input.to_string()) {
                        // 409: an earlier start was committed but its reply was lost to a kill.
                        Ok(r) if r.status == 202 || r.status == 409 => {
                            acked.lock().unwrap().push(i)
                        }
                        Ok(r) => panic!("start {} answered {} {}", p.id, r.status, r.body),
                        Err(_) => break, // connection refused or reset: the server is gone
                    }
                }
                busy.fetch_sub(1, Ordering::SeqCst);
            });
        }
        if let Some((n, pid)) = kill_after_acks {
            poll::until(&format!("{n} acknowledged starts"), poll::DEADLINE, || {
                let k = acked.lock().unwrap().len();
                if k >= n || busy.load(Ordering::SeqCst) == 0 {
                    Ok(())
                } else {
                    Err(format!("{k} acknowledged"))
                }
            });
            sigkill(pid);
        }
    });
    acked.into_inner().unwrap()
}

#[test]
fn sigkill_under_load_loses_and_repeats_no_step() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let components = paths::test_components();
    let plans = plans();
    let mut server = Server::start(dir.path(), &components);

    // Kill 1 lands while starts are in flight (after 40 were acknowledged).
    // Then odd rounds kill at a random moment 50–800 ms after the restart
    // answered HTTP, and even rounds 0–40 ms after the earliest pending timer
    // is due: in the burst of turns and activities that timers release (at
    // once after a restart, for timers that fell due while the host was down).
    let mut next = weft_tests::schedule::seeded("WEFT_CRASH_SEED");
    let mut next_timer_ms: Option<u64> = None;
    let mut acknowledged: BTreeSet<usize> = BTreeSet::new();
    let mut in_flight_at_kill = Vec::new();
    let mut pending_work_at_kill = Vec::new();
    for round in 0..15 {
        let ms = match (round, next_timer_ms) {
            (0, _) => 0,
            (r, Some(due)) if r % 2 == 0 => due.saturating_sub(unix_ms()) + next(40),
            _ => 50 + next(750),
        };
        let api = server.api();
        let todo: Vec<usize> = (0..plans.len())
            .filter(|i| !acknowledged.contains(i))
            .collect();
        let killer = (round > 0).then(|| kill_later(server.pid(), Duration::from_millis(ms)));
        let kill_on_acks = (round == 0).then(|| (40, server.pid()));
        acknowledged.extend(start_concurrently(&api, &plans, todo, kill_on_acks));
        if let Some(k) = killer {
            k.join().unwrap();
        }
        server.kill();
        let snap = store::snapshot(server.store());
        eprintln!(
            "kill {}{}: {} instances stored ({} acknowledged), {} in flight, \
             {} activities queued, {} inbox messages, {} timers pending",
            round + 1,
            if round == 0 {
                " (during the starts)".to_owned()
            } else {
                format!(" at {ms} ms after start #{}", round + 1)
            },
            snap.instances.len(),
            acknowledged.len(),
            snap.in_flight(),
            snap.activities,
            snap.inbox,
            snap.timers,
        );
        // 202 means durable: every acknowledged start survived the kill.
        for &i in &acknowledged {
            let id = &plans[i].id;
            assert!(
                snap.instances.iter().any(|r| r.instance_id.as_str() == id),
                "instance {id} was acknowledged with 202 but is not in the store after SIGKILL"
            );
        }
        if round == 0 {
            assert!(
                acknowledged.len() < plans.len(),
                "the first kill should land before all starts were acknowledged"
            );
        }
        next_timer_ms = snap.next_timer_ms;
        in_flight_at_kill.push(snap.in_flight());
        pending_work_at_kill.push(snap.activities + snap.inbox);
        server.restart();
        if snap.in_flight() == 0 {
            break; // everything finished: more kills would test nothing
        }
    }
    let landed = in_flight_at_kill.iter().filter(|n| **n > 0).count();
    assert!(
        landed >= 8,
        "at least 8 kills must land while instances are in flight; in flight at each kill: \
         {in_flight_at_kill:?}"
    );
    assert!(
        pending_work_at_kill.iter().any(|n| *n > 0),
        "at least one kill should land with activities or inbox messages pending; \
         pending at each kill: {pending_work_at_kill:?}"
    );
    assert_eq!(acknowledged.len(), plans.len(), "every start acknowledged");
    let api = server.api();
    let deadline = Duration::from_secs(40);
    let waited = Instant::now();
    for p in &plans {
        let left = deadline.saturating_sub(waited.elapsed());
        let s = api.wait_done(&p.id, left.max(Duration::from_millis(1)));
        assert_eq!(
            s["runtimeStatus"], "Completed",
            "{} {}: {s}",
            p.name, p.input
        );
        assert_eq!(
            s["output"],
            json!(p.expected()),
            "{} {} ({}) returned the wrong sum: a step was lost or repeated",
            p.name,
            p.input,
            p.id
        );
    }
    eprintln!(
        "all {} instances completed after {:?}",
        plans.len(),
        t0.elapsed()
    );

    let status = server.stop();
    assert!(
        status.success(),
        "weft serve exited with {status} on SIGTERM"
    );

    let host = InProcess::open(server.store(), &components);
    for p in &plans {
        let rec = host.status(&p.id).expect("instance in store");
        assert_eq!(rec.status, RuntimeStatus::Completed, "{}", p.id);
        let h = host.history(&p.id);
        history::assert_well_formed(&p.id, &h);
        history::assert_all_resolved(&p.id, &h);
        assert_eq!(history::final_status(&h), Some(RuntimeStatus::Completed));
        if let Err(e) = host.check_replay(&p.id) {
            panic!("{}: replay differs from the stored history: {e}", p.id);
        }
        if p.eternal {
            // Only the last execution is kept: its start and its end.
            assert_eq!(
                history::count(&h, "ExecutionStarted"),
                1,
                "{}: {}",
                p.id,
                history::outline(&h)
            );
            assert_eq!(history::count(&h, "TaskScheduled"), 0, "{}", p.id);
            continue;
        }
        if p.children > 0 {
            // Every child started once and reported once.
            assert_eq!(
                history::count(&h, "SubOrchestrationInstanceCreated"),
                3,
                "{}",
                p.id
            );
            assert_eq!(
                history::count(&h, "SubOrchestrationInstanceCompleted"),
                3,
                "{}",
                p.id
            );
            for n in 0..p.children {
                let child = format!("{}:{n}", p.id);
                let ch = host.history(&child);
                history::assert_well_formed(&child, &ch);
                history::assert_all_resolved(&child, &ch);
                assert_eq!(
                    history::count(&ch, "TaskScheduled"),
                    p.steps as usize,
                    "{child}"
                );
                let parent = ch.iter().find_map(|e| match &e.kind {
                    EventKind::ExecutionStarted { parent, .. } => parent.clone(),
                    _ => None,
                });
                assert_eq!(
                    parent.map(|p| p.instance_id.to_string()),
                    Some(p.id.clone()),
                    "{child} names its parent"
                );
                if let Err(e) = host.check_replay(&child) {
                    panic!("{child}: replay differs from the stored history: {e}");
                }
            }
            continue;
        }
        assert_eq!(
            history::count(&h, "TaskScheduled"),
            p.steps as usize,
            "{}: {}",
            p.id,
            history::outline(&h)
        );
        assert_eq!(
            history::count(&h, "TimerCreated"),
            p.timers,
            "{}: {}",
            p.id,
            history::outline(&h)
        );
        // Each step ran on its own input and its one recorded result is 2 * input.
        let mut inputs = BTreeMap::new();
        for e in &h {
            match &e.kind {
                EventKind::TaskScheduled { id, input, .. } => {
                    inputs.insert(id.0, input.to_value());
                }
                EventKind::TaskCompleted {
                    scheduled_id,
                    result,
                } => {
                    let input = inputs[&scheduled_id.0].as_u64().expect("u64 input");
                    assert_eq!(result.to_value(), json!(2 * input), "{}", p.id);
                }
                _ => {}
            }
        }
        let mut got: Vec<u64> = inputs.values().map(|v| v.as_u64().unwrap()).collect();
        got.sort();
        assert_eq!(
            got,
            (0..p.steps).collect::<Vec<_>>(),
            "{}: step inputs",
            p.id
        );
    }
    eprintln!("crash test done in {:?}", t0.elapsed());
}

#[test]
fn sigterm_while_instances_wait_then_restart_resumes_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let components = paths::components();
    let mut server = Server::start(dir.path(), &components);
    let api = server.api();
    let waits = api.start_ok("Approval", Some("waits"), r#"{"timeoutSeconds":60}"#);
    let times_out = api.start_ok("Approval", Some("times-out"), r#"{"timeoutSeconds":1}"#);
    let monitor = api.start_ok(
        "Monitor",
        Some("monitor"),
        r#"{"intervalSeconds":1,"maxChecks":5,"readyAfter":3}"#,
    );
    api.wait_for(&waits, "waiting for approval", poll::DEADLINE, |s| {
        s["customStatus"] == "waiting for approval"
    });
    let status = server.stop();
    assert!(
        status.success(),
        "weft serve exited with {status} on SIGTERM"
    );
    assert!(
        server.log().contains("weft stopped"),
        "a graceful stop is logged"
    );

    server.restart();
    let api = server.api();
    let s = api.status(&waits).json();
    assert_eq!(
        s["runtimeStatus"], "Running",
        "still waiting after the restart: {s}"
    );
    assert_eq!(s["customStatus"], "waiting for approval");
    api.raise(&waits, "Approval", "true").expect(202);
    assert_eq!(api.wait_output(&waits, poll::DEADLINE), "approved");
    assert_eq!(api.wait_output(&times_out, poll::DEADLINE), "timed out");
    assert_eq!(
        api.wait_output(&monitor, poll::DEADLINE),
        json!({"ready": true, "checks": 3})
    );
    server.stop();
    for id in [&waits, &times_out, &monitor] {
        let h = store::history(server.store(), id);
        history::assert_well_formed(id, &h);
    }
    let h = store::history(server.store(), &monitor);
    assert_eq!(
        history::count(&h, "TimerFired"),
        2,
        "{}",
        history::outline(&h)
    );
    assert_eq!(
        history::count(&h, "TaskCompleted"),
        3,
        "{}",
        history::outline(&h)
    );
}
