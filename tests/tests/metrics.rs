//! Observability (R-3.5): `GET /metrics` in Prometheus text format, behind
//! the API key like every route; logs as JSON lines with `--log-format json`.

use std::time::Duration;
use weft_tests::paths;
use weft_tests::server::Server;

/// The value of the sample `name{labels}` in a Prometheus text scrape.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l[series.len()..].trim().parse().ok())
}

#[test]
fn metrics_scrape_counts_what_the_host_did() {
    let dir = tempfile::tempdir().unwrap();
    let components = dir.path().join("components");
    std::fs::create_dir_all(&components).unwrap();
    for (from, name) in [
        (paths::components(), "hello-sequence.wasm"),
        (paths::test_components(), "hostile.wasm"),
    ] {
        std::fs::copy(from.join(name), components.join(name)).unwrap();
    }
    let server = Server::builder(dir.path(), &components)
        .args(&["--orchestrator-turn-limit", "200ms", "--log-format", "json"])
        .env("WEFT_API_KEY", "s3cret")
        .start();
    let api = server.api().with_key("s3cret");
    for i in 0..3 {
        let id = api.start_ok("HelloSequence", Some(&format!("h{i}")), "");
        api.wait_output(&id, Duration::from_secs(30));
    }
    let spin = api.start_ok("Spin", Some("spin"), "");
    api.wait_done(&spin, Duration::from_secs(30));

    // Behind the key like everything else.
    let anonymous = reqwest::blocking::get(format!("{}/metrics", server.endpoint())).unwrap();
    assert_eq!(anonymous.status(), 401);

    let r = api.get_url(&format!("{}/metrics", server.endpoint()));
    r.expect(200);
    assert!(
        r.header("content-type").unwrap().starts_with("text/plain"),
        "{:?}",
        r.header("content-type")
    );
    let text = &r.body;
    let at = |series: &str| {
        sample(text, series).unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
    };
    assert_eq!(
        at(r#"weft_instances_started_total{orchestrator="HelloSequence"}"#),
        3.0
    );
    assert_eq!(
        at(r#"weft_instances_completed_total{orchestrator="HelloSequence"}"#),
        3.0
    );
    assert_eq!(
        at(r#"weft_instances_failed_total{orchestrator="Spin"}"#),
        1.0
    );
    assert_eq!(
        at(r#"weft_limits_hit_total{kind="weft.CpuLimitExceeded"}"#),
        1.0
    );
    assert_eq!(
        at(r#"weft_activity_runs_total{activity="SayHello",outcome="completed"}"#),
        9.0
    );
    assert!(at("weft_turns_total") >= 12.0, "4 turns per HelloSequence");
    assert!(at("weft_commits_total") >= 1.0);
    assert!(at("weft_commit_seconds_count") >= 1.0);
    assert!(
        text.contains("weft_commit_seconds_bucket{le="),
        "a histogram"
    );
    assert!(text.contains("weft_commit_batch_ops_bucket{le="));
    assert!(text.contains(r#"weft_activity_seconds_bucket{activity="SayHello",le="#));
    assert_eq!(at(r#"weft_timers_pending{task_hub="default"}"#), 0.0);
    assert_eq!(at(r#"weft_inbox_pending{task_hub="default"}"#), 0.0);
    assert!(sample(text, r#"weft_hot_guests{task_hub="default"}"#).is_some());
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        assert!(
            line.starts_with("weft_"),
            "every name is prefixed weft_: {line}"
        );
    }

    // Every log line of the server is a JSON object.
    let log = server.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| !l.starts_with("----- test harness"))
        .collect();
    assert!(lines.len() > 3, "{log}");
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
}

/// Events an instance received but never waited for are dropped when it
/// finishes: each is logged with its instance and name, and counted.
#[test]
fn events_dropped_at_completion_are_logged_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let components =
        paths::component_set(&dir.path().join("components"), &["human-interaction.wasm"]);
    let server = Server::start(dir.path(), &components);
    let api = server.api();
    let id = api.start_ok("Approval", Some("order-7"), r#"{"timeoutSeconds": 600}"#);
    api.wait_approval_waiting(&id);
    api.raise(&id, "Unrelated", "1").expect(202);
    api.raise(&id, "Unrelated", "2").expect(202);
    api.raise(&id, "Approval", "true").expect(202);
    api.wait_output(&id, Duration::from_secs(30));
    let scrape = api.get_url(&format!("{}/metrics", server.endpoint()));
    let dropped = sample(&scrape.body, "weft_events_dropped_total");
    assert_eq!(dropped, Some(2.0), "{}", scrape.body);
    let log = server.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("event dropped"))
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains("order-7") && l.contains("Unrelated")),
        "{lines:?}"
    );
}
