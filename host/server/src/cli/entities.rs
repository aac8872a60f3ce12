//! Entity commands over HTTP: `signal-entity`, `get-entity`, `get-entities`,
//! `clean-entities` (the `…/entities` routes).

use super::remote::{Remote, enc, print};
use clap::Args;
use std::process::ExitCode;

/// Which entity: its name and key (an empty key is allowed).
#[derive(Args)]
pub struct EntityArgs {
    /// Entity name (case-insensitive; IDs lower-case it).
    #[arg(long)]
    name: String,
    /// Entity key (empty for the entity without a key).
    #[arg(long, default_value = "")]
    key: String,
}

impl EntityArgs {
    /// `entities/{name}/{key}`, with `$` for the empty key.
    fn path(&self) -> String {
        let key = if self.key.is_empty() { "$" } else { &self.key };
        format!("entities/{}/{}", enc(&self.name), enc(key))
    }
}

#[derive(Args)]
pub struct SignalEntityArgs {
    #[command(flatten)]
    entity: EntityArgs,
    /// The operation to run.
    #[arg(long)]
    operation: String,
    /// The operation's input: JSON, or @file.
    #[arg(long, default_value = "null")]
    input: String,
    #[command(flatten)]
    remote: Remote,
}

pub fn signal_entity(a: SignalEntityArgs) -> anyhow::Result<ExitCode> {
    let input = super::json_arg("--input", &a.input)?;
    let req = a
        .remote
        .post(&a.entity.path(), &[("op", a.operation.clone())])
        .body(input);
    a.remote.call(req)?;
    eprintln!(
        "signalled operation '{}' on entity '{}' key '{}'",
        a.operation, a.entity.name, a.entity.key
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct GetEntityArgs {
    #[command(flatten)]
    entity: EntityArgs,
    #[command(flatten)]
    remote: Remote,
}

/// Prints the entity's state; fails (404) when it does not exist.
pub fn get_entity(a: GetEntityArgs) -> anyhow::Result<ExitCode> {
    let (_, state, _) = a.remote.call(a.remote.get(&a.entity.path(), &[]))?;
    print(&state);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct GetEntitiesArgs {
    /// Only entities of this name.
    #[arg(long)]
    name: Option<String>,
    /// Include each entity's state.
    #[arg(long)]
    fetch_state: bool,
    /// Only entities whose last operation ran at or after this time (ISO 8601).
    #[arg(long)]
    last_operation_after: Option<String>,
    /// Only entities whose last operation ran at or before this time (ISO 8601).
    #[arg(long)]
    last_operation_before: Option<String>,
    /// Entities per page.
    #[arg(long, default_value_t = 100)]
    top: usize,
    /// The continuation token of the previous page.
    #[arg(long)]
    continuation_token: Option<String>,
    #[command(flatten)]
    remote: Remote,
}

pub fn get_entities(a: GetEntitiesArgs) -> anyhow::Result<ExitCode> {
    let mut q = vec![
        ("top", a.top.to_string()),
        ("fetchState", a.fetch_state.to_string()),
    ];
    if let Some(t) = &a.last_operation_after {
        q.push(("lastOperationTimeFrom", t.clone()));
    }
    if let Some(t) = &a.last_operation_before {
        q.push(("lastOperationTimeTo", t.clone()));
    }
    let path = match &a.name {
        Some(n) => format!("entities/{}", enc(n)),
        None => "entities".to_owned(),
    };
    let mut req = a.remote.get(&path, &q);
    if let Some(t) = &a.continuation_token {
        req = req.header("x-ms-continuation-token", t);
    }
    let (_, entities, token) = a.remote.call(req)?;
    print(&serde_json::json!({ "entities": entities, "continuationToken": token }));
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct CleanEntitiesArgs {
    #[command(flatten)]
    remote: Remote,
}

/// Removes entities without state, lock or waiting operation.
pub fn clean_entities(a: CleanEntitiesArgs) -> anyhow::Result<ExitCode> {
    let (_, result, _) = a.remote.call(a.remote.delete("entities", &[]))?;
    print(&result);
    Ok(ExitCode::SUCCESS)
}
