//! `weft bench`: the benchmark workloads, in-process, durable commits on.
//!
//! - W1: N `HelloSequence` instances started concurrently; wait for all;
//!   orchestrations per second and p50/p99 start-to-completion latency.
//! - W2: one `FanOutFanIn` of M activities; wall time.
//! - W3: one `SubOrchestrations` parent starting 100 `HelloSequence`
//!   children and waiting for all; wall time.
//! - W4: `Countdown` of 10,000: one continue-as-new per iteration;
//!   iterations per second and the store file's size after.
//! - runaway (was W3 before sub-orchestrations took the name): runaway
//!   guests: W1 alone, then W1 again next to `Spin` orchestrators
//!   from the `hostile` test program; how long each runaway takes to be
//!   stopped, and how much it slows the healthy workload.
//! - deploy (was W4): a deploy check: N running `Steps(5)` instances
//!   (23-event histories) from `versioned-v1`, checked against
//!   `versioned-v2` (compatible) and `versioned-v3` (diverging); wall time of
//!   each check.
//! - entity: one hot `Counter` entity (examples/counter) signalled `add 1`
//!   N times from clients at once; entity operations per second from the
//!   first signal until the state reads N (issue 9: target >= 5,000/s).
//! - transfers: `Transfer`s (examples/critical-section) between 100
//!   accounts, each locking two accounts; transfers per second, and the
//!   total checked unchanged.
//!
//! Figures go to stdout as text and one JSON line; docs/BENCHMARKS.md records them.

use crate::host::{HostConfig, Weft};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use weft_core::{Json, RuntimeStatus};

#[derive(Args)]
pub struct BenchArgs {
    /// Directory with hello-sequence.wasm and fan-out-fan-in.wasm.
    #[arg(long, default_value = "target/components")]
    components: PathBuf,
    /// Which workload: w1, w2, w3, w4, runaway, deploy, entity, transfers or all.
    #[arg(long, default_value = "all")]
    workload: String,
    /// runaway: the hostile test program (built by scripts/build-components.sh).
    #[arg(long, default_value = "target/test-components/hostile.wasm")]
    hostile: PathBuf,
    /// runaway: runaway orchestrators started next to the healthy workload.
    #[arg(long, default_value_t = 2)]
    runaways: usize,
    /// deploy: directory with versioned-v1.wasm, versioned-v2.wasm and versioned-v3.wasm.
    #[arg(long, default_value = "target/test-components")]
    test_components: PathBuf,
    /// W1: number of concurrent HelloSequence instances.
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// W2: fan-out width.
    #[arg(long, default_value_t = 1000)]
    fan: u64,
    /// W3: children of the one parent.
    #[arg(long, default_value_t = 100)]
    children: u32,
    /// W4: Countdown iterations.
    #[arg(long, default_value_t = 10_000)]
    iterations: u64,
    /// entity: signals to the one hot entity.
    #[arg(long, default_value_t = 20_000)]
    signals: u64,
    /// transfers: concurrent transfers between the 100 accounts.
    #[arg(long, default_value_t = 1000)]
    transfers: u64,
    /// Store: a redb file (default: a fresh file in a temporary directory)
    /// or a PostgreSQL URL (`postgres://user@host:port/db`).
    #[arg(long)]
    store: Option<PathBuf>,
    /// W1 and W2 only, on PostgreSQL: hosts in this process sharing the
    /// task hub (each with its own connections and partition leases); W1's
    /// starts and waits go round them.
    #[arg(long, default_value_t = 1)]
    hosts: usize,
}

