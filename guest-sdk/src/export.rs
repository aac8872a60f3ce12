//! Exporting functions from a component: [`export_component!`](crate::export_component)
//! and the dispatch code it expands to.
//!
//! The macro builds three static tables of `(name, entry)` pairs and implements
//! the generated `orchestrators`, `activities` and `entities` `Guest` traits
//! over them; all decoding, encoding and dispatching lives in ordinary generic
//! functions here and in `entity_export.rs`, so that it is type-checked once
//! and unit-tested natively. On `wasm32` the macro also emits the component's
//! export symbols and its WIT type section.

use crate::bindings::weft::durable::types::Failure as WitFailure;
use crate::host::WitHost;
use crate::{Failure, OrchestrationContext, codec};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An orchestrator entry: decodes the input, runs, encodes the output.
#[doc(hidden)]
pub type OrchestratorEntry = fn(&OrchestrationContext, &str) -> Result<String, Failure>;

/// An activity entry: decodes the input, runs, encodes the output.
#[doc(hidden)]
pub type ActivityEntry = fn(&str) -> Result<String, Failure>;

/// Adapts a typed orchestrator function to an [`OrchestratorEntry`].
#[doc(hidden)]
pub fn orchestrate<I, O, E>(
    name: &str,
    function: impl FnOnce(&OrchestrationContext, I) -> Result<O, E>,
    ctx: &OrchestrationContext,
    input: &str,
) -> Result<String, Failure>
where
    I: DeserializeOwned,
    O: Serialize,
    E: Into<Failure>,
{
    let input = decode_input("orchestrator", name, input)?;
    let output = function(ctx, input).map_err(Into::into)?;
    codec::encode(&output, format_args!("the output of orchestrator '{name}'"))
}

/// Adapts a typed activity function to an [`ActivityEntry`].
#[doc(hidden)]
pub fn activity<I, O, E>(
    name: &str,
    function: impl FnOnce(I) -> Result<O, E>,
    input: &str,
) -> Result<String, Failure>
where
    I: DeserializeOwned,
    O: Serialize,
    E: Into<Failure>,
{
    let input = decode_input("activity", name, input)?;
    let output = function(input).map_err(Into::into)?;
    codec::encode(&output, format_args!("the output of activity '{name}'"))
}

fn decode_input<I: DeserializeOwned>(kind: &str, name: &str, input: &str) -> Result<I, Failure> {
    codec::decode_lenient(input).map_err(|e| {
        Failure::new(
            Failure::INVALID_INPUT,
            format!(
                "the input of {kind} '{name}' does not decode as {}: {e}",
                std::any::type_name::<I>()
            ),
        )
    })
}

/// The names of a table, in declaration order.
#[doc(hidden)]
pub fn names<T>(table: &[(&str, T)]) -> Vec<String> {
    table.iter().map(|(name, _)| (*name).to_owned()).collect()
}

/// Runs orchestrator `name` of `table` against the real host.
#[doc(hidden)]
pub fn run_orchestrator(
    table: &[(&str, OrchestratorEntry)],
    name: &str,
    input: &str,
) -> Result<String, WitFailure> {
    let ctx = OrchestrationContext::new(Box::new(WitHost));
    dispatch_orchestrator(table, &ctx, name, input).map_err(Into::into)
}

fn dispatch_orchestrator(
    table: &[(&str, OrchestratorEntry)],
    ctx: &OrchestrationContext,
    name: &str,
    input: &str,
) -> Result<String, Failure> {
    let entry = lookup("orchestrator", table, name)?;
    entry(ctx, input)
}

/// Runs activity `name` of `table`.
#[doc(hidden)]
pub fn run_activity(
    table: &[(&str, ActivityEntry)],
    name: &str,
    input: &str,
) -> Result<String, WitFailure> {
    dispatch_activity(table, name, input).map_err(Into::into)
}

fn dispatch_activity(
    table: &[(&str, ActivityEntry)],
    name: &str,
    input: &str,
) -> Result<String, Failure> {
    let entry = lookup("activity", table, name)?;
    entry(input)
}

fn lookup<T: Copy>(kind: &str, table: &[(&str, T)], name: &str) -> Result<T, Failure> {
    table
        .iter()
        .find(|(candidate, _)| *candidate == name)
        .map(|(_, entry)| *entry)
        .ok_or_else(|| {
            Failure::new(
                Failure::UNKNOWN_FUNCTION,
                format!(
                    "this component has no {kind} named '{name}'; it has {:?}",
                    names(table)
                ),
            )
            .non_retriable()
        })
}

