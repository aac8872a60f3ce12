//! Enforcing the limits: CPU by epoch interruption, memory by a
//! resource limiter, and naming what stopped a guest.
//!
//! CPU. One OS thread per engine advances its epoch every [`TICK`]; each store
//! has a deadline one epoch ahead, so compiled code calls back into the host
//! about every tick while it runs. The callback charges the time the guest ran
//! since it last resumed to a [`CpuMeter`] and yields to tokio (so a runaway
//! guest never holds a worker thread: HTTP and other instances keep being
//! served), or stops the guest with [`LimitExceeded`] once its budget is spent.
//! Time parked in a host await (an orchestrator waiting for its next turn) is
//! not charged. Epoch timing is not deterministic, so a stop is never recorded
//! in history (the instance's status says why it stopped; see the dispatcher).
//!
//! The turn limit budgets the *new* work of a turn. Replaying recorded
//! episodes to rebuild an evicted guest is charged to a separate budget of one
//! turn limit per recorded episode: each episode ran within the limit when it
//! was first recorded, so a faithful replay fits, and a long history never
//! trips the limit, while code that loops during replay still stops.
//!
//! Memory. [`MemLimiter`] caps the sum of a store's linear memories; a refused
//! growth makes `memory.grow` return -1 (spec behaviour: a guest may handle
//! it), and is remembered so that the trap a Rust guest then raises
//! ("`unreachable` executed" after its allocator gives up) is reported as the
//! memory limit it is.

use crate::limits::{LimitExceeded, error_types, format_bytes};
use crate::policy::Setting;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};
use wasmtime::{Engine, UpdateDeadline};

/// How often the epoch advances: the granularity of CPU accounting and of yields.
pub const TICK: Duration = Duration::from_millis(10);

static BASE: LazyLock<Instant> = LazyLock::new(Instant::now);

fn now_nanos() -> u64 {
    BASE.elapsed().as_nanos() as u64
}

/// Advances `engine`'s epoch every [`TICK`] on a dedicated thread (a tokio task
/// would starve exactly when every worker runs a guest). The thread holds only
/// a weak reference and ends with the engine.
pub(crate) fn spawn_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("weft-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                match weak.upgrade() {
                    Some(e) => e.increment_epoch(),
                    None => break,
                }
            }
        })
        .expect("spawn the epoch ticker thread");
}

/// CPU time a guest used, against its budgets.
pub(crate) struct CpuMeter {
    /// When the guest last started running (after a yield or a turn start), in
    /// nanoseconds since [`BASE`]; written by the yield future.
    resumed: Arc<AtomicU64>,
    used_new: Duration,
    used_replay: Duration,
    /// Budget for the new work of one turn; `None`: only yield (activities,
    /// which have a wall-clock timeout instead).
    turn_limit: Option<Setting<Duration>>,
    replay_budget: Duration,
}

impl CpuMeter {
    /// An orchestrator's meter: `turn_limit` for each turn's new work, one turn
    /// limit per recorded episode for replay.
    pub fn orchestrator(turn_limit: Setting<Duration>, recorded_episodes: usize) -> CpuMeter {
        let mut m = CpuMeter::unlimited();
        m.turn_limit = Some(turn_limit);
        m.replay_budget = turn_limit
            .value
            .saturating_mul(recorded_episodes.max(1) as u32);
        m
    }

    /// A meter that never stops the guest, only makes it yield.
    pub fn unlimited() -> CpuMeter {
        CpuMeter {
            resumed: Arc::new(AtomicU64::new(now_nanos())),
            used_new: Duration::ZERO,
            used_replay: Duration::ZERO,
            turn_limit: None,
            replay_budget: Duration::ZERO,
        }
    }

    /// A new turn begins: its new work gets a fresh budget.
    pub fn start_turn(&mut self) {
        self.used_new = Duration::ZERO;
        self.resumed.store(now_nanos(), Ordering::Relaxed);
    }

    /// The epoch callback: charge, then yield or stop.
    pub fn on_tick(&mut self, replaying: bool) -> Result<UpdateDeadline, LimitExceeded> {
        let now = now_nanos();
        let ran = Duration::from_nanos(now.saturating_sub(self.resumed.load(Ordering::Relaxed)));
        // Just back from a yield (the epoch moved on while it was parked): let it
        // run a full tick before it yields again, or it would make no progress
        // on a busy machine.
        if ran < TICK / 2 {
            return Ok(UpdateDeadline::Continue(1));
        }
        if let Some(Setting {
            value: limit,
            name: setting,
        }) = self.turn_limit
        {
            if replaying {
                self.used_replay += ran;
                if self.used_replay > self.replay_budget {
                    return Err(LimitExceeded::ReplayCpu {
                        limit,
                        budget: self.replay_budget,
                        setting,
                    });
                }
            } else {
                self.used_new += ran;
                if self.used_new > limit {
                    return Err(LimitExceeded::Cpu { limit, setting });
                }
            }
        }
        let resumed = self.resumed.clone();
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(async move {
                tokio::task::yield_now().await;
                resumed.store(now_nanos(), Ordering::Relaxed);
            }),
        ))
    }
}