pub fn run(a: BenchArgs) -> anyhow::Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!("weft-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = a.store.clone().unwrap_or_else(|| dir.join("bench.redb"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let location = crate::host::StoreLocation::parse(&store.to_string_lossy())
            .map_err(|e| anyhow::anyhow!(e))?;
        let mut config = HostConfig::new(location);
        config.components = Some(a.components.clone());
        config.cache_dir = Some(dir.join("cache"));
        config.max_hot = a.n.max(1024) * 2;
        let weft = Weft::open(config.clone()).await?;
        let mut hosts = vec![weft.clone()];
        if a.hosts > 1 {
            anyhow::ensure!(
                matches!(config.store, crate::host::StoreLocation::Postgres(_))
                    && matches!(a.workload.as_str(), "w1" | "w2"),
                "--hosts needs a PostgreSQL --store and --workload w1 or w2"
            );
            for _ in 1..a.hosts {
                hosts.push(Weft::open(config.clone()).await?);
            }
            // Two lease rounds (every 2 s by default): the partitions spread
            // over the hosts before anything is measured.
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let mut report = serde_json::Map::new();
        report.insert("hosts".into(), serde_json::json!(hosts.len()));
        if matches!(a.workload.as_str(), "w1" | "all") {
            report.insert("w1".into(), w1(&hosts, a.n).await?);
        }
        if matches!(a.workload.as_str(), "w2" | "all") {
            report.insert("w2".into(), w2(&weft, a.fan).await?);
        }
        if matches!(a.workload.as_str(), "w3" | "all") {
            report.insert("w3".into(), w3(&weft, a.children).await?);
        }
        if matches!(a.workload.as_str(), "w4" | "all") {
            report.insert("w4".into(), w4(&weft, a.iterations, &store).await?);
        }
        if matches!(a.workload.as_str(), "runaway" | "all") {
            let bytes = std::fs::read(&a.hostile).map_err(|e| {
                anyhow::anyhow!(
                    "the runaway workload needs the hostile test program at {} ({e}); run scripts/build-components.sh",
                    a.hostile.display()
                )
            })?;
            weft.deploy(bytes).await?;
            report.insert("runaway".into(), runaway(&weft, a.n, a.runaways).await?);
        }
        if matches!(a.workload.as_str(), "deploy" | "all") {
            report.insert("deploy".into(), deploy(&weft, a.n, &a.test_components).await?);
        }
        if matches!(a.workload.as_str(), "entity" | "all") {
            report.insert("entity".into(), super::bench_entities::hot_entity(&weft, a.signals).await?);
        }
        if matches!(a.workload.as_str(), "transfers" | "all") {
            report.insert("transfers".into(), super::bench_entities::transfers(&weft, a.transfers).await?);
        }
        println!("{}", serde_json::Value::Object(report));
        anyhow::Ok(())
    });
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|_| ExitCode::SUCCESS)
}

pub(super) async fn finish(weft: &Weft, id: &str) -> anyhow::Result<()> {
    let s = weft
        .wait_for_completion(id, Duration::from_secs(600))
        .await?
        .ok_or_else(|| anyhow::anyhow!("instance {id} vanished"))?;
    anyhow::ensure!(
        s.status == RuntimeStatus::Completed,
        "instance {id} ended {}: {:?}",
        s.status,
        s.output
    );
    Ok(())
}

async fn w1(hosts: &[Weft], n: usize) -> anyhow::Result<serde_json::Value> {
    // Warm-up: instances on every host, so compilation and first
    // instantiation are not measured.
    for weft in hosts {
        for _ in 0..8 {
            let id = weft.start("HelloSequence", None, Json::null()).await?;
            finish(weft, id.as_str()).await?;
        }
    }
    let (rate, wall, p50, p99) = hello_batch_on(hosts, n).await?;
    println!(
        "W1 HelloSequence x{n} on {} host(s): {rate:.0} orchestrations/s, wall {:.3} s, p50 {:.1} ms, p99 {:.1} ms",
        hosts.len(),
        wall.as_secs_f64(),
        ms(p50),
        ms(p99)
    );
    Ok(serde_json::json!({
        "n": n, "orchestrations_per_s": rate, "wall_s": wall.as_secs_f64(),
        "p50_ms": ms(p50), "p99_ms": ms(p99),
    }))
}

/// Runs `n` HelloSequence instances at once: (rate, wall, p50, p99).
async fn hello_batch(weft: &Weft, n: usize) -> anyhow::Result<(f64, Duration, Duration, Duration)> {
    hello_batch_on(std::slice::from_ref(weft), n).await
}

