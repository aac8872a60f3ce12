//! One execution's replay state.

use crate::action::{Action, NextExecution, TurnOutcome, TurnOutput};
use crate::error::{EngineError, Nondeterminism};
use crate::events::{event_key, is_arrival};
use crate::kinds::{self, Origin};
use crate::section::{self, LOCKING_RULES_VIOLATION, Section};
use crate::task::{Outcome, Task, TaskHandle, TaskKind, TaskState};
use std::collections::{HashMap, HashSet, VecDeque};
use weft_core::{
    EntityId, EventKind, ExecutionId, Failure, HistoryEvent, InstanceId, Json, ParentInstance,
    ScheduleId, Timestamp,
};

/// Largest custom status accepted, in bytes of JSON text (Durable Functions: 16 KB).
pub const CUSTOM_STATUS_LIMIT: usize = 16 * 1024;

/// What the execution was started with (from its `ExecutionStarted` event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartInfo {
    pub name: String,
    pub input: Json,
    pub execution_id: ExecutionId,
    pub component: String,
    pub parent: Option<ParentInstance>,
}

/// The replay state of one execution. See the crate docs for the model.
///
/// Invariants:
/// - `history[..committed]` is what the store holds; everything after it was
///   produced by the current turn and is returned by [`Replay::finish_turn`].
/// - `next` is the first history index not yet examined for delivery; arrivals
///   before it have been delivered in order.
/// - Schedule ID `n` is the n-th command (activity, timer, sub-orchestration,
///   sent event) the code scheduled in this execution; `scheduled[n]` is the
///   index of its history event.
#[derive(Debug)]
pub struct Replay {
    instance: InstanceId,
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
    /// Positions of failures voided by a later `ExecutionRewound`.
    voided: HashSet<usize>,
    next_schedule: u32,
    completed_ids: HashSet<ScheduleId>,

    tasks: Vec<Task>,
    by_schedule: HashMap<ScheduleId, TaskHandle>,
    /// Completions delivered before the code scheduled their task (only after a code change).
    early: HashMap<ScheduleId, (u64, Outcome)>,
    resolutions: u64,
    waiters: HashMap<String, VecDeque<TaskHandle>>,
    /// Arrived events no wait has taken yet, by key: (arrival number, name
    /// as sent, payload).
    buffered: HashMap<String, VecDeque<(u64, String, Json)>>,
    arrivals: u64,

    actions: Vec<Action>,
    /// `Some` once the code set (or cleared) the custom status in this execution.
    custom_status: Option<Option<Json>>,
    diverged: Option<Nondeterminism>,
    /// GUIDs handed out in this run of the code.
    guids: u64,
    /// Set when the code asked to continue as new: (input, preserve events).
    continue_as_new: Option<(Json, bool)>,
    /// The critical section the code is in.
    section: Option<Section>,
}

