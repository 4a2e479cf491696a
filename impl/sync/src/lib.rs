//! The state a gossip node shares between application threads and its event loop.
//!
//! This crate has no async runtime dependency. Every type is built from one `Mutex` (plus a
//! `Condvar` where a thread can block) taken from the [`sync`] shim, which is `loom::sync`
//! under `--cfg loom` and `std::sync` otherwise, so the loom models in this
//! crate (`tests/loom_*.rs`) check exactly the code the node runs. Async waiting uses
//! `std::task::Waker`s registered under the same lock as the state they wait for, so a
//! wake-up can never be missed.
//!
//! | type | shared between | guarantee |
//! |---|---|---|
//! | [`ViewCell`] | loop (publishes) / readers (load) | whole snapshots only, epochs never go back, readers never wait for the loop |
//! | [`command_queue`], [`bounded_command_queue`] | handles (send) / loop (recv, close) | every command is received, handed back by `close`, or refused at `send`; a sender waiting for room is woken by a `recv` or `close` |
//! | [`reply_slot`] | loop (reply) / caller (await or block) | the caller gets the reply or [`Canceled`], never waits forever |
//! | [`Subscribers`] | loop (publish) / subscribers | no duplicates, none after unsubscribe, overflow reported as [`Delivery::Lagged`] |
//! | [`Lifecycle`] | loop (advance) / handles (wait) | phases only move forward; `Stopped` means every queued command was answered |
//! | [`Outbox`] | loop only (orders the hand-offs above) | snapshot published, then events delivered, then replies sent |
//!
//! The loom models are in `tests/loom_*.rs`; `docs/verification.md` (section "Loom") lists
//! what each proves. Under `--cfg loom` only, the `broken` module (absent otherwise) can
//! switch on deliberately racy variants so that the models can show they catch them.
//!
//! Under `--cfg loom` the same API is compiled against loom's types; [`Subscription`] then
//! holds a strong reference to its registry (loom's `Arc` has no `Weak`).

pub(crate) mod sync;

#[cfg(loom)]
pub mod broken;
mod lifecycle;
mod outbox;
mod queue;
mod reply;
mod subscribers;
mod view;

#[cfg(all(test, not(loom)))]
mod test_util;

pub use lifecycle::{Lifecycle, Phase, WaitFor};
pub use outbox::Outbox;
pub use queue::{
    Closed, CommandReceiver, CommandSender, Recv, SendAsync, TrySendError, bounded_command_queue,
    command_queue,
};
pub use reply::{Canceled, Replier, ReplyWaiter, reply_slot};
pub use subscribers::{Delivery, SubRecv, Subscribers, Subscription, TryRecv};
pub use view::ViewCell;

/// Stores `cx`'s waker in `slot` unless it already holds one that wakes the same task. Callers
/// hold the lock that the waking side takes, so a wake-up after this cannot be missed.
pub(crate) fn register_waker(slot: &mut Option<std::task::Waker>, cx: &std::task::Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// The `Arc` this crate's API uses: `loom::sync::Arc` under `--cfg loom`, else `std::sync::Arc`.
///
/// [`ViewCell`] takes and returns snapshots in this `Arc`, so loom models must build their values
/// with it.
pub use sync::Arc;
