//! Everything `weft serve` takes, as one type read from three places:
//! flags, environment variables (clap reads both) and weft.toml (serde).
//!
//! Each setting is a flag `--NAME` and a top-level key `NAME` of the file;
//! scalar ones also have an environment variable `WEFT_NAME`. Precedence is
//! flags over environment over file, then the default: [`Settings::over`]
//! layers two sources, [`Settings::resolve`] applies the defaults and checks
//! what no single value can. A list given as flags replaces the file's list.

use super::names::{ActivityTable, OrchestratorTable};
use super::values::{
    ComponentSize, Count, DirGrant, EnvGrant, GuestMemory, HttpGrant, Limit, ResponseSize,
    capabilities,
};
use crate::host::HostConfig;
use crate::http::listen::ConnectionLimits;
use anyhow::bail;
use clap::Args;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args, Deserialize, Default, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// Where task hubs are kept: a redb file, created if absent (a path, or
    /// `redb://PATH`), or a PostgreSQL URL (`postgres://user@host:port/db`)
    /// [default: weft.redb].
    #[arg(long, env = "WEFT_STORE")]
    pub store: Option<PathBuf>,
    /// Address for the HTTP API [default: 127.0.0.1:7071].
    #[arg(long, env = "WEFT_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory of components (*.wasm) to load at start.
    #[arg(long, env = "WEFT_COMPONENTS")]
    pub components: Option<PathBuf>,
    /// Keep watching `components`: deploy .wasm files that appear or change there.
    #[arg(long)]
    #[serde(default)]
    pub watch: bool,
    /// Most orchestrators kept in memory between turns; others replay from
    /// history [default: 4096].
    #[arg(long, env = "WEFT_MAX_HOT")]
    pub max_hot: Option<usize>,
    /// Most activities running at once [default: 256].
    #[arg(long, env = "WEFT_MAX_ACTIVITIES")]
    pub max_activities: Option<Count>,
    /// Task hub for requests that name none [default: default].
    #[arg(long, env = "WEFT_TASK_HUB_NAME")]
    pub task_hub_name: Option<String>,
    /// Require this API key on every request (`code=` or `Authorization:
    /// Bearer`). Needed to listen beyond loopback.
    #[arg(long, env = "WEFT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The name of an environment variable that holds the API key (keeps the
    /// key itself out of the file).
    #[arg(long, value_name = "VARIABLE")]
    pub api_key_env: Option<String>,
    /// A host directory every activity may use, as HOST or HOST:GUEST
    /// (repeatable; GUEST defaults to HOST). Orchestrators never get directories.
    #[arg(long, value_name = "HOST[:GUEST]")]
    #[serde(default)]
    pub activity_dir: Vec<DirGrant>,
    /// An environment variable every activity sees, as NAME=VALUE, or NAME to
    /// pass this process's value (repeatable). Orchestrators never see any.
    #[arg(long, value_name = "NAME[=VALUE]")]
    #[serde(default)]
    pub activity_env: Vec<EnvGrant>,
    /// A host every activity may send HTTP requests to, as HOST, HOST:PORT or
    /// https://HOST[:PORT]; *.example.com for subdomains (repeatable; none by
    /// default). Without a port, the scheme's default port.
    #[arg(long, value_name = "HOST[:PORT]")]
    #[serde(default)]
    pub allow_http: Vec<HttpGrant>,
    /// CPU time one orchestrator turn may use for new work (e.g. 1s, 500ms);
    /// past it the orchestrator fails with weft.CpuLimitExceeded [default: 1s].
    #[arg(long, env = "WEFT_ORCHESTRATOR_TURN_LIMIT")]
    pub orchestrator_turn_limit: Option<Limit>,
    /// Wall-clock time one activity call may take (e.g. 5m); past it the
    /// attempt fails with weft.ActivityTimeout [default: 5m].
    #[arg(long, env = "WEFT_ACTIVITY_TIMEOUT")]
    pub activity_timeout: Option<Limit>,
    /// Linear memory one orchestrator instance may use, at most 4GiB [default: 64MiB].
    #[arg(long, env = "WEFT_ORCHESTRATOR_MEMORY")]
    pub orchestrator_memory: Option<GuestMemory>,
    /// Linear memory one activity call may use, at most 4GiB [default: 256MiB].
    #[arg(long, env = "WEFT_ACTIVITY_MEMORY")]
    pub activity_memory: Option<GuestMemory>,
    /// Tasks (activities, timers, event waits) one orchestrator turn may
    /// schedule [default: 10000].
    #[arg(long, env = "WEFT_MAX_TASKS_PER_TURN")]
    pub max_tasks_per_turn: Option<Count>,
    /// On PostgreSQL: how long a host's partitions of a task hub stay its
    /// own without renewal (it renews five times per lease), so how soon
    /// the other hosts take over a host that died [default: 10s].
    #[arg(long, env = "WEFT_LEASE")]
    pub lease: Option<Limit>,
    /// Events one execution's history may hold [default: 100000].
    #[arg(long, env = "WEFT_MAX_HISTORY_EVENTS")]
    pub max_history_events: Option<Count>,
    /// Largest response body a durable HTTP call records, at most 16MiB
    /// [default: 1MiB]; a larger one fails the call with weft.HttpResponseTooLarge.
    #[arg(long, env = "WEFT_MAX_HTTP_RESPONSE")]
    pub max_http_response: Option<ResponseSize>,
    /// Largest component `POST …/components` accepts, at most 1GiB [default: 64MiB].
    #[arg(long, env = "WEFT_MAX_COMPONENT_SIZE")]
    pub max_component_size: Option<ComponentSize>,
    /// Most HTTP connections open at once; one more is answered 503 and closed
    /// [default: 1024, or fewer if the descriptor limit is lower].
    #[arg(long, env = "WEFT_MAX_CONNECTIONS")]
    pub max_connections: Option<Count>,
    /// How long a connection may take to send a request head, from opening
    /// or from its previous response; also the keep-alive idle timeout
    /// [default: 10s].
    #[arg(long, env = "WEFT_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<Limit>,
    /// Longest pause while a request body is sent [default: 30s].
    #[arg(long, env = "WEFT_BODY_READ_TIMEOUT")]
    pub body_read_timeout: Option<Limit>,
    /// How log lines are written to stderr: text, or JSON lines [default: text].
    #[arg(long, value_enum, env = "WEFT_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Per orchestrator name: limits (weft.toml only).
    #[arg(skip)]
    #[serde(default)]
    pub orchestrator: BTreeMap<String, OrchestratorTable>,
    /// Per activity name: limits and more grants (weft.toml only).
    #[arg(skip)]
    #[serde(default)]
    pub activity: BTreeMap<String, ActivityTable>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `serve`'s settings, defaults applied and checked.