/// Exports orchestrators, activities and entities from the current crate as
/// a Weft component (world `weft:durable/full`).
///
/// Write it once, at the crate root of a `cdylib` crate. Each list maps the
/// name the host uses to a function:
///
/// - orchestrators: `fn(&OrchestrationContext, I) -> Result<O, E>`
/// - activities: `fn(I) -> Result<O, E>`
/// - entities: `fn(&mut EntityContext<S>) -> Result<(), E>`
///
/// with `I: DeserializeOwned`, `O: Serialize`, `S: Serialize +
/// DeserializeOwned`, `E: Into<Failure>`. Each section may be left out or
/// empty (`activities: {}`), but those present come in this order. Input that
/// does not decode into `I` fails with [`Failure::INVALID_INPUT`]; an
/// orchestrator or activity name that is not listed fails with
/// [`Failure::UNKNOWN_FUNCTION`], an entity name with
/// [`Failure::ENTITY_NOT_FOUND`]. Entity names are not case-sensitive: the
/// component reports them lower case, as the host uses them. A panic traps,
/// and the host reports it as a failure.
///
/// ```ignore
/// use weft_sdk::prelude::*;
///
/// fn hello_sequence(ctx: &OrchestrationContext, _input: serde_json::Value) -> Result<Vec<String>, Failure> {
///     let mut out = Vec::new();
///     for city in ["Tokyo", "Seattle", "London"] {
///         out.push(ctx.call_activity::<_, String>("SayHello", city)?);
///     }
///     Ok(out)
/// }
///
/// fn say_hello(name: String) -> Result<String, Failure> {
///     Ok(format!("Hello {name}!"))
/// }
///
/// fn counter(ctx: &mut EntityContext<i64>) -> Result<(), Failure> {
///     match ctx.operation() {
///         "add" => {
///             let amount: i64 = ctx.input()?;
///             *ctx.state_mut() += amount;
///         }
///         "get" => ctx.set_result(&ctx.state_or_default()),
///         _ => return Err(ctx.unknown_operation()),
///     }
///     Ok(())
/// }
///
/// weft_sdk::export_component! {
///     orchestrators: { "HelloSequence" => hello_sequence },
///     activities: { "SayHello" => say_hello },
///     entities: { "Counter" => counter },
/// }
/// ```
///
/// The export symbols are emitted only when compiling for `wasm32`; natively
/// the macro still type-checks every function.
#[macro_export]
macro_rules! export_component {
    (
        $(orchestrators: { $($orchestrator:literal => $orchestrator_fn:path),* $(,)? } $(,)?)?
        $(activities: { $($activity:literal => $activity_fn:path),* $(,)? } $(,)?)?
        $(entities: { $($entity:literal => $entity_fn:path),* $(,)? } $(,)?)?
    ) => {
        const _: () = {
            const ORCHESTRATORS: &[(&str, $crate::__private::OrchestratorEntry)] = &[
                $($((
                    $orchestrator,
                    |ctx, input| $crate::__private::orchestrate($orchestrator, $orchestrator_fn, ctx, input),
                )),*)?
            ];
            const ACTIVITIES: &[(&str, $crate::__private::ActivityEntry)] = &[
                $($((
                    $activity,
                    |input| $crate::__private::activity($activity, $activity_fn, input),
                )),*)?
            ];
            const ENTITIES: &[(&str, $crate::__private::EntityEntry)] = &[
                $($((
                    $entity,
                    |request| $crate::__private::entity($entity_fn, request),
                )),*)?
            ];

            // Natively nothing calls the exports; this root keeps the tables, and
            // through them the author's functions, from being reported as dead code.
            #[allow(dead_code)]
            fn keep_alive() -> (
                &'static [(&'static str, $crate::__private::OrchestratorEntry)],
                &'static [(&'static str, $crate::__private::ActivityEntry)],
                &'static [(&'static str, $crate::__private::EntityEntry)],
            ) {
                (ORCHESTRATORS, ACTIVITIES, ENTITIES)
            }

            struct WeftComponent;

            impl $crate::bindings::exports::weft::durable::orchestrators::Guest for WeftComponent {
                fn names() -> ::std::vec::Vec<::std::string::String> {
                    $crate::__private::names(ORCHESTRATORS)
                }
                fn run(
                    name: ::std::string::String,
                    input: ::std::string::String,
                ) -> ::std::result::Result<::std::string::String, $crate::bindings::weft::durable::types::Failure> {
                    $crate::__private::run_orchestrator(ORCHESTRATORS, &name, &input)
                }
            }

            impl $crate::bindings::exports::weft::durable::activities::Guest for WeftComponent {
                fn names() -> ::std::vec::Vec<::std::string::String> {
                    $crate::__private::names(ACTIVITIES)
                }
                fn run(
                    name: ::std::string::String,
                    input: ::std::string::String,
                ) -> ::std::result::Result<::std::string::String, $crate::bindings::weft::durable::types::Failure> {
                    $crate::__private::run_activity(ACTIVITIES, &name, &input)
                }
            }

            impl $crate::bindings::exports::weft::durable::entities::Guest for WeftComponent {
                fn names() -> ::std::vec::Vec<::std::string::String> {
                    $crate::__private::entity_names(ENTITIES)
                }
                fn run(
                    name: ::std::string::String,
                    key: ::std::string::String,
                    operation: ::std::string::String,
                    input: ::std::string::String,
                    state: ::std::option::Option<::std::string::String>,
                ) -> ::std::result::Result<
                    $crate::bindings::exports::weft::durable::entities::OperationOutput,
                    $crate::bindings::weft::durable::types::Failure,
                > {
                    $crate::__private::run_entity(ENTITIES, &name, &key, &operation, &input, state.as_deref())
                }
            }

            #[cfg(target_arch = "wasm32")]
            $crate::bindings::export!(WeftComponent with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeHost;

    fn double(x: u32) -> Result<u32, Failure> {
        Ok(x * 2)
    }

    fn refuse(_: ()) -> Result<(), String> {
        Err("nope".into())
    }

    fn sum_two(ctx: &OrchestrationContext, n: u32) -> Result<u32, Failure> {
        let a: u32 = ctx.call_activity("Double", n)?;
        Ok(a + 1)
    }

    const ACTIVITIES: &[(&str, ActivityEntry)] = &[
        ("Double", |input| activity("Double", double, input)),
        ("Refuse", |input| activity("Refuse", refuse, input)),
    ];

    const ORCHESTRATORS: &[(&str, OrchestratorEntry)] = &[("SumTwo", |ctx, input| {
        orchestrate("SumTwo", sum_two, ctx, input)
    })];

    #[test]
    fn activities_decode_run_and_encode() {
        assert_eq!(dispatch_activity(ACTIVITIES, "Double", "21").unwrap(), "42");
        assert_eq!(names(ACTIVITIES), vec!["Double", "Refuse"]);
    }

    #[test]
    fn errors_convert_into_failures() {
        let err = dispatch_activity(ACTIVITIES, "Refuse", "null").unwrap_err();
        assert_eq!(err, Failure::new("Error", "nope"));
    }

    #[test]
    fn bad_input_is_invalid_input_naming_the_function() {
        let err = dispatch_activity(ACTIVITIES, "Double", "\"x\"").unwrap_err();
        assert_eq!(err.error_type, Failure::INVALID_INPUT);
        assert!(err.message.contains("activity 'Double'"), "{}", err.message);
        assert!(err.message.contains("u32"), "{}", err.message);
    }

    #[test]
    fn unknown_names_are_unknown_function() {
        let err = dispatch_activity(ACTIVITIES, "Triple", "1").unwrap_err();
        assert_eq!(err.error_type, Failure::UNKNOWN_FUNCTION);
        assert!(err.non_retriable);
        let (ctx, _fake) = FakeHost::context(0);
        let err = dispatch_orchestrator(&[], &ctx, "X", "null").unwrap_err();
        assert_eq!(err.error_type, Failure::UNKNOWN_FUNCTION);
    }

    #[test]
    fn orchestrators_run_against_the_context() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, "10");
        assert_eq!(
            dispatch_orchestrator(ORCHESTRATORS, &ctx, "SumTwo", "5").unwrap(),
            "11"
        );
        let (ctx, _fake) = FakeHost::context(0);
        let err = dispatch_orchestrator(ORCHESTRATORS, &ctx, "SumTwo", "{}").unwrap_err();
        assert_eq!(err.error_type, Failure::INVALID_INPUT);
        assert!(
            err.message.contains("orchestrator 'SumTwo'"),
            "{}",
            err.message
        );
    }

    mod expansion {
        use crate::prelude::*;

        fn orchestrator(_ctx: &OrchestrationContext, _input: ()) -> Result<(), Failure> {
            Ok(())
        }

        fn task(input: String) -> Result<String, &'static str> {
            Ok(input)
        }

        crate::export_component! {
            orchestrators: { "O" => orchestrator },
            activities: { "A" => task, "B" => task },
        }
    }

    mod empty_expansion {
        crate::export_component! {
            orchestrators: {},
            activities: {},
        }
    }

    mod entity_expansion {
        use crate::prelude::*;

        fn orchestrator(_ctx: &OrchestrationContext, _input: ()) -> Result<(), Failure> {
            Ok(())
        }

        fn counter(ctx: &mut EntityContext<i64>) -> Result<(), Failure> {
            *ctx.state_mut() += 1;
            Ok(())
        }

        fn notes(ctx: &mut EntityContext<Vec<String>>) -> Result<(), String> {
            ctx.delete_state();
            Ok(())
        }

        crate::export_component! {
            orchestrators: { "O" => orchestrator },
            activities: {},
            entities: { "Counter" => counter, "Notes" => notes },
        }
    }

    mod sections_left_out {
        use crate::prelude::*;

        fn counter(_ctx: &mut EntityContext<i64>) -> Result<(), Failure> {
            Ok(())
        }

        crate::export_component! {
            entities: { "Counter" => counter }
        }
    }

    mod nothing_at_all {
        crate::export_component! {}
    }
}
