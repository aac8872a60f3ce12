//! History as the HTTP API shows it.
//!
//! `historyEvents` (reference §1.4) is Durable Functions' projection: PascalCase
//! keys, episode markers left out, a `TaskScheduled` folded into its completion
//! row as `ScheduledTime`, results only with `showHistoryOutput=true`. The full,
//! unprojected history (`GET .../instances/{id}/history`, `weft get-history`)
//! lists every event with its index.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use weft_core::{EventKind, HistoryEvent, Json, ScheduleId};

/// A row of the projection: keys in order, payloads (inputs, results) as
/// their stored JSON text, so they read exactly as the orchestrator got them.
#[derive(Default)]
pub struct Row(Vec<(Cow<'static, str>, Field)>);

/// A row's value: built here, or stored JSON shown as stored.
pub enum Field {
    Built(Value),
    Stored(Box<RawValue>),
}

impl Row {
    fn put(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Field>) {
        self.0.push((key.into(), value.into()));
    }
}

impl From<Value> for Field {
    fn from(v: Value) -> Field {
        Field::Built(v)
    }
}

fn stored(j: &Json) -> Field {
    Field::Stored(super::payload::raw(j))
}

impl Serialize for Field {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Built(v) => v.serialize(s),
            Field::Stored(r) => r.serialize(s),
        }
    }
}

impl Serialize for Row {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k.as_ref(), v)?;
        }
        map.end()
    }
}

/// Durable Functions' `historyEvents` projection.
pub fn project(history: &[HistoryEvent], show_output: bool) -> Vec<Row> {
    let scheduled: HashMap<ScheduleId, (&str, &HistoryEvent)> = history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskScheduled { id, name, .. }
            | EventKind::SubOrchestrationInstanceCreated { id, name, .. } => {
                Some((*id, (name.as_str(), e)))
            }
            _ => None,
        })
        .collect();
    let completed: std::collections::HashSet<ScheduleId> = history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskCompleted { scheduled_id, .. }
            | EventKind::TaskFailed { scheduled_id, .. }
            | EventKind::SubOrchestrationInstanceCompleted { scheduled_id, .. }
            | EventKind::SubOrchestrationInstanceFailed { scheduled_id, .. } => Some(*scheduled_id),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for e in history {
        let mut row = Row::default();
        row.put("EventType", json!(e.kind.type_name()));
        let task = |row: &mut Row, id: &ScheduleId| {
            if let Some((name, sched)) = scheduled.get(id) {
                row.put("FunctionName", json!(name));
                row.put("ScheduledTime", json!(sched.timestamp.to_rfc3339()));
            }
        };
        match &e.kind {
            EventKind::OrchestratorStarted | EventKind::OrchestratorCompleted => continue,
            EventKind::TaskScheduled { id, .. }
            | EventKind::SubOrchestrationInstanceCreated { id, .. }
                if completed.contains(id) =>
            {
                continue;
            }
            EventKind::ExecutionStarted { name, input, .. } => {
                row.put("FunctionName", json!(name));
                if show_output {
                    row.put("Input", stored(input));
                }
            }
            EventKind::TaskScheduled { name, .. } => {
                row.put("FunctionName", json!(name));
            }
            EventKind::SubOrchestrationInstanceCreated {
                name,
                instance_id,
                input,
                ..
            } => {
                row.put("FunctionName", json!(name));
                row.put("InstanceId", json!(instance_id.as_str()));
                if show_output {
                    row.put("Input", stored(input));
                }
            }
            EventKind::EventSent {
                instance_id,
                name,
                input,
                ..
            } => {
                row.put("InstanceId", json!(instance_id.as_str()));
                row.put("Name", json!(name));
                if show_output {
                    row.put("Input", stored(input));
                }
            }
            EventKind::TaskCompleted {
                scheduled_id,
                result,
            }
            | EventKind::SubOrchestrationInstanceCompleted {
                scheduled_id,
                result,
            } => {
                task(&mut row, scheduled_id);
                if show_output {
                    row.put("Result", stored(result));
                }
            }
            EventKind::TaskFailed {
                scheduled_id,
                failure,
            }
            | EventKind::SubOrchestrationInstanceFailed {
                scheduled_id,
                failure,
            } => {
                task(&mut row, scheduled_id);
                row.put("Reason", json!(failure.message));
                if show_output {
                    row.put("FailureDetails", json!(failure));
                }
            }
            EventKind::EntityOperationSignaled {
                entity,
                operation,
                input,
                ..
            }
            | EventKind::EntityOperationCalled {
                entity,
                operation,
                input,
                ..
            } => {
                row.put("EntityId", json!(entity.to_string()));
                row.put("Operation", json!(operation));
                if show_output {
                    row.put("Input", stored(input));
                }
            }
            EventKind::EntityOperationCompleted { result, .. } => {
                if show_output {
                    row.put("Result", stored(result));
                }
            }
            EventKind::EntityOperationFailed { failure, .. } => {
                row.put("Reason", json!(failure.message));
                if show_output {
                    row.put("FailureDetails", json!(failure));
                }
            }
            EventKind::EntityLockRequested { entities, .. }
            | EventKind::EntityUnlockSent { entities, .. } => {
                let ids: Vec<String> = entities.iter().map(ToString::to_string).collect();
                row.put("LockSet", json!(ids));
            }
            EventKind::EntityLockGranted { .. } => {}
            // Entity inbox messages; an orchestration's history never holds them.
            EventKind::EntityOperationRequested { .. }
            | EventKind::EntityLockRequest { .. }
            | EventKind::EntityUnlockRequest { .. } => continue,
            EventKind::TimerCreated { fire_at, .. } | EventKind::TimerFired { fire_at, .. } => {
                row.put("FireAt", json!(fire_at.to_rfc3339()));
            }
            EventKind::EventRaised { name, input } => {
                row.put("Name", json!(name));
                if show_output {
                    row.put("Input", stored(input));
                }
            }
            EventKind::ExecutionCompleted {
                status,
                result,
                failure,
            } => {
                row.put("OrchestrationStatus", json!(status.as_str()));
                if show_output {
                    if let Some(r) = result {
                        row.put("Result", stored(r));
                    }
                    if let Some(f) = failure {
                        row.put("FailureDetails", json!(f));
                    }
                }
            }
            EventKind::ExecutionTerminated { reason, .. } => {
                row.put("Input", json!(reason));
            }
            EventKind::ExecutionSuspended { reason }
            | EventKind::ExecutionResumed { reason }
            | EventKind::ExecutionRewound { reason, .. } => {
                row.put("Reason", json!(reason));
            }
        }
        row.put("Timestamp", json!(e.timestamp.to_rfc3339()));
        out.push(row);
    }
    out
}

