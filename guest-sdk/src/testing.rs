//! A scripted, in-memory [`Host`] for native unit tests.
//!
//! Handles are numbered 0, 1, 2, ... in scheduling order. A test scripts the
//! order in which tasks complete (the history order) before running the code;
//! `wait_any` delivers the first scripted outcome among the tasks waited on and
//! panics if there is none (the real host would block forever).

use crate::host::{Host, Outcome};
use crate::{Failure, LogLevel, OrchestrationContext};
use std::cell::RefCell;
use std::rc::Rc;

/// What the code asked the host to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Activity {
        name: String,
        input: String,
    },
    /// A retry's activity call (attempt >= 2).
    Attempt {
        name: String,
        attempt: u32,
    },
    SubOrchestration {
        name: String,
        instance: Option<String>,
        input: String,
    },
    Start {
        name: String,
        instance: Option<String>,
    },
    Send {
        instance: String,
        name: String,
        input: String,
    },
    ContinueAsNew {
        input: String,
        preserve: bool,
    },
    Timer(u64),
    Event(String),
    Cancel(u32),
    Signal {
        entity: String,
        operation: String,
        input: String,
    },
    Call {
        entity: String,
        operation: String,
        input: String,
    },
    Lock(Vec<String>),
    Unlock,
}

impl Command {
    pub(crate) fn activity(name: &str, input: &str) -> Command {
        Command::Activity {
            name: name.to_owned(),
            input: input.to_owned(),
        }
    }

    pub(crate) fn signal(entity: &str, operation: &str, input: &str) -> Command {
        Command::Signal {
            entity: entity.to_owned(),
            operation: operation.to_owned(),
            input: input.to_owned(),
        }
    }

    pub(crate) fn call(entity: &str, operation: &str, input: &str) -> Command {
        Command::Call {
            entity: entity.to_owned(),
            operation: operation.to_owned(),
            input: input.to_owned(),
        }
    }

    pub(crate) fn lock(entities: &[&str]) -> Command {
        Command::Lock(entities.iter().map(|e| (*e).to_owned()).collect())
    }
}

#[derive(Default)]
struct State {
    now: u64,
    next_handle: u32,
    commands: Vec<Command>,
    /// Outcomes in completion order; the `u64` (if any) becomes `now` on delivery.
    script: Vec<(u32, Outcome, Option<u64>)>,
    waits: Vec<Vec<u32>>,
    statuses: Vec<Option<String>>,
    refuse_status: Option<String>,
    logs: Vec<(LogLevel, String)>,
}

/// A handle on the fake: script outcomes, inspect commands.
#[derive(Clone, Default)]
pub(crate) struct FakeHost {
    state: Rc<RefCell<State>>,
}

impl FakeHost {
    /// A context over a fresh fake whose clock reads `now` ms.
    pub(crate) fn context(now: u64) -> (OrchestrationContext, FakeHost) {
        let fake = FakeHost::default();
        fake.state.borrow_mut().now = now;
        (OrchestrationContext::new(Box::new(fake.clone())), fake)
    }

    /// Scripts task `handle` to complete next with JSON `json`.
    pub(crate) fn complete(&self, handle: u32, json: &str) {
        self.push(handle, Outcome::Completed(json.to_owned()), None);
    }

    /// Scripts task `handle` to fail next with `failure`.
    pub(crate) fn fail(&self, handle: u32, failure: Failure) {
        self.push(handle, Outcome::Failed(failure), None);
    }

    /// Like [`complete`](Self::complete), and the clock reads `now` afterwards.
    pub(crate) fn complete_at(&self, handle: u32, json: &str, now: u64) {
        self.push(handle, Outcome::Completed(json.to_owned()), Some(now));
    }

    /// Like [`fail`](Self::fail), and the clock reads `now` afterwards.
    pub(crate) fn fail_at(&self, handle: u32, failure: Failure, now: u64) {
        self.push(handle, Outcome::Failed(failure), Some(now));
    }

    fn push(&self, handle: u32, outcome: Outcome, now: Option<u64>) {
        self.state.borrow_mut().script.push((handle, outcome, now));
    }

    /// Makes the next `set_custom_status` fail with `message`.
    pub(crate) fn refuse_status(&self, message: &str) {
        self.state.borrow_mut().refuse_status = Some(message.to_owned());
    }