#[derive(Debug)]
pub struct ServeConfig {
    pub host: HostConfig,
    pub listen: SocketAddr,
    pub api_key: Option<String>,
    pub watch: bool,
    pub max_component: usize,
    pub log_format: LogFormat,
    pub connections: ConnectionLimits,
}

fn list<T: Clone>(high: &[T], low: &[T]) -> Vec<T> {
    if high.is_empty() { low } else { high }.to_vec()
}

impl Settings {
    /// These settings where they are given, `low`'s elsewhere.
    pub fn over(self, low: Settings) -> Settings {
        Settings {
            store: self.store.or(low.store),
            listen: self.listen.or(low.listen),
            components: self.components.or(low.components),
            watch: self.watch || low.watch,
            max_hot: self.max_hot.or(low.max_hot),
            max_activities: self.max_activities.or(low.max_activities),
            task_hub_name: self.task_hub_name.or(low.task_hub_name),
            api_key: self.api_key.or(low.api_key),
            api_key_env: self.api_key_env.or(low.api_key_env),
            activity_dir: list(&self.activity_dir, &low.activity_dir),
            activity_env: list(&self.activity_env, &low.activity_env),
            allow_http: list(&self.allow_http, &low.allow_http),
            orchestrator_turn_limit: self.orchestrator_turn_limit.or(low.orchestrator_turn_limit),
            activity_timeout: self.activity_timeout.or(low.activity_timeout),
            orchestrator_memory: self.orchestrator_memory.or(low.orchestrator_memory),
            activity_memory: self.activity_memory.or(low.activity_memory),
            max_tasks_per_turn: self.max_tasks_per_turn.or(low.max_tasks_per_turn),
            max_history_events: self.max_history_events.or(low.max_history_events),
            lease: self.lease.or(low.lease),
            max_component_size: self.max_component_size.or(low.max_component_size),
            max_http_response: self.max_http_response.or(low.max_http_response),
            log_format: self.log_format.or(low.log_format),
            max_connections: self.max_connections.or(low.max_connections),
            header_read_timeout: self.header_read_timeout.or(low.header_read_timeout),
            body_read_timeout: self.body_read_timeout.or(low.body_read_timeout),
            orchestrator: if self.orchestrator.is_empty() {
                low.orchestrator
            } else {
                self.orchestrator
            },
            activity: if self.activity.is_empty() {
                low.activity
            } else {
                self.activity
            },
        }
    }

