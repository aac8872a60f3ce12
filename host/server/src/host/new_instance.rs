//! What starting an instance writes, in one place for every way an instance
//! starts (a client's start, a parent's sub-orchestration or detached start):
//! the Pending row and the `ExecutionStarted` message for its inbox.

use weft_core::{
    EventKind, ExecutionId, HistoryEvent, InstanceId, Json, Message, ParentInstance, RuntimeStatus,
    Timestamp,
};
use weft_store::InstanceRecord;

/// A new execution of orchestrator `name` as `instance` on component
/// `component`, created at `now`, with a fresh execution ID.
pub(super) fn new_instance(
    instance: InstanceId,
    name: &str,
    input: Json,
    component: String,
    parent: Option<ParentInstance>,
    now: Timestamp,
) -> (InstanceRecord, Message) {
    let execution = ExecutionId::generate();
    let start = Message::new(HistoryEvent::new(
        now,
        EventKind::ExecutionStarted {
            name: name.to_owned(),
            input: input.clone(),
            execution_id: execution.clone(),
            component: component.clone(),
            parent: parent.clone(),
        },
    ));
    let record = InstanceRecord {
        instance_id: instance,
        name: name.to_owned(),
        execution_id: execution,
        status: RuntimeStatus::Pending,
        input,
        output: None,
        custom_status: None,
        created: now,
        updated: now,
        component,
        history_len: 0,
        parent,
    };
    (record, start)
}
