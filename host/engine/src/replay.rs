//! One execution's replay state.

use crate::action::{Action, TurnOutcome, TurnOutput};
use crate::error::{EngineError, Nondeterminism};
use crate::events::{event_key, is_arrival};
use crate::task::{Outcome, Task, TaskHandle, TaskKind, TaskState};
use std::collections::{HashMap, HashSet, VecDeque};
use weft_core::{EventKind, ExecutionId, HistoryEvent, Json, ScheduleId, Timestamp};

/// Largest custom status accepted, in bytes of JSON text (Durable Functions: 16 KB).
pub const CUSTOM_STATUS_LIMIT: usize = 16 * 1024;

/// What the execution was started with (from its `ExecutionStarted` event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartInfo {
    pub name: String,
    pub input: Json,
    pub execution_id: ExecutionId,
    pub component: String,
}

/// The replay state of one execution. See the crate docs for the model.
///
/// Invariants:
/// - `history[..committed]` is what the store holds; everything after it was
///   produced by the current turn and is returned by [`Replay::finish_turn`].
/// - `next` is the first history index not yet examined for delivery; arrivals
///   before it have been delivered in order.
/// - Schedule ID `n` is the n-th activity or timer the code scheduled in this
///   execution; `scheduled[n]` is the index of its history event.
#[derive(Debug)]
pub struct Replay {
    history: Vec<HistoryEvent>,
    committed: usize,
    next: usize,
    /// Index of the `OrchestratorStarted` of the episode the code is in.
    episode: Option<usize>,
    /// Index of the last `OrchestratorStarted` in the history.
    last_episode: Option<usize>,
    now: Timestamp,
    start: Option<StartInfo>,
    /// The history (committed or not) holds an `ExecutionStarted`.
    has_start: bool,

    scheduled: Vec<usize>,
    /// Positions of `TaskFailed` events voided by a later `ExecutionRewound`.
    voided: HashSet<usize>,
    next_schedule: u32,
    completed_ids: HashSet<ScheduleId>,

    tasks: Vec<Task>,
    by_schedule: HashMap<ScheduleId, TaskHandle>,
    /// Completions delivered before the code scheduled their task (only after a code change).
    early: HashMap<ScheduleId, (u64, Outcome)>,
    resolutions: u64,
    waiters: HashMap<String, VecDeque<TaskHandle>>,
    /// Arrived events no wait has taken yet, by key: (name as sent, payload).
    buffered: HashMap<String, VecDeque<(String, Json)>>,

    actions: Vec<Action>,
    custom_status: Option<Json>,
    diverged: Option<Nondeterminism>,
}

impl Replay {
    /// Starts from a stored history (empty for a new instance).
    pub fn new(history: Vec<HistoryEvent>) -> Replay {
        let mut scheduled = Vec::new();
        let mut completed_ids = HashSet::new();
        let mut last_episode = None;
        let mut has_start = false;
        let mut failed_at: HashMap<ScheduleId, Vec<usize>> = HashMap::new();
        let mut voided = HashSet::new();
        for (i, e) in history.iter().enumerate() {
            match &e.kind {
                EventKind::OrchestratorStarted => last_episode = Some(i),
                EventKind::ExecutionStarted { .. } => has_start = true,
                EventKind::ExecutionRewound { voided: ids, .. } => {
                    // Earlier failures of these tasks no longer count; the tasks run again.
                    for id in ids {
                        voided.extend(failed_at.remove(id).unwrap_or_default());
                        completed_ids.remove(id);
                    }
                }
                k => {
                    if let Some(id) = k.scheduled() {
                        debug_assert_eq!(id.0 as usize, scheduled.len());
                        scheduled.push(i);
                    }
                    if let Some(id) = completion_id(k) {
                        completed_ids.insert(id);
                    }
                    if let EventKind::TaskFailed { scheduled_id, .. } = k {
                        failed_at.entry(*scheduled_id).or_default().push(i);
                    }
                }
            }
        }
        Replay {
            committed: history.len(),
            history,
            next: 0,
            episode: None,
            last_episode,
            now: Timestamp(0),
            start: None,
            has_start,
            scheduled,
            voided,
            next_schedule: 0,
            completed_ids,
            tasks: Vec::new(),
            by_schedule: HashMap::new(),
            early: HashMap::new(),
            resolutions: 0,
            waiters: HashMap::new(),
            buffered: HashMap::new(),
            actions: Vec::new(),
            custom_status: None,
            diverged: None,
        }
    }

