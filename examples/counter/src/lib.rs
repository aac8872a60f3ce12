//! # Counter: a durable entity and an orchestration that drives it
//!
//! The entity `Counter` keeps an `i64` per key. Its operations run one at a
//! time, so concurrent senders never lose an update:
//!
//! | operation | input | does | result |
//! | --- | --- | --- | --- |
//! | `add` | `i64` | adds the input (`counter.Overflow` past `i64`'s range) | `null` |
//! | `reset` | — | sets the value to 0 | `null` |
//! | `get` | — | — | the value (0 for a counter that does not exist) |
//! | `delete` | — | deletes the counter (built into the SDK) | `null` |
//!
//! Any other operation fails with `weft.OperationNotFound`.
//!
//! The orchestrator `CountTo` takes `{"key": k, "n": n}`, signals `add 1` to
//! `@counter@k` `n` times (one way, no waiting), then calls `get` and returns
//! the value. The call sees every signal: the host delivers one sender's
//! messages to an entity in the order they were sent. Starting from a counter
//! that does not exist, `CountTo` returns `n`.
//!
//! Build: `scripts/build-components.sh` (or `cargo build --release --target
//! wasm32-wasip2 -p counter`).

use serde::Deserialize;
use weft_sdk::prelude::*;

/// The `Counter` entity.
fn counter(ctx: &mut EntityContext<i64>) -> Result<(), Failure> {
    match ctx.operation() {
        "add" => {
            let amount: i64 = ctx.input()?;
            let value = ctx.state_mut();
            *value = value.checked_add(amount).ok_or_else(|| {
                Failure::new("counter.Overflow", format!("{value} + {amount} overflows"))
            })?;
        }
        "reset" => ctx.set_state(0),
        "get" => ctx.set_result(&ctx.state_or_default()),
        _ => return Err(ctx.unknown_operation()),
    }
    Ok(())
}

/// The input of `CountTo`.
#[derive(Deserialize)]
struct CountToInput {
    key: String,
    n: u32,
}

/// Signals `add 1` `n` times, then reads the value back.
fn count_to(ctx: &OrchestrationContext, input: CountToInput) -> Result<i64, Failure> {
    let id = EntityId::new("Counter", &input.key)?;
    for _ in 0..input.n {
        ctx.signal_entity(&id, "add", 1)?;
    }
    ctx.call_entity(&id, "get", ())
}

weft_sdk::export_component! {
    orchestrators: { "CountTo" => count_to },
    entities: { "Counter" => counter },
}
