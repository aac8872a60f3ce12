//! The engine configuration.

use wasmtime::{Config, Engine};

/// Builds the engine every component runs on.
///
/// Determinism (DESIGN §5): NaNs are canonicalized and relaxed SIMD is
/// deterministic, so floating point gives the same bits on every machine; threads
/// and shared memory are not compiled into this build. Async support lets host imports suspend a guest
/// (a wait that cannot be answered yet ends the turn without unwinding the guest).
pub fn engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    // Async is always on in wasmtime 48; threads are not compiled in (no `threads` feature).
    config
        .wasm_component_model(true)
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true);
    Engine::new(&config)
}
