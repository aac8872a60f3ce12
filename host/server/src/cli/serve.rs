//! `weft serve`.

use crate::config::{LogFormat, Settings, file};
use crate::host::Weft;
use crate::http::{ApiState, listen, router};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct ServeArgs {
    /// A weft.toml with any of the settings below (keys are the flags' names
    /// without --; flags and environment variables win over it).
    #[arg(long, env = "WEFT_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
}

pub fn run(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let file = match &a.config {
        Some(path) => file::load(path)?,
        None => Settings::default(),
    };
    let c = a.settings.over(file).resolve()?;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEFT_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    match c.log_format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().with_current_span(false).init(),
    }
    let fd_limit = listen::raise_fd_limit();
    let mut connections = c.connections;
    connections.max_connections = listen::fitting_cap(connections.max_connections, fd_limit);
    if connections.max_connections < c.connections.max_connections {
        tracing::warn!(
            fd_limit,
            max_connections = connections.max_connections,
            "the descriptor limit is lower than --max-connections needs; serving fewer connections"
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let store = c.host.store.clone();
        let components = c.host.components.clone();
        let metrics = crate::metrics::install()?;
        let weft = Weft::open(c.host).await?;
        // Held until the server stops: dropping it ends the watch.
        let _watch = match (&components, c.watch) {
            (Some(dir), true) => Some(weft.watch_components(dir)?),
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind(c.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", c.listen))?;
        tracing::info!(
            addr = %listener.local_addr()?, store = %store,
            max_connections = connections.max_connections, fd_limit,
            "weft is serving"
        );
        let app = router(ApiState {
            weft: weft.clone(),
            api_key: c.api_key,
            max_component: c.max_component,
            metrics: Some(metrics),
        });
        listen::serve(listener, app, connections, shutdown()).await;
        weft.release_leases().await;
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