/// Makes `store`'s guest call back every tick to charge `meter` (never in
/// replay: activities and entities have none), from the first instruction
/// on (instantiation runs guest code, and a new store's deadline has passed).
pub(crate) fn meter_ticks<T: 'static>(
    store: &mut wasmtime::Store<T>,
    meter: fn(&mut T) -> &mut CpuMeter,
) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |mut cx| {
        meter(cx.data_mut())
            .on_tick(false)
            .map_err(wasmtime::Error::new)
    });
}

/// Caps the linear memory of one store (all its memories together).
pub(crate) struct MemLimiter {
    cap: u64,
    setting: &'static str,
    total: u64,
    pending: u64,
    /// Bytes the store would have had when a growth was refused.
    refused_at: Option<u64>,
}

/// `33.2MiB`: one decimal, rounded up.
fn format_mib(bytes: u64) -> String {
    let tenths = (bytes * 10).div_ceil(1 << 20);
    format!("{}.{}MiB", tenths / 10, tenths % 10)
}

/// Most table elements one store may have (tables hold function references).
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl MemLimiter {
    pub fn new(cap: Setting<u64>) -> MemLimiter {
        MemLimiter {
            cap: cap.value,
            setting: cap.name,
            total: 0,
            pending: 0,
            refused_at: None,
        }
    }

    /// The failure to report when a guest stopped after the limit refused it memory.
    pub fn exceeded(&self, who: &str) -> Option<weft_core::Failure> {
        let setting = self.setting;
        let wanted = self.refused_at?;
        Some(weft_core::Failure::new(
            error_types::MEMORY,
            format!(
                "{who} reached its memory limit of {} (it asked for {} in all); use less memory, or raise {setting}",
                format_bytes(self.cap),
                format_mib(wanted),
            ),
        ))
    }
}

impl wasmtime::ResourceLimiter for MemLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let delta = desired.saturating_sub(current) as u64;
        let after = self.total.saturating_add(delta);
        if after > self.cap || maximum.is_some_and(|m| desired > m) {
            self.refused_at = Some(after);
            return Ok(false);
        }
        self.total = after;
        self.pending = delta;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.total -= std::mem::take(&mut self.pending);
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Frames wasmtime keeps of a trap's backtrace (its default; innermost first).
const BACKTRACE_FRAMES: usize = 20;

/// A guest that overflowed its stack: wasmtime's own limit on native stack,
/// or a Rust guest's shadow stack in linear memory, which wraps below address
/// 0 and faults out of bounds. wasmtime 48 does not report the faulting
/// address in the error, so an out-of-bounds access is taken for a stack
/// overflow when the innermost [`BACKTRACE_FRAMES`] calls are a recursion
/// (at most a few distinct functions), or the address, where it is reported,
/// lies just under 4 GiB.
pub(crate) fn stack_overflow(err: &wasmtime::Error, who: &str) -> Option<weft_core::Failure> {
    let trap = err.downcast_ref::<wasmtime::Trap>().copied();
    let recursing = err
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .is_some_and(|b| {
            let frames = b.frames();
            let distinct: std::collections::HashSet<u32> =
                frames.iter().map(|f| f.func_index()).collect();
            frames.len() >= BACKTRACE_FRAMES && distinct.len() <= 4
        });
    let shadow = trap == Some(wasmtime::Trap::MemoryOutOfBounds)
        && (recursing
            || err.chain().any(|c| {
                c.to_string()
                    .split("wasm address 0x")
                    .nth(1)
                    .and_then(|s| {
                        let hex: String = s.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
                        u64::from_str_radix(&hex, 16).ok()
                    })
                    .is_some_and(|a| (0xFFF0_0000..=0xFFFF_FFFF).contains(&a))
            }));
    let message = if trap == Some(wasmtime::Trap::StackOverflow) {
        format!(
            "{who} exhausted its call stack (unbounded or too deep recursion); make the recursion bounded or iterative"
        )
    } else if shadow {
        format!(
            "{who} overflowed its stack (the shadow stack in linear memory, 1 MiB for Rust guests by default; \
             unbounded or too deep recursion); make the recursion bounded or iterative, or link the guest with \
             -C link-arg=-zstack-size=<bytes>"
        )
    } else {
        return None;
    };
    Some(weft_core::Failure::new(error_types::STACK, message))
}
