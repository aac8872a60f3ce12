//! Where the host's time comes from: the timestamps of history events and
//! rows, and when durable timers are due. The host is given a [`Clock`]; a
//! test gives it a [`ManualClock`] and advances time instead of sleeping (a
//! timer due in a day fires as soon as the test says a day has passed).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use weft_core::Timestamp;

/// A source of time for the host.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
    /// Resolves once [`Clock::now`] has reached `at` (possibly a little later;
    /// callers look at the time again).
    fn sleep_until(&self, at: Timestamp) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The system's wall clock (UTC milliseconds) and tokio's timers.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, at: Timestamp) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(Timestamp::now().until(at)))
    }
}

/// A clock that moves only when told to ([`ManualClock::advance`]).
#[derive(Debug)]
pub struct ManualClock {
    millis: AtomicU64,
    moved: tokio::sync::Notify,
}

impl ManualClock {
    /// A clock that reads `start` until it is advanced.
    pub fn new(start: Timestamp) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            millis: AtomicU64::new(start.0),
            moved: tokio::sync::Notify::new(),
        })
    }

    /// Moves time forward by `by`; timers that became due fire.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.millis.fetch_add(by, Ordering::SeqCst);
        self.moved.notify_waiters();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.millis.load(Ordering::SeqCst))
    }

    fn sleep_until(&self, at: Timestamp) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            loop {
                // Registered before the check, so an advance in between is seen.
                let moved = self.moved.notified();
                if self.now() >= at {
                    return;
                }
                moved.await;
            }
        })
    }
}

/// The clock a host runs on: cheap to clone, printable in its config.
#[derive(Clone)]
pub struct HostClock(pub Arc<dyn Clock>);

impl HostClock {
    /// The system clock.
    pub fn system() -> HostClock {
        HostClock(Arc::new(SystemClock))
    }

    pub fn now(&self) -> Timestamp {
        self.0.now()
    }
}

impl std::fmt::Debug for HostClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostClock({})", self.now())
    }
}

impl Default for HostClock {
    fn default() -> HostClock {
        HostClock::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_only_when_advanced_far_enough() {
        let clock = ManualClock::new(Timestamp(1_000));
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(Timestamp(5_000)).await })
        };
        clock.advance(Duration::from_secs(2));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "3 s is not 5 s");
        clock.advance(Duration::from_secs(2));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("woken once due")
            .unwrap();
        assert_eq!(clock.now(), Timestamp(5_000));
    }
}
