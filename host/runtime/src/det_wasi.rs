//! Deterministic WASI for orchestrators.
//!
//! The wall clock reads the orchestration time (the episode's start), the
//! monotonic clock is derived from it, random numbers come from a generator
//! seeded by the execution ID, there is no environment, no arguments and no
//! preopened directory, and stdout/stderr become replay-safe log lines. So
//! `SystemTime::now()`, `HashMap` and `rand` inside an orchestrator return the
//! same values on every replay.

use sha2::{Digest, Sha256};
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder};

/// The orchestration clock shared between the replay engine and WASI.
#[derive(Clone, Default)]
pub struct OrchestrationClock {
    millis: Arc<AtomicU64>,
}

impl OrchestrationClock {
    pub fn set(&self, millis: u64) {
        self.millis.store(millis, Ordering::Relaxed);
    }
    fn get(&self) -> u64 {
        self.millis.load(Ordering::Relaxed)
    }
}

impl HostWallClock for OrchestrationClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        Duration::from_millis(self.get())
    }
}

impl HostMonotonicClock for OrchestrationClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        self.get().saturating_mul(1_000_000)
    }
}

/// SplitMix64: tiny, fast, and fixed forever (a replay years later must draw the
/// same numbers, so we do not depend on a library's choice of generator).
pub struct SeededRng(u64);

impl SeededRng {
    pub fn from_seed_text(seed: &str, stream: &str) -> SeededRng {
        let h = Sha256::new()
            .chain_update(seed)
            .chain_update([0])
            .chain_update(stream)
            .finalize();
        SeededRng(u64::from_le_bytes(h[..8].try_into().expect("8 bytes")))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl rand_core::TryRng for SeededRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.next() as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

/// Where an orchestrator's stdout/stderr go: log lines, suppressed while replaying.
#[derive(Clone)]
pub struct GuestLog {
    pub instance: String,
    pub replaying: Arc<AtomicBool>,
    /// Recent stderr text, kept to explain a trap (a Rust panic message lands here).
    pub recent: Arc<Mutex<Vec<u8>>>,
    stream: &'static str,
}

impl GuestLog {
    pub fn new(instance: String, replaying: Arc<AtomicBool>, stream: &'static str) -> GuestLog {
        GuestLog {
            instance,
            replaying,
            recent: Arc::default(),
            stream,
        }
    }

    /// The tail of what was written, for error messages.
    pub fn tail(&self) -> String {
        let buf = self.recent.lock().expect("log lock");
        String::from_utf8_lossy(&buf).trim().to_owned()
    }

    fn write(&self, bytes: &[u8]) {
        {
            let mut buf = self.recent.lock().expect("log lock");
            buf.extend_from_slice(bytes);
            let excess = buf.len().saturating_sub(4096);
            buf.drain(..excess);
        }
        if !self.replaying.load(Ordering::Relaxed) {
            for line in String::from_utf8_lossy(bytes)
                .lines()
                .filter(|l| !l.is_empty())
            {
                tracing::info!(target: "weft::guest", instance = %self.instance, stream = self.stream, "{line}");
            }
        }
    }
}

impl IsTerminal for GuestLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestLog {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for GuestLog {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The WASI context of one orchestrator execution.
pub fn orchestrator_wasi(
    execution: &str,
    clock: &OrchestrationClock,
    stdout: GuestLog,
    stderr: GuestLog,
) -> WasiCtx {
    let mut b = WasiCtxBuilder::new();
    b.wall_clock(clock.clone())
        .monotonic_clock(clock.clone())
        .secure_random(SeededRng::from_seed_text(execution, "secure"))
        .insecure_random(SeededRng::from_seed_text(execution, "insecure"))
        .insecure_random_seed({
            let mut r = SeededRng::from_seed_text(execution, "seed");
            (u128::from(r.next()) << 64) | u128::from(r.next())
        })
        .stdout(stdout)
        .stderr(stderr)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    b.build()
}
