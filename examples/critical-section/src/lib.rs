//! # Critical sections: transfers between accounts that cannot interleave
//!
//! The entity `Account` keeps a balance (`i64`, 0 for an account that does
//! not exist yet):
//!
//! | operation | input | does | result |
//! | --- | --- | --- | --- |
//! | `deposit` | amount > 0 | adds it | `null` |
//! | `withdraw` | amount > 0 | subtracts it; fails with `account.InsufficientFunds` if the balance would go negative | `null` |
//! | `get` | — | — | the balance |
//!
//! A non-positive amount fails with `account.InvalidAmount`; any other
//! operation with `weft.OperationNotFound`. A failed operation leaves the
//! balance as it was.
//!
//! The orchestrator `Transfer` takes `{"from": key, "to": key, "amount": x}`.
//! It locks both accounts, reads `from`'s balance and, if it covers the
//! amount, withdraws from `from` and deposits to `to`, returning
//! `{"transferred": true}`; otherwise it returns `{"transferred": false,
//! "balance": b}`. While the locks are held no other orchestration's
//! operation runs on either account, so the check and the two updates act as
//! one step: concurrent transfers never overdraw an account, and money is
//! neither created nor lost. A transfer to the same account returns
//! `{"transferred": false}` without locking; a non-positive amount fails the
//! orchestration with `account.InvalidAmount` before locking.
//!
//! The orchestrator `Balance` takes `{"keys": [...]}`, locks those accounts
//! and returns the sum of their balances (duplicates counted once; no keys
//! sums to 0 without locking). Because it holds every lock at once, the sum
//! is consistent even while transfers between those accounts run.
//!
//! Build: `scripts/build-components.sh` (or `cargo build --release --target
//! wasm32-wasip2 -p critical-section`).

use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use weft_sdk::prelude::*;

const INSUFFICIENT_FUNDS: &str = "account.InsufficientFunds";
const INVALID_AMOUNT: &str = "account.InvalidAmount";

/// Refuses amounts that are zero or negative: they would turn a deposit into
/// a withdrawal and bypass the balance check.
fn positive(amount: i64) -> Result<i64, Failure> {
    if amount > 0 {
        Ok(amount)
    } else {
        Err(
            Failure::new(INVALID_AMOUNT, format!("amount {amount} is not positive"))
                .non_retriable(),
        )
    }
}

/// The `Account` entity.
fn account(ctx: &mut EntityContext<i64>) -> Result<(), Failure> {
    match ctx.operation() {
        "deposit" => {
            let amount = positive(ctx.input()?)?;
            let balance = ctx.state_mut();
            *balance = balance
                .checked_add(amount)
                .ok_or_else(|| Failure::new(INVALID_AMOUNT, "the balance would overflow"))?;
        }
        "withdraw" => {
            let amount = positive(ctx.input()?)?;
            let balance = ctx.state_or_default();
            if balance < amount {
                return Err(Failure::new(
                    INSUFFICIENT_FUNDS,
                    format!(
                        "account '{}' holds {balance}, less than {amount}",
                        ctx.key()
                    ),
                )
                .with_details(json!({ "balance": balance, "amount": amount })));
            }
            ctx.set_state(balance - amount);
        }
        "get" => ctx.set_result(&ctx.state_or_default()),
        _ => return Err(ctx.unknown_operation()),
    }
    Ok(())
}

/// The input of `Transfer`.
#[derive(Deserialize)]
struct TransferInput {
    from: String,
    to: String,
    amount: i64,
}

/// Moves `amount` from one account to another inside a critical section.
fn transfer(ctx: &OrchestrationContext, input: TransferInput) -> Result<Value, Failure> {
    if input.from == input.to {
        return Ok(json!({ "transferred": false }));
    }
    let amount = positive(input.amount)?;
    let from = EntityId::new("Account", &input.from)?;
    let to = EntityId::new("Account", &input.to)?;
    let section = ctx.lock(&[from.clone(), to.clone()])?;
    let balance: i64 = ctx.call_entity(&from, "get", ())?;
    if balance < amount {
        section.release();
        return Ok(json!({ "transferred": false, "balance": balance }));
    }
    ctx.call_entity::<_, ()>(&from, "withdraw", amount)?;
    ctx.call_entity::<_, ()>(&to, "deposit", amount)?;
    section.release();
    Ok(json!({ "transferred": true }))
}

/// The input of `Balance`.
#[derive(Deserialize)]
struct BalanceInput {
    keys: Vec<String>,
}

/// Sums the balances of `keys` while holding all their locks.
fn balance(ctx: &OrchestrationContext, input: BalanceInput) -> Result<i64, Failure> {
    let keys: BTreeSet<String> = input.keys.into_iter().collect();
    if keys.is_empty() {
        return Ok(0);
    }
    let accounts = keys
        .iter()
        .map(|key| EntityId::new("Account", key))
        .collect::<Result<Vec<_>, _>>()?;
    let section = ctx.lock(&accounts)?;
    // Calls to different locked entities may run in parallel.
    let calls = accounts
        .iter()
        .map(|account| ctx.schedule_call_entity::<_, i64>(account, "get", ()))
        .collect();
    let balances = ctx.when_all(calls)?;
    section.release();
    balances
        .iter()
        .try_fold(0i64, |sum, b| sum.checked_add(*b))
        .ok_or_else(|| Failure::new(INVALID_AMOUNT, "the sum of the balances overflows"))
}

weft_sdk::export_component! {
    orchestrators: { "Transfer" => transfer, "Balance" => balance },
    entities: { "Account" => account },
}
