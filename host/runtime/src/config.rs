//! The engine configuration.

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Builds the engine every component runs on.
///
/// Determinism (DESIGN §5): NaNs are canonicalized and relaxed SIMD is
/// deterministic, so floating point gives the same bits on every machine; threads
/// and shared memory are not compiled into this build. Async support lets host imports suspend a guest
/// (a wait that cannot be answered yet ends the turn without unwinding the guest).
///
/// Instances come from a pool sized for `slots` live component instances (hot
/// orchestrators, running activities, turns in progress): instantiating from a
/// pool reuses memory and stacks instead of mapping and unmapping them for
/// every activity call, which dominated the host's profile.
///
/// Epoch interruption is compiled in: it is how [`crate::sandbox`] meters CPU
/// and makes a running guest yield. Each memory slot is as large as the
/// largest memory limit (at least 1 GiB); the limits themselves are enforced
/// per store by the resource limiter. `largest_memory` is the largest limit
/// any guest runs under.
pub fn engine(slots: u32, largest_memory: u64) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    let slot_bytes = largest_memory.max(1 << 30).next_multiple_of(64 << 10);
    let slots = slots.max(16);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_core_instances(slots * 8)
        .total_memories(slots * 2)
        .total_tables(slots * 8)
        .total_stacks(slots)
        .max_memory_size(slot_bytes as usize)
        // Reset a freed slot's touched pages with memset (found with PAGEMAP_SCAN
        // where the kernel has it) instead of madvise, and batch what remains:
        // each madvise costs a TLB shootdown on every core.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(64 << 10)
        .pagemap_scan(Enabled::Auto)
        .decommit_batch_size(64);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config.memory_reservation(slot_bytes);
    config.epoch_interruption(true);
    // Async is always on in wasmtime 48; threads are not compiled in (no `threads` feature).
    config
        .wasm_component_model(true)
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true);
    Engine::new(&config)
}
