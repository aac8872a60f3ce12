//! The `weft` command line.
//!
//! `serve` runs the host. The instance-management commands mirror
//! `func durable` (names and options) and talk to a running server over HTTP
//! (`--endpoint`). They print JSON on stdout, readable errors on stderr, and
//! exit non-zero on failure. `deploy` and `components` manage the components
//! of a running server the same way. `bench` runs the benchmark workloads in-process.

mod bench;
mod bench_entities;
mod components;
mod entities;
mod remote;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "weft",
    version,
    about = "Durable orchestrations for WebAssembly components"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the host: store, dispatcher and HTTP API.
    Serve(Box<serve::ServeArgs>),
    /// Start a new orchestration instance.
    StartNew(remote::StartNewArgs),
    /// Show an instance's status.
    GetRuntimeStatus(remote::StatusArgs),
    /// Show an instance's full history.
    GetHistory(remote::IdArgs),
    /// List instances, filtered and paged.
    GetInstances(remote::InstancesArgs),
    /// Send an external event to an instance.
    RaiseEvent(remote::RaiseEventArgs),
    /// Terminate an instance.
    Terminate(remote::ControlArgs),
    /// Suspend an instance (arrivals are kept until it is resumed).
    Suspend(remote::ControlArgs),
    /// Resume a suspended instance.
    Resume(remote::ControlArgs),
    /// Rewind a failed instance: its failed activities run again.
    Rewind(remote::ControlArgs),
    /// Start an instance's orchestrator again with the same input.
    Restart(remote::RestartArgs),
    /// Wait for an instance to finish and print its status.
    Wait(remote::WaitArgs),
    /// Delete finished instances: one by --id, or by filter.
    PurgeHistory(remote::PurgeArgs),
    /// Delete a task hub and all its data.
    DeleteTaskHub(remote::DeleteHubArgs),
    /// Signal an operation on a durable entity (one way).
    SignalEntity(entities::SignalEntityArgs),
    /// Show a durable entity's state.
    GetEntity(entities::GetEntityArgs),
    /// List durable entities, filtered and paged.
    GetEntities(entities::GetEntitiesArgs),
    /// Delete entities that have no state, no lock and nothing waiting.
    CleanEntities(entities::CleanEntitiesArgs),
    /// Deploy components (.wasm files) into a running server.
    Deploy(components::DeployArgs),
    /// List stored components, or show or remove one.
    Components(components::ComponentsArgs),
    /// Run the benchmark workloads (W1, W2) in-process and print the figures.
    Bench(bench::BenchArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => serve::run(*a),
        Command::StartNew(a) => remote::start_new(a),
        Command::GetRuntimeStatus(a) => remote::get_runtime_status(a),
        Command::GetHistory(a) => remote::get_history(a),
        Command::GetInstances(a) => remote::get_instances(a),
        Command::RaiseEvent(a) => remote::raise_event(a),
        Command::Terminate(a) => remote::control("terminate", a),
        Command::Suspend(a) => remote::control("suspend", a),
        Command::Resume(a) => remote::control("resume", a),
        Command::Rewind(a) => remote::control("rewind", a),
        Command::Restart(a) => remote::restart(a),
        Command::Wait(a) => remote::wait(a),
        Command::PurgeHistory(a) => remote::purge_history(a),
        Command::DeleteTaskHub(a) => remote::delete_task_hub(a),
        Command::SignalEntity(a) => entities::signal_entity(a),
        Command::GetEntity(a) => entities::get_entity(a),
        Command::GetEntities(a) => entities::get_entities(a),
        Command::CleanEntities(a) => entities::clean_entities(a),
        Command::Deploy(a) => components::deploy(a),
        Command::Components(a) => components::components(a),
        Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `--input`/`--event-data`: inline JSON, or `@path` to read a file.
pub(crate) fn json_arg(what: &str, value: &str) -> anyhow::Result<String> {
    let text = match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {what} file '{path}': {e}"))?,
        None => value.to_owned(),
    };
    serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
        anyhow::anyhow!("{what} is not valid JSON ({e}); quote strings, e.g. --input '\"Tokyo\"'")
    })?;
    Ok(text)
}