    /// Opens a new episode at `now` with the arrived `messages` (history events).
    ///
    /// Completions for tasks that are unknown or already completed are dropped
    /// here, so a result delivered twice (activities run at least once) is
    /// recorded once. The episode time never goes backwards.
    pub fn begin_turn(&mut self, now: Timestamp, messages: Vec<HistoryEvent>) {
        let floor = self.last_episode.map(|i| self.history[i].timestamp);
        let now = floor.map_or(now, |f| now.max(f));
        let index = self.history.len();
        self.history
            .push(HistoryEvent::new(now, EventKind::OrchestratorStarted));
        self.last_episode = Some(index);
        let mut messages = messages;
        // The start must come first in its episode, whatever else arrived with it.
        messages.sort_by_key(|m| !matches!(m.kind, EventKind::ExecutionStarted { .. }));
        for m in messages {
            if let Some(id) = completion_id(&m.kind) {
                let scheduled = (id.0 as usize) < self.scheduled.len();
                if !scheduled || !self.completed_ids.insert(id) {
                    continue;
                }
            }
            if matches!(m.kind, EventKind::ExecutionStarted { .. }) {
                if self.has_start {
                    continue;
                }
                self.has_start = true;
            }
            self.history.push(m);
        }
    }

    /// Delivers the first episode so the code can start; returns what to run.
    pub fn start(&mut self) -> Result<StartInfo, EngineError> {
        while self.start.is_none() {
            if !self.deliver_next_episode() {
                return Err(EngineError::NotStarted);
            }
        }
        Ok(self.start.clone().expect("checked above"))
    }

    /// The orchestration's current time: the current episode's start.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// True while the code re-executes episodes that were already committed.
    pub fn is_replaying(&self) -> bool {
        match (self.episode, self.last_episode) {
            (Some(e), Some(last)) => e < last,
            _ => true,
        }
    }

    /// The nondeterminism found in this run, if any. Once set, every call fails.
    pub fn divergence(&self) -> Option<&Nondeterminism> {
        self.diverged.as_ref()
    }

    /// The code schedules activity `name`.
    pub fn call_activity(&mut self, name: &str, input: Json) -> Result<TaskHandle, EngineError> {
        let attempted = EventKind::TaskScheduled {
            id: ScheduleId(self.next_schedule),
            name: name.to_owned(),
            input,
        };
        self.schedule(attempted, TaskKind::Activity)
    }

    /// The code creates a durable timer due at `fire_at`.
    pub fn create_timer(&mut self, fire_at: Timestamp) -> Result<TaskHandle, EngineError> {
        let id = ScheduleId(self.next_schedule);
        let attempted = EventKind::TimerCreated { id, fire_at };
        // A replayed timer keeps the due time it was recorded with.
        let recorded_fire_at = match self
            .scheduled
            .get(id.0 as usize)
            .map(|&i| &self.history[i].kind)
        {
            Some(EventKind::TimerCreated { fire_at, .. }) => *fire_at,
            _ => fire_at,
        };
        self.schedule(
            attempted,
            TaskKind::Timer {
                id,
                fire_at: recorded_fire_at,
            },
        )
    }

    /// The code waits for the next external event called `name`.
    pub fn wait_for_event(&mut self, name: &str) -> Result<TaskHandle, EngineError> {
        self.check()?;
        let key = event_key(name);
        let handle = self.push_task(TaskKind::Event { name: key.clone() });
        match self.buffered.get_mut(&key).and_then(VecDeque::pop_front) {
            Some((_, input)) => self.resolve(handle, Outcome::Completed(input)),
            None => self.waiters.entry(key).or_default().push_back(handle),
        }
        Ok(handle)
    }

    /// The code cancels a task. Pending timers are removed (a live action); event
    /// waits stop consuming events. Completed tasks are unaffected.
    pub fn cancel(&mut self, handle: TaskHandle) -> Result<(), EngineError> {
        self.check()?;
        let task = self
            .tasks
            .get(handle as usize)
            .ok_or(EngineError::UnknownHandle(handle))?;
        if !matches!(task.state, TaskState::Pending) {
            return Ok(());
        }
        match task.kind.clone() {
            TaskKind::Timer { id, fire_at } if !self.is_replaying() => {
                self.actions.push(Action::CancelTimer { id, fire_at });
            }
            TaskKind::Event { name } => {
                if let Some(q) = self.waiters.get_mut(&name) {
                    q.retain(|&h| h != handle);
                }
            }
            _ => {}
        }
        self.resolve(handle, Outcome::canceled());
        Ok(())
    }

