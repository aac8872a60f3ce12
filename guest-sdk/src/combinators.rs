//! Waiting on several tasks: fan-in ([`when_all`]), races ([`when_any`]) and
//! the event-or-timeout pattern built on them.
//!
//! All of them reduce to the host's `wait-any`, which hands out outcomes in
//! history order, so the order in which code observes completions is the same
//! on every replay.
//!
//! [`when_all`]: OrchestrationContext::when_all
//! [`when_any`]: OrchestrationContext::when_any

use crate::task::{Task, TaskHandle, resolve};
use crate::{Failure, OrchestrationContext};
use serde::de::DeserializeOwned;
use std::time::Duration;

impl OrchestrationContext {
    /// Fan-in: waits for every task and returns their results in the order of
    /// `tasks` (not completion order).
    ///
    /// Fails fast, like awaiting .NET's `Task.WhenAll`: as soon as a task fails
    /// (in completion order), its [`Failure`] is returned and the remaining
    /// tasks are left running, unobserved. A result that does not decode counts
    /// as a failure at the moment it arrives.
    ///
    /// ```no_run
    /// # use weft_sdk::prelude::*;
    /// # fn f(ctx: &OrchestrationContext) -> Result<u64, Failure> {
    /// let tasks = (0..10u64).map(|i| ctx.schedule_activity("Work", i)).collect();
    /// let results: Vec<u64> = ctx.when_all(tasks)?;
    /// Ok(results.iter().sum())
    /// # }
    /// ```
    pub fn when_all<O: DeserializeOwned>(&self, tasks: Vec<Task<O>>) -> Result<Vec<O>, Failure> {
        let mut slots: Vec<Option<O>> = tasks.iter().map(|_| None).collect();
        let mut pending: Vec<(usize, Task<O>)> = tasks.into_iter().enumerate().collect();
        while !pending.is_empty() {
            let handles: Vec<u32> = pending
                .iter()
                .map(|(_, task)| task.handle().raw())
                .collect();
            let next = self.runtime().wait_any(&handles);
            let (slot, task) = pending.remove(next);
            let (kind, outcome) = task.outcome();
            slots[slot] = Some(resolve(&kind, outcome)?);
        }
        Ok(slots
            .into_iter()
            .map(|slot| slot.expect("every slot is filled"))
            .collect())
    }

