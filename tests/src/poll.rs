//! Waiting for a state with a deadline, never a fixed sleep.

use std::time::{Duration, Instant};

/// The default deadline for a state to be reached.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Calls `check` until it returns `Ok`, at most until `timeout` has passed.
/// `check` returns `Err(what it saw)` while the state is not reached; on
/// timeout the test fails with `expected` and the last thing seen.
pub fn until<T>(
    expected: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        match check() {
            Ok(v) => return v,
            Err(seen) => {
                if Instant::now() >= deadline {
                    panic!("timed out after {timeout:?} waiting for {expected}; last seen: {seen}");
                }
            }
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
