//! `weft serve`.

use crate::config::units;
use crate::host::{HostConfig, Weft};
use crate::http::{ApiState, router};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use weft_runtime::Limits;

#[derive(Args)]
pub struct ServeArgs {
    /// The redb store file (created if absent).
    #[arg(long, default_value = "weft.redb")]
    store: PathBuf,
    /// Address for the HTTP API.
    #[arg(long, default_value = "127.0.0.1:7071")]
    listen: SocketAddr,
    /// Directory of components (*.wasm) to load at start.
    #[arg(long)]
    components: Option<PathBuf>,
    /// Keep watching --components: deploy .wasm files that appear or change there.
    #[arg(long, requires = "components")]
    watch: bool,
    /// Most orchestrators kept in memory between turns (others replay from history).
    #[arg(long, default_value_t = 4096)]
    max_hot: usize,
    /// Most activities running at once.
    #[arg(long, default_value_t = 256)]
    max_activities: usize,
    /// Task hub for requests that name none.
    #[arg(long, default_value = "default")]
    task_hub_name: String,
    /// Require this API key on every request (`code=` or `Authorization: Bearer`).
    /// Needed to listen beyond loopback.
    #[arg(long, env = "WEFT_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// A host directory activities may use, as HOST or HOST:GUEST (repeatable;
    /// GUEST defaults to HOST). Orchestrators never get directories.
    #[arg(long = "activity-dir", value_name = "HOST[:GUEST]")]
    activity_dirs: Vec<String>,
    /// An environment variable activities see, as NAME=VALUE, or NAME to pass
    /// this process's value (repeatable). Orchestrators never see any.
    #[arg(long = "activity-env", value_name = "NAME[=VALUE]", value_parser = parse_env)]
    activity_env: Vec<(String, String)>,
    /// CPU time one orchestrator turn may use for new work (e.g. 1s, 500ms);
    /// an orchestrator past it fails with weft.CpuLimitExceeded.
    #[arg(long, default_value = "1s", value_parser = units::parse_duration)]
    orchestrator_turn_limit: Duration,
    /// Wall-clock time one activity call may take (e.g. 5m); past it the
    /// attempt fails with weft.ActivityTimeout.
    #[arg(long, default_value = "5m", value_parser = units::parse_duration)]
    activity_timeout: Duration,
    /// Linear memory one orchestrator instance may use (e.g. 64MiB, at most 4GiB).
    #[arg(long, default_value = "64MiB", value_parser = parse_memory)]
    orchestrator_memory: u64,
    /// Linear memory one activity call may use (e.g. 256MiB, at most 4GiB).
    #[arg(long, default_value = "256MiB", value_parser = parse_memory)]
    activity_memory: u64,
    /// Tasks (activities, timers, event waits) one orchestrator turn may schedule.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    max_tasks_per_turn: u32,
    /// Largest component `POST …/components` accepts (e.g. 64MiB).
    #[arg(long, default_value = "64MiB", value_parser = parse_component_size)]
    max_component_size: u64,
    /// How log lines are written to stderr: text, or JSON lines.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Events one execution's history may hold.
    #[arg(long, default_value_t = crate::host::DEFAULT_MAX_HISTORY, value_parser = parse_positive)]
    max_history_events: usize,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Wasm linear memory is 32-bit: 4 GiB is the most a guest can address.
fn parse_memory(text: &str) -> Result<u64, String> {
    units::parse_size(text, 4 << 30)
}

fn parse_component_size(text: &str) -> Result<u64, String> {
    units::parse_size(text, 1 << 30)
}

/// `NAME=VALUE`, or `NAME` for this process's value (which must be set).
fn parse_env(text: &str) -> Result<(String, String), String> {
    let (name, value) = match text.split_once('=') {
        Some((n, v)) => (n, Some(v.to_owned())),
        None => (text, None),
    };
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !valid {
        return Err(format!(
            "'{name}' is not an environment variable name (letters, digits and _, not starting with a digit)"
        ));
    }
    let value = match value {
        Some(v) => v,
        None => std::env::var(name).map_err(|_| {
            format!("{name} is not set in this process's environment; give a value as {name}=VALUE")
        })?,
    };
    Ok((name.to_owned(), value))
}

fn parse_positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{text}' is not a positive whole number")),
    }
}

pub fn run(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEFT_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    match a.log_format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().with_current_span(false).init(),
    }
    let api_key = a.api_key.clone().filter(|k| !k.is_empty());
    if !a.listen.ip().is_loopback() && api_key.is_none() {
        anyhow::bail!(
            "refusing to listen on {} without an API key: anyone who can reach it could run and delete \
             orchestrations. Set --api-key (or WEFT_API_KEY), or listen on 127.0.0.1",
            a.listen
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut config = HostConfig::new(&a.store);
        config.components = a.components.clone();
        config.max_hot = a.max_hot;
        config.max_activities = a.max_activities;
        config.default_hub = a.task_hub_name.clone();
        config.limits = Limits {
            orchestrator_turn: a.orchestrator_turn_limit,
            activity_timeout: a.activity_timeout,
            orchestrator_memory: a.orchestrator_memory,
            activity_memory: a.activity_memory,
            max_tasks_per_turn: a.max_tasks_per_turn,
        };
        config.max_history = a.max_history_events;
        for d in &a.activity_dirs {
            let (host, guest) = d.split_once(':').unwrap_or((d, d));
            anyhow::ensure!(
                std::path::Path::new(host).is_dir(),
                "--activity-dir {d}: '{host}' is not a directory on this machine"
            );
            config.activities.dirs.push((host.into(), guest.to_owned()));
        }
        config.activities.env = a.activity_env.clone();
        let metrics = crate::metrics::install()?;
        let weft = Weft::open(config).await?;
        // Held until the server stops: dropping it ends the watch.
        let _watch = match (&a.components, a.watch) {
            (Some(dir), true) => Some(weft.watch_components(dir)?),
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", a.listen))?;
        tracing::info!(addr = %listener.local_addr()?, store = %a.store.display(), "weft is serving");
        axum::serve(listener, router(ApiState {
            weft,
            api_key,
            max_component: a.max_component_size as usize,
            metrics: Some(metrics),
        }))
            .with_graceful_shutdown(shutdown())
            .await?;
        tracing::info!("weft stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Ctrl-C or SIGTERM. Everything acknowledged is already committed, so stopping
/// loses nothing; work in flight resumes at the next start.
async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
