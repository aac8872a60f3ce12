//! `weft serve`.

use crate::host::{HostConfig, Weft};
use crate::http::{ApiState, router};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

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
}

pub fn run(a: ServeArgs) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEFT_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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
        for d in &a.activity_dirs {
            let (host, guest) = d.split_once(':').unwrap_or((d, d));
            anyhow::ensure!(
                std::path::Path::new(host).is_dir(),
                "--activity-dir {d}: '{host}' is not a directory on this machine"
            );
            config.activities.dirs.push((host.into(), guest.to_owned()));
        }
        let weft = Weft::open(config).await?;
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", a.listen))?;
        tracing::info!(addr = %listener.local_addr()?, store = %a.store.display(), "weft is serving");
        axum::serve(listener, router(ApiState { weft, api_key }))
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
