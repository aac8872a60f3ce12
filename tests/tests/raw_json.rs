//! What status shows is what the orchestrator got: inputs and outputs are
//! shown as the stored JSON text, not re-serialised, so a number beyond f64
//! keeps its digits and duplicate keys stay as sent.

use std::time::Duration;
use weft_tests::paths;
use weft_tests::server::Server;

#[test]
fn status_shows_stored_json_text() {
    let dir = tempfile::tempdir().unwrap();
    let components =
        paths::component_set(&dir.path().join("components"), &["human-interaction.wasm"]);
    let server = Server::start(dir.path(), &components);
    let api = server.api();
    let input = r#"{"timeoutSeconds":600,"big":18446744073709551617,"dup":1,"dup":2,"f":1.50}"#;
    let id = api.start_ok("Approval", Some("raw"), input);
    api.wait_approval_waiting(&id);
    let r = api.status(&id);
    assert!(
        r.body.contains(&format!("\"input\":{input}")),
        "the input should be shown as sent: {}",
        r.body
    );
    // Listing shows it the same way.
    let r = api.get("instances?showInput=true");
    assert!(r.body.contains(input), "{}", r.body);
    // An event payload, in the history the status shows.
    api.raise(
        &id,
        "Unrelated",
        r#"{"big":18446744073709551617,"k":1,"k":2}"#,
    )
    .expect(202);
    api.raise(&id, "Approval", "true").expect(202);
    assert_eq!(api.wait_output(&id, Duration::from_secs(30)), "approved");
    let r = api.get(&format!(
        "instances/{id}?showHistory=true&showHistoryOutput=true"
    ));
    assert!(
        r.body
            .contains(r#""Input":{"big":18446744073709551617,"k":1,"k":2}"#),
        "the event payload should be shown as sent: {}",
        r.body
    );
    assert!(r.body.contains(&format!("\"Input\":{input}")), "{}", r.body);
    // And in the full history.
    let r = api.get(&format!("instances/{id}/history"));
    assert!(
        r.body
            .contains(r#""input":{"big":18446744073709551617,"k":1,"k":2}"#),
        "{}",
        r.body
    );
}