impl Replay {
    /// Starts instance `instance` from a stored history (empty for a new instance).
    pub fn new(instance: InstanceId, history: Vec<HistoryEvent>) -> Replay {
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
                    if let Some(id) = kinds::scheduled(k) {
                        debug_assert_eq!(id.0 as usize, scheduled.len());
                        scheduled.push(i);
                    }
                    if let Some((id, outcome)) = kinds::completion(k) {
                        completed_ids.insert(id);
                        if matches!(outcome, Outcome::Failed(_)) {
                            failed_at.entry(id).or_default().push(i);
                        }
                    }
                }
            }
        }
        Replay {
            instance,
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
            arrivals: 0,
            actions: Vec::new(),
            custom_status: None,
            diverged: None,
            guids: 0,
            continue_as_new: None,
            section: None,
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
            if let Some((id, _)) = kinds::completion(&m.kind) {
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
        self.call_activity_attempt(name, input, 1)
    }

    /// The code schedules attempt `attempt` of activity `name` (a retry
    /// policy's retries count up from 2; 0 is taken as 1).
    pub fn call_activity_attempt(
        &mut self,
        name: &str,
        input: Json,
        attempt: u32,
    ) -> Result<TaskHandle, EngineError> {
        let attempted = EventKind::TaskScheduled {
            id: ScheduleId(self.next_schedule),
            name: name.to_owned(),
            input,
            attempt: (attempt > 1).then_some(attempt),
        };
        self.schedule(attempted)
    }

    /// The code creates a durable timer due at `fire_at`.
    pub fn create_timer(&mut self, fire_at: Timestamp) -> Result<TaskHandle, EngineError> {
        let id = ScheduleId(self.next_schedule);
        self.schedule(EventKind::TimerCreated { id, fire_at })
    }

    /// The code starts orchestrator `name` with `input` as instance
    /// `instance` (default `{thisInstanceId}:{scheduleId}`). Waited on like
    /// an activity; a `detached` start (fire and forget) resolves at once
    /// with the child's instance ID. An ID that breaks the instance-ID rules
    /// fails the task at once, with nothing recorded.
    pub fn call_sub_orchestrator(
        &mut self,
        name: &str,
        instance: Option<&str>,
        input: Json,
        detached: bool,
    ) -> Result<TaskHandle, EngineError> {
        self.check()?;
        if !detached && let Err(why) = section::check_sub_orchestration(&self.section) {
            return Ok(self.refuse(LOCKING_RULES_VIOLATION, why));
        }
        let id = ScheduleId(self.next_schedule);
        let wanted = instance
            .map(str::to_owned)
            .unwrap_or_else(|| kinds::default_child_id(&self.instance, id));
        let instance_id = match InstanceId::for_new_instance(wanted) {
            Ok(i) => i,
            Err(e) => return Ok(self.refuse("weft.InvalidInstanceId", e.to_string())),
        };
        self.schedule(EventKind::SubOrchestrationInstanceCreated {
            id,
            name: name.to_owned(),
            instance_id,
            input,
            detached,
        })
    }

    /// The code sends event `name` with `input` to instance `instance` (one
    /// way; resolved at once). An invalid ID fails the task at once.
    pub fn send_event(
        &mut self,
        instance: &str,
        name: &str,
        input: Json,
    ) -> Result<TaskHandle, EngineError> {
        self.check()?;
        let instance_id = match InstanceId::new(instance) {
            Ok(i) => i,
            Err(e) => return Ok(self.refuse("weft.InvalidInstanceId", e.to_string())),
        };
        self.schedule(EventKind::EventSent {
            id: ScheduleId(self.next_schedule),
            instance_id,
            name: name.to_owned(),
            input,
        })
    }

    /// The code signals `operation` on entity `entity` (one way; resolved at
    /// once). An invalid ID, or a signal to an entity this orchestration
    /// holds locked, fails the task at once.
    pub fn signal_entity(
        &mut self,
        entity: &str,
        operation: &str,
        input: Json,
    ) -> Result<TaskHandle, EngineError> {
        self.check()?;
        let entity = match self.entity(entity) {
            Ok(e) => e,
            Err(refused) => return Ok(refused),
        };
        if let Err(why) = section::check_signal(&self.section, &entity) {
            return Ok(self.refuse(LOCKING_RULES_VIOLATION, why));
        }
        self.schedule(EventKind::EntityOperationSignaled {
            id: ScheduleId(self.next_schedule),
            entity,
            operation: operation.to_owned(),
            input,
        })
    }

    /// The code calls `operation` on entity `entity`; waited on like an
    /// activity. Inside a critical section only a locked entity may be
    /// called, once the locks are held, one pending call each.
    pub fn call_entity(
        &mut self,
        entity: &str,
        operation: &str,
        input: Json,
    ) -> Result<TaskHandle, EngineError> {
        self.check()?;
        let entity = match self.entity(entity) {
            Ok(e) => e,
            Err(refused) => return Ok(refused),
        };
        if let Err(why) = section::check_call(&self.section, &self.tasks, &entity) {
            return Ok(self.refuse(LOCKING_RULES_VIOLATION, why));
        }
        let handle = self.schedule(EventKind::EntityOperationCalled {
            id: ScheduleId(self.next_schedule),
            entity: entity.clone(),
            operation: operation.to_owned(),
            input,
        })?;
        if let Some(s) = &mut self.section {
            s.calls.insert(entity, handle);
        }
        Ok(handle)
    }

    /// The code enters a critical section on `entities` (sorted, duplicates
    /// removed); the task resolves once every lock is held.
    pub fn lock_entities(&mut self, entities: &[String]) -> Result<TaskHandle, EngineError> {
        self.check()?;
        let mut list = Vec::with_capacity(entities.len());
        for text in entities {
            match self.entity(text) {
                Ok(e) => list.push(e),
                Err(refused) => return Ok(refused),
            }
        }
        let entities = section::lock_order(list);
        if let Err(why) = section::check_lock(&self.section, &entities) {
            return Ok(self.refuse(LOCKING_RULES_VIOLATION, why));
        }
        let id = ScheduleId(self.next_schedule);
        let handle = self.schedule(EventKind::EntityLockRequested {
            id,
            entities: entities.clone(),
        })?;
        self.section = Some(Section {
            id,
            handle,
            entities,
            calls: HashMap::new(),
        });
        Ok(handle)
    }

    /// The code leaves its critical section; nothing happens outside one.
    pub fn unlock_entities(&mut self) -> Result<(), EngineError> {
        self.check()?;
        let Some(s) = self.section.take() else {
            return Ok(());
        };
        self.schedule(EventKind::EntityUnlockSent {
            id: ScheduleId(self.next_schedule),
            section: s.id,
            entities: s.entities,
        })?;
        Ok(())
    }

    /// A deterministic GUID: the same for the same call on every replay.
    pub fn new_guid(&mut self) -> String {
        let n = self.guids;
        self.guids += 1;
        crate::guid::new_guid(&self.instance, self.now, n)
    }

    /// The code asks to continue as new with `input` once it returns.
    pub fn continue_as_new(&mut self, input: Json, preserve_unprocessed_events: bool) {
        self.continue_as_new = Some((input, preserve_unprocessed_events));
    }

    /// How a run that returned `result` ends: continue-as-new when the code
    /// asked for it and returned successfully, else as it returned.
    pub fn outcome_of(&self, result: Result<Json, weft_core::Failure>) -> TurnOutcome {
        match (result, &self.continue_as_new) {
            (Ok(_), Some((input, preserve))) => TurnOutcome::ContinuedAsNew {
                input: input.clone(),
                preserve_unprocessed_events: *preserve,
            },
            (Ok(v), None) => TurnOutcome::Completed(v),
            (Err(f), _) => TurnOutcome::Failed(f),
        }
    }

    /// A task that failed before it was scheduled (bad arguments): nothing is
    /// recorded, so a replay refuses it the same way.
    fn refuse(&mut self, error_type: &str, message: String) -> TaskHandle {
        let handle = self.push_task(TaskKind::Local);
        self.resolve(handle, Outcome::Failed(Failure::new(error_type, message)));
        handle
    }

    /// The entity `text` names, or a task failed with why it is not an entity ID.
    fn entity(&mut self, text: &str) -> Result<EntityId, TaskHandle> {
        EntityId::parse(text).map_err(|e| self.refuse("weft.InvalidEntityId", e.to_string()))
    }

    /// The code waits for the next external event called `name`.
    pub fn wait_for_event(&mut self, name: &str) -> Result<TaskHandle, EngineError> {
        self.check()?;
        let key = event_key(name);
        let handle = self.push_task(TaskKind::Event { name: key.clone() });
        match self.buffered.get_mut(&key).and_then(VecDeque::pop_front) {
            Some((_, _, input)) => self.resolve(handle, Outcome::Completed(input)),
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
            TaskKind::Scheduled(id) if !self.is_replaying() => {
                if let Some(action) = self.abandon(id) {
                    self.actions.push(action);
                }
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
        self.custom_status = Some(status);
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
        if let Some(ending) = outcome.ending() {
            self.abandon_open();
            self.actions
                .extend(release_held(&self.instance, &self.history));
            let (result, failure) = match &ending {
                weft_core::Ending::Failed(f) => (None, Some(f.clone())),
                other => (other.output(), None),
            };
            self.history.push(HistoryEvent::new(
                now,
                EventKind::ExecutionCompleted {
                    status: ending.status(),
                    result,
                    failure,
                },
            ));
        }
        let mut unprocessed: Vec<(u64, String, Json)> =
            self.buffered.values().flatten().cloned().collect();
        unprocessed.sort_by_key(|(seq, _, _)| *seq);
        let (next_execution, unconsumed_events) = match &outcome {
            TurnOutcome::Waiting => (None, Vec::new()),
            TurnOutcome::ContinuedAsNew {
                input,
                preserve_unprocessed_events,
            } => {
                let carried = match preserve_unprocessed_events {
                    true => std::mem::take(&mut unprocessed)
                        .into_iter()
                        .map(|(_, name, input)| {
                            HistoryEvent::new(now, EventKind::EventRaised { name, input })
                        })
                        .collect(),
                    false => Vec::new(),
                };
                let next = NextExecution {
                    input: input.clone(),
                    carried,
                };
                (Some(next), names_of(unprocessed))
            }
            _ => (None, names_of(unprocessed)),
        };
        let new_events = self.history[self.committed..].to_vec();
        self.committed = self.history.len();
        Ok(TurnOutput {
            new_events,
            actions: std::mem::take(&mut self.actions),
            custom_status: self.custom_status.clone(),
            outcome,
            unconsumed_events,
            next_execution,
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
    fn schedule(&mut self, attempted: EventKind) -> Result<TaskHandle, EngineError> {
        self.check()?;
        let id = ScheduleId(self.next_schedule);
        let (kind, _) = kinds::scheduling(&attempted).expect("only commands reach schedule()");
        let index = match self.scheduled.get(id.0 as usize) {
            Some(&index) => {
                let recorded = &self.history[index].kind;
                // `same` is false for another kind's event.
                if !kind.same(recorded, &attempted) {
                    let d = Nondeterminism {
                        index,
                        recorded: recorded.describe(),
                        attempted: format!("scheduled {}", attempted.describe()),
                    };
                    self.diverged = Some(d.clone());
                    return Err(EngineError::Nondeterminism(d));
                }
                index
            }
            None => {
                let now = self.now();
                let index = self.history.len();
                self.scheduled.push(index);
                let origin = self.origin();
                self.actions.extend(kind.actions(&attempted, &origin));
                self.history.push(HistoryEvent::new(now, attempted));
                index
            }
        };
        self.next_schedule += 1;
        let handle = self.push_task(TaskKind::Scheduled(id));
        self.by_schedule.insert(id, handle);
        // A replayed command keeps what it was recorded with (a timer's due time).
        if let Some(outcome) = kind.resolved_at_once(&self.history[index].kind) {
            self.resolve(handle, outcome);
        } else if let Some((seq, outcome)) = self.early.remove(&id) {
            self.tasks[handle as usize].state = TaskState::Resolved { seq, outcome };
        }
        Ok(handle)
    }

    /// The instance and execution commands are scheduled for.
    fn origin(&self) -> Origin {
        Origin {
            instance: Some(self.instance.clone()),
            execution: self.start.as_ref().map(|s| s.execution_id.clone()),
        }
    }

    /// The work that undoes pending command `id`, if its kind has any.
    fn abandon(&self, id: ScheduleId) -> Option<Action> {
        let index = *self.scheduled.get(id.0 as usize)?;
        let recorded = &self.history[index].kind;
        let (kind, _) = kinds::scheduling(recorded)?;
        kind.abandon(recorded)
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
                parent,
            } => {
                self.start = Some(StartInfo {
                    name,
                    input,
                    execution_id,
                    component,
                    parent,
                });
            }
            EventKind::EventRaised { name, input } => {
                let key = event_key(&name);
                let waiter = self.waiters.get_mut(&key).and_then(VecDeque::pop_front);
                match waiter {
                    Some(h) => self.resolve(h, Outcome::Completed(input)),
                    None => {
                        let seq = self.arrivals;
                        self.arrivals += 1;
                        self.buffered
                            .entry(key)
                            .or_default()
                            .push_back((seq, name, input))
                    }
                }
            }
            other => {
                if let Some((id, outcome)) = kinds::completion(&other) {
                    self.resolve_scheduled(id, outcome);
                }
            }
        }
    }

    /// When the execution ends, its pending commands are abandoned (timers removed).
    fn abandon_open(&mut self) {
        let pending: Vec<ScheduleId> = self
            .tasks
            .iter()
            .filter_map(|t| match (&t.kind, &t.state) {
                (TaskKind::Scheduled(id), TaskState::Pending) => Some(*id),
                _ => None,
            })
            .collect();
        for id in pending {
            if let Some(action) = self.abandon(id) {
                self.actions.push(action);
            }
        }
    }
}

/// Whether critical section `section` is still open in `history`: requested
/// and not released. An entity grants a lock request only while this holds,
/// so a request that a release (or the owner's ending) overtook on the way
/// never locks anything.
pub fn section_is_open(history: &[HistoryEvent], section: weft_core::ScheduleId) -> bool {
    kinds::open_section(history).is_some_and(|(id, _)| id == section)
}

/// The release of the critical section `history` leaves open, if any: for
/// every way an execution ends (returned, failed, continued as new,
/// terminated, stopped by the host), so no entity stays locked by an
/// execution that has finished.
pub fn release_held(instance: &InstanceId, history: &[HistoryEvent]) -> Option<Action> {
    let (section, entities) = kinds::open_section(history)?;
    let execution = history.iter().find_map(|e| match &e.kind {
        EventKind::ExecutionStarted { execution_id, .. } => Some(execution_id.clone()),
        _ => None,
    })?;
    Some(Action::ReleaseLocks {
        entities: entities.to_vec(),
        owner: ParentInstance {
            instance_id: instance.clone(),
            execution_id: execution,
            schedule_id: section,
        },
    })
}

/// The names of unprocessed events, sorted (for the log of dropped events).
fn names_of(events: Vec<(u64, String, Json)>) -> Vec<String> {
    let mut names: Vec<String> = events.into_iter().map(|(_, name, _)| name).collect();
    names.sort();
    names
}
