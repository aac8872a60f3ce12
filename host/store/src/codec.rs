//! Framing of stored values: one format-version byte, then JSON.
//!
//! Every framed value is written in the oldest version that expresses it (up
//! to [`CURRENT`]) and read by dispatching on its
//! first byte, so a store written by an older build stays readable after the
//! format moves on. A version newer than this build is rejected with
//! [`StoreError::UnsupportedFormat`] instead of being misread.

use serde::Serialize;
use serde::de::DeserializeOwned;
use weft_core::{HistoryEvent, Message};

use crate::error::StoreError;
use crate::records::{ActivityWork, EntityRecord, InstanceRecord};
use crate::wire::{ActivityV1, EventV1, InstanceV1, MessageV1, TimerV1};
use crate::wire_v2::{ActivityV2, EventV2, InstanceV2, MessageV2};
use crate::wire_v3::{EntityV3, EventV3, MessageV3};

/// The newest value format this build writes (and reads, with every older one).
pub(crate) const CURRENT: u8 = 3;

/// Framing. A value is written in the oldest version that
/// expresses it, so version 1 values stay version 1 forever.
fn frame<T: Serialize>(version: u8, value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.push(version);
    // Wire types hold only strings, integers, string-keyed structs and raw JSON,
    // which serde_json always serializes.
    serde_json::to_writer(&mut out, value).expect("wire types always serialize");
    out
}

/// A value decoded by its version byte.
enum Versioned<A, B, C = serde::de::IgnoredAny> {
    V1(A),
    V2(B),
    V3(C),
}

/// Splits off the version byte and decodes the JSON after it as version 1's
/// shape `A`, version 2's `B` or version 3's `C`; a newer version is refused
/// by name.
fn unframe<A: DeserializeOwned, B: DeserializeOwned, C: DeserializeOwned>(
    bytes: &[u8],
    what: impl Fn() -> String,
) -> Result<Versioned<A, B, C>, StoreError> {
    let Some((&version, body)) = bytes.split_first() else {
        return Err(StoreError::corrupt(what(), "empty value"));
    };
    let corrupt = |e: serde_json::Error| StoreError::corrupt(what(), e.to_string());
    match version {
        1 => serde_json::from_slice(body)
            .map(Versioned::V1)
            .map_err(corrupt),
        2 => serde_json::from_slice(body)
            .map(Versioned::V2)
            .map_err(corrupt),
        3 => serde_json::from_slice(body)
            .map(Versioned::V3)
            .map_err(corrupt),
        _ => Err(StoreError::UnsupportedFormat {
            what: what(),
            found: version.into(),
            supported: CURRENT.into(),
        }),
    }
}

/// A value that exists only in version 1.
fn unframe_v1<A: DeserializeOwned>(
    bytes: &[u8],
    what: impl Fn() -> String,
) -> Result<A, StoreError> {
    match unframe::<A, serde::de::IgnoredAny, serde::de::IgnoredAny>(bytes, &what)? {
        Versioned::V1(a) => Ok(a),
        Versioned::V2(_) | Versioned::V3(_) => Err(StoreError::corrupt(
            what(),
            "only version 1 has such a value",
        )),
    }
}

pub(crate) fn encode_instance(record: InstanceRecord) -> Vec<u8> {
    match InstanceV2::of(&record) {
        Some(v2) => frame(2, &v2),
        None => frame(1, &InstanceV1::from(record)),
    }
}

pub(crate) fn decode_instance(bytes: &[u8], id: &str) -> Result<InstanceRecord, StoreError> {
    Ok(
        match unframe::<InstanceV1, InstanceV2, serde::de::IgnoredAny>(bytes, || {
            format!("instance row '{id}'")
        })? {
            Versioned::V1(v) => v.into(),
            Versioned::V2(v) => v.into(),
            Versioned::V3(_) => {
                return Err(StoreError::corrupt(
                    format!("instance row '{id}'"),
                    "version 3 has no instance rows",
                ));
            }
        },
    )
}

pub(crate) fn encode_event(event: HistoryEvent) -> Vec<u8> {
    match EventV1::try_from(event) {
        Ok(v1) => frame(1, &v1),
        Err(event) => match EventV3::try_from(event) {
            Ok(v3) => frame(3, &v3),
            Err(event) => frame(2, &EventV2::from(event)),
        },
    }
}

pub(crate) fn decode_event(bytes: &[u8], id: &str, index: u32) -> Result<HistoryEvent, StoreError> {
    Ok(
        match unframe::<EventV1, EventV2, EventV3>(bytes, || {
            format!("history event {index} of '{id}'")
        })? {
            Versioned::V1(v) => v.into(),
            Versioned::V2(v) => v.into(),
            Versioned::V3(v) => v.into(),
        },
    )
}

pub(crate) fn encode_message(message: Message) -> Vec<u8> {
    match MessageV1::try_from(message) {
        Ok(v1) => frame(1, &v1),
        Err(message) => match MessageV3::try_from(message) {
            Ok(v3) => frame(3, &v3),
            Err(message) => frame(2, &MessageV2::from(message)),
        },
    }
}

