//! Blocking HTTP helpers for the Durable Functions routes
//! (`/runtime/webhooks/durabletask/...`).

use crate::poll;
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::Value;
use std::time::Duration;

/// The route prefix.
pub const BASE: &str = "/runtime/webhooks/durabletask";

/// Percent-encodes one path segment: the server's own encoder, so tests build
/// URLs exactly as the management payloads do.
pub use weft::http::encode;

/// A response, read completely.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON; fails the test if it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected a JSON body ({e}); got {} with body {:?}",
                self.status, self.body
            )
        })
    }

    /// The `{"error": "..."}` message of an error reply.
    pub fn error(&self) -> String {
        match self.json().get("error").and_then(Value::as_str) {
            Some(m) => m.to_owned(),
            None => panic!("expected an {{\"error\": ...}} body; got {}", self.body),
        }
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_owned())
    }

    /// Fails the test unless the status is `expected`.
    #[track_caller]
    pub fn expect(&self, expected: u16) -> &Reply {
        assert_eq!(
            self.status, expected,
            "expected HTTP {expected}; got {} with body {}",
            self.status, self.body
        );
        self
    }
}

/// HTTP access to one server.
#[derive(Clone)]
pub struct Api {
    /// `http://127.0.0.1:PORT/runtime/webhooks/durabletask`
    pub base: String,
    client: Client,
    /// Sent as `Authorization: Bearer` on every request when set.
    key: Option<String>,
}

impl Api {
    /// `endpoint` is `http://127.0.0.1:PORT`.
    pub fn new(endpoint: &str) -> Api {
        Api {
            base: format!("{}{BASE}", endpoint.trim_end_matches('/')),
            client: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("HTTP client"),
            key: None,
        }
    }

    /// The same server, sending API key `key` (`Authorization: Bearer`) on every request.
    pub fn with_key(&self, key: &str) -> Api {
        Api {
            key: Some(key.to_owned()),
            ..self.clone()
        }
    }