    /// Returns the task among `handles` that was resolved first, delivering
    /// recorded episodes as needed; `None` means the code must wait for new
    /// arrivals (the turn ends).
    pub fn poll_any(
        &mut self,
        handles: &[TaskHandle],
    ) -> Result<Option<(TaskHandle, Outcome)>, EngineError> {
        self.check()?;
        if handles.is_empty() {
            return Err(EngineError::EmptyWait);
        }
        if let Some(&h) = handles.iter().find(|&&h| h as usize >= self.tasks.len()) {
            return Err(EngineError::UnknownHandle(h));
        }
        loop {
            let first = handles
                .iter()
                .filter_map(|&h| match &self.tasks[h as usize].state {
                    TaskState::Resolved { seq, outcome } => Some((*seq, h, outcome)),
                    TaskState::Pending => None,
                })
                .min_by_key(|(seq, _, _)| *seq);
            if let Some((_, h, outcome)) = first {
                return Ok(Some((h, outcome.clone())));
            }
            if !self.deliver_next_episode() {
                return Ok(None);
            }
        }
    }

    /// Sets or clears the custom status (at most [`CUSTOM_STATUS_LIMIT`] bytes).
    pub fn set_custom_status(&mut self, status: Option<Json>) -> Result<(), String> {
        if let Some(s) = &status
            && s.as_str().len() > CUSTOM_STATUS_LIMIT
        {
            return Err(format!(
                "custom status is {} bytes of JSON; the limit is {CUSTOM_STATUS_LIMIT}",
                s.as_str().len()
            ));
        }
        self.custom_status = status;
        Ok(())
    }

    /// Ends the turn and returns what to commit. `outcome` is how the code ended
    /// (or `Waiting`). A `Completed` outcome is refused as nondeterministic when
    /// the history recorded tasks the code did not schedule.
    pub fn finish_turn(&mut self, outcome: TurnOutcome) -> Result<TurnOutput, Nondeterminism> {
        if let Some(d) = &self.diverged {
            return Err(d.clone());
        }
        if let Some(&index) = self.scheduled.get(self.next_schedule as usize)
            && index < self.committed
        {
            let verb = match outcome {
                TurnOutcome::Waiting => "is waiting without having scheduled it",
                _ => "finished without scheduling it",
            };
            let d = Nondeterminism {
                index,
                recorded: self.history[index].kind.describe(),
                attempted: verb.to_owned(),
            };
            self.diverged = Some(d.clone());
            return Err(d);
        }
        let now = self.now();
        self.history
            .push(HistoryEvent::new(now, EventKind::OrchestratorCompleted));
        match &outcome {
            TurnOutcome::Waiting => {}
            TurnOutcome::Completed(result) => {
                self.cancel_open_timers();
                self.history.push(HistoryEvent::new(
                    now,
                    EventKind::ExecutionCompleted {
                        status: weft_core::RuntimeStatus::Completed,
                        result: Some(result.clone()),
                        failure: None,
                    },
                ));
            }
            TurnOutcome::Failed(failure) => {
                self.cancel_open_timers();
                self.history.push(HistoryEvent::new(
                    now,
                    EventKind::ExecutionCompleted {
                        status: weft_core::RuntimeStatus::Failed,
                        result: None,
                        failure: Some(failure.clone()),
                    },
                ));
            }
        }
        let unconsumed_events = match outcome {
            TurnOutcome::Waiting => Vec::new(),
            _ => {
                let mut names: Vec<String> = self
                    .buffered
                    .values()
                    .flatten()
                    .map(|(name, _)| name.clone())
                    .collect();
                names.sort();
                names
            }
        };
        let new_events = self.history[self.committed..].to_vec();
        self.committed = self.history.len();
        Ok(TurnOutput {
            new_events,
            actions: std::mem::take(&mut self.actions),
            custom_status: self.custom_status.clone(),
            outcome,
            unconsumed_events,
        })
    }

    /// Number of events in the history, committed or not.
    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    /// The whole history, including this turn's uncommitted events.
    pub fn history(&self) -> &[HistoryEvent] {
        &self.history
    }

    fn check(&self) -> Result<(), EngineError> {
        match &self.diverged {
            Some(d) => Err(EngineError::Nondeterminism(d.clone())),
            None => Ok(()),
        }
    }

    /// Matches a scheduling command against the history, or records it as new.
    fn schedule(
        &mut self,
        attempted: EventKind,
        kind: TaskKind,
    ) -> Result<TaskHandle, EngineError> {
        self.check()?;
        let id = ScheduleId(self.next_schedule);
        match self.scheduled.get(id.0 as usize) {
            Some(&index) => {
                let recorded = &self.history[index].kind;
                if !same_command(recorded, &attempted) {
                    let d = Nondeterminism {
                        index,
                        recorded: recorded.describe(),
                        attempted: format!("scheduled {}", attempted.describe()),
                    };
                    self.diverged = Some(d.clone());
                    return Err(EngineError::Nondeterminism(d));
                }
            }
            None => {
                let now = self.now();
                self.scheduled.push(self.history.len());
                match &attempted {
                    EventKind::TaskScheduled { id, name, input } => {
                        self.actions.push(Action::ScheduleActivity {
                            id: *id,
                            name: name.clone(),
                            input: input.clone(),
                        })
                    }
                    EventKind::TimerCreated { id, fire_at } => {
                        self.actions.push(Action::CreateTimer {
                            id: *id,
                            fire_at: *fire_at,
                        })
                    }
                    _ => unreachable!("only scheduling commands reach schedule()"),
                }
                self.history.push(HistoryEvent::new(now, attempted));
            }
        }
        self.next_schedule += 1;
        let handle = self.push_task(kind);
        self.by_schedule.insert(id, handle);
        if let Some((seq, outcome)) = self.early.remove(&id) {
            self.tasks[handle as usize].state = TaskState::Resolved { seq, outcome };
        }
        Ok(handle)
    }

