//! What Durable Functions' own client libraries send, pointed at Weft
//! through `rpcBaseUrl`: routes with a trailing slash (`instances/?...` to list
//! and purge), and the Python client's inputs and event payloads, which it
//! JSON-encodes twice.

use serde_json::{Value, json};
use std::time::Duration;
use weft_tests::http::ids;
use weft_tests::{paths, server::serve};

#[test]
fn routes_accept_a_trailing_slash_like_the_durable_functions_host() {
    let (_dir, server) = serve(&paths::components(), &[]);
    let api = server.api();
    let id = api.start_ok("HelloSequence", Some("slash"), "");
    api.wait_output(&id, Duration::from_secs(30));

    let listed = api.get("instances/?top=5&runtimeStatus=Completed");
    listed.expect(200);
    assert_eq!(ids(&listed.json()), vec!["slash"]);
    api.get("instances/slash/").expect(200);
    api.get("instances/slash/history/").expect(200);
    api.get("taskhubs/").expect(200);
    // Unknown routes stay unknown, slash or not.
    api.get("nothing-here/").expect(404);

    let purged =
        api.delete("instances/?createdTimeFrom=2000-01-01T00:00:00Z&runtimeStatus=Completed");
    purged.expect(200);
    assert_eq!(purged.json()["instancesDeleted"], 1);
    api.status("slash").expect(404);
}

#[test]
fn inputs_and_events_encoded_twice_reach_typed_orchestrators() {
    let (_dir, server) = serve(&paths::components(), &[]);
    let api = server.api();
    // What `DurableOrchestrationClient.start_new("Approval", None, {...})` of
    // the Python library sends: the JSON text of a JSON string.
    let input = serde_json::to_string(r#"{"timeoutSeconds": 600}"#).unwrap();
    let id = api.start_ok("Approval", Some("py"), &input);
    api.wait_approval_waiting(&id);
    // And `raise_event(id, "Approval", True)`.
    api.raise(&id, "Approval", r#""true""#).expect(202);
    assert_eq!(
        api.wait_output(&id, Duration::from_secs(30)),
        json!("approved")
    );
    // The status shows the input as it was sent: Weft does not reinterpret it.
    let status: Value = api.status(&id).json();
    assert_eq!(status["input"], json!(r#"{"timeoutSeconds": 600}"#));
}