/// Every event, unprojected: `{"index", "timestamp", "eventType", ...fields}`.
pub fn full(history: &[HistoryEvent]) -> Vec<Row> {
    history
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut row = Row::default();
            row.put("index", json!(i));
            row.put("timestamp", json!(e.timestamp.to_rfc3339()));
            row.put("eventType", json!(e.kind.type_name()));
            // The event's own fields, from its externally tagged serde form,
            // each kept as its serialised text (payloads as stored).
            type Tagged = BTreeMap<String, BTreeMap<String, Box<RawValue>>>;
            if let Ok(text) = serde_json::to_string(&e.kind)
                && let Ok(tagged) = serde_json::from_str::<Tagged>(&text)
                && let Some((_, fields)) = tagged.into_iter().next()
            {
                for (k, v) in fields {
                    row.put(k, Field::Stored(v));
                }
            }
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_core::{ExecutionId, Failure, Json, RuntimeStatus, Timestamp};

    fn ev(t: u64, kind: EventKind) -> HistoryEvent {
        HistoryEvent::new(Timestamp(t), kind)
    }

    fn sample() -> Vec<HistoryEvent> {
        vec![
            ev(1000, EventKind::OrchestratorStarted),
            ev(
                1000,
                EventKind::ExecutionStarted {
                    name: "HelloSequence".into(),
                    input: Json::null(),
                    execution_id: ExecutionId("e".into()),
                    component: "sha256:x".into(),
                    parent: None,
                },
            ),
            ev(
                1000,
                EventKind::TaskScheduled {
                    id: ScheduleId(0),
                    name: "SayHello".into(),
                    input: Json::from_value("Tokyo"),
                    attempt: None,
                },
            ),
            ev(1000, EventKind::OrchestratorCompleted),
            ev(2000, EventKind::OrchestratorStarted),
            ev(
                1500,
                EventKind::TaskCompleted {
                    scheduled_id: ScheduleId(0),
                    result: Json::from_value("Hello Tokyo!"),
                },
            ),
            ev(
                2000,
                EventKind::TaskScheduled {
                    id: ScheduleId(1),
                    name: "SayHello".into(),
                    input: Json::from_value("x"),
                    attempt: None,
                },
            ),
            ev(2000, EventKind::OrchestratorCompleted),
            ev(3000, EventKind::OrchestratorStarted),
            ev(
                2500,
                EventKind::TaskFailed {
                    scheduled_id: ScheduleId(1),
                    failure: Failure::new("Boom", "bad"),
                },
            ),
            ev(3000, EventKind::OrchestratorCompleted),
            ev(
                3000,
                EventKind::ExecutionCompleted {
                    status: RuntimeStatus::Failed,
                    result: None,
                    failure: Some(Failure::new("Boom", "bad")),
                },
            ),
        ]
    }

    #[test]
    fn projection_folds_schedules_and_hides_episode_markers() {
        let rows: Vec<Value> =
            serde_json::from_value(serde_json::to_value(project(&sample(), true)).unwrap())
                .unwrap();
        let types: Vec<&str> = rows
            .iter()
            .map(|r| r["EventType"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "ExecutionStarted",
                "TaskCompleted",
                "TaskFailed",
                "ExecutionCompleted"
            ]
        );
        assert_eq!(rows[1]["FunctionName"], "SayHello");
        assert_eq!(rows[1]["Result"], "Hello Tokyo!");
        assert_eq!(rows[1]["ScheduledTime"], "1970-01-01T00:00:01.000Z");
        assert_eq!(rows[1]["Timestamp"], "1970-01-01T00:00:01.500Z");
        assert_eq!(rows[2]["Reason"], "bad");
        assert_eq!(rows[3]["OrchestrationStatus"], "Failed");
    }

    #[test]
    fn results_only_with_show_output() {
        let rows: Vec<Value> =
            serde_json::from_value(serde_json::to_value(project(&sample(), false)).unwrap())
                .unwrap();
        assert!(rows[1].get("Result").is_none());
        assert!(rows[3].get("FailureDetails").is_none());
    }

    #[test]
    fn full_history_keeps_every_event_with_its_fields() {
        let rows: Vec<Value> =
            serde_json::from_value(serde_json::to_value(full(&sample())).unwrap()).unwrap();
        assert_eq!(rows.len(), 12);
        assert_eq!(rows[2]["eventType"], "TaskScheduled");
        assert_eq!(rows[2]["name"], "SayHello");
        assert_eq!(rows[2]["input"], "Tokyo");
        assert_eq!(rows[2]["index"], 2);
        assert_eq!(rows[0]["eventType"], "OrchestratorStarted");
    }
}