/// [`hello_batch`], started and awaited through `hosts` in turn.
async fn hello_batch_on(
    hosts: &[Weft],
    n: usize,
) -> anyhow::Result<(f64, Duration, Duration, Duration)> {
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let w = hosts[i % hosts.len()].clone();
        tasks.push(tokio::spawn(async move {
            let start = Instant::now();
            let id = w.start("HelloSequence", None, Json::null()).await?;
            finish(&w, id.as_str()).await?;
            anyhow::Ok(start.elapsed())
        }));
    }
    let mut lat = Vec::with_capacity(n);
    for t in tasks {
        lat.push(t.await??);
    }
    let wall = t0.elapsed();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    let rate = n as f64 / wall.as_secs_f64();
    Ok((rate, wall, pct(0.50), pct(0.99)))
}

async fn runaway(weft: &Weft, n: usize, runaways: usize) -> anyhow::Result<serde_json::Value> {
    let (alone, ..) = hello_batch(weft, n).await?;
    let limit = weft.limits().orchestrator_turn;
    let mut spins = Vec::with_capacity(runaways);
    for _ in 0..runaways {
        let w = weft.clone();
        let start = Instant::now();
        let id = w.start("Spin", None, Json::null()).await?;
        spins.push(tokio::spawn(async move {
            let s = w
                .wait_for_completion(id.as_str(), Duration::from_secs(600))
                .await?
                .ok_or_else(|| anyhow::anyhow!("runaway {id} vanished"))?;
            let error_type = s.output.map(|o| o.to_value()["errorType"].clone());
            anyhow::ensure!(
                s.status == RuntimeStatus::Failed
                    && error_type == Some(serde_json::json!(weft_runtime::error_types::CPU)),
                "runaway {id} ended {} ({error_type:?}), not with the CPU limit",
                s.status
            );
            anyhow::Ok(start.elapsed())
        }));
    }
    let (beside, ..) = hello_batch(weft, n).await?;
    let mut stops = Vec::with_capacity(runaways);
    for s in spins {
        stops.push(s.await??);
    }
    let slowest = stops.iter().max().copied().unwrap_or_default();
    println!(
        "runaway: {runaways} runaway(s), turn limit {}: stopped after at most {:.3} s; HelloSequence x{n} \
         {alone:.0}/s alone, {beside:.0}/s beside them ({:.0}% of alone)",
        weft_runtime::format_duration(limit),
        slowest.as_secs_f64(),
        100.0 * beside / alone
    );
    Ok(serde_json::json!({
        "n": n, "runaways": runaways, "turn_limit_ms": limit.as_millis() as u64,
        "stop_s": stops.iter().map(|d| d.as_secs_f64()).collect::<Vec<_>>(),
        "alone_per_s": alone, "beside_per_s": beside,
    }))
}

async fn w2(weft: &Weft, fan: u64) -> anyhow::Result<serde_json::Value> {
    let id = weft
        .start("FanOutFanIn", None, Json::from_value(&3))
        .await?;
    finish(weft, id.as_str()).await?;

    let t0 = Instant::now();
    let id = weft
        .start("FanOutFanIn", None, Json::from_value(&fan))
        .await?;
    finish(weft, id.as_str()).await?;
    let wall = t0.elapsed();
    let out = weft
        .status(id.as_str())
        .await?
        .and_then(|s| s.output)
        .map(|o| o.to_value());
    let expected = fan * fan.saturating_sub(1) / 2;
    anyhow::ensure!(
        out == Some(serde_json::json!(expected)),
        "FanOutFanIn returned {out:?}, expected {expected}"
    );
    println!("W2 FanOutFanIn of {fan}: wall {:.3} s", wall.as_secs_f64());
    Ok(serde_json::json!({ "fan": fan, "wall_s": wall.as_secs_f64() }))
}

