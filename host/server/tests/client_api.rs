//! The in-process client API (`Weft`, `TaskHub`) end to end: the same
//! operations the HTTP API and the CLI offer, called directly, on a real redb
//! file with the example components (built by `scripts/build-components.sh`).

use std::path::PathBuf;
use std::time::Duration;
use weft::host::{ClientError, HostConfig, Weft};
use weft_core::{Json, RuntimeStatus};
use weft_store::InstanceFilter;

fn components() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/components");
    assert!(
        dir.join("hello-sequence.wasm").exists(),
        "{} has no components: run scripts/build-components.sh first",
        dir.display()
    );
    dir
}

async fn host(dir: &tempfile::TempDir) -> Weft {
    let mut config = HostConfig::new(dir.path().join("weft.redb"));
    config.components = Some(components());
    Weft::open(config).await.expect("host opens")
}

fn json(v: serde_json::Value) -> Json {
    Json::from_value(&v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_wait_list_and_purge() {
    let dir = tempfile::tempdir().unwrap();
    let weft = host(&dir).await;
    let hub = weft.default_hub().await.unwrap();
    let id = hub
        .start("HelloSequence", Some("hello-1"), Json::null())
        .await
        .unwrap();
    let done = hub
        .wait_for_completion(id.as_str(), Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, RuntimeStatus::Completed);
    assert_eq!(
        done.output.unwrap().to_value(),
        serde_json::json!(["Hello Tokyo!", "Hello Seattle!", "Hello London!"])
    );

    // A running ID conflicts; a finished one starts afresh.
    let waiting = hub
        .start(
            "Approval",
            Some("appr-1"),
            json(serde_json::json!({"timeoutSeconds": 300})),
        )
        .await
        .unwrap();
    let again = hub
        .start("Approval", Some("appr-1"), Json::null())
        .await
        .unwrap_err();
    assert!(matches!(again, ClientError::Conflict { .. }), "{again}");
    hub.start("HelloSequence", Some("hello-1"), Json::null())
        .await
        .unwrap();
    hub.wait_for_completion("hello-1", Duration::from_secs(30))
        .await
        .unwrap();

    let running = InstanceFilter {
        statuses: vec![RuntimeStatus::Running],
        ..Default::default()
    };
    let (page, _) = hub.list(&running, 10, None).await.unwrap();
    assert_eq!(
        page.iter()
            .map(|s| s.instance_id.as_str())
            .collect::<Vec<_>>(),
        [waiting.as_str()]
    );

    // Purge never touches an unfinished instance.
    assert!(matches!(
        hub.purge(waiting.as_str()).await.unwrap_err(),
        ClientError::WrongStatus { .. }
    ));
    let everything = InstanceFilter {
        created_from: Some(weft_core::Timestamp(0)),
        ..Default::default()
    };
    assert_eq!(hub.purge_matching(everything).await.unwrap(), 1);
    assert!(hub.status("hello-1").await.unwrap().is_none());
    assert!(hub.status(waiting.as_str()).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_resume_terminate_restart() {
    let dir = tempfile::tempdir().unwrap();
    let weft = host(&dir).await;
    let hub = weft.default_hub().await.unwrap();
    let input = json(serde_json::json!({"timeoutSeconds": 300}));
    let id = hub
        .start("Approval", Some("a"), input.clone())
        .await
        .unwrap();
    wait_for(&hub, "a", RuntimeStatus::Running).await;

    hub.suspend("a", Some("hold".into())).await.unwrap();
    wait_for(&hub, "a", RuntimeStatus::Suspended).await;
    hub.raise_event("a", "Approval", json(serde_json::json!(true)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // held: nothing may happen
    assert_eq!(
        hub.status("a").await.unwrap().unwrap().status,
        RuntimeStatus::Suspended
    );
    hub.resume("a", None).await.unwrap();
    let done = hub
        .wait_for_completion("a", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        done.output.unwrap().to_value(),
        serde_json::json!("approved")
    );

    let restarted = hub.restart(id.as_str(), true).await.unwrap();
    assert_ne!(restarted, id);
    assert_eq!(
        hub.status(restarted.as_str()).await.unwrap().unwrap().input,
        input
    );
    hub.terminate(restarted.as_str(), Some("enough".into()), false)
        .await
        .unwrap();
    let t = hub
        .wait_for_completion(restarted.as_str(), Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status, RuntimeStatus::Terminated);
    assert_eq!(t.output.unwrap().to_value(), serde_json::json!("enough"));
    let gone = hub
        .terminate(restarted.as_str(), None, false)
        .await
        .unwrap_err();
    assert!(matches!(gone, ClientError::Gone { .. }), "{gone}");
    assert!(matches!(
        hub.rewind(restarted.as_str(), None).await.unwrap_err(),
        ClientError::Gone { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_hubs_are_separate_and_deletable() {
    let dir = tempfile::tempdir().unwrap();
    let weft = host(&dir).await;
    let a = weft.hub(Some("HubA")).await.unwrap();
    let b = weft.hub(Some("HubB")).await.unwrap();
    a.start("HelloSequence", Some("same"), Json::null())
        .await
        .unwrap();
    b.start("FanOutFanIn", Some("same"), json(serde_json::json!(4)))
        .await
        .unwrap();
    let ra = a
        .wait_for_completion("same", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let rb = b
        .wait_for_completion("same", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ra.name, "HelloSequence");
    assert_eq!(rb.output.unwrap().to_value(), serde_json::json!(6));

    weft.delete_task_hub("HubA").await.unwrap();
    assert!(matches!(
        weft.existing_hub(Some("HubA")).await.err(),
        Some(ClientError::TaskHubNotFound(_))
    ));
    assert!(
        weft.existing_hub(Some("HubB"))
            .await
            .unwrap()
            .status("same")
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        weft.hub(Some("no")).await.err(),
        Some(ClientError::InvalidTaskHub(_))
    ));
}

async fn wait_for(hub: &weft::host::TaskHub, id: &str, status: RuntimeStatus) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now = hub.status(id).await.unwrap().map(|s| s.status);
        if now == Some(status) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "instance {id} never became {status}; it is {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
