//! Framing of stored values: one format-version byte, then JSON.
//!
//! Every framed value is written in [`CURRENT`] and read by dispatching on its
//! first byte, so a store written by an older build stays readable after the
//! format moves on. A version newer than this build is rejected with
//! [`StoreError::UnsupportedFormat`] instead of being misread.

use serde::Serialize;
use serde::de::DeserializeOwned;
use weft_core::{HistoryEvent, Message};

use crate::error::StoreError;
use crate::records::{ActivityWork, InstanceRecord};
use crate::wire::{ActivityV1, EventV1, InstanceV1, MessageV1, TimerV1};

/// The value format this build writes.
pub(crate) const CURRENT: u8 = 1;

fn frame<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.push(CURRENT);
    // Wire types hold only strings, integers, string-keyed structs and raw JSON,
    // which serde_json always serializes.
    serde_json::to_writer(&mut out, value).expect("wire types always serialize");
    out
}

/// Splits off the version byte and decodes the JSON after it as `T`, the
/// version-1 shape. (A second version adds a `match` arm per value kind.)
fn unframe<T: DeserializeOwned>(bytes: &[u8], what: impl Fn() -> String) -> Result<T, StoreError> {
    let Some((&version, body)) = bytes.split_first() else {
        return Err(StoreError::corrupt(what(), "empty value"));
    };
    if version != CURRENT {
        return Err(StoreError::UnsupportedFormat {
            what: what(),
            found: version.into(),
            supported: CURRENT.into(),
        });
    }
    serde_json::from_slice(body).map_err(|e| StoreError::corrupt(what(), e.to_string()))
}

pub(crate) fn encode_instance(record: InstanceRecord) -> Vec<u8> {
    frame(&InstanceV1::from(record))
}

pub(crate) fn decode_instance(bytes: &[u8], id: &str) -> Result<InstanceRecord, StoreError> {
    unframe::<InstanceV1>(bytes, || format!("instance row '{id}'")).map(Into::into)
}

pub(crate) fn encode_event(event: HistoryEvent) -> Vec<u8> {
    frame(&EventV1::from(event))
}

pub(crate) fn decode_event(bytes: &[u8], id: &str, index: u32) -> Result<HistoryEvent, StoreError> {
    unframe::<EventV1>(bytes, || format!("history event {index} of '{id}'")).map(Into::into)
}

pub(crate) fn encode_message(message: Message) -> Vec<u8> {
    frame(&MessageV1::from(message))
}

pub(crate) fn decode_message(bytes: &[u8], id: &str, seq: u64) -> Result<Message, StoreError> {
    unframe::<MessageV1>(bytes, || format!("inbox message {seq} of '{id}'")).map(Into::into)
}

pub(crate) fn encode_activity(work: ActivityWork) -> Vec<u8> {
    frame(&ActivityV1::from(work))
}

pub(crate) fn decode_activity(bytes: &[u8], seq: u64) -> Result<ActivityWork, StoreError> {
    unframe::<ActivityV1>(bytes, || format!("activity work item {seq}")).map(Into::into)
}

pub(crate) fn encode_timer(timer: TimerV1) -> Vec<u8> {
    frame(&timer)
}

pub(crate) fn decode_timer(bytes: &[u8], id: &str, timer_id: u32) -> Result<TimerV1, StoreError> {
    unframe::<TimerV1>(bytes, || format!("timer {timer_id} of '{id}'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_core::{EventKind, ExecutionId, Failure, Json, RuntimeStatus, ScheduleId, Timestamp};

    fn json(s: &str) -> Json {
        Json::parse(s).unwrap()
    }

    #[test]
    fn every_event_kind_round_trips() {
        let kinds = vec![
            EventKind::OrchestratorStarted,
            EventKind::OrchestratorCompleted,
            EventKind::ExecutionStarted {
                name: "o".into(),
                input: json(r#"{"a":[1,2]}"#),
                execution_id: ExecutionId("e".into()),
                component: "sha256:x".into(),
            },
            EventKind::TaskScheduled {
                id: ScheduleId(1),
                name: "a".into(),
                input: json("null"),
            },
            EventKind::TaskCompleted {
                scheduled_id: ScheduleId(1),
                result: json(r#""ok""#),
            },
            EventKind::TaskFailed {
                scheduled_id: ScheduleId(2),
                failure: Failure {
                    details: Some(json("{}")),
                    non_retriable: true,
                    ..Failure::new("T", "m")
                },
            },
            EventKind::TimerCreated {
                id: ScheduleId(3),
                fire_at: Timestamp(9),
            },
            EventKind::TimerFired {
                timer_id: ScheduleId(3),
                fire_at: Timestamp(9),
            },
            EventKind::EventRaised {
                name: "go".into(),
                input: json("[true]"),
            },
            EventKind::ExecutionCompleted {
                status: RuntimeStatus::Failed,
                result: None,
                failure: Some(Failure::new("T", "m")),
            },
        ];
        for kind in kinds {
            let event = HistoryEvent::new(Timestamp(5), kind);
            let bytes = encode_event(event.clone());
            assert_eq!(bytes[0], CURRENT);
            assert_eq!(decode_event(&bytes, "i", 0).unwrap(), event);
            let message = Message::for_execution(ExecutionId("e".into()), event);
            let bytes = encode_message(message.clone());
            assert_eq!(decode_message(&bytes, "i", 0).unwrap(), message);
        }
    }

    #[test]
    fn unknown_version_is_rejected_by_name() {
        let mut bytes = encode_event(HistoryEvent::new(
            Timestamp(1),
            EventKind::OrchestratorStarted,
        ));
        bytes[0] = 7;
        let err = decode_event(&bytes, "inst", 4).unwrap_err();
        assert!(
            matches!(err, StoreError::UnsupportedFormat { found: 7, .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("history event 4 of 'inst'"),
            "{err}"
        );
        assert!(matches!(
            decode_event(&[], "i", 0),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            decode_event(&[1, b'{'], "i", 0),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