/// W3: one parent, `children` HelloSequence children in parallel.
async fn w3(weft: &Weft, children: u32) -> anyhow::Result<serde_json::Value> {
    // Warm-up: both components compiled and instantiated once.
    let id = weft
        .start("SubOrchestrations", None, Json::from_value(&1))
        .await?;
    finish(weft, id.as_str()).await?;
    let t0 = Instant::now();
    let id = weft
        .start("SubOrchestrations", None, Json::from_value(&children))
        .await?;
    finish(weft, id.as_str()).await?;
    let wall = t0.elapsed();
    let out = weft
        .status(id.as_str())
        .await?
        .and_then(|s| s.output)
        .map(|o| o.to_value());
    let n = out.as_ref().and_then(|o| o.as_array()).map_or(0, Vec::len);
    anyhow::ensure!(
        n == children as usize,
        "SubOrchestrations returned {n} outputs, expected {children}"
    );
    println!(
        "W3 SubOrchestrations of {children} HelloSequence children: wall {:.3} s",
        wall.as_secs_f64()
    );
    Ok(serde_json::json!({ "children": children, "wall_s": wall.as_secs_f64() }))
}

/// W4: Countdown of `iterations`, one continue-as-new each.
async fn w4(
    weft: &Weft,
    iterations: u64,
    store: &std::path::Path,
) -> anyhow::Result<serde_json::Value> {
    let id = weft.start("Countdown", None, Json::from_value(&1)).await?;
    finish(weft, id.as_str()).await?;
    let before = std::fs::metadata(store).map(|m| m.len()).unwrap_or(0);
    let t0 = Instant::now();
    let id = weft
        .start("Countdown", None, Json::from_value(&iterations))
        .await?;
    finish(weft, id.as_str()).await?;
    let wall = t0.elapsed();
    let after = std::fs::metadata(store).map(|m| m.len()).unwrap_or(0);
    let history = weft.history(id.as_str()).await?.len();
    let rate = iterations as f64 / wall.as_secs_f64();
    println!(
        "W4 Countdown of {iterations}: {rate:.0} iterations/s, wall {:.3} s, final history {history} events, \
         store file {before} -> {after} bytes",
        wall.as_secs_f64()
    );
    Ok(serde_json::json!({
        "iterations": iterations, "iterations_per_s": rate, "wall_s": wall.as_secs_f64(),
        "final_history_events": history, "store_bytes_before": before, "store_bytes_after": after,
    }))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn deploy(weft: &Weft, n: usize, dir: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| {
            anyhow::anyhow!(
                "the deploy workload needs {} ({e}); run scripts/build-components.sh",
                dir.join(name).display()
            )
        })
    };
    weft.deploy(read("versioned-v1.wasm")?).await?;
    const STEPS: u64 = 5;
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(weft.start("Steps", None, Json::from_value(&STEPS)).await?);
    }
    // Each ends up waiting for `Go` with 23 events: 3 for the start, 4 per step.
    let expected = 3 + 4 * STEPS as u32;
    let deadline = Instant::now() + Duration::from_secs(600);
    for id in &ids {
        loop {
            let s = weft
                .status(id.as_str())
                .await?
                .ok_or_else(|| anyhow::anyhow!("instance {id} vanished"))?;
            if s.history_len >= expected {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "instance {id} did not get to its wait"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let mut out = serde_json::Map::new();
    for (label, file) in [
        ("compatible", "versioned-v2.wasm"),
        ("diverging", "versioned-v3.wasm"),
    ] {
        let bytes = read(file)?;
        // Compile once outside the timing (a deploy compiles too).
        let _ = weft.check_deploy(bytes.clone(), false).await?;
        let t0 = Instant::now();
        let report = weft.check_deploy(bytes, false).await?;
        let wall = t0.elapsed();
        let steps = report.compatible + report.diverges;
        anyhow::ensure!(
            steps >= n && report.failed == 0,
            "deploy {label}: checked {} of {n} ({} failed)",
            report.checked,
            report.failed
        );
        println!(
            "deploy: check of {} running instances ({expected}-event histories) against a {label} change: \
             {:.3} s ({} compatible, {} diverge)",
            report.checked,
            wall.as_secs_f64(),
            report.compatible,
            report.diverges
        );
        out.insert(
            label.into(),
            serde_json::json!({ "instances": report.checked, "wall_s": wall.as_secs_f64(),
                "compatible": report.compatible, "diverges": report.diverges }),
        );
    }
    Ok(serde_json::Value::Object(out))
}