    pub(crate) fn commands(&self) -> Vec<Command> {
        self.state.borrow().commands.clone()
    }

    /// The handle lists passed to `wait_any`, in order.
    pub(crate) fn waits(&self) -> Vec<Vec<u32>> {
        self.state.borrow().waits.clone()
    }

    pub(crate) fn statuses(&self) -> Vec<Option<String>> {
        self.state.borrow().statuses.clone()
    }

    pub(crate) fn logs(&self) -> Vec<(LogLevel, String)> {
        self.state.borrow().logs.clone()
    }

    fn schedule(&self, command: Command) -> u32 {
        let mut state = self.state.borrow_mut();
        state.commands.push(command);
        state.next_handle += 1;
        state.next_handle - 1
    }
}

impl Host for FakeHost {
    fn instance_id(&self) -> String {
        "fake-instance".to_owned()
    }

    fn now(&self) -> u64 {
        self.state.borrow().now
    }

    fn is_replaying(&self) -> bool {
        false
    }

    fn call_activity(&self, name: &str, input: &str, attempt: u32) -> u32 {
        match attempt {
            0 | 1 => self.schedule(Command::activity(name, input)),
            attempt => self.schedule(Command::Attempt {
                name: name.to_owned(),
                attempt,
            }),
        }
    }

    fn signal_entity(&self, entity: &str, operation: &str, input: &str) -> u32 {
        self.schedule(Command::signal(entity, operation, input))
    }

    fn call_entity(&self, entity: &str, operation: &str, input: &str) -> u32 {
        self.schedule(Command::call(entity, operation, input))
    }

    fn lock_entities(&self, entities: &[String]) -> u32 {
        self.schedule(Command::Lock(entities.to_vec()))
    }

    fn unlock_entities(&self) {
        self.state.borrow_mut().commands.push(Command::Unlock);
    }

    fn call_sub_orchestrator(&self, name: &str, instance: Option<&str>, input: &str) -> u32 {
        self.schedule(Command::SubOrchestration {
            name: name.to_owned(),
            instance: instance.map(str::to_owned),
            input: input.to_owned(),
        })
    }

    fn start_orchestration(&self, name: &str, instance: Option<&str>, _input: &str) -> u32 {
        self.schedule(Command::Start {
            name: name.to_owned(),
            instance: instance.map(str::to_owned),
        })
    }

    fn send_event(&self, instance: &str, name: &str, input: &str) {
        self.schedule(Command::Send {
            instance: instance.to_owned(),
            name: name.to_owned(),
            input: input.to_owned(),
        });
    }

    fn continue_as_new(&self, input: &str, preserve: bool) {
        self.state
            .borrow_mut()
            .commands
            .push(Command::ContinueAsNew {
                input: input.to_owned(),
                preserve,
            });
    }

    fn new_guid(&self) -> String {
        format!("guid-{}", self.state.borrow().commands.len())
    }

    fn create_timer(&self, fire_at: u64) -> u32 {
        self.schedule(Command::Timer(fire_at))
    }

    fn wait_for_event(&self, name: &str) -> u32 {
        self.schedule(Command::Event(name.to_owned()))
    }

    fn cancel(&self, task: u32) {
        self.state.borrow_mut().commands.push(Command::Cancel(task));
    }

    fn wait_any(&self, tasks: &[u32]) -> (u32, Outcome) {
        let mut state = self.state.borrow_mut();
        state.waits.push(tasks.to_vec());
        let position = state
            .script
            .iter()
            .position(|(handle, _, _)| tasks.contains(handle))
            .unwrap_or_else(|| panic!("wait_any({tasks:?}) would block forever: nothing scripted"));
        let (handle, outcome, now) = state.script.remove(position);
        if let Some(now) = now {
            state.now = now;
        }
        (handle, outcome)
    }

    fn set_custom_status(&self, status: Option<&str>) -> Result<(), String> {
        let mut state = self.state.borrow_mut();
        if let Some(message) = state.refuse_status.take() {
            return Err(message);
        }
        state.statuses.push(status.map(str::to_owned));
        Ok(())
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.state
            .borrow_mut()
            .logs
            .push((level, message.to_owned()));
    }
}
