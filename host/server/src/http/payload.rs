//! Response bodies: the check-status payload (reference §1.3) and the status
//! payload (§1.4).

use crate::host::Status;
use serde::Serialize;
use serde_json::value::RawValue;

/// URL-encodes a path segment or query value (RFC 3986 unreserved kept).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Builds the management URLs of instances: the server's base URL plus the
/// `taskHub` (and, when the server has an API key, `code`) query every URL needs
/// to be usable as it is by an external system (reference §1.3).
pub struct Links {
    base: String,
    query: String,
}

impl Links {
    pub fn new(base: String, hub: &str, code: Option<&str>) -> Links {
        let mut query = format!("taskHub={}", encode(hub));
        if let Some(c) = code {
            query.push_str(&format!("&code={}", encode(c)));
        }
        Links { base, query }
    }

    /// `{base}/instances/{id}[/{op}]?[{first}&]{query}`.
    fn instance(&self, id: &str, op: &str, first: &str) -> String {
        let sep = if first.is_empty() { "" } else { "&" };
        format!(
            "{}/instances/{}{op}?{first}{sep}{}",
            self.base,
            encode(id),
            self.query
        )
    }

    /// The status URL of an instance (the `Location` of 202 answers).
    pub fn status(&self, id: &str) -> String {
        self.instance(id, "", "")
    }
}

/// The management URLs of an instance, as the start route returns them.
/// Fields in Durable Functions' order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckStatus {
    pub id: String,
    pub status_query_get_uri: String,
    pub send_event_post_uri: String,
    pub terminate_post_uri: String,
    pub purge_history_delete_uri: String,
    pub restart_post_uri: String,
    pub suspend_post_uri: String,
    pub resume_post_uri: String,
}

pub fn check_status(links: &Links, id: &str) -> CheckStatus {
    CheckStatus {
        id: id.to_owned(),
        status_query_get_uri: links.status(id),
        send_event_post_uri: links.instance(id, "/raiseEvent/{eventName}", ""),
        terminate_post_uri: links.instance(id, "/terminate", "reason={text}"),
        purge_history_delete_uri: links.status(id),
        restart_post_uri: links.instance(id, "/restart", ""),
        suspend_post_uri: links.instance(id, "/suspend", "reason={text}"),
        resume_post_uri: links.instance(id, "/resume", "reason={text}"),
    }
}

/// `HttpManagementPayload`: the check-status URLs plus `rewindPostUri`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Management {
    #[serde(flatten)]
    pub urls: CheckStatus,
    pub rewind_post_uri: String,
}

pub fn management(links: &Links, id: &str) -> Management {
    Management {
        urls: check_status(links, id),
        rewind_post_uri: links.instance(id, "/rewind", "reason={text}"),
    }
}

/// The status body, fields in Durable Functions' order. `output` holds
/// the result, the failure details, or the termination reason.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusBody {
    pub name: String,
    pub instance_id: String,
    pub runtime_status: &'static str,
    pub input: Box<RawValue>,
    pub custom_status: Box<RawValue>,
    pub output: Box<RawValue>,
    pub created_time: String,
    pub last_updated_time: String,
    /// The component the instance runs on until it finishes; Weft's addition.
    pub component_digest: String,
    /// The instance waiting for this one's result, for a sub-orchestration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_instance_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_events: Option<Vec<super::history::Row>>,
}

/// Stored JSON exactly as stored: the text the orchestrator got, not a
/// re-serialisation (which would round big numbers and merge duplicate keys).
pub fn raw(j: &weft_core::Json) -> Box<RawValue> {
    RawValue::from_string(j.as_str().to_owned()).expect("stored JSON was validated when stored")
}

pub fn status(s: &Status, show_input: bool) -> StatusBody {
    status_with_history(s, show_input, None)
}

/// The status body with `historyEvents` (when `showHistory=true`).
pub fn status_with_history(
    s: &Status,
    show_input: bool,
    history: Option<Vec<super::history::Row>>,
) -> StatusBody {
    let json = |j: Option<&weft_core::Json>| raw(j.unwrap_or(&weft_core::Json::null()));
    StatusBody {
        name: s.name.clone(),
        instance_id: s.instance_id.to_string(),
        runtime_status: s.status.as_str(),
        input: json(show_input.then_some(&s.input)),
        custom_status: json(s.custom_status.as_ref()),
        output: json(s.output.as_ref()),
        created_time: s.created.to_rfc3339_seconds(),
        last_updated_time: s.updated.to_rfc3339_seconds(),
        component_digest: s.component.clone(),
        parent_instance_id: s.parent.as_ref().map(|p| p.instance_id.to_string()),
        history_events: history,
    }
}