    /// A request to `path` (with its query, if any) under the route prefix,
    /// carrying the API key if this `Api` has one. Send it with [`Api::run`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_url(method, &format!("{}/{path}", self.base))
    }

    /// Like [`Api::request`], to an absolute URL (e.g. a management URL).
    pub fn request_url(&self, method: Method, url: &str) -> RequestBuilder {
        let req = self.client.request(method, url);
        match &self.key {
            Some(k) => req.bearer_auth(k),
            None => req,
        }
    }

    /// Sends a request built with [`Api::request`].
    pub fn run(&self, req: RequestBuilder) -> Reply {
        Api::send(req)
    }

    /// GET `path` (with its query) under the route prefix.
    pub fn get(&self, path: &str) -> Reply {
        Api::send(self.request(Method::GET, path))
    }

    /// DELETE `path` (with its query) under the route prefix.
    pub fn delete(&self, path: &str) -> Reply {
        Api::send(self.request(Method::DELETE, path))
    }

    /// `POST .../instances/{id}/{operation}{query}` (terminate, suspend,
    /// resume, rewind, restart); `query` is `""` or starts with `?`.
    pub fn control(&self, id: &str, operation: &str, query: &str) -> Reply {
        self.post(&format!("instances/{}/{operation}{query}", encode(id)), "")
    }

    /// The full history (`GET .../instances/{id}/history`) as JSON rows;
    /// fails the test unless it answers 200.
    pub fn history(&self, id: &str) -> Vec<Value> {
        let r = self.get(&format!("instances/{}/history", encode(id)));
        r.expect(200);
        r.json().as_array().expect("history is an array").clone()
    }

    /// `DELETE .../instances/{id}` (purge one instance).
    pub fn purge(&self, id: &str) -> Reply {
        self.delete(&format!("instances/{}", encode(id)))
    }

    /// `GET .../instances{query}` with an optional continuation token header;
    /// `query` is `""` or starts with `?`.
    pub fn list(&self, query: &str, token: Option<&str>) -> Reply {
        let mut req = self.request(Method::GET, &format!("instances{query}"));
        if let Some(t) = token {
            req = req.header("x-ms-continuation-token", t);
        }
        Api::send(req)
    }

    /// The instance IDs a 200 list reply names, in its order.
    pub fn list_ids(&self, query: &str) -> Vec<String> {
        let r = self.list(query, None);
        r.expect(200);
        ids(&r.json())
    }

    fn send(req: RequestBuilder) -> Reply {
        Api::try_send(req).expect("HTTP request to weft serve")
    }

    fn try_send(req: RequestBuilder) -> Result<Reply, reqwest::Error> {
        let resp = req.send()?;
        Ok(Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text()?,
        })
    }

    /// GET an absolute URL.
    pub fn get_url(&self, url: &str) -> Reply {
        Api::send(self.request_url(Method::GET, url))
    }

    /// POST `body` (as `application/json`) to `path` under the route prefix.
    pub fn post(&self, path: &str, body: impl Into<reqwest::blocking::Body>) -> Reply {
        Api::send(
            self.request(Method::POST, path)
                .header("content-type", "application/json")
                .body(body),
        )
    }

    /// Starts orchestrator `name` with JSON text `input` (empty for none),
    /// under `id` if given.
    pub fn start(&self, name: &str, id: Option<&str>, input: &str) -> Reply {
        self.try_start(name, id, input)
            .expect("HTTP request to weft serve")
    }

    /// [`Api::start`], returning connection errors (a killed server) instead of failing.
    pub fn try_start(
        &self,
        name: &str,
        id: Option<&str>,
        input: &str,
    ) -> Result<Reply, reqwest::Error> {
        let path = match id {
            Some(id) => format!("orchestrators/{}/{}", encode(name), encode(id)),
            None => format!("orchestrators/{}", encode(name)),
        };
        Api::try_send(
            self.request(Method::POST, &path)
                .header("content-type", "application/json")
                .body(input.to_owned()),
        )
    }

    /// Starts an instance and fails the test unless it got 202; returns its ID.
    pub fn start_ok(&self, name: &str, id: Option<&str>, input: &str) -> String {
        let r = self.start(name, id, input);
        r.expect(202);
        r.json()["id"]
            .as_str()
            .expect("start reply has an id")
            .to_owned()
    }

    /// GET the status of `id`.
    pub fn status(&self, id: &str) -> Reply {
        self.get_url(&format!("{}/instances/{}", self.base, encode(id)))
    }

    /// GET `path`, returning connection errors (a killed server) instead of failing.
    pub fn try_get(&self, path: &str) -> Result<Reply, reqwest::Error> {
        Api::try_send(self.request(Method::GET, path))
    }

    /// [`Api::raise`], returning connection errors instead of failing.
    pub fn try_raise(&self, id: &str, event: &str, data: &str) -> Result<Reply, reqwest::Error> {
        Api::try_send(
            self.request(
                Method::POST,
                &format!("instances/{}/raiseEvent/{}", encode(id), encode(event)),
            )
            .header("content-type", "application/json")
            .body(data.to_owned()),
        )
    }

    /// POST an external event.
    pub fn raise(&self, id: &str, event: &str, data: &str) -> Reply {
        self.post(
            &format!("instances/{}/raiseEvent/{}", encode(id), encode(event)),
            data.to_owned(),
        )
    }

    /// Signals operation `op` with JSON text `input` on entity `name`/`key`.
    pub fn signal(&self, name: &str, key: &str, op: &str, input: &str) -> Reply {
        self.post(
            &format!(
                "entities/{}/{}?op={}",
                encode(name),
                encode(key),
                encode(op)
            ),
            input.to_owned(),
        )
    }

    /// GET entity `name`/`key` (its state, or 404).
    pub fn entity(&self, name: &str, key: &str) -> Reply {
        self.get(&format!("entities/{}/{}", encode(name), encode(key)))
    }

    /// Polls entity `name`/`key` until its state is `expected`.
    pub fn wait_entity(&self, name: &str, key: &str, expected: &Value) {
        crate::poll::until(
            &format!("entity {name}/{key} to hold {expected}"),
            crate::poll::DEADLINE,
            || {
                let r = self.entity(name, key);
                match (r.status, r.json()) {
                    (200, v) if v == *expected => Ok(()),
                    (s, v) => Err(format!("{s} {v}")),
                }
            },
        )
    }

    /// Polls the status of `id` until `accept` returns true for its body;
    /// returns that body.
    pub fn wait_for(
        &self,
        id: &str,
        expected: &str,
        timeout: Duration,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        poll::until(&format!("instance '{id}': {expected}"), timeout, || {
            let r = self.status(id);
            if r.status != 200 && r.status != 202 {
                return Err(format!("HTTP {} {}", r.status, r.body));
            }
            let v = r.json();
            if accept(&v) {
                Ok(v)
            } else {
                Err(v.to_string())
            }
        })
    }

    /// Polls until `id` is terminal (the status route answers 200); returns the status body.
    pub fn wait_done(&self, id: &str, timeout: Duration) -> Value {
        poll::until(
            &format!("instance '{id}' to finish (HTTP 200)"),
            timeout,
            || {
                let r = self.status(id);
                match r.status {
                    200 => Ok(r.json()),
                    _ => Err(format!("HTTP {} {}", r.status, r.body)),
                }
            },
        )
    }

    /// The task hubs the server lists (`GET taskhubs`).
    pub fn task_hubs(&self) -> Vec<String> {
        let r = self.get("taskhubs");
        r.expect(200);
        r.json()["taskHubs"]
            .as_array()
            .expect("taskHubs")
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect()
    }

    /// Like [`Api::wait_done`], for an instance of task hub `hub`.
    pub fn wait_done_in(&self, hub: &str, id: &str) -> Value {
        poll::until(&format!("{hub}/{id} to finish"), poll::DEADLINE, || {
            let r = self.get(&format!("instances/{id}?taskHub={hub}"));
            match r.status {
                200 => Ok(r.json()),
                _ => Err(format!("HTTP {} {}", r.status, r.body)),
            }
        })
    }

    /// Polls until `id`'s `runtimeStatus` is `status`; returns the status body.
    pub fn wait_status(&self, id: &str, status: &str) -> Value {
        self.wait_for(
            id,
            &format!("runtimeStatus {status}"),
            poll::DEADLINE,
            |s| s["runtimeStatus"] == status,
        )
    }

    /// Polls until `Approval` instance `id` is Running and waits for its
    /// event (custom status `"waiting for approval"`); returns the status body.
    pub fn wait_approval_waiting(&self, id: &str) -> Value {
        self.wait_for(id, "Running, waiting for approval", poll::DEADLINE, |s| {
            s["runtimeStatus"] == "Running" && s["customStatus"] == "waiting for approval"
        })
    }

    /// Waits until `id` finishes, and fails the test unless it is Completed.
    /// Returns the output.
    pub fn wait_output(&self, id: &str, timeout: Duration) -> Value {
        let s = self.wait_done(id, timeout);
        assert_eq!(
            s["runtimeStatus"], "Completed",
            "instance '{id}' should complete; its status: {s}"
        );
        s["output"].clone()
    }
}

/// The `instanceId`s of a list reply's body, in order.
pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list reply is a JSON array")
        .iter()
        .map(|s| s["instanceId"].as_str().expect("instanceId").to_owned())
        .collect()
}

/// The `eventType`s of a full history (`Api::history`), in order.
pub fn event_types(history: &[Value]) -> Vec<String> {
    history
        .iter()
        .map(|e| e["eventType"].as_str().expect("eventType").to_owned())
        .collect()
}
