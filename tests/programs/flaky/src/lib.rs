//! Test program for rewind: activities that remember how often they ran.
//!
//! The activities keep counters in files under `/state`, which the test grants
//! with `weft serve --activity-dir <dir>:/state` (orchestrators never get
//! directories). `Flaky` fails its first `failTimes` runs for a key and then
//! succeeds, so an instance fails once and a rewind can finish it. `Count`
//! counts its runs, so a test can see that completed work is not repeated.

use serde::Deserialize;
use std::time::Duration;
use weft_sdk::prelude::*;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FlakyInput {
    key: String,
    fail_times: u32,
}

/// Increments and returns the counter stored for `key`.
fn bump(key: &str) -> Result<u32, Failure> {
    let path = format!("/state/{key}.count");
    let n = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
        + 1;
    std::fs::write(&path, n.to_string())
        .map_err(|e| Failure::new("Io", format!("cannot write {path}: {e}")))?;
    Ok(n)
}

fn flaky(input: FlakyInput) -> Result<u32, Failure> {
    let attempt = bump(&input.key)?;
    if attempt <= input.fail_times {
        return Err(Failure::new(
            "Flaky",
            format!("attempt {attempt} of '{}' fails", input.key),
        ));
    }
    Ok(attempt)
}

fn count(key: String) -> Result<u32, Failure> {
    bump(&key)
}

/// Counts once, waits on a durable timer, calls `Flaky` (an unhandled failure
/// fails the instance), then counts again.
fn rewind_me(
    ctx: &OrchestrationContext,
    input: serde_json::Value,
) -> Result<serde_json::Value, Failure> {
    let key = input["key"].as_str().unwrap_or("k").to_owned();
    let fail_times = input["failTimes"].as_u64().unwrap_or(1);
    let before: u32 = ctx.call_activity("Count", format!("{key}-before"))?;
    ctx.sleep(Duration::from_millis(200))?;
    let flaky: u32 = ctx.call_activity(
        "Flaky",
        serde_json::json!({ "key": key, "failTimes": fail_times }),
    )?;
    let after: u32 = ctx.call_activity("Count", format!("{key}-after"))?;
    Ok(serde_json::json!({ "before": before, "flaky": flaky, "after": after }))
}

weft_sdk::export_component! {
    orchestrators: { "RewindMe" => rewind_me },
    activities: { "Flaky" => flaky, "Count" => count },
}
