//! A deploy checked against running instances before it happens.
//!
//! The new component is compiled (not stored), and the stored history of
//! every unfinished instance whose orchestrator it exports is replayed on it
//! in a fresh guest, exactly as the dispatcher rebuilds an evicted guest.
//! Nothing the replay produces is kept: no event is committed, no activity or
//! timer scheduled. An instance is `compatible` when its whole recorded
//! history replays; `diverges` with the engine's own nondeterminism report
//! (history index, what was recorded, what the new code did) otherwise.
//!
//! With `migrate`, the component is deployed and each compatible instance is
//! moved onto it, one at a time and fenced on the history it was checked
//! against (`Op::Repin`); an instance that moved on in the meantime stays
//! where it is and is reported so. On a hub several hosts share, instances
//! the other hosts serve are moved too: their owner's next turn on the old
//! code is refused (`OpError::Repinned`) and runs again on the new one.

use super::errors::{ClientError, DeployError};
use super::weft::Weft;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::Semaphore;
use weft_core::RuntimeStatus;
use weft_runtime::{Guest, LoadedComponent, TurnError};
use weft_store::{Hub, InstanceFilter, InstanceRecord};

/// Instances replayed at once (each holds a pooled Wasm instance while it runs).
const PARALLEL: usize = 32;

/// One instance's verdict.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceCheck {
    pub task_hub: String,
    pub instance_id: String,
    pub name: String,
    /// The digest it runs on now.
    pub component_digest: String,
    /// `compatible`, `diverges`, or `failed` (the check itself could not run).
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// With `migrate`: whether it now runs on the new component.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrated: Option<bool>,
}

/// The whole report: per instance, then counts.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub digest: String,
    pub orchestrators: Vec<String>,
    /// Whether the component was deployed (only with `migrate`).
    pub deployed: bool,
    pub instances: Vec<InstanceCheck>,
    pub checked: usize,
    pub compatible: usize,
    pub diverges: usize,
    pub failed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrated: Option<usize>,
}

impl Weft {
    /// Checks `bytes` against every unfinished instance it would serve; with
    /// `migrate`, then deploys it and moves the compatible instances onto it.
    pub async fn check_deploy(
        &self,
        bytes: Vec<u8>,
        migrate: bool,
    ) -> Result<CheckReport, ClientError> {
        let component = self
            .runtime()
            .load(&bytes)
            .await
            .map_err(DeployError::from)?;
        let serves = component.info.orchestrators.clone();
        let targets: Vec<(Hub, InstanceRecord)> = self
            .unfinished()
            .await?
            .into_iter()
            .filter(|(_, r)| serves.contains(&r.name))
            .collect();
        let permits = Arc::new(Semaphore::new(PARALLEL));
        let mut tasks = Vec::with_capacity(targets.len());
        for (hub, record) in targets {
            let (weft, component, permits) = (self.clone(), component.clone(), permits.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                let verdict = weft.replay_on(&component, &hub, &record).await;
                (hub, record, verdict)
            }));
        }
        let mut checked = Vec::with_capacity(tasks.len());
        for t in tasks {
            checked.push(t.await.map_err(|e| ClientError::Internal(e.to_string()))?);
        }
        let digest = component.info.digest.clone();
        let mut migrated = None;
        if migrate {
            self.register(component.clone(), bytes).await?;
            let mut n = 0;
            for (hub, record, verdict) in &mut checked {
                if verdict.result != "compatible" || record.component == digest {
                    continue;
                }
                let moved = self.repin(hub, record, &digest).await;
                if moved {
                    n += 1;
                }
                verdict.migrated = Some(moved);
            }
            migrated = Some(n);
        }
        let instances: Vec<InstanceCheck> = checked.into_iter().map(|(_, _, v)| v).collect();
        let count = |r: &str| instances.iter().filter(|i| i.result == r).count();
        Ok(CheckReport {
            orchestrators: serves,
            deployed: migrate,
            checked: instances.len(),
            compatible: count("compatible"),
            diverges: count("diverges"),
            failed: count("failed"),
            migrated,
            instances,
            digest,
        })
    }

    /// Replays `record`'s stored history on `component`; keeps nothing.
    async fn replay_on(
        &self,
        component: &Arc<LoadedComponent>,
        hub: &Hub,
        record: &InstanceRecord,
    ) -> InstanceCheck {
        let mut verdict = InstanceCheck {
            task_hub: hub.to_string(),
            instance_id: record.instance_id.to_string(),
            name: record.name.clone(),
            component_digest: record.component.clone(),
            result: "compatible",
            history_index: None,
            recorded: None,
            attempted: None,
            message: None,
            migrated: None,
        };
        let history = match self.hub_history(hub, record).await {
            Ok(h) => h,
            Err(e) => return failed(verdict, format!("cannot read its history: {e}")),
        };
        let result = loop {
            let (guest, rx) = Guest::start(
                component.clone(),
                &record.instance_id,
                history.clone(),
                self.clock().now(),
                Vec::new(),
            );
            let result = rx.await;
            drop(guest); // evicts it: nothing of the new run is kept
            match result {
                // Every instance slot is taken by live work: wait, then retry.
                Ok(Err(TurnError::Busy(_))) => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await
                }
                other => break other,
            }
        };
        match result {
            Ok(Ok(_)) => verdict,
            Ok(Err(TurnError::Nondeterminism(d))) => {
                verdict.result = "diverges";
                verdict.history_index = Some(d.index);
                verdict.message = Some(d.to_string());
                verdict.recorded = Some(d.recorded);
                verdict.attempted = Some(d.attempted);
                verdict
            }
            Ok(Err(e)) => failed(verdict, e.to_string()),
            Err(_) => failed(verdict, "the guest stopped mid-replay".into()),
        }
    }

    /// Every unfinished instance of every task hub.
    pub(super) async fn unfinished(&self) -> Result<Vec<(Hub, InstanceRecord)>, ClientError> {
        let filter = InstanceFilter {
            statuses: vec![
                RuntimeStatus::Pending,
                RuntimeStatus::Running,
                RuntimeStatus::Suspended,
            ],
            ..Default::default()
        };
        let mut out = Vec::new();
        for hub in self.root().hubs().await? {
            let task_hub = self.existing_hub(Some(hub.as_str())).await?;
            let mut token = None;
            loop {
                let (page, next) = task_hub
                    .list(&filter, super::task_hub::MAX_PAGE, token.as_deref())
                    .await?;
                out.extend(page.into_iter().map(|r| (hub.clone(), r)));
                match next {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    async fn hub_history(
        &self,
        hub: &Hub,
        record: &InstanceRecord,
    ) -> Result<Vec<weft_core::HistoryEvent>, ClientError> {
        self.existing_hub(Some(hub.as_str()))
            .await?
            .history(record.instance_id.as_str())
            .await
    }

    /// Moves one checked instance onto `digest` through its hub's dispatcher.
    async fn repin(&self, hub: &Hub, record: &InstanceRecord, digest: &str) -> bool {
        match self.existing_hub(Some(hub.as_str())).await {
            Ok(h) => h.repin(record, digest).await,
            Err(_) => false,
        }
    }
}

fn failed(mut v: InstanceCheck, message: String) -> InstanceCheck {
    v.result = "failed";
    v.message = Some(message);
    v
}
