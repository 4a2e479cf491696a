//! When a run stops before exhausting the state space: the reasons, the stop signal its workers
//! poll, and the memory and wall-clock limits they look at while exploring.

use crate::mem::rss_bytes;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Why a run stopped before exhausting the state space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// `max_states` unique states were stored.
    MaxStates,
    /// The process's resident set reached the memory limit.
    MemoryLimit,
    /// The wall-clock limit passed.
    TimeLimit,
}

impl StopReason {
    /// A short sentence for reports.
    pub fn describe(self) -> &'static str {
        match self {
            StopReason::MaxStates => "exploration incomplete (max_states reached)",
            StopReason::MemoryLimit => "exploration incomplete (memory limit reached)",
            StopReason::TimeLimit => "exploration incomplete (time limit reached)",
        }
    }
}

/// The stop signal of one BFS level: a flag the workers poll, and the first reason given.
pub(crate) struct Stop {
    flag: AtomicBool,
    reason: Mutex<Option<StopReason>>,
}

impl Stop {
    /// A signal, raised already if `raised`.
    pub(crate) fn new(raised: bool) -> Self {
        Stop {
            flag: AtomicBool::new(raised),
            reason: Mutex::new(None),
        }
    }

    /// Whether the workers should stop.
    pub(crate) fn is_raised(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Tells the workers to stop, without a reason (an error, or a bound the caller detects).
    pub(crate) fn raise(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    /// Tells the workers to stop for `reason` (the first reason given is kept).
    pub(crate) fn raise_for(&self, reason: StopReason) {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(reason);
        self.raise();
    }

    /// The first reason given, if any.
    pub(crate) fn into_reason(self) -> Option<StopReason> {
        self.reason.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

/// The memory and wall-clock limits of a run, looked at no more often than every 250 ms.
pub(crate) struct Limits {
    memory: Option<u64>,
    time: Option<Duration>,
    start: Instant,
    last_look: Mutex<Instant>,
}

impl Limits {
    /// Limits of `memory` bytes of RSS and `time` since `start`; the first look is 250 ms after
    /// `last_look` (a time in the past makes it immediate).
    pub(crate) fn new(
        memory: Option<u64>,
        time: Option<Duration>,
        start: Instant,
        last_look: Instant,
    ) -> Self {
        Limits {
            memory,
            time,
            start,
            last_look: Mutex::new(last_look),
        }
    }

    /// Whether a memory or a time limit is set.
    pub(crate) fn any(&self) -> bool {
        self.memory.is_some() || self.time.is_some()
    }

    /// If 250 ms have passed since the last look: raises `stop` with the first bound reached,
    /// in the order `max_states` (as `max_states_reached` says), memory, time.
    pub(crate) fn look(&self, stop: &Stop, max_states_reached: impl FnOnce() -> bool) {
        let mut last = self.last_look.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() < Duration::from_millis(250) {
            return;
        }
        *last = Instant::now();
        let why = if max_states_reached() {
            Some(StopReason::MaxStates)
        } else if self
            .memory
            .is_some_and(|m| rss_bytes().is_some_and(|r| r >= m))
        {
            Some(StopReason::MemoryLimit)
        } else if self.time.is_some_and(|t| self.start.elapsed() >= t) {
            Some(StopReason::TimeLimit)
        } else {
            None
        };
        if let Some(w) = why {
            stop.raise_for(w);
        }
    }
}
