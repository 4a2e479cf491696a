//! The command queue: many application threads send, the event loop receives.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::sync::{Arc, Mutex, lock};

/// Creates an unbounded multi-producer, single-consumer command queue.
///
/// # Guarantees (what the loom models check)
///
/// A command passed to [`CommandSender::send`] ends in exactly one of three places, decided
/// atomically under the queue's one lock:
///
/// 1. `send` returns `Err(Closed(cmd))`: the queue was already closed; the caller gets its
///    command back and must fail it itself;
/// 2. it is returned by [`CommandReceiver::recv`] / [`try_recv`](CommandReceiver::try_recv);
/// 3. it is in the `Vec` returned by [`CommandReceiver::close`] (or dropped with the receiver,
///    which closes first): the event loop fails it.
///
/// So with commands that carry a [`Replier`](crate::Replier), no caller waits forever and no
/// accepted write is silently lost. Commands are received in the order their `send`s took the
/// lock (per sender: in program order).
///
/// The queue is unbounded: senders never block (a reader or writer thread never waits for the
/// event loop). The event loop drains it every time it wakes.
pub fn command_queue<C>() -> (CommandSender<C>, CommandReceiver<C>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            closed: false,
            senders: 1,
            waker: None,
        }),
    });
    (
        CommandSender {
            shared: shared.clone(),
        },
        CommandReceiver { shared },
    )
}

#[derive(Debug)]
struct Shared<C> {
    state: Mutex<State<C>>,
}

#[derive(Debug)]
struct State<C> {
    queue: VecDeque<C>,
    closed: bool,
    /// Live `CommandSender`s; when it reaches 0 `recv` returns `None` once the queue is empty.
    senders: usize,
    /// The event loop's waker, registered by a pending `recv`.
    waker: Option<Waker>,
}

/// The queue was closed; the command is handed back unsent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed<C>(pub C);

impl<C> std::fmt::Display for Closed<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the command queue is closed")
    }
}

impl<C: std::fmt::Debug> std::error::Error for Closed<C> {}

/// The sending half of the command queue. Clone it freely; it is `Send + Sync` when `C: Send`.
#[derive(Debug)]
pub struct CommandSender<C> {
    shared: Arc<Shared<C>>,
}

