//! A one-shot reply slot: the event loop answers one command, its caller waits.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::sync::{Arc, Condvar, Mutex, lock, wait};

/// The reply never came: the [`Replier`] was dropped without answering (the command was
/// discarded, typically because the node stopped before applying it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canceled;

impl std::fmt::Display for Canceled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the reply slot was dropped without a reply")
    }
}

impl std::error::Error for Canceled {}

/// Creates a one-shot reply slot: the [`Replier`] travels with the command to the event loop,
/// the [`ReplyWaiter`] stays with the caller.
///
/// Exactly one of two things happens: the replier [`send`](Replier::send)s a value, which the
/// waiter receives, or the replier is dropped unsent and the waiter receives [`Canceled`].
/// Either way the waiter is woken, so a caller can never wait forever on a command that the
/// loop has discarded.
pub fn reply_slot<T>() -> (Replier<T>, ReplyWaiter<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            value: None,
            replier_gone: false,
            waker: None,
        }),
        cv: Condvar::new(),
    });
    (
        Replier {
            shared: Some(shared.clone()),
        },
        ReplyWaiter { shared },
    )
}

#[derive(Debug)]
struct Shared<T> {
    state: Mutex<State<T>>,
    cv: Condvar,
}

#[derive(Debug)]
struct State<T> {
    value: Option<T>,
    /// The replier has sent or been dropped; no value will arrive after this.
    replier_gone: bool,
    /// The waker of the task that last polled the waiter (async waiting).
    waker: Option<Waker>,
}

/// The sending half of a reply slot, owned by whoever executes the command.
#[derive(Debug)]
pub struct Replier<T> {
    shared: Option<Arc<Shared<T>>>,
}

impl<T> Replier<T> {
    /// Answers the command. If the waiter is gone the value is simply dropped.
    pub fn send(mut self, value: T) {
        if let Some(shared) = self.shared.take() {
            complete(&shared, Some(value));
        }
    }
}

impl<T> Drop for Replier<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            complete(&shared, None);
        }
    }
}

fn complete<T>(shared: &Shared<T>, value: Option<T>) {
    let waker = {
        let mut st = lock(&shared.state);
        st.value = value;
        st.replier_gone = true;
        st.waker.take()
    };
    // Wake both kinds of waiter; outside the lock so the woken side does not contend for it.
    shared.cv.notify_all();
    if let Some(w) = waker {
        w.wake();
    }
}

/// The receiving half of a reply slot, owned by the caller of a command.
///
/// Await it (it is a `Future`) or call [`wait_blocking`](Self::wait_blocking) from a thread
/// that is not running an async executor.
#[derive(Debug)]
pub struct ReplyWaiter<T> {
    shared: Arc<Shared<T>>,
}

impl<T> ReplyWaiter<T> {
    /// Blocks the current thread until the reply arrives or the replier is dropped.
    ///
    /// Must not be called from inside an async task of the event loop's own runtime thread
    /// (it would block that thread).
    pub fn wait_blocking(self) -> Result<T, Canceled> {
        let mut st = lock(&self.shared.state);
        while !st.replier_gone {
            st = wait(&self.shared.cv, st);
        }
        st.value.take().ok_or(Canceled)
    }

    /// Returns the reply if it has arrived: `Ok(Some(v))`, `Ok(None)` if it is still pending,
    /// `Err(Canceled)` if it will never come. After `Ok(Some(_))` the slot is empty and later
    /// calls return `Err(Canceled)`.
    pub fn try_take(&mut self) -> Result<Option<T>, Canceled> {
        let mut st = lock(&self.shared.state);
        match (st.value.take(), st.replier_gone) {
            (Some(v), _) => Ok(Some(v)),
            (None, true) => Err(Canceled),
            (None, false) => Ok(None),
        }
    }
}

impl<T> Future for ReplyWaiter<T> {
    type Output = Result<T, Canceled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = lock(&self.shared.state);
        if st.replier_gone {
            return Poll::Ready(st.value.take().ok_or(Canceled));
        }
        // Registered under the same lock that `complete` takes: no wake-up can be missed.
        crate::register_waker(&mut st.waker, cx);
        Poll::Pending
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_sent_reply_is_received_by_a_blocking_waiter_on_another_thread() {
        let (tx, rx) = reply_slot();
        let t = std::thread::spawn(move || rx.wait_blocking());
        tx.send(42);
        assert_eq!(t.join().unwrap(), Ok(42));
    }

    #[test]
    fn a_dropped_replier_cancels_the_waiter() {
        let (tx, rx) = reply_slot::<u8>();
        drop(tx);
        assert_eq!(rx.wait_blocking(), Err(Canceled));
    }

    #[test]
    fn try_take_reports_pending_then_the_value_then_canceled() {
        let (tx, mut rx) = reply_slot();
        assert_eq!(rx.try_take(), Ok(None));
        tx.send("x");
        assert_eq!(rx.try_take(), Ok(Some("x")));
        assert_eq!(rx.try_take(), Err(Canceled));
    }

    #[test]
    fn sending_to_a_dropped_waiter_is_harmless() {
        let (tx, rx) = reply_slot();
        drop(rx);
        tx.send(vec![1]);
    }
}
