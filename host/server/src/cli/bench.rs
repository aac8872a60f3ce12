//! `weft bench`: the benchmark workloads, in-process, durable commits on.
//!
//! - W1: N `HelloSequence` instances started concurrently; wait for all;
//!   orchestrations per second and p50/p99 start-to-completion latency.
//! - W2: one `FanOutFanIn` of M activities; wall time.
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
    /// Which workload: w1, w2 or all.
    #[arg(long, default_value = "all")]
    workload: String,
    /// W1: number of concurrent HelloSequence instances.
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// W2: fan-out width.
    #[arg(long, default_value_t = 1000)]
    fan: u64,
    /// Store file (default: a fresh file in a temporary directory).
    #[arg(long)]
    store: Option<PathBuf>,
}

pub fn run(a: BenchArgs) -> anyhow::Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!("weft-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = a.store.clone().unwrap_or_else(|| dir.join("bench.redb"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let mut config = HostConfig::new(&store);
        config.components = Some(a.components.clone());
        config.cache_dir = Some(dir.join("cache"));
        config.max_hot = a.n.max(1024) * 2;
        let weft = Weft::open(config).await?;
        let mut report = serde_json::Map::new();
        if matches!(a.workload.as_str(), "w1" | "all") {
            report.insert("w1".into(), w1(&weft, a.n).await?);
        }
        if matches!(a.workload.as_str(), "w2" | "all") {
            report.insert("w2".into(), w2(&weft, a.fan).await?);
        }
        println!("{}", serde_json::Value::Object(report));
        anyhow::Ok(())
    });
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|_| ExitCode::SUCCESS)
}

async fn finish(weft: &Weft, id: &str) -> anyhow::Result<()> {
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

async fn w1(weft: &Weft, n: usize) -> anyhow::Result<serde_json::Value> {
    // Warm-up: one instance, so compilation and first instantiation are not measured.
    let id = weft.start("HelloSequence", None, Json::null()).await?;
    finish(weft, id.as_str()).await?;

    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let w = weft.clone();
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
    println!(
        "W1 HelloSequence x{n}: {rate:.0} orchestrations/s, wall {:.3} s, p50 {:.1} ms, p99 {:.1} ms",
        wall.as_secs_f64(),
        ms(pct(0.50)),
        ms(pct(0.99))
    );
    Ok(serde_json::json!({
        "n": n, "orchestrations_per_s": rate, "wall_s": wall.as_secs_f64(),
        "p50_ms": ms(pct(0.50)), "p99_ms": ms(pct(0.99)),
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
        .status(id.as_str())?
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