    /// Race: waits until one of `tasks` completes and returns its position in
    /// `tasks`. Does not consume the outcome: [`Task::get`] on the winner then
    /// returns at once.
    ///
    /// The host answers with the task that completed first in history order.
    /// If some of `tasks` were already answered by an earlier `when_any` (and
    /// not yet consumed), the SDK answers from its buffer instead, earliest
    /// answered first, without asking the host; either way the answer is the
    /// same on every replay. Losers keep running; cancel them if they should not.
    ///
    /// # Panics
    ///
    /// If `tasks` is empty.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use weft_sdk::prelude::*;
    /// # fn f(ctx: &OrchestrationContext) -> Result<(), Failure> {
    /// let work = ctx.schedule_activity::<_, String>("Slow", ());
    /// let deadline = ctx.timer(Duration::from_secs(30));
    /// if ctx.when_any(&[work.handle(), deadline.handle()]) == 0 {
    ///     deadline.cancel();
    ///     ctx.log_info(work.get()?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn when_any(&self, tasks: &[TaskHandle]) -> usize {
        let handles: Vec<u32> = tasks.iter().map(|h| h.raw()).collect();
        self.runtime().wait_any(&handles)
    }

    /// Waits for external event `name` for at most `timeout` (a durable timer).
    ///
    /// Returns `Some(payload)` if the event arrives first, `None` if the timer
    /// fires first. The loser is cancelled: a pending timer is removed, an
    /// unanswered wait stops consuming events (so a later event stays buffered
    /// for the next wait). Fails if the payload does not decode into `O`.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use weft_sdk::prelude::*;
    /// # fn f(ctx: &OrchestrationContext) -> Result<&'static str, Failure> {
    /// match ctx.wait_for_event_with_timeout::<bool>("Approval", Duration::from_secs(3600))? {
    ///     Some(true) => Ok("approved"),
    ///     Some(false) => Ok("rejected"),
    ///     None => Ok("timed out"),
    /// }
    /// # }
    /// ```
    pub fn wait_for_event_with_timeout<O: DeserializeOwned>(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<Option<O>, Failure> {
        let event = self.wait_for_event::<O>(name);
        let timer = self.timer(timeout);
        if self.when_any(&[event.handle(), timer.handle()]) == 0 {
            timer.cancel();
            event.get().map(Some)
        } else {
            event.cancel();
            timer.get()?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Failure;
    use crate::testing::{Command, FakeHost};
    use std::time::Duration;

    #[test]
    fn when_all_returns_results_in_task_order() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(2, "30");
        fake.complete(0, "10");
        fake.complete(1, "20");
        let tasks = (0..3)
            .map(|i| ctx.schedule_activity::<_, u32>("Work", i))
            .collect();
        assert_eq!(ctx.when_all(tasks).unwrap(), vec![10, 20, 30]);
        assert_eq!(fake.waits(), vec![vec![0, 1, 2], vec![0, 1], vec![1]]);
    }

    #[test]
    fn when_all_fails_as_soon_as_one_task_fails() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, "1");
        fake.fail(2, Failure::new("Second", "x"));
        fake.fail(1, Failure::new("Third", "x"));
        let tasks = (0..3)
            .map(|i| ctx.schedule_activity::<_, u32>("Work", i))
            .collect();
        assert_eq!(ctx.when_all(tasks).unwrap_err().error_type, "Second");
        assert_eq!(fake.waits().len(), 2, "task 1 is never waited on");
    }

    #[test]
    fn when_all_of_nothing_is_empty() {
        let (ctx, fake) = FakeHost::context(0);
        assert_eq!(ctx.when_all::<u32>(Vec::new()).unwrap(), Vec::<u32>::new());
        assert!(fake.waits().is_empty());
    }

    #[test]
    fn when_any_does_not_consume_the_outcome() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(1, "\"b\"");
        let a = ctx.schedule_activity::<_, String>("A", ());
        let b = ctx.schedule_activity::<_, String>("B", ());
        assert_eq!(ctx.when_any(&[a.handle(), b.handle()]), 1);
        assert_eq!(
            ctx.when_any(&[a.handle(), b.handle()]),
            1,
            "answered from the buffer"
        );
        assert_eq!(b.get().unwrap(), "b");
        assert_eq!(fake.waits(), vec![vec![0, 1]], "the host was asked once");
    }

    #[test]
    fn when_any_prefers_the_earliest_delivered() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(1, "1");
        fake.complete(0, "0");
        let a = ctx.schedule_activity::<_, u32>("A", ());
        let b = ctx.schedule_activity::<_, u32>("B", ());
        assert_eq!(ctx.when_any(&[b.handle()]), 0);
        assert_eq!(ctx.when_any(&[a.handle()]), 0);
        assert_eq!(ctx.when_any(&[a.handle(), b.handle()]), 1);
        assert_eq!((a.get().unwrap(), b.get().unwrap()), (0, 1));
    }

    #[test]
    #[should_panic(expected = "at least one task")]
    fn when_any_of_nothing_panics() {
        let (ctx, _fake) = FakeHost::context(0);
        ctx.when_any(&[]);
    }

    #[test]
    fn event_before_timeout_cancels_the_timer() {
        let (ctx, fake) = FakeHost::context(1_000);
        fake.complete(0, "true");
        let got = ctx.wait_for_event_with_timeout::<bool>("Approval", Duration::from_secs(5));
        assert_eq!(got.unwrap(), Some(true));
        assert_eq!(
            fake.commands(),
            vec![
                Command::Event("Approval".into()),
                Command::Timer(6_000),
                Command::Cancel(1)
            ]
        );
    }

    #[test]
    fn timeout_before_event_cancels_the_wait() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(1, "null");
        let got = ctx.wait_for_event_with_timeout::<bool>("Approval", Duration::from_secs(5));
        assert_eq!(got.unwrap(), None);
        assert_eq!(fake.commands().last(), Some(&Command::Cancel(0)));
    }

    #[test]
    fn an_undecodable_payload_is_a_failure() {
        let (ctx, fake) = FakeHost::context(0);
        fake.complete(0, "\"yes\"");
        let err = ctx
            .wait_for_event_with_timeout::<bool>("Approval", Duration::from_secs(5))
            .unwrap_err();
        assert_eq!(err.error_type, Failure::DESERIALIZE);
        assert!(err.message.contains("event 'Approval'"), "{}", err.message);
    }
}
