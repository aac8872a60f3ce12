//! Instance-management commands that talk to a server over HTTP:
//! `func durable`'s commands and options, plus `--endpoint` and `--api-key`.
//! JSON on stdout, readable errors on stderr, non-zero exit on failure.

use clap::Args;
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const BASE: &str = "runtime/webhooks/durabletask";

/// Where the server is, which task hub, and the API key.
#[derive(Args, Clone)]
pub struct Remote {
    /// The server's base URL.
    #[arg(long, env = "WEFT_ENDPOINT", default_value = "http://127.0.0.1:7071")]
    endpoint: String,
    /// Task hub (the server's default when omitted).
    #[arg(long)]
    task_hub_name: Option<String>,
    /// API key, when the server requires one.
    #[arg(long, env = "WEFT_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

impl Remote {
    /// `{endpoint}/runtime/webhooks/durabletask/{path}?{query}&taskHub=...`.
    pub(super) fn url(&self, path: &str, query: &[(&str, String)]) -> String {
        let mut q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        if let Some(h) = &self.task_hub_name {
            q.push(format!("taskHub={}", enc(h)));
        }
        let mut url = format!("{}/{BASE}/{path}", self.endpoint.trim_end_matches('/'));
        if !q.is_empty() {
            url.push('?');
            url.push_str(&q.join("&"));
        }
        url
    }

    fn client() -> Client {
        Client::builder()
            .timeout(Duration::from_secs(3700))
            .build()
            .expect("HTTP client")
    }

    pub(super) fn get(&self, path: &str, query: &[(&str, String)]) -> RequestBuilder {
        self.auth(Self::client().get(self.url(path, query)))
    }

    pub(super) fn post(&self, path: &str, query: &[(&str, String)]) -> RequestBuilder {
        self.auth(
            Self::client()
                .post(self.url(path, query))
                .header("content-type", "application/json"),
        )
    }

    /// A POST of raw bytes of `content_type` (a component).
    pub(super) fn post_bytes(
        &self,
        path: &str,
        query: &[(&str, String)],
        content_type: &str,
        bytes: Vec<u8>,
    ) -> RequestBuilder {
        self.auth(
            Self::client()
                .post(self.url(path, query))
                .header("content-type", content_type)
                .body(bytes),
        )
    }

    pub(super) fn delete(&self, path: &str, query: &[(&str, String)]) -> RequestBuilder {
        self.auth(Self::client().delete(self.url(path, query)))
    }

    pub(super) fn auth(&self, req: RequestBuilder) -> RequestBuilder {
        match &self.api_key {
            Some(k) => req.bearer_auth(k),
            None => req,
        }
    }

    /// Sends a request; a connection failure gets a hint about the endpoint.
    pub(super) fn send(&self, req: RequestBuilder) -> anyhow::Result<Response> {
        req.send().map_err(|e| {
            anyhow::anyhow!(
                "cannot reach the Weft server at {} ({e}); is `weft serve` running?",
                self.endpoint
            )
        })
    }

