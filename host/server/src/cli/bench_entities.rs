//! `weft bench` entity workloads (see `bench.rs`): one hot entity, and
//! lock-protected transfers between many accounts.

use crate::host::{TaskHub, Weft};
use std::time::{Duration, Instant};
use weft_core::{EntityId, Json};

/// Client tasks signalling at once (each waits for its signal to be durable,
/// so several keep the group commit full).
const SIGNALLERS: u64 = 16;

/// Accounts of the transfer workload, and each one's opening balance.
const ACCOUNTS: u64 = 100;
const OPENING: i64 = 1_000;

fn counter(key: &str) -> anyhow::Result<EntityId> {
    Ok(EntityId::new("counter", key)?)
}

/// Polls `entity` until its state is `expected` (as JSON text).
async fn until_state(hub: &TaskHub, entity: &EntityId, expected: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let state = hub.entity(entity).await?.and_then(|r| r.state);
        if state.as_ref().map(Json::as_str) == Some(expected) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "entity {entity} did not reach {expected} (it holds {state:?})"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// `signals` `add 1` signals to one Counter from [`SIGNALLERS`] clients.
pub async fn hot_entity(weft: &Weft, signals: u64) -> anyhow::Result<serde_json::Value> {
    let hub = weft.default_hub().await?;
    // Warm-up: the component compiled and instantiated once.
    let warm = counter("warm-up")?;
    hub.signal_entity(&warm, "add", Json::from_value(&1))
        .await?;
    until_state(&hub, &warm, "1").await?;

    let hot = counter("hot")?;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..SIGNALLERS {
        let (hub, hot) = (hub.clone(), hot.clone());
        let mine = signals / SIGNALLERS + u64::from(t < signals % SIGNALLERS);
        tasks.push(tokio::spawn(async move {
            for _ in 0..mine {
                hub.signal_entity(&hot, "add", Json::from_value(&1)).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let accepted = t0.elapsed();
    until_state(&hub, &hot, &signals.to_string()).await?;
    let wall = t0.elapsed();
    let rate = signals as f64 / wall.as_secs_f64();
    let accept_rate = signals as f64 / accepted.as_secs_f64();
    println!(
        "entity: {signals} signals to one Counter from {SIGNALLERS} clients: {rate:.0} operations/s \
         (all applied after {:.3} s; signals accepted at {accept_rate:.0}/s)",
        wall.as_secs_f64()
    );
    Ok(serde_json::json!({
        "signals": signals, "clients": SIGNALLERS, "operations_per_s": rate,
        "wall_s": wall.as_secs_f64(), "signals_accepted_per_s": accept_rate,
    }))
}

/// `n` Transfers at once between [`ACCOUNTS`] accounts.
pub async fn transfers(weft: &Weft, n: u64) -> anyhow::Result<serde_json::Value> {
    let hub = weft.default_hub().await?;
    let account = |a: u64| EntityId::new("account", &format!("b{a}"));
    for a in 0..ACCOUNTS {
        hub.signal_entity(&account(a)?, "deposit", Json::from_value(&OPENING))
            .await?;
    }
    for a in 0..ACCOUNTS {
        until_state(&hub, &account(a)?, &OPENING.to_string()).await?;
    }
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..n {
        let w = weft.clone();
        // A fixed spread of pairs and amounts, so runs compare.
        let (from, to) = (i % ACCOUNTS, (i * 37 + 11) % ACCOUNTS);
        let input = serde_json::json!({"from": format!("b{from}"), "to": format!("b{to}"), "amount": 1 + i % 20});
        tasks.push(tokio::spawn(async move {
            let id = w.start("Transfer", None, Json::from_value(&input)).await?;
            super::bench::finish(&w, id.as_str()).await
        }));
    }
    for t in tasks {
        t.await??;
    }
    let wall = t0.elapsed();
    let mut total = 0i64;
    for a in 0..ACCOUNTS {
        let state = hub.entity(&account(a)?).await?.and_then(|r| r.state);
        let balance: i64 = serde_json::from_str(state.as_ref().map_or("null", Json::as_str))?;
        anyhow::ensure!(balance >= 0, "account b{a} overdrawn: {balance}");
        total += balance;
    }
    anyhow::ensure!(
        total == OPENING * ACCOUNTS as i64,
        "the accounts hold {total} in all, not {}",
        OPENING * ACCOUNTS as i64
    );
    let rate = n as f64 / wall.as_secs_f64();
    println!(
        "transfers: {n} Transfers between {ACCOUNTS} accounts: {rate:.0} transfers/s, wall {:.3} s (total conserved)",
        wall.as_secs_f64()
    );
    Ok(serde_json::json!({
        "transfers": n, "accounts": ACCOUNTS, "transfers_per_s": rate, "wall_s": wall.as_secs_f64(),
    }))
}