pub(crate) fn decode_message(bytes: &[u8], id: &str, seq: u64) -> Result<Message, StoreError> {
    Ok(
        match unframe::<MessageV1, MessageV2, MessageV3>(bytes, || {
            format!("inbox message {seq} of '{id}'")
        })? {
            Versioned::V1(v) => v.into(),
            Versioned::V2(v) => v.into(),
            Versioned::V3(v) => v.into(),
        },
    )
}

pub(crate) fn encode_activity(work: ActivityWork) -> Vec<u8> {
    match ActivityV2::of(&work) {
        Some(v2) => frame(2, &v2),
        None => frame(1, &ActivityV1::from(work)),
    }
}

pub(crate) fn decode_activity(bytes: &[u8], seq: u64) -> Result<ActivityWork, StoreError> {
    Ok(
        match unframe::<ActivityV1, ActivityV2, serde::de::IgnoredAny>(bytes, || {
            format!("activity work item {seq}")
        })? {
            Versioned::V1(v) => v.into(),
            Versioned::V2(v) => v.into(),
            Versioned::V3(_) => {
                return Err(StoreError::corrupt(
                    format!("activity work item {seq}"),
                    "version 3 has no work items",
                ));
            }
        },
    )
}

pub(crate) fn encode_entity(entity: EntityRecord) -> Vec<u8> {
    frame(3, &EntityV3::from(entity))
}

pub(crate) fn decode_entity(bytes: &[u8], id: &str) -> Result<EntityRecord, StoreError> {
    let what = || format!("entity row '{id}'");
    match unframe::<serde::de::IgnoredAny, serde::de::IgnoredAny, EntityV3>(bytes, what)? {
        Versioned::V3(v) => Ok(v.into()),
        _ => Err(StoreError::corrupt(
            what(),
            "only version 3 has entity rows",
        )),
    }
}

pub(crate) fn encode_timer(timer: TimerV1) -> Vec<u8> {
    frame(1, &timer)
}

pub(crate) fn decode_timer(bytes: &[u8], id: &str, timer_id: u32) -> Result<TimerV1, StoreError> {
    unframe_v1::<TimerV1>(bytes, || format!("timer {timer_id} of '{id}'"))
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
                parent: None,
            },
            EventKind::TaskScheduled {
                id: ScheduleId(1),
                name: "a".into(),
                input: json("null"),
                attempt: None,
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
        let parent = weft_core::ParentInstance {
            instance_id: weft_core::InstanceId::new("p").unwrap(),
            execution_id: ExecutionId("pe".into()),
            schedule_id: ScheduleId(4),
        };
        let v2 = vec![
            EventKind::ExecutionStarted {
                name: "child".into(),
                input: json("1"),
                execution_id: ExecutionId("e".into()),
                component: "sha256:x".into(),
                parent: Some(parent),
            },
            EventKind::SubOrchestrationInstanceCreated {
                id: ScheduleId(4),
                name: "child".into(),
                instance_id: weft_core::InstanceId::new("p:4").unwrap(),
                input: json("1"),
                detached: true,
            },
            EventKind::SubOrchestrationInstanceCompleted {
                scheduled_id: ScheduleId(4),
                result: json(r#"{"big":12345678901234567890}"#),
            },
            EventKind::SubOrchestrationInstanceFailed {
                scheduled_id: ScheduleId(4),
                failure: Failure::new("T", "m"),
            },
            EventKind::TaskScheduled {
                id: ScheduleId(6),
                name: "a".into(),
                input: json("null"),
                attempt: Some(2),
            },
            EventKind::EventSent {
                id: ScheduleId(5),
                instance_id: weft_core::InstanceId::new("other").unwrap(),
                name: "go".into(),
                input: json("null"),
            },
        ];
        let ent = |t: &str| weft_core::EntityId::parse(t).unwrap();
        let v3 = vec![
            EventKind::EntityOperationSignaled {
                id: ScheduleId(7),
                entity: ent("@counter@a@b"),
                operation: "add".into(),
                input: json("1"),
            },
            EventKind::EntityOperationCalled {
                id: ScheduleId(8),
                entity: ent("@counter@"),
                operation: "get".into(),
                input: json("null"),
            },
            EventKind::EntityOperationCompleted {
                scheduled_id: ScheduleId(8),
                result: json("[1]"),
            },
            EventKind::EntityOperationFailed {
                scheduled_id: ScheduleId(8),
                failure: Failure::new("T", "m"),
            },
            EventKind::EntityLockRequested {
                id: ScheduleId(9),
                entities: vec![ent("@a@1"), ent("@a@2")],
            },
            EventKind::EntityLockGranted {
                scheduled_id: ScheduleId(9),
            },
            EventKind::EntityUnlockSent {
                id: ScheduleId(10),
                section: ScheduleId(9),
                entities: vec![ent("@a@1"), ent("@a@2")],
            },
        ];
        // Version 1 values stay version 1; only what it cannot express is a
        // later version.
        let all = kinds
            .into_iter()
            .map(|k| (k, 1))
            .chain(v2.into_iter().map(|k| (k, 2)))
            .chain(v3.into_iter().map(|k| (k, 3)));
        for (kind, version) in all {
            let event = HistoryEvent::new(Timestamp(5), kind);
            let bytes = encode_event(event.clone());
            assert_eq!(bytes[0], version, "{event:?}");
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