impl<C> Clone for CommandSender<C> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).senders += 1;
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<C> Drop for CommandSender<C> {
    fn drop(&mut self) {
        let waker = {
            let mut st = lock(&self.shared.state);
            st.senders -= 1;
            if st.senders == 0 {
                st.waker.take()
            } else {
                None
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<C> CommandSender<C> {
    /// Enqueues `cmd` and wakes the event loop. Never blocks (beyond the queue's lock, which is
    /// only ever held for a push or a pop).
    ///
    /// Returns `Err(Closed(cmd))`, giving the command back, if the queue has been closed.
    pub fn send(&self, cmd: C) -> Result<(), Closed<C>> {
        #[cfg(loom)]
        if crate::broken::on(crate::broken::Broken::SendAfterClose) {
            // Racy: the `closed` check and the push are separate critical sections.
            if lock(&self.shared.state).closed {
                return Err(Closed(cmd));
            }
            let waker = {
                let mut st = lock(&self.shared.state);
                st.queue.push_back(cmd);
                st.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
            return Ok(());
        }
        let waker = {
            let mut st = lock(&self.shared.state);
            if st.closed {
                return Err(Closed(cmd));
            }
            st.queue.push_back(cmd);
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Whether the queue has been closed (a later `send` will fail).
    pub fn is_closed(&self) -> bool {
        lock(&self.shared.state).closed
    }
}

/// The receiving half of the command queue, owned by the event loop.
#[derive(Debug)]
pub struct CommandReceiver<C> {
    shared: Arc<Shared<C>>,
}

impl<C> CommandReceiver<C> {
    /// Waits for the next command. Returns `None` when the queue is closed, or every sender
    /// is gone, and no command is left.
    pub fn recv(&mut self) -> Recv<'_, C> {
        Recv { rx: self }
    }

    /// Takes the next command if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<C> {
        lock(&self.shared.state).queue.pop_front()
    }

    /// Closes the queue: every later `send` fails with [`Closed`]. Returns the commands that
    /// were sent but not yet received, in order, so that the caller can fail them.
    /// Calling it again returns an empty `Vec`.
    pub fn close(&mut self) -> Vec<C> {
        let mut st = lock(&self.shared.state);
        st.closed = true;
        st.waker = None;
        st.queue.drain(..).collect()
    }

    /// Whether [`close`](Self::close) has been called.
    pub fn is_closed(&self) -> bool {
        lock(&self.shared.state).closed
    }
}

impl<C> Drop for CommandReceiver<C> {
    /// Closes the queue; the undelivered commands are dropped (so their repliers cancel).
    fn drop(&mut self) {
        let undelivered = self.close();
        drop(undelivered);
    }
}

/// The future returned by [`CommandReceiver::recv`].
#[derive(Debug)]
pub struct Recv<'a, C> {
    rx: &'a mut CommandReceiver<C>,
}

impl<C> Future for Recv<'_, C> {
    type Output = Option<C>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<C>> {
        #[cfg(loom)]
        if crate::broken::on(crate::broken::Broken::QueueLostWakeup) {
            // Racy: the waker is stored in a second critical section, after the check.
            {
                let mut st = lock(&self.rx.shared.state);
                if let Some(cmd) = st.queue.pop_front() {
                    return Poll::Ready(Some(cmd));
                }
                if st.closed || st.senders == 0 {
                    return Poll::Ready(None);
                }
            }
            lock(&self.rx.shared.state).waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let mut st = lock(&self.rx.shared.state);
        if let Some(cmd) = st.queue.pop_front() {
            return Poll::Ready(Some(cmd));
        }
        if st.closed || st.senders == 0 {
            return Poll::Ready(None);
        }
        // Registered under the lock `send` takes: a send after this sees the waker.
        crate::register_waker(&mut st.waker, cx);
        Poll::Pending
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::block_on;

    #[test]
    fn commands_from_one_sender_arrive_in_order() {
        let (tx, mut rx) = command_queue();
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        let got: Vec<_> = (0..5).map(|_| block_on(rx.recv()).unwrap()).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn close_hands_back_undelivered_commands_and_rejects_later_sends() {
        let (tx, mut rx) = command_queue();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(rx.close(), vec![2]);
        assert_eq!(tx.send(3), Err(Closed(3)));
        assert!(tx.is_closed());
        assert_eq!(block_on(rx.recv()), None);
        assert_eq!(rx.close(), Vec::<i32>::new());
    }

    #[test]
    fn recv_returns_none_when_every_sender_is_dropped() {
        let (tx, mut rx) = command_queue::<u8>();
        let tx2 = tx.clone();
        tx2.send(9).unwrap();
        drop(tx);
        drop(tx2);
        assert_eq!(block_on(rx.recv()), Some(9));
        assert_eq!(block_on(rx.recv()), None);
    }

    #[test]
    fn a_pending_recv_is_woken_by_a_send_from_another_thread() {
        let (tx, mut rx) = command_queue();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tx.send("hello").unwrap();
        });
        assert_eq!(block_on(rx.recv()), Some("hello"));
        t.join().unwrap();
    }

    #[test]
    fn every_command_is_received_or_handed_back_by_close_or_refused() {
        for _ in 0..50 {
            let (tx, mut rx) = command_queue::<u32>();
            let senders: Vec<_> = (0..3)
                .map(|t| {
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        let mut refused = 0;
                        for i in 0..200 {
                            if tx.send(t * 1000 + i).is_err() {
                                refused += 1;
                            }
                        }
                        refused
                    })
                })
                .collect();
            drop(tx);
            let mut received = 0;
            for _ in 0..100 {
                if rx.try_recv().is_some() {
                    received += 1;
                }
            }
            let handed_back = rx.close().len();
            let refused: usize = senders.into_iter().map(|s| s.join().unwrap()).sum();
            assert_eq!(received + handed_back + refused, 600);
        }
    }
}