    /// Sends and returns the JSON body, or the server's error as an error.
    pub(super) fn call(
        &self,
        req: RequestBuilder,
    ) -> anyhow::Result<(StatusCode, Value, Option<String>)> {
        let resp = self.send(req)?;
        let status = resp.status();
        let token = resp
            .headers()
            .get("x-ms-continuation-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.text().unwrap_or_default();
        let v: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
        };
        if status.is_client_error() || status.is_server_error() {
            let msg = v
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or(text);
            anyhow::bail!(
                "{} {}: {msg}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
        }
        Ok((status, v, token))
    }

    /// Prints a start's answer, or with `wait` polls the started instance to the end.
    fn print_or_wait(&self, started: &Value, wait: Option<f64>) -> anyhow::Result<ExitCode> {
        match wait {
            None => {
                print(started);
                Ok(ExitCode::SUCCESS)
            }
            Some(w) => self.wait(started["id"].as_str().unwrap_or_default(), w),
        }
    }

    /// Polls the instance until it finishes or `wait` seconds pass, showing each
    /// status change on stderr. Prints the final status; the exit code says how it ended.
    fn wait(&self, id: &str, wait: f64) -> anyhow::Result<ExitCode> {
        let deadline = Instant::now() + Duration::from_secs_f64(wait.max(0.0));
        let mut last = String::new();
        loop {
            let (code, status, _) = self.call(self.get(&format!("instances/{}", enc(id)), &[]))?;
            let rs = status["runtimeStatus"].as_str().unwrap_or("?").to_owned();
            if rs != last {
                eprintln!("instance {id}: {rs}");
                last = rs.clone();
            }
            if code == StatusCode::OK {
                print(&status);
                return Ok(if rs == "Completed" {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(2)
                });
            }
            if Instant::now() >= deadline {
                eprintln!("instance {id} has not finished after {wait} s; showing its status");
                print(&status);
                return Ok(ExitCode::from(3));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub(super) fn print(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).expect("JSON"));
}

pub(super) fn enc(s: &str) -> String {
    crate::http::encode(s)
}

/// `--runtime-status`: space- or comma-separated, possibly repeated.
fn statuses(values: &[String]) -> Option<String> {
    let all: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split([' ', ',']))
        .filter(|s| !s.is_empty())
        .collect();
    (!all.is_empty()).then(|| all.join(","))
}

#[derive(Args)]
pub struct StartNewArgs {
    /// Orchestrator name.
    #[arg(long)]
    function_name: String,
    /// Input: JSON text, or @file.
    #[arg(long)]
    input: Option<String>,
    /// Instance ID (random when omitted).
    #[arg(long)]
    id: Option<String>,
    /// Wait up to this many seconds for the instance to finish, then print its status.
    #[arg(long)]
    wait: Option<f64>,
    /// Run on this stored component version (sha256:…) instead of the current one.
    #[arg(long)]
    component_digest: Option<String>,
    #[command(flatten)]
    remote: Remote,
}

pub fn start_new(a: StartNewArgs) -> anyhow::Result<ExitCode> {
    let input = a
        .input
        .as_deref()
        .map(|i| super::json_arg("--input", i))
        .transpose()?;
    let path = match &a.id {
        Some(id) => format!("orchestrators/{}/{}", enc(&a.function_name), enc(id)),
        None => format!("orchestrators/{}", enc(&a.function_name)),
    };
    let query: Vec<(&str, String)> = a
        .component_digest
        .iter()
        .map(|d| ("componentDigest", d.clone()))
        .collect();
    let mut req = a.remote.post(&path, &query);
    if let Some(i) = input {
        req = req.body(i);
    }
    let (_, started, _) = a.remote.call(req)?;
    a.remote.print_or_wait(&started, a.wait)
}

#[derive(Args)]
pub struct StatusArgs {
    /// Instance ID.
    #[arg(long)]
    id: String,
    /// Include the input.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    show_input: bool,
    /// Include the output.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    show_output: bool,
    #[command(flatten)]
    remote: Remote,
}

pub fn get_runtime_status(a: StatusArgs) -> anyhow::Result<ExitCode> {
    let q = [("showInput", a.show_input.to_string())];
    let (_, mut status, _) = a
        .remote
        .call(a.remote.get(&format!("instances/{}", enc(&a.id)), &q))?;
    if !a.show_output
        && let Some(o) = status.as_object_mut()
    {
        o.remove("output");
    }
    print(&status);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct IdArgs {
    /// Instance ID.
    #[arg(long)]
    id: String,
    #[command(flatten)]
    remote: Remote,
}

pub fn get_history(a: IdArgs) -> anyhow::Result<ExitCode> {
    let (_, history, _) = a.remote.call(
        a.remote
            .get(&format!("instances/{}/history", enc(&a.id)), &[]),
    )?;
    print(&history);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct InstancesArgs {
    /// Only instances created at or after this time (ISO 8601).
    #[arg(long)]
    created_after: Option<String>,
    /// Only instances created at or before this time (ISO 8601).
    #[arg(long)]
    created_before: Option<String>,
    /// Only these statuses (space- or comma-separated).
    #[arg(long, num_args = 1..)]
    runtime_status: Vec<String>,
    /// Page size.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// The token printed by the previous page.
    #[arg(long)]
    continuation_token: Option<String>,
    /// Only IDs starting with this.
    #[arg(long)]
    instance_id_prefix: Option<String>,
    /// Only instances running on this component version (sha256:…).
    #[arg(long)]
    component_digest: Option<String>,
    /// Include inputs.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    show_input: bool,
    #[command(flatten)]
    remote: Remote,
}

pub fn get_instances(a: InstancesArgs) -> anyhow::Result<ExitCode> {
    let mut q = vec![
        ("top", a.top.to_string()),
        ("showInput", a.show_input.to_string()),
    ];
    if let Some(t) = &a.created_after {
        q.push(("createdTimeFrom", t.clone()));
    }
    if let Some(t) = &a.created_before {
        q.push(("createdTimeTo", t.clone()));
    }
    if let Some(s) = statuses(&a.runtime_status) {
        q.push(("runtimeStatus", s));
    }
    if let Some(p) = &a.instance_id_prefix {
        q.push(("instanceIdPrefix", p.clone()));
    }
    if let Some(d) = &a.component_digest {
        q.push(("componentDigest", d.clone()));
    }
    let mut req = a.remote.get("instances", &q);
    if let Some(t) = &a.continuation_token {
        req = req.header("x-ms-continuation-token", t);
    }
    let (_, instances, token) = a.remote.call(req)?;
    print(&serde_json::json!({ "instances": instances, "continuationToken": token }));
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ControlArgs {
    /// Instance ID.
    #[arg(long)]
    id: String,
    /// Why (recorded in the history).
    #[arg(long)]
    reason: Option<String>,
    /// terminate only: also terminate running sub-orchestrations, at every depth.
    #[arg(long)]
    recursive: bool,
    #[command(flatten)]
    remote: Remote,
}

/// terminate, suspend, resume, rewind: send the request, then show the status.
pub fn control(op: &str, a: ControlArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !a.recursive || op == "terminate",
        "--recursive applies to terminate only"
    );
    let mut q: Vec<(&str, String)> = a.reason.iter().map(|r| ("reason", r.clone())).collect();
    if a.recursive {
        q.push(("recurse", "true".into()));
    }
    a.remote
        .call(a.remote.post(&format!("instances/{}/{op}", enc(&a.id)), &q))?;
    eprintln!("{op} request accepted for instance {}", a.id);
    // The request is queued like any message; show where the instance got to.
    let expect = match op {
        "terminate" => Some("Terminated"),
        "suspend" => Some("Suspended"),
        _ => None,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, status, _) = a
            .remote
            .call(a.remote.get(&format!("instances/{}", enc(&a.id)), &[]))?;
        let now = status["runtimeStatus"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let settled = match expect {
            Some(e) => now == e,
            None => now != "Failed" && now != "Suspended",
        };
        if settled || Instant::now() >= deadline {
            print(&status);
            return Ok(if settled {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[derive(Args)]
pub struct RestartArgs {
    /// Instance ID.
    #[arg(long)]
    id: String,
    /// Start under a new random ID (true) or the same ID (false).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    restart_with_new_instance_id: bool,
    /// Wait up to this many seconds for the new run to finish.
    #[arg(long)]
    wait: Option<f64>,
    #[command(flatten)]
    remote: Remote,
}

pub fn restart(a: RestartArgs) -> anyhow::Result<ExitCode> {
    let q = [(
        "restartWithNewInstanceId",
        a.restart_with_new_instance_id.to_string(),
    )];
    let (_, started, _) = a.remote.call(
        a.remote
            .post(&format!("instances/{}/restart", enc(&a.id)), &q),
    )?;
    a.remote.print_or_wait(&started, a.wait)
}

#[derive(Args)]
pub struct WaitArgs {
    /// Instance ID.
    #[arg(long)]
    id: String,
    /// Seconds to wait at most.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    #[command(flatten)]
    remote: Remote,
}

pub fn wait(a: WaitArgs) -> anyhow::Result<ExitCode> {
    a.remote.wait(&a.id, a.timeout)
}

#[derive(Args)]
pub struct RaiseEventArgs {
    /// Instance ID.
    #[arg(long)]
    id: String,
    /// Event name.
    #[arg(long)]
    event_name: String,
    /// Event data: JSON text, or @file.
    #[arg(long, default_value = "null")]
    event_data: String,
    #[command(flatten)]
    remote: Remote,
}

pub fn raise_event(a: RaiseEventArgs) -> anyhow::Result<ExitCode> {
    let data = super::json_arg("--event-data", &a.event_data)?;
    let path = format!("instances/{}/raiseEvent/{}", enc(&a.id), enc(&a.event_name));
    a.remote.call(a.remote.post(&path, &[]).body(data))?;
    eprintln!("raised event '{}' to instance '{}'", a.event_name, a.id);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct PurgeArgs {
    /// Purge this one instance (else purge by the filters below).
    #[arg(long)]
    id: Option<String>,
    /// Only instances created at or after this time (ISO 8601; default: the beginning).
    #[arg(long)]
    created_after: Option<String>,
    /// Only instances created at or before this time (ISO 8601).
    #[arg(long)]
    created_before: Option<String>,
    /// Only these statuses (Completed, Failed, Terminated; others are never purged).
    #[arg(long, num_args = 1..)]
    runtime_status: Vec<String>,
    #[command(flatten)]
    remote: Remote,
}

pub fn purge_history(a: PurgeArgs) -> anyhow::Result<ExitCode> {
    let (_, result, _) = match &a.id {
        Some(id) => a
            .remote
            .call(a.remote.delete(&format!("instances/{}", enc(id)), &[]))?,
        None => {
            let mut q = vec![(
                "createdTimeFrom",
                a.created_after
                    .clone()
                    .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned()),
            )];
            if let Some(t) = &a.created_before {
                q.push(("createdTimeTo", t.clone()));
            }
            if let Some(s) = statuses(&a.runtime_status) {
                q.push(("runtimeStatus", s));
            }
            // 404 means nothing matched: not a failure for a command line user.
            match a.remote.call(a.remote.delete("instances", &q)) {
                Err(e) if e.to_string().starts_with("404") => (
                    StatusCode::NOT_FOUND,
                    serde_json::json!({"instancesDeleted": 0}),
                    None,
                ),
                other => other?,
            }
        }
    };
    print(&result);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct DeleteHubArgs {
    #[command(flatten)]
    remote: Remote,
}

pub fn delete_task_hub(a: DeleteHubArgs) -> anyhow::Result<ExitCode> {
    let Some(hub) = a.remote.task_hub_name.clone() else {
        anyhow::bail!("name the task hub to delete with --task-hub-name");
    };
    let (_, result, _) = a
        .remote
        .call(a.remote.delete(&format!("taskhubs/{}", enc(&hub)), &[]))?;
    print(&result);
    Ok(ExitCode::SUCCESS)
}
