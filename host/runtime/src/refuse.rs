//! Guests that are not orchestrators (activities, entities) link the whole
//! `weft:durable/component` world, because one component holds every kind;
//! the orchestration API must trap for them with a message naming the call.
//! [`refuse_orchestration!`] writes that refusal once for every such store.

/// Implements `orchestration::Host` for `$state` with every function
/// trapping with `$refuse(name)` (a `fn(&str) -> wasmtime::Error`).
macro_rules! refuse_orchestration {
    ($state:ty, $refuse:path) => {
        impl $crate::bindings::weft::durable::orchestration::Host for $state {
            async fn instance_id(&mut self) -> wasmtime::Result<String> {
                Err($refuse("instance-id"))
            }
            async fn now(&mut self) -> wasmtime::Result<u64> {
                Err($refuse("now"))
            }
            async fn is_replaying(&mut self) -> wasmtime::Result<bool> {
                Err($refuse("is-replaying"))
            }
            async fn call_activity(&mut self, _: String, _: String) -> wasmtime::Result<u32> {
                Err($refuse("call-activity"))
            }
            async fn create_timer(&mut self, _: u64) -> wasmtime::Result<u32> {
                Err($refuse("create-timer"))
            }
            async fn wait_for_event(&mut self, _: String) -> wasmtime::Result<u32> {
                Err($refuse("wait-for-event"))
            }
            async fn cancel(&mut self, _: u32) -> wasmtime::Result<()> {
                Err($refuse("cancel"))
            }
            async fn call_sub_orchestrator(
                &mut self,
                _: String,
                _: Option<String>,
                _: String,
            ) -> wasmtime::Result<u32> {
                Err($refuse("call-sub-orchestrator"))
            }
            async fn start_orchestration(
                &mut self,
                _: String,
                _: Option<String>,
                _: String,
            ) -> wasmtime::Result<u32> {
                Err($refuse("start-orchestration"))
            }
            async fn send_event(
                &mut self,
                _: String,
                _: String,
                _: String,
            ) -> wasmtime::Result<()> {
                Err($refuse("send-event"))
            }
            async fn continue_as_new(&mut self, _: String, _: bool) -> wasmtime::Result<()> {
                Err($refuse("continue-as-new"))
            }
            async fn new_guid(&mut self) -> wasmtime::Result<String> {
                Err($refuse("new-guid"))
            }
            async fn call_activity_attempt(
                &mut self,
                _: String,
                _: String,
                _: u32,
            ) -> wasmtime::Result<u32> {
                Err($refuse("call-activity-attempt"))
            }
            async fn signal_entity(
                &mut self,
                _: String,
                _: String,
                _: String,
            ) -> wasmtime::Result<u32> {
                Err($refuse("signal-entity"))
            }
            async fn call_entity(
                &mut self,
                _: String,
                _: String,
                _: String,
            ) -> wasmtime::Result<u32> {
                Err($refuse("call-entity"))
            }
            async fn lock_entities(&mut self, _: Vec<String>) -> wasmtime::Result<u32> {
                Err($refuse("lock-entities"))
            }
            async fn unlock_entities(&mut self) -> wasmtime::Result<()> {
                Err($refuse("unlock-entities"))
            }
            async fn wait_any(
                &mut self,
                _: Vec<u32>,
            ) -> wasmtime::Result<(
                u32,
                $crate::bindings::weft::durable::orchestration::TaskOutcome,
            )> {
                Err($refuse("wait-any"))
            }
            async fn set_custom_status(
                &mut self,
                _: Option<String>,
            ) -> wasmtime::Result<Result<(), String>> {
                Err($refuse("set-custom-status"))
            }
            async fn log(
                &mut self,
                _: $crate::bindings::weft::durable::orchestration::LogLevel,
                _: String,
            ) -> wasmtime::Result<()> {
                Err($refuse("log"))
            }
        }
    };
}

pub(crate) use refuse_orchestration;
