//! History as the HTTP API shows it.
//!
//! `historyEvents` (reference §1.4) is Durable Functions' projection: PascalCase
//! keys, episode markers left out, a `TaskScheduled` folded into its completion
//! row as `ScheduledTime`, results only with `showHistoryOutput=true`. The full,
//! unprojected history (`GET .../instances/{id}/history`, `weft get-history`)
//! lists every event with its index.

use serde_json::{Map, Value, json};
use std::collections::HashMap;
use weft_core::{EventKind, HistoryEvent, ScheduleId};

/// Durable Functions' `historyEvents` projection.
pub fn project(history: &[HistoryEvent], show_output: bool) -> Vec<Value> {
    let scheduled: HashMap<ScheduleId, (&str, &HistoryEvent)> = history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskScheduled { id, name, .. } => Some((*id, (name.as_str(), e))),
            _ => None,
        })
        .collect();
    let completed: std::collections::HashSet<ScheduleId> = history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskCompleted { scheduled_id, .. }
            | EventKind::TaskFailed { scheduled_id, .. } => Some(*scheduled_id),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for e in history {
        let mut row = Map::new();
        row.insert("EventType".into(), json!(e.kind.type_name()));
        let task = |row: &mut Map<String, Value>, id: &ScheduleId| {
            if let Some((name, sched)) = scheduled.get(id) {
                row.insert("FunctionName".into(), json!(name));
                row.insert("ScheduledTime".into(), json!(sched.timestamp.to_rfc3339()));
            }
        };
        match &e.kind {
            EventKind::OrchestratorStarted | EventKind::OrchestratorCompleted => continue,
            EventKind::TaskScheduled { id, .. } if completed.contains(id) => continue,
            EventKind::ExecutionStarted { name, input, .. } => {
                row.insert("FunctionName".into(), json!(name));
                if show_output {
                    row.insert("Input".into(), input.to_value());
                }
            }
            EventKind::TaskScheduled { name, .. } => {
                row.insert("FunctionName".into(), json!(name));
            }
            EventKind::TaskCompleted {
                scheduled_id,
                result,
            } => {
                task(&mut row, scheduled_id);
                if show_output {
                    row.insert("Result".into(), result.to_value());
                }
            }
            EventKind::TaskFailed {
                scheduled_id,
                failure,
            } => {
                task(&mut row, scheduled_id);
                row.insert("Reason".into(), json!(failure.message));
                if show_output {
                    row.insert("FailureDetails".into(), json!(failure));
                }
            }
            EventKind::TimerCreated { fire_at, .. } | EventKind::TimerFired { fire_at, .. } => {
                row.insert("FireAt".into(), json!(fire_at.to_rfc3339()));
            }
            EventKind::EventRaised { name, input } => {
                row.insert("Name".into(), json!(name));
                if show_output {
                    row.insert("Input".into(), input.to_value());
                }
            }
            EventKind::ExecutionCompleted {
                status,
                result,
                failure,
            } => {
                row.insert("OrchestrationStatus".into(), json!(status.as_str()));
                if show_output {
                    if let Some(r) = result {
                        row.insert("Result".into(), r.to_value());
                    }
                    if let Some(f) = failure {
                        row.insert("FailureDetails".into(), json!(f));
                    }
                }
            }
            EventKind::ExecutionTerminated { reason } => {
                row.insert("Input".into(), json!(reason));
            }
            EventKind::ExecutionSuspended { reason }
            | EventKind::ExecutionResumed { reason }
            | EventKind::ExecutionRewound { reason, .. } => {
                row.insert("Reason".into(), json!(reason));
            }
        }
        row.insert("Timestamp".into(), json!(e.timestamp.to_rfc3339()));
        out.push(Value::Object(row));
    }
    out
}

/// Every event, unprojected: `{"index", "timestamp", "eventType", ...fields}`.
pub fn full(history: &[HistoryEvent]) -> Vec<Value> {
    history
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut row = Map::new();
            row.insert("index".into(), json!(i));
            row.insert("timestamp".into(), json!(e.timestamp.to_rfc3339()));
            row.insert("eventType".into(), json!(e.kind.type_name()));
            // The event's own fields, from its externally tagged serde form.
            if let Ok(Value::Object(tagged)) = serde_json::to_value(&e.kind)
                && let Some(Value::Object(fields)) = tagged.into_iter().next().map(|(_, v)| v)
            {
                row.extend(fields);
            }
            Value::Object(row)
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
                },
            ),
            ev(
                1000,
                EventKind::TaskScheduled {
                    id: ScheduleId(0),
                    name: "SayHello".into(),
                    input: Json::from_value("Tokyo"),
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
        let rows = project(&sample(), true);
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
        let rows = project(&sample(), false);
        assert!(rows[1].get("Result").is_none());
        assert!(rows[3].get("FailureDetails").is_none());
    }

    #[test]
    fn full_history_keeps_every_event_with_its_fields() {
        let rows = full(&sample());
        assert_eq!(rows.len(), 12);
        assert_eq!(rows[2]["eventType"], "TaskScheduled");
        assert_eq!(rows[2]["name"], "SayHello");
        assert_eq!(rows[2]["input"], "Tokyo");
        assert_eq!(rows[2]["index"], 2);
        assert_eq!(rows[0]["eventType"], "OrchestratorStarted");
    }
}
