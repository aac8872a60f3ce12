//! The host on a manual clock: durable timers fire when the clock passes
//! their due time, not before and not by sleeping, so these tests take
//! milliseconds whatever the timers' lengths.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use weft::host::{HostClock, HostConfig, ManualClock, TaskHub, Weft};
use weft_core::{EventKind, Json, RuntimeStatus, Timestamp};

fn components() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/components");
    assert!(
        dir.join("human-interaction.wasm").exists(),
        "{} has no components: run scripts/build-components.sh first",
        dir.display()
    );
    dir
}

/// 2026-01-01T00:00:00Z.
const START: Timestamp = Timestamp(1_767_225_600_000);

async fn host(dir: &tempfile::TempDir) -> (Weft, Arc<ManualClock>) {
    let clock = ManualClock::new(START);
    let mut config = HostConfig::new(dir.path().join("weft.redb"));
    config.components = Some(components());
    config.clock = HostClock(clock.clone());
    (Weft::open(config).await.expect("host opens"), clock)
}

fn approval(seconds: u64) -> Json {
    Json::from_value(&serde_json::json!({ "timeoutSeconds": seconds }))
}

async fn wait_status(hub: &TaskHub, id: &str, want: RuntimeStatus) -> weft::host::Status {
    for _ in 0..3000 {
        let s = hub.status(id).await.unwrap().unwrap();
        if s.status == want {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{id} never became {want}");
}

/// Waits until `id` waits for its approval (its first turn is committed).
async fn waiting(hub: &TaskHub, id: &str) {
    for _ in 0..3000 {
        if hub
            .history(id)
            .await
            .unwrap()
            .iter()
            .any(|e| matches!(e.kind, EventKind::TimerCreated { .. }))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{id} never created its timer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_long_timer_fires_when_the_clock_passes_it_and_not_before() {
    let dir = tempfile::tempdir().unwrap();
    let (weft, clock) = host(&dir).await;
    let hub = weft.default_hub().await.unwrap();
    hub.start("Approval", Some("day"), approval(86_400))
        .await
        .unwrap();
    waiting(&hub, "day").await;
    // Orchestration time is the host clock's.
    let created = hub.status("day").await.unwrap().unwrap().created;
    assert_eq!(created, START);

    clock.advance(Duration::from_secs(86_399));
    // A witness due at the same moment proves the timer service has seen the
    // advance: once it fired, the day-long timer had its chance too.
    hub.start("Approval", Some("witness"), approval(1))
        .await
        .unwrap();
    waiting(&hub, "witness").await;
    clock.advance(Duration::from_secs(1) - Duration::from_millis(1));
    assert_eq!(
        hub.status("day").await.unwrap().unwrap().status,
        RuntimeStatus::Running,
        "one millisecond early"
    );
    clock.advance(Duration::from_millis(1));
    let done = wait_status(&hub, "day", RuntimeStatus::Completed).await;
    assert_eq!(
        done.output.unwrap().to_value(),
        serde_json::json!("timed out")
    );
    let fired = hub
        .history("day")
        .await
        .unwrap()
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::TimerFired { fire_at, .. } => Some((e.timestamp, fire_at)),
            _ => None,
        })
        .expect("a TimerFired");
    assert_eq!(fired.1, Timestamp(START.0 + 86_400_000));
    assert!(
        fired.0 >= fired.1,
        "fired at {} before due {}",
        fired.0,
        fired.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_instance_s_timer_never_fires() {
    let dir = tempfile::tempdir().unwrap();
    let (weft, clock) = host(&dir).await;
    let hub = weft.default_hub().await.unwrap();
    hub.start("Approval", Some("gone"), approval(2))
        .await
        .unwrap();
    waiting(&hub, "gone").await;
    hub.terminate("gone", Some("no longer needed".into()), false)
        .await
        .unwrap();
    let terminated = wait_status(&hub, "gone", RuntimeStatus::Terminated).await;
    let len = hub.history("gone").await.unwrap().len();

    // Past its due time, with a witness timer due later that must fire.
    hub.start("Approval", Some("witness"), approval(3))
        .await
        .unwrap();
    waiting(&hub, "witness").await;
    clock.advance(Duration::from_secs(3));
    wait_status(&hub, "witness", RuntimeStatus::Completed).await;
    let after = hub.status("gone").await.unwrap().unwrap();
    assert_eq!(after, terminated, "a terminated instance changed");
    let history = hub.history("gone").await.unwrap();
    assert_eq!(history.len(), len);
    assert!(
        !history
            .iter()
            .any(|e| matches!(e.kind, EventKind::TimerFired { .. })),
        "the cancelled timer fired"
    );
}
