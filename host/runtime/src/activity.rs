//! Activities: real work with ordinary WASI.
//!
//! Each call gets a fresh instance (no state leaks between calls) with stdio
//! logged, and only what the operator grants: preopened directories,
//! environment variables, and outbound HTTP to allow-listed hosts
//! ([`crate::egress`]).

use crate::bindings::weft::durable::types;
use crate::orchestration::from_wit_failure;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// What activities may reach, granted by the operator's configuration.
#[derive(Clone, Debug, Default)]
pub struct ActivityCapabilities {
    /// Host directories preopened for activities: (host path, path the guest sees).
    pub dirs: Vec<(std::path::PathBuf, String)>,
    /// Environment variables activities see: (name, value). Nothing of the
    /// host's own environment is passed unless named here.
    pub env: Vec<(String, String)>,
    /// Hosts activities may send HTTP requests to (`wasi:http`); none by default.
    pub allow_http: Vec<crate::egress::AllowedHost>,
}

impl ActivityCapabilities {
    /// Adds `more` to these grants; a variable named in both takes `more`'s value.
    pub fn add(&mut self, more: &ActivityCapabilities) {
        self.dirs.extend(more.dirs.iter().cloned());
        for (name, value) in &more.env {
            self.env.retain(|(n, _)| n != name);
            self.env.push((name.clone(), value.clone()));
        }
        for host in &more.allow_http {
            if !self.allow_http.contains(host) {
                self.allow_http.push(host.clone());
            }
        }
    }

    /// Builds the WASI context of one activity call: the configured directories
    /// (read-write) and environment variables, stdout and stderr to the log,
    /// nothing else.
    pub(crate) fn wasi(
        &self,
        stdout: crate::det_wasi::GuestLog,
        stderr: crate::det_wasi::GuestLog,
    ) -> wasmtime::Result<WasiCtx> {
        let mut b = wasmtime_wasi::WasiCtxBuilder::new();
        b.stdout(stdout).stderr(stderr);
        for (host, guest) in &self.dirs {
            b.preopened_dir(host, guest, wasmtime_wasi::FsPerms::ReadWrite)?;
        }
        for (name, value) in &self.env {
            b.env(name, value);
        }
        Ok(b.build())
    }
}

/// Which call an activity serves: what `activity-context` answers, so an
/// activity can build an idempotency key (it runs at least once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityCall {
    /// The orchestration instance that scheduled it.
    pub instance: String,
    /// Its schedule ID in that instance's execution.
    pub schedule_id: u32,
    /// 1 for the first attempt; a retry policy's retries count up.
    pub attempt: u32,
}

/// Store data of an activity call.
pub struct ActState {
    pub(crate) call: ActivityCall,
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) http: crate::egress::HttpState,
    pub(crate) cpu: crate::sandbox::CpuMeter,
    pub(crate) memory: crate::sandbox::MemLimiter,
}

impl WasiView for ActState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_http::WasiHttpView for ActState {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        self.http.view(&mut self.table)
    }
}

/// An activity could not run at all (as opposed to returning a failure).
#[derive(Debug, thiserror::Error)]
pub enum ActivityError {
    #[error("could not instantiate the component for activity '{name}': {reason}")]
    Instantiate { name: String, reason: String },
    /// Every instance slot is in use; run the activity again later.
    #[error("no free instance slot for activity '{name}'")]
    Busy { name: String },
}

pub(crate) fn failure(f: types::Failure) -> weft_core::Failure {
    from_wit_failure(f)
}

fn not_for_activities(func: &str) -> wasmtime::Error {
    wasmtime::format_err!(
        "activities cannot call orchestration::{func}: the orchestration API is only for orchestrators; \
         return a value from the activity instead"
    )
}

impl types::Host for ActState {}

impl crate::bindings::weft::durable::activity_context::Host for ActState {
    async fn instance_id(&mut self) -> wasmtime::Result<String> {
        Ok(self.call.instance.clone())
    }
    async fn schedule_id(&mut self) -> wasmtime::Result<u32> {
        Ok(self.call.schedule_id)
    }
    async fn attempt(&mut self) -> wasmtime::Result<u32> {
        Ok(self.call.attempt)
    }
}

crate::refuse::refuse_orchestration!(ActState, not_for_activities);
