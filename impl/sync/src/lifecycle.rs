//! [`Lifecycle`]: running → leaving → stopped, observable and awaitable from any thread.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::queue::CommandReceiver;
use crate::sync::{Arc, Condvar, Mutex, lock, wait};

/// The phase of a node's life. Phases only move forward: `Running < Leaving < Stopped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Accepting commands and gossiping.
    Running,
    /// A graceful leave is in progress: the leave marker is being gossiped; writes are refused
    /// by the core, reads still work.
    Leaving,
    /// The event loop has finished: the command queue is closed and every command that was
    /// in it has been failed. Terminal.
    Stopped,
}

/// The shared lifecycle of one node.
///
/// # Guarantees
///
/// * The phase is monotonic: [`advance`](Self::advance) never moves it backwards, so a
///   thread that has seen `Stopped` never later sees `Running`.
/// * Waiting cannot miss the transition: waiters check the phase and register under the same
///   lock that `advance` takes, and `advance` wakes every registered async waiter and
///   notifies the condvar for blocking ones.
///
/// # How the node uses it (the shutdown protocol)
///
/// The event loop is the only caller of `advance(Stopped)`, and it calls it only *after*
/// [`CommandReceiver::close`](crate::CommandReceiver::close) has returned and it has failed
/// every command handed back: [`stop`](Self::stop) does exactly that, in that order. Hence, once a caller observes `Stopped`, every command it
/// sent earlier has been answered (applied or failed), and every later `send` fails.
///
/// `Lifecycle` is a cheap handle: clones share one state.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    cv: Condvar,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    next_key: u64,
    wakers: BTreeMap<u64, Waker>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    phase: Phase::Running,
                    next_key: 0,
                    wakers: BTreeMap::new(),
                }),
                cv: Condvar::new(),
            }),
        }
    }
}

impl Lifecycle {
    /// A new lifecycle in the `Running` phase.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        lock(&self.inner.state).phase
    }

    /// Moves to `to` if it is later than the current phase. Returns the phase before the call.
    /// Wakes every waiter when the phase changes.
    pub fn advance(&self, to: Phase) -> Phase {
        let (before, wakers) = {
            let mut st = lock(&self.inner.state);
            let before = st.phase;
            if to <= before {
                return before;
            }
            st.phase = to;
            (before, std::mem::take(&mut st.wakers))
        };
        self.inner.cv.notify_all();
        for (_, w) in wakers {
            w.wake();
        }
        before
    }

    /// The event loop's stop sequence, with its one ordering constraint built in: closes `rx`
    /// (every later `send` fails), passes each command it handed back to `fail` (which must
    /// answer it, e.g. drop or fail its [`Replier`](crate::Replier)), runs `finish` (publish
    /// the final snapshot, end the subscriptions, fail pending leaves, ...), and only then
    /// advances to [`Phase::Stopped`]. Returns the phase before the call.
    ///
    /// Hence a thread that observes `Stopped` (by [`phase`](Self::phase) or a wait) knows
    /// that every command sent before has been answered, and that `finish` has run.
    pub fn stop<C>(
        &self,
        rx: &mut CommandReceiver<C>,
        fail: impl FnMut(C),
        finish: impl FnOnce(),
    ) -> Phase {
        #[cfg(loom)]
        if crate::broken::on(crate::broken::Broken::StoppedBeforeClose) {
            // Racy: announces `Stopped` before the queue is closed and drained.
            let before = self.advance(Phase::Stopped);
            rx.close().into_iter().for_each(fail);
            finish();
            return before;
        }
        rx.close().into_iter().for_each(fail);
        finish();
        self.advance(Phase::Stopped)
    }

    /// Waits (async) until the phase is at least `phase`.
    pub fn wait_for(&self, phase: Phase) -> WaitFor {
        WaitFor {
            lc: self.clone(),
            target: phase,
            key: None,
        }
    }

    /// Blocks the current thread until the phase is at least `phase`.
    pub fn wait_for_blocking(&self, phase: Phase) {
        let mut st = lock(&self.inner.state);
        while st.phase < phase {
            st = wait(&self.inner.cv, st);
        }
    }
}

/// The future returned by [`Lifecycle::wait_for`]. Dropping it deregisters its waker.
#[derive(Debug)]
pub struct WaitFor {
    lc: Lifecycle,
    target: Phase,
    key: Option<u64>,
}

impl Future for WaitFor {
    type Output = Phase;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Phase> {
        let this = &mut *self;
        let mut st = lock(&this.lc.inner.state);
        if st.phase >= this.target {
            if let Some(k) = this.key.take() {
                st.wakers.remove(&k);
            }
            return Poll::Ready(st.phase);
        }
        let key = match this.key {
            Some(k) => k,
            None => {
                let k = st.next_key;
                st.next_key += 1;
                this.key = Some(k);
                k
            }
        };
        st.wakers.insert(key, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for WaitFor {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            lock(&self.lc.inner.state).wakers.remove(&k);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::block_on;

    #[test]
    fn the_phase_only_moves_forward() {
        let lc = Lifecycle::new();
        assert_eq!(lc.phase(), Phase::Running);
        assert_eq!(lc.advance(Phase::Stopped), Phase::Running);
        assert_eq!(lc.advance(Phase::Leaving), Phase::Stopped);
        assert_eq!(lc.phase(), Phase::Stopped);
    }

    #[test]
    fn async_and_blocking_waiters_are_released_by_advance() {
        let lc = Lifecycle::new();
        let a = {
            let lc = lc.clone();
            std::thread::spawn(move || block_on(lc.wait_for(Phase::Leaving)))
        };
        let b = {
            let lc = lc.clone();
            std::thread::spawn(move || lc.wait_for_blocking(Phase::Stopped))
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        lc.advance(Phase::Stopped);
        assert_eq!(a.join().unwrap(), Phase::Stopped);
        b.join().unwrap();
    }

    #[test]
    fn stop_fails_queued_commands_runs_finish_then_advances() {
        let lc = Lifecycle::new();
        let (tx, mut rx) = crate::command_queue();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let mut failed = Vec::new();
        let mut finished_while = None;
        let before = lc.stop(
            &mut rx,
            |c| failed.push(c),
            || finished_while = Some(lc.phase()),
        );
        assert_eq!(before, Phase::Running);
        assert_eq!(failed, vec![1, 2]);
        assert_eq!(finished_while, Some(Phase::Running));
        assert_eq!(lc.phase(), Phase::Stopped);
        assert!(tx.send(3).is_err());
    }

    #[test]
    fn waiting_for_a_phase_already_reached_returns_at_once() {
        let lc = Lifecycle::new();
        assert_eq!(block_on(lc.wait_for(Phase::Running)), Phase::Running);
        lc.wait_for_blocking(Phase::Running);
    }
}
