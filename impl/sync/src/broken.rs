//! Deliberately racy variants of this crate's code, for the loom models only.
//!
//! This module exists only under `--cfg loom` (it is not even compiled otherwise, and no
//! production build sets that cfg). Each [`Broken`] variant names one realistic concurrency
//! mistake; the production code has a `#[cfg(loom)]` branch at that spot which takes the racy
//! path while the variant is switched on with [`with`]. With no variant on (the default, and
//! the state every correct model runs in) the code is exactly the production code.
//!
//! The switch is a `std` thread-local of the OS thread that calls `loom::model`: loom runs
//! every thread of a model as a coroutine on that one OS thread, so all of them see it, while
//! the test harness's other test threads (running other models in parallel) do not.
//!
//! `tests/loom_*.rs` run each model once as is (it must pass) and once per variant under
//! `std::panic::catch_unwind` (loom must fail: an assertion or a reported deadlock).

use std::cell::Cell;

/// One deliberately broken variant of this crate's synchronisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Broken {
    /// [`Outbox::publish`](crate::Outbox::publish) sends the replies *before* publishing the
    /// snapshot: an acknowledged write can be missing from what its caller then reads.
    ReplyBeforePublish,
    /// [`Outbox::publish`](crate::Outbox::publish) delivers the events *before* publishing
    /// the snapshot: a subscriber reacting to an event can read a view that lacks it.
    EventsBeforeView,
    /// [`Recv`](crate::Recv) finds the queue empty, releases the lock, and only then
    /// registers its waker (a missed wake-up: the event loop sleeps on a queued command).
    QueueLostWakeup,
    /// [`CommandSender::send`](crate::CommandSender::send) checks `closed` under one lock
    /// acquisition and pushes under another: a command can land in a queue that `close` has
    /// already drained, and nobody answers it.
    SendAfterClose,
    /// [`ViewCell::publish`](crate::ViewCell::publish) bumps the epoch and swaps the snapshot
    /// under two lock acquisitions: a reader can see a new epoch with the old snapshot.
    ViewTornPublish,
    /// [`SubRecv`](crate::SubRecv) finds the subscriber's queue empty, releases the lock, and
    /// only then registers its waker (a missed wake-up: the subscriber sleeps forever).
    SubLostWakeup,
    /// [`Lifecycle::stop`](crate::Lifecycle::stop) advances to `Stopped` *before* closing the
    /// queue: a caller can see `Stopped` while its command is still unanswered.
    StoppedBeforeClose,
    /// The receiver takes a command from a full bounded queue without waking the senders
    /// waiting for room (a missed wake-up: a writer waits forever on a free queue).
    FullLostWakeup,
}

impl Broken {
    /// Every variant, for test loops.
    pub const ALL: [Broken; 8] = [
        Broken::ReplyBeforePublish,
        Broken::EventsBeforeView,
        Broken::QueueLostWakeup,
        Broken::SendAfterClose,
        Broken::ViewTornPublish,
        Broken::SubLostWakeup,
        Broken::StoppedBeforeClose,
        Broken::FullLostWakeup,
    ];
}

std::thread_local! {
    static ACTIVE: Cell<Option<Broken>> = const { Cell::new(None) };
}

/// Runs `f` (typically a whole `loom::model` run) with `variant` switched on for this OS
/// thread, and switches it back off afterwards, also when `f` panics.
pub fn with<R>(variant: Broken, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Broken>);
    impl Drop for Restore {
        fn drop(&mut self) {
            ACTIVE.with(|a| a.set(self.0));
        }
    }
    let _restore = Restore(ACTIVE.with(|a| a.replace(Some(variant))));
    f()
}

/// Whether `variant` is switched on.
pub(crate) fn on(variant: Broken) -> bool {
    ACTIVE.with(|a| a.get() == Some(variant))
}
