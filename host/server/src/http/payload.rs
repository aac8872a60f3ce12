//! Response bodies: the check-status payload (reference §1.3) and the status
//! payload (§1.4).

use crate::host::Status;
use serde_json::{Value, json};

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
pub fn check_status(base: &str, id: &str) -> Value {
    let i = format!("{base}/instances/{}", encode(id));
    json!({
        "id": id,
        "statusQueryGetUri": i,
        "sendEventPostUri": format!("{i}/raiseEvent/{{eventName}}"),
        "terminatePostUri": format!("{i}/terminate?reason={{text}}"),
        "purgeHistoryDeleteUri": i,
        "restartPostUri": format!("{i}/restart"),
        "suspendPostUri": format!("{i}/suspend?reason={{text}}"),
        "resumePostUri": format!("{i}/resume?reason={{text}}"),
    })
}

/// The status body. `output` holds the result, the failure details, or
/// the termination reason.
pub fn status(s: &Status, show_input: bool) -> Value {
    let json = |j: &Option<weft_core::Json>| j.as_ref().map_or(Value::Null, |v| v.to_value());
    json!({
        "name": s.name,
        "instanceId": s.instance_id.as_str(),
        "runtimeStatus": s.status.as_str(),
        "input": if show_input { s.input.to_value() } else { Value::Null },
        "customStatus": json(&s.custom_status),
        "output": json(&s.output),
        "createdTime": s.created.to_rfc3339_seconds(),
        "lastUpdatedTime": s.updated.to_rfc3339_seconds(),
    })
}
