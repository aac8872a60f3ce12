//! Exporting entities: the dispatch behind the `entities:` table of
//! [`export_component!`](crate::export_component).
//!
//! Like orchestrators and activities, each entity is a `(name, entry)` pair in
//! a static table; the entry decodes the state, runs the author's function on
//! an [`EntityContext`] and encodes what it left. Names are matched without
//! regard to case because the host lower-cases entity names (Durable
//! Functions' names are not case-sensitive) and reports them lower case.

use crate::bindings::exports::weft::durable::entities as wit;
use crate::bindings::weft::durable::types::Failure as WitFailure;
use crate::entity::OperationOutput;
use crate::{EntityContext, EntityId, Failure, codec};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The operation the SDK runs itself, before the author's function: it
/// deletes the state and returns `null` (Durable Functions' implicit delete;
/// its HTTP `DELETE /entities/{name}/{key}` signals it).
pub(crate) const DELETE: &str = "delete";

/// One operation to run, as the host asked for it.
#[doc(hidden)]
#[derive(Debug)]
pub struct EntityRequest<'a> {
    id: EntityId,
    operation: &'a str,
    input: &'a str,
    state: Option<&'a str>,
}

/// An entity entry: decodes the state, runs the operation, encodes the output.
#[doc(hidden)]
pub type EntityEntry = fn(&EntityRequest<'_>) -> Result<OperationOutput, Failure>;

/// Adapts a typed entity function to an [`EntityEntry`].
#[doc(hidden)]
pub fn entity<S, E>(
    function: impl FnOnce(&mut EntityContext<S>) -> Result<(), E>,
    request: &EntityRequest<'_>,
) -> Result<OperationOutput, Failure>
where
    S: Serialize + DeserializeOwned,
    E: Into<Failure>,
{
    if request.operation == DELETE {
        return Ok(OperationOutput::deleted());
    }
    let state = match request.state {
        Some(json) => Some(codec::decode::<S>(
            json,
            format_args!("the state of entity '{}'", request.id),
        )?),
        None => None,
    };
    let mut ctx = EntityContext::new(request.id.clone(), request.operation, request.input, state);
    function(&mut ctx).map_err(Into::into)?;
    ctx.finish()
}

/// The entity names of a table, lower case, in declaration order.
#[doc(hidden)]
pub fn entity_names(table: &[(&str, EntityEntry)]) -> Vec<String> {
    table.iter().map(|(name, _)| name.to_lowercase()).collect()
}

/// Runs `operation` on entity `name`/`key` of `table` for the real host.
#[doc(hidden)]
pub fn run_entity(
    table: &[(&str, EntityEntry)],
    name: &str,
    key: &str,
    operation: &str,
    input: &str,
    state: Option<&str>,
) -> Result<wit::OperationOutput, WitFailure> {
    dispatch_entity(table, name, key, operation, input, state)
        .map(Into::into)
        .map_err(Into::into)
}

fn dispatch_entity(
    table: &[(&str, EntityEntry)],
    name: &str,
    key: &str,
    operation: &str,
    input: &str,
    state: Option<&str>,
) -> Result<OperationOutput, Failure> {
    let wanted = name.to_lowercase();
    let entry = table
        .iter()
        .find(|(candidate, _)| candidate.to_lowercase() == wanted)
        .map(|(_, entry)| *entry)
        .ok_or_else(|| {
            Failure::new(
                Failure::ENTITY_NOT_FOUND,
                format!(
                    "this component has no entity named '{name}'; it has {:?}",
                    entity_names(table)
                ),
            )
            .non_retriable()
        })?;
    let request = EntityRequest {
        id: EntityId::new(name, key)?,
        operation,
        input,
        state,
    };
    entry(&request)
}

impl From<OperationOutput> for wit::OperationOutput {
    fn from(out: OperationOutput) -> wit::OperationOutput {
        wit::OperationOutput {
            state: out.state,
            result: out.result,
            signals: out
                .signals
                .into_iter()
                .map(|s| wit::EntitySignal {
                    entity_id: s.entity,
                    operation: s.operation,
                    input: s.input,
                })
                .collect(),
            starts: out
                .starts
                .into_iter()
                .map(|s| wit::OrchestrationStart {
                    name: s.name,
                    instance_id: s.instance_id,
                    input: s.input,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::SignalOut;
    use serde_json::{Value, json};

    fn counter(ctx: &mut EntityContext<i64>) -> Result<(), Failure> {
        match ctx.operation() {
            "add" => {
                let amount: i64 = ctx.input()?;
                *ctx.state_mut() += amount;
            }
            "get" => ctx.set_result(&ctx.state_or_default()),
            "fail" => {
                ctx.set_state(-1);
                let other = EntityId::new("Counter", "other")?;
                ctx.signal_entity(&other, "add", 1);
                return Err(Failure::new("test.Failed", "on purpose"));
            }
            "forward" => {
                let other = EntityId::new("Counter", "other")?;
                ctx.signal_entity(&other, "add", ctx.state_or_default());
                ctx.start_orchestration("Report", None, json!({"from": ctx.key()}));
            }
            _ => return Err(ctx.unknown_operation()),
        }
        Ok(())
    }

    fn notes(ctx: &mut EntityContext<Vec<String>>) -> Result<(), String> {
        let note: String = ctx.input().map_err(|f| f.message)?;
        ctx.state_mut().push(note);
        Ok(())
    }

    const ENTITIES: &[(&str, EntityEntry)] = &[
        ("Counter", |request| entity(counter, request)),
        ("Notes", |request| entity(notes, request)),
    ];

    fn run(
        name: &str,
        operation: &str,
        input: &str,
        state: Option<&str>,
    ) -> Result<OperationOutput, Failure> {
        dispatch_entity(ENTITIES, name, "k", operation, input, state)
    }

    #[test]
    fn names_are_reported_lower_case_and_matched_without_case() {
        assert_eq!(entity_names(ENTITIES), vec!["counter", "notes"]);
        let out = run("counter", "add", "2", Some("40")).unwrap();
        assert_eq!(out.state.as_deref(), Some("42"));
        assert_eq!(
            run("COUNTER", "get", "null", Some("42")).unwrap().result,
            "42"
        );
    }

    #[test]
    fn a_missing_entity_is_created_by_its_first_operation() {
        let out = run("counter", "add", "3", None).unwrap();
        assert_eq!(
            (out.state.as_deref(), out.result.as_str()),
            (Some("3"), "null")
        );
        let out = run("counter", "get", "null", None).unwrap();
        assert_eq!(out.state, None, "reading does not create the entity");
        assert_eq!(out.result, "0");
    }

    #[test]
    fn delete_is_handled_by_the_sdk() {
        let out = run("counter", "delete", "null", Some("5")).unwrap();
        assert_eq!(out, OperationOutput::deleted());
        assert_eq!((out.state, out.result.as_str()), (None, "null"));
        // Even when the state no longer decodes: deleting is how to recover.
        assert!(run("counter", "delete", "null", Some("\"text\"")).is_ok());
        // Other spellings are ordinary operations.
        let err = run("counter", "Delete", "null", Some("5")).unwrap_err();
        assert_eq!(err.error_type, Failure::OPERATION_NOT_FOUND);
    }

    #[test]
    fn a_failing_operation_leaves_nothing() {
        let err = run("counter", "fail", "null", Some("5")).unwrap_err();
        assert_eq!(err, Failure::new("test.Failed", "on purpose"));
        let err = run("notes", "add", "1", None).unwrap_err();
        assert_eq!(
            err.error_type,
            Failure::GENERIC,
            "errors convert with Into<Failure>"
        );
        assert!(
            err.message.contains("'add' on entity '@notes@k'"),
            "{}",
            err.message
        );
    }

    #[test]
    fn signals_and_starts_leave_with_the_output() {
        let out = run("counter", "forward", "null", Some("7")).unwrap();
        assert_eq!(
            out.signals,
            vec![SignalOut {
                entity: "@counter@other".into(),
                operation: "add".into(),
                input: "7".into()
            }]
        );
        assert_eq!(out.starts.len(), 1);
        let wit = wit::OperationOutput::from(out);
        assert_eq!(wit.state.as_deref(), Some("7"));
        assert_eq!(wit.signals[0].entity_id, "@counter@other");
        assert_eq!(wit.starts[0].name, "Report");
        assert_eq!(wit.starts[0].instance_id, None);
        let input: Value = serde_json::from_str(&wit.starts[0].input).unwrap();
        assert_eq!(input, json!({"from": "k"}));
    }

    #[test]
    fn decode_failures_name_the_entity() {
        let err = run("counter", "add", "\"x\"", Some("1")).unwrap_err();
        assert_eq!(err.error_type, Failure::INVALID_INPUT);
        assert!(
            err.message
                .contains("operation 'add' on entity '@counter@k'"),
            "{}",
            err.message
        );
        let err = run("counter", "get", "null", Some("\"text\"")).unwrap_err();
        assert_eq!(err.error_type, Failure::DESERIALIZE);
        assert!(
            err.message
                .starts_with("the state of entity '@counter@k' does not decode as i64"),
            "{}",
            err.message
        );
    }

    #[test]
    fn unknown_entities_and_operations_are_named() {
        let err = run("Ledger", "get", "null", None).unwrap_err();
        assert_eq!(err.error_type, Failure::ENTITY_NOT_FOUND);
        assert!(err.non_retriable);
        assert!(
            err.message.contains("'Ledger'") && err.message.contains("\"counter\""),
            "{}",
            err.message
        );
        let err = run("counter", "explode", "null", None).unwrap_err();
        assert_eq!(err.error_type, Failure::OPERATION_NOT_FOUND);
        assert!(err.message.contains("'@counter@k'") && err.message.contains("'explode'"));
    }

    #[test]
    fn a_bad_key_is_an_invalid_entity_id() {
        let err = dispatch_entity(ENTITIES, "counter", "a/b", "get", "null", None).unwrap_err();
        assert_eq!(err.error_type, Failure::INVALID_ENTITY_ID);
    }
}