    fn push_task(&mut self, kind: TaskKind) -> TaskHandle {
        self.tasks.push(Task {
            kind,
            state: TaskState::Pending,
        });
        (self.tasks.len() - 1) as TaskHandle
    }

    fn resolve(&mut self, handle: TaskHandle, outcome: Outcome) {
        let seq = self.resolutions;
        self.resolutions += 1;
        let task = &mut self.tasks[handle as usize];
        if matches!(task.state, TaskState::Pending) {
            task.state = TaskState::Resolved { seq, outcome };
        }
    }

    fn resolve_scheduled(&mut self, id: ScheduleId, outcome: Outcome) {
        match self.by_schedule.get(&id) {
            Some(&h) => self.resolve(h, outcome),
            None => {
                let seq = self.resolutions;
                self.resolutions += 1;
                self.early.entry(id).or_insert((seq, outcome));
            }
        }
    }

    /// Delivers the arrivals of the next recorded episode. False when there is none.
    fn deliver_next_episode(&mut self) -> bool {
        let Some(start) = (self.next..self.history.len())
            .find(|&i| matches!(self.history[i].kind, EventKind::OrchestratorStarted))
        else {
            self.next = self.history.len();
            return false;
        };
        self.episode = Some(start);
        self.now = self.history[start].timestamp;
        let mut i = start + 1;
        while i < self.history.len()
            && !matches!(self.history[i].kind, EventKind::OrchestratorStarted)
        {
            if is_arrival(&self.history[i].kind) && !self.voided.contains(&i) {
                let kind = self.history[i].kind.clone();
                self.deliver(kind);
            }
            i += 1;
        }
        self.next = i;
        true
    }

    fn deliver(&mut self, kind: EventKind) {
        match kind {
            EventKind::ExecutionStarted {
                name,
                input,
                execution_id,
                component,
            } => {
                self.start = Some(StartInfo {
                    name,
                    input,
                    execution_id,
                    component,
                });
            }
            EventKind::TaskCompleted {
                scheduled_id,
                result,
            } => self.resolve_scheduled(scheduled_id, Outcome::Completed(result)),
            EventKind::TaskFailed {
                scheduled_id,
                failure,
            } => self.resolve_scheduled(scheduled_id, Outcome::Failed(failure)),
            EventKind::TimerFired { timer_id, .. } => {
                self.resolve_scheduled(timer_id, Outcome::Completed(Json::null()))
            }
            EventKind::EventRaised { name, input } => {
                let key = event_key(&name);
                let waiter = self.waiters.get_mut(&key).and_then(VecDeque::pop_front);
                match waiter {
                    Some(h) => self.resolve(h, Outcome::Completed(input)),
                    None => self
                        .buffered
                        .entry(key)
                        .or_default()
                        .push_back((name, input)),
                }
            }
            _ => {}
        }
    }

    /// When the execution ends, its pending timers are no longer needed.
    fn cancel_open_timers(&mut self) {
        for task in &self.tasks {
            if let (TaskKind::Timer { id, fire_at }, TaskState::Pending) = (&task.kind, &task.state)
            {
                self.actions.push(Action::CancelTimer {
                    id: *id,
                    fire_at: *fire_at,
                });
            }
        }
    }
}

/// The schedule ID a completion event refers to.
fn completion_id(kind: &EventKind) -> Option<ScheduleId> {
    match kind {
        EventKind::TaskCompleted { scheduled_id, .. }
        | EventKind::TaskFailed { scheduled_id, .. } => Some(*scheduled_id),
        EventKind::TimerFired { timer_id, .. } => Some(*timer_id),
        _ => None,
    }
}

/// Durable Task's rule: same kind and same name (inputs are not compared, so a
/// changed input value is not a divergence; timers compare by kind only).
fn same_command(recorded: &EventKind, attempted: &EventKind) -> bool {
    match (recorded, attempted) {
        (EventKind::TaskScheduled { name: a, .. }, EventKind::TaskScheduled { name: b, .. }) => {
            a == b
        }
        (EventKind::TimerCreated { .. }, EventKind::TimerCreated { .. }) => true,
        _ => false,
    }
}
