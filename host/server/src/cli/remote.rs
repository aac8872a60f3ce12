//! Instance-management commands that talk to a server over HTTP.

use clap::Args;
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use serde_json::Value;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const BASE: &str = "runtime/webhooks/durabletask";

#[derive(Args)]
pub struct Endpoint {
    /// The server's base URL.
    #[arg(long, env = "WEFT_ENDPOINT", default_value = "http://127.0.0.1:7071")]
    endpoint: String,
}

impl Endpoint {
    fn url(&self, path: &str) -> String {
        format!("{}/{BASE}/{path}", self.endpoint.trim_end_matches('/'))
    }
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
    #[command(flatten)]
    endpoint: Endpoint,
}

#[derive(Args)]
pub struct StatusArgs {
    /// Instance ID.
    #[arg(long)]
    id: String,
    /// Include the input.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    show_input: bool,
    #[command(flatten)]
    endpoint: Endpoint,
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
    endpoint: Endpoint,
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("HTTP client")
}

/// Sends a request; a connection failure gets a hint about the endpoint.
fn send(req: reqwest::blocking::RequestBuilder, endpoint: &Endpoint) -> anyhow::Result<Response> {
    req.send().map_err(|e| {
        anyhow::anyhow!(
            "cannot reach the Weft server at {} ({e}); is `weft serve` running?",
            endpoint.endpoint
        )
    })
}

/// Prints a successful JSON body, or turns an error status into an error.
fn body(resp: Response) -> anyhow::Result<Value> {
    let status = resp.status();
    let text = resp.text().unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
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
    Ok(v)
}

fn print(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).expect("JSON"));
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
    let mut req = client()
        .post(a.endpoint.url(&path))
        .header("content-type", "application/json");
    if let Some(i) = input {
        req = req.body(i);
    }
    let started = body(send(req, &a.endpoint)?)?;
    let Some(wait) = a.wait else {
        print(&started);
        return Ok(ExitCode::SUCCESS);
    };
    let id = started["id"].as_str().unwrap_or_default().to_owned();
    let deadline = Instant::now() + Duration::from_secs_f64(wait.max(0.0));
    let mut last = String::new();
    loop {
        let resp = send(
            client().get(a.endpoint.url(&format!("instances/{}", enc(&id)))),
            &a.endpoint,
        )?;
        let code = resp.status();
        let status = body(resp)?;
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

pub fn get_runtime_status(a: StatusArgs) -> anyhow::Result<ExitCode> {
    let url = format!(
        "{}?showInput={}",
        a.endpoint.url(&format!("instances/{}", enc(&a.id))),
        a.show_input
    );
    print(&body(send(client().get(url), &a.endpoint)?)?);
    Ok(ExitCode::SUCCESS)
}

pub fn raise_event(a: RaiseEventArgs) -> anyhow::Result<ExitCode> {
    let data = super::json_arg("--event-data", &a.event_data)?;
    let url = a.endpoint.url(&format!(
        "instances/{}/raiseEvent/{}",
        enc(&a.id),
        enc(&a.event_name)
    ));
    let resp = send(
        client()
            .post(url)
            .header("content-type", "application/json")
            .body(data),
        &a.endpoint,
    )?;
    body(resp)?;
    eprintln!("event '{}' sent to instance {}", a.event_name, a.id);
    Ok(ExitCode::SUCCESS)
}

fn enc(s: &str) -> String {
    crate::http::encode(s)
}