    /// Applies the defaults and checks the settings together.
    pub fn resolve(self) -> anyhow::Result<ServeConfig> {
        let mut host = HostConfig::new(store_location(
            self.store.unwrap_or_else(|| "weft.redb".into()),
        )?);
        if self.watch && self.components.is_none() {
            bail!(
                "watch needs a components directory to watch: set --components (or components in weft.toml)"
            );
        }
        host.components = self.components;
        // 0 is allowed: every turn then replays from history.
        if let Some(n) = self.max_hot {
            host.max_hot = n;
        }
        if let Some(Count(n)) = self.max_activities {
            host.max_activities = n as usize;
        }
        if let Some(Count(n)) = self.max_history_events {
            host.max_history = n as usize;
        }
        if let Some(Limit(d)) = self.lease {
            host.lease = d;
        }
        if let Some(ResponseSize(n)) = self.max_http_response {
            host.max_http_response = n as usize;
        }
        if let Some(hub) = self.task_hub_name {
            host.default_hub = hub;
        }
        let limits = &mut host.policy.limits;
        if let Some(Count(n)) = self.max_tasks_per_turn {
            limits.max_tasks_per_turn = n;
        }
        if let Some(Limit(d)) = self.orchestrator_turn_limit {
            limits.orchestrator_turn = d;
        }
        if let Some(Limit(d)) = self.activity_timeout {
            limits.activity_timeout = d;
        }
        if let Some(GuestMemory(m)) = self.orchestrator_memory {
            limits.orchestrator_memory = m;
        }
        if let Some(GuestMemory(m)) = self.activity_memory {
            limits.activity_memory = m;
        }
        host.policy.activities =
            capabilities(&self.activity_dir, &self.activity_env, &self.allow_http);
        for (name, table) in self.orchestrator {
            host.policy.orchestrator.insert(name, table.resolve());
        }
        for (name, table) in self.activity {
            host.policy.activity.insert(name, table.resolve());
        }
        let api_key = match (self.api_key, self.api_key_env) {
            (Some(k), _) => Some(k),
            (None, Some(var)) => Some(std::env::var(&var).map_err(|_| {
                anyhow::anyhow!(
                    "api-key-env names {var}, which is not set in this process's environment; set it, or give api-key"
                )
            })?),
            (None, None) => None,
        }
        .map(|k| k.trim().to_owned());
        if api_key.as_deref() == Some("") {
            bail!(
                "the API key is empty (or only whitespace), which anyone could send: give a real key, or \
                 leave --api-key, WEFT_API_KEY and api-key unset"
            );
        }
        let listen = self
            .listen
            .unwrap_or_else(|| "127.0.0.1:7071".parse().expect("a socket address"));
        if !listen.ip().is_loopback() && api_key.is_none() {
            bail!(
                "refusing to listen on {listen} without an API key: anyone who can reach it could run and delete \
                 orchestrations. Set --api-key (or WEFT_API_KEY, or api-key in weft.toml), or listen on 127.0.0.1"
            );
        }
        Ok(ServeConfig {
            host,
            listen,
            api_key,
            watch: self.watch,
            max_component: self.max_component_size.map_or(64 << 20, |s| s.0) as usize,
            log_format: self.log_format.unwrap_or_default(),
            connections: {
                let d = ConnectionLimits::default();
                ConnectionLimits {
                    max_connections: self
                        .max_connections
                        .map_or(d.max_connections, |c| c.0 as usize),
                    header_timeout: self.header_read_timeout.map_or(d.header_timeout, |l| l.0),
                    body_timeout: self.body_read_timeout.map_or(d.body_timeout, |l| l.0),
                }
            },
        })
    }
}

/// Where `--store` points: a redb file path, `redb://PATH`, or a
/// PostgreSQL URL.
fn store_location(store: PathBuf) -> anyhow::Result<crate::host::StoreLocation> {
    crate::host::StoreLocation::parse(&store.to_string_lossy()).map_err(|e| anyhow::anyhow!(e))
}
