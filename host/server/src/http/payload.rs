//! Response bodies: the check-status payload (reference §1.3) and the status
//! payload (§1.4).

use crate::host::Status;
use serde::Serialize;
use serde_json::Value;

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

pub fn check_status(base: &str, id: &str) -> CheckStatus {
    let i = format!("{base}/instances/{}", encode(id));
    CheckStatus {
        id: id.to_owned(),
        status_query_get_uri: i.clone(),
        send_event_post_uri: format!("{i}/raiseEvent/{{eventName}}"),
        terminate_post_uri: format!("{i}/terminate?reason={{text}}"),
        purge_history_delete_uri: i.clone(),
        restart_post_uri: format!("{i}/restart"),
        suspend_post_uri: format!("{i}/suspend?reason={{text}}"),
        resume_post_uri: format!("{i}/resume?reason={{text}}"),
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
    pub input: Value,
    pub custom_status: Value,
    pub output: Value,
    pub created_time: String,
    pub last_updated_time: String,
}

pub fn status(s: &Status, show_input: bool) -> StatusBody {
    let json = |j: &Option<weft_core::Json>| j.as_ref().map_or(Value::Null, |v| v.to_value());
    StatusBody {
        name: s.name.clone(),
        instance_id: s.instance_id.to_string(),
        runtime_status: s.status.as_str(),
        input: if show_input {
            s.input.to_value()
        } else {
            Value::Null
        },
        custom_status: json(&s.custom_status),
        output: json(&s.output),
        created_time: s.created.to_rfc3339_seconds(),
        last_updated_time: s.updated.to_rfc3339_seconds(),
    }
}
