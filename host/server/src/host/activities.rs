//! The activity worker pool.
//!
//! A work item is already durable in the activity queue when it gets here. Its
//! result is committed together with the removal of the work item, so a result
//! is recorded at most once; if the host dies first, the item is run again at
//! start-up (activities run at least once).

use super::dispatcher::Shared;
use std::sync::Arc;
use weft_core::{EventKind, Failure, HistoryEvent, Message};
use weft_runtime::ActivityError;
use weft_store::{ActivityWork, Op, OpOutcome};

/// Runs work item `seq` on the pool and delivers its result.
pub fn dispatch(shared: Arc<Shared>, seq: u64, work: ActivityWork) {
    if !shared
        .running_activities
        .lock()
        .expect("running activities lock")
        .insert(seq)
    {
        return; // already running here (its partition was taken again)
    }
    tokio::spawn(async move {
        let _running = Running(&shared, seq);
        let permit = shared.activity_permits.clone().acquire_owned().await;
        let started = std::time::Instant::now();
        let result = run(&shared, &work).await;
        drop(permit);
        let name = work.name.clone();
        metrics::histogram!("weft_activity_seconds", "activity" => name.clone())
            .record(started.elapsed().as_secs_f64());
        let outcome = if result.is_ok() {
            "completed"
        } else {
            "failed"
        };
        metrics::counter!("weft_activity_runs_total", "activity" => name, "outcome" => outcome)
            .increment(1);
        if let Err(f) = &result
            && matches!(
                f.error_type.as_str(),
                weft_runtime::error_types::ACTIVITY_TIMEOUT
                    | weft_runtime::error_types::MEMORY
                    | weft_runtime::error_types::STACK
            )
        {
            metrics::counter!("weft_limits_hit_total", "kind" => f.error_type.clone()).increment(1);
        }
        let kind = match result {
            Ok(result) => EventKind::TaskCompleted {
                scheduled_id: work.scheduled_id,
                result,
            },
            Err(failure) => EventKind::TaskFailed {
                scheduled_id: work.scheduled_id,
                failure,
            },
        };
        if shared.is_closed() {
            return;
        }
        let message = Message::for_execution(
            work.execution.clone(),
            HistoryEvent::new(shared.clock.now(), kind),
        );
        // A storage fault is waited out: the result is committed once the
        // store is writable again, with no restart.
        let committed = loop {
            let r = shared
                .store
                .submit(Op::CompleteActivity {
                    queue_seq: seq,
                    message: message.clone(),
                })
                .await;
            match r {
                Err(e) if e.fault().is_some() && !shared.is_closed() => {
                    super::storage::until_writable(shared.store.as_ref()).await
                }
                other => break other,
            }
        };
        match committed {
            Ok(Ok(OpOutcome::Delivered { inbox_seq })) => {
                shared.deliver(work.instance, inbox_seq, message)
            }
            Ok(Ok(_)) => {} // a duplicate, or the instance moved on
            Ok(Err(e)) => tracing::warn!(instance = %work.instance, "activity result refused: {e}"),
            Err(e) => {
                tracing::error!(instance = %work.instance, "activity result not committed: {e}; it will run again after a restart")
            }
        }
    });
}

/// Takes a work item off the running set when its task ends.
struct Running<'a>(&'a Shared, u64);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0
            .running_activities
            .lock()
            .expect("running activities lock")
            .remove(&self.1);
    }
}

async fn run(shared: &Shared, work: &ActivityWork) -> Result<weft_core::Json, Failure> {
    if work.name == weft_core::HTTP_ACTIVITY {
        return super::durable_http_call::run(shared, work).await;
    }
    // The instance's own component when it exports the activity (loaded on
    // demand after a restart), else the current one for the name.
    let pinned = shared
        .load_component(&work.component)
        .await
        .filter(|c| c.info.activities.iter().any(|a| a == &work.name));
    let component = pinned.or_else(|| {
        shared
            .registry
            .read()
            .expect("registry lock")
            .activity(&work.name, &work.component)
    });
    let Some(component) = component.filter(|c| c.info.activities.iter().any(|a| a == &work.name))
    else {
        let (_, known) = shared.registry_snapshot();
        return Err(Failure::new(
            "weft.UnknownActivity",
            format!(
                "no deployed component exports activity '{}'; known activities: [{}]",
                work.name,
                known.join(", ")
            ),
        ));
    };
    let call = weft_runtime::ActivityCall {
        instance: work.instance.to_string(),
        schedule_id: work.scheduled_id.0,
        attempt: work.attempt,
    };
    loop {
        match component.run_activity(&work.name, &work.input, &call).await {
            Ok(result) => return result,
            // Every instance slot is taken (other task hubs are busy): wait, do not fail.
            Err(ActivityError::Busy { .. }) => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            Err(e) => return Err(Failure::new("weft.ActivityHostError", e.to_string())),
        }
    }
}
