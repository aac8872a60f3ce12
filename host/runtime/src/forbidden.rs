//! Capabilities orchestrators do not get.
//!
//! Files, sockets and name lookups would make replay depend on the outside
//! world. Their entry points trap with [`Forbidden`], whose message tells the
//! author what to do; the trap fails the instance the same way on every replay.

use std::fmt;
use wasmtime::component::Linker;

/// WASI functions through which all file and network access starts.
const ENTRY_POINTS: &[(&str, &str, &str)] = &[
    (
        "wasi:filesystem/preopens@0.2.12",
        "get-directories",
        "the filesystem",
    ),
    (
        "wasi:sockets/instance-network@0.2.12",
        "instance-network",
        "the network",
    ),
    (
        "wasi:sockets/tcp-create-socket@0.2.12",
        "create-tcp-socket",
        "TCP sockets",
    ),
    (
        "wasi:sockets/udp-create-socket@0.2.12",
        "create-udp-socket",
        "UDP sockets",
    ),
    (
        "wasi:sockets/ip-name-lookup@0.2.12",
        "resolve-addresses",
        "DNS lookups",
    ),
    (
        "wasi:http/outgoing-handler@0.2.12",
        "handle",
        "outbound HTTP",
    ),
];

/// Which deterministic guest a linker serves (the refusal's advice differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sandboxed {
    Orchestrators,
    Entities,
}

/// The error an orchestrator or entity gets for reaching outside the sandbox.
#[derive(Debug, Clone)]
pub struct Forbidden {
    pub capability: String,
    pub import: String,
    pub guest: Sandboxed,
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (capability, import) = (&self.capability, &self.import);
        match self.guest {
            Sandboxed::Orchestrators => write!(
                f,
                "orchestrators cannot use {capability} (called {import}): an orchestrator must be deterministic so it can be \
                 replayed. Move this work into an activity and call it with call_activity"
            ),
            Sandboxed::Entities => write!(
                f,
                "entities cannot use {capability} (called {import}): entity operations run in the same deterministic \
                 sandbox as orchestrators. Start an orchestration from the operation and do this work in one of its activities"
            ),
        }
    }
}

impl std::error::Error for Forbidden {}

/// Replaces the entry points in `linker` (which already has full WASI) with traps.
pub fn install<T: 'static>(linker: &mut Linker<T>, guest: Sandboxed) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    for &(interface, func, capability) in ENTRY_POINTS {
        let err = Forbidden {
            capability: capability.to_owned(),
            import: format!("{interface}#{func}"),
            guest,
        };
        linker
            .instance(interface)?
            .func_new(func, move |_, _, _, _| {
                Err(wasmtime::Error::new(err.clone()))
            })?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

/// Names the capabilities (file system, sockets, HTTP, ...) a component imports,
/// for the deploy report.
pub fn capabilities(imports: impl Iterator<Item = String>) -> Vec<String> {
    let mut caps: Vec<String> = imports
        .filter_map(|name| {
            let iface = name.split('@').next().unwrap_or(&name).to_owned();
            let cap = match iface.as_str() {
                i if i.starts_with("wasi:filesystem/") => "filesystem",
                i if i.starts_with("wasi:sockets/") => "sockets",
                i if i.starts_with("wasi:http/") => "http",
                "wasi:cli/environment" => "environment",
                "wasi:clocks/wall-clock" | "wasi:clocks/monotonic-clock" => "clocks",
                i if i.starts_with("wasi:random/") => "random",
                "wasi:cli/stdout" | "wasi:cli/stderr" | "wasi:cli/stdin" => "stdio",
                _ => return None,
            };
            Some(cap.to_owned())
        })
        .collect();
    caps.sort();
    caps.dedup();
    caps
}
