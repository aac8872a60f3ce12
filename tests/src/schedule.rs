//! Random kill schedules that can be replayed: xorshift64 seeded from the
//! clock, or from an environment variable to rerun a failing schedule.

/// A generator of numbers below a bound, seeded from `$var` when set, else
/// from the clock; prints the seed and how to rerun it.
pub fn seeded(var: &str) -> impl FnMut(u64) -> u64 {
    let seed = std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("kill schedule seed: {seed} (rerun with {var}={seed})");
    let mut state = seed | 1;
    move |bound| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    }
}
