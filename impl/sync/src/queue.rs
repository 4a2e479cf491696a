//! The command queue: many application threads send, the event loop receives.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::sync::{Arc, Condvar, Mutex, lock, wait};

/// Creates an unbounded multi-producer, single-consumer command queue (a
/// [`bounded_command_queue`] whose bound is never reached).
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
/// [`CommandSender::send`] never blocks (a reader or writer thread never waits for the event
/// loop). The event loop drains it every time it wakes.
pub fn command_queue<C>() -> (CommandSender<C>, CommandReceiver<C>) {
    bounded_command_queue(usize::MAX)
}

/// Creates a command queue holding at most `capacity` commands (at least 1) sent with the
/// bounded calls, with the same guarantees as [`command_queue`].
///
/// # Backpressure
///
/// * [`CommandSender::send_async`] waits (asynchronously) while the queue is full;
/// * [`CommandSender::send_blocking`] blocks the thread while it is full;
/// * [`CommandSender::try_send`] returns [`TrySendError::Full`] at once, handing the command
///   back;
/// * [`CommandSender::send`] ignores the bound (for control commands such as a shutdown, of
///   which each caller sends at most one).
///
/// A waiting sender is woken when the receiver takes a command (then it competes for the
/// freed place with the other waiters; a loser waits again) or when the queue is closed (then
/// it gets [`Closed`] and its command back). So a waiting sender never waits forever while
/// the event loop runs, and nothing it sent is lost.
pub fn bounded_command_queue<C>(capacity: usize) -> (CommandSender<C>, CommandReceiver<C>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            closed: false,
            senders: 1,
            waker: None,
            capacity: capacity.max(1),
            send_wakers: Vec::new(),
        }),
        not_full: Condvar::new(),
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
    /// Notified (all) when a command is taken or the queue closes: wakes `send_blocking`.
    not_full: Condvar,
}

#[derive(Debug)]
struct State<C> {
    queue: VecDeque<C>,
    closed: bool,
    /// Live `CommandSender`s; when it reaches 0 `recv` returns `None` once the queue is empty.
    senders: usize,
    /// The event loop's waker, registered by a pending `recv`.
    waker: Option<Waker>,
    /// The bound of the bounded sends.
    capacity: usize,
    /// Wakers of `send_async` futures waiting for room.
    send_wakers: Vec<Waker>,
}

impl<C> State<C> {
    /// Takes the next command; if a sender may be waiting for room, hands back what wakes it.
    fn pop(&mut self) -> (Option<C>, Vec<Waker>) {
        let cmd = self.queue.pop_front();
        #[cfg(loom)]
        if crate::broken::on(crate::broken::Broken::FullLostWakeup) {
            // Racy: the senders waiting for room are never woken.
            return (cmd, Vec::new());
        }
        let wakers = if cmd.is_some() {
            std::mem::take(&mut self.send_wakers)
        } else {
            Vec::new()
        };
        (cmd, wakers)
    }
}

/// Wakes the senders waiting for room (called without the lock held).
fn wake_senders<C>(shared: &Shared<C>, wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
    shared.not_full.notify_all();
}

/// Why [`CommandSender::try_send`] did not enqueue; the command is handed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrySendError<C> {
    /// The queue holds `capacity` commands.
    Full(C),
    /// The queue was closed.
    Closed(C),
}

impl<C> std::fmt::Display for TrySendError<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "the command queue is full",
            TrySendError::Closed(_) => "the command queue is closed",
        })
    }
}

impl<C: std::fmt::Debug> std::error::Error for TrySendError<C> {}

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

    /// Pushes `cmd` under the lock if the queue is open and below its bound; otherwise hands
    /// it back with the reason. On success returns the event loop's waker to wake.
    fn push_bounded(st: &mut State<C>, cmd: C) -> Result<Option<Waker>, TrySendError<C>> {
        if st.closed {
            return Err(TrySendError::Closed(cmd));
        }
        if st.queue.len() >= st.capacity {
            return Err(TrySendError::Full(cmd));
        }
        st.queue.push_back(cmd);
        Ok(st.waker.take())
    }

    /// Enqueues `cmd` if the queue is below its bound, without waiting; otherwise hands it
    /// back ([`TrySendError::Full`], or [`TrySendError::Closed`] once closed).
    pub fn try_send(&self, cmd: C) -> Result<(), TrySendError<C>> {
        let waker = Self::push_bounded(&mut lock(&self.shared.state), cmd)?;
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Enqueues `cmd`, waiting while the queue is full. Resolves to `Err(Closed(cmd))` if the
    /// queue is (or gets) closed first. Dropping the future before it resolves drops `cmd`
    /// unsent.
    pub fn send_async(&self, cmd: C) -> SendAsync<'_, C> {
        SendAsync {
            tx: self,
            cmd: Some(cmd),
        }
    }

    /// Enqueues `cmd`, blocking the thread while the queue is full (never call it from a task
    /// of the runtime the event loop runs on). Returns `Err(Closed(cmd))` if the queue is (or
    /// gets) closed first.
    pub fn send_blocking(&self, cmd: C) -> Result<(), Closed<C>> {
        let mut cmd = cmd;
        let mut st = lock(&self.shared.state);
        loop {
            match Self::push_bounded(&mut st, cmd) {
                Ok(waker) => {
                    drop(st);
                    if let Some(w) = waker {
                        w.wake();
                    }
                    return Ok(());
                }
                Err(TrySendError::Closed(c)) => return Err(Closed(c)),
                Err(TrySendError::Full(c)) => {
                    cmd = c;
                    st = wait(&self.shared.not_full, st);
                }
            }
        }
    }
}

/// The future returned by [`CommandSender::send_async`].
#[derive(Debug)]
pub struct SendAsync<'a, C> {
    tx: &'a CommandSender<C>,
    cmd: Option<C>,
}

// No self-references: the command is only moved out by value.
impl<C> Unpin for SendAsync<'_, C> {}

impl<C> Future for SendAsync<'_, C> {
    type Output = Result<(), Closed<C>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(cmd) = self.cmd.take() else {
            panic!("SendAsync polled after completion");
        };
        let mut st = lock(&self.tx.shared.state);
        match CommandSender::push_bounded(&mut st, cmd) {
            Ok(waker) => {
                drop(st);
                if let Some(w) = waker {
                    w.wake();
                }
                Poll::Ready(Ok(()))
            }
            Err(TrySendError::Closed(c)) => Poll::Ready(Err(Closed(c))),
            Err(TrySendError::Full(c)) => {
                // Registered under the lock the receiver takes to pop: a pop after this
                // sees (and wakes) it.
                if !st.send_wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    st.send_wakers.push(cx.waker().clone());
                }
                drop(st);
                self.cmd = Some(c);
                Poll::Pending
            }
        }
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
        let (cmd, wakers) = lock(&self.shared.state).pop();
        if cmd.is_some() {
            wake_senders(&self.shared, wakers);
        }
        cmd
    }

    /// Closes the queue: every later `send` fails with [`Closed`]. Returns the commands that
    /// were sent but not yet received, in order, so that the caller can fail them.
    /// Calling it again returns an empty `Vec`.
    pub fn close(&mut self) -> Vec<C> {
        let (undelivered, wakers) = {
            let mut st = lock(&self.shared.state);
            st.closed = true;
            st.waker = None;
            let wakers = std::mem::take(&mut st.send_wakers);
            (st.queue.drain(..).collect(), wakers)
        };
        // Senders waiting for room now get `Closed` and their command back.
        wake_senders(&self.shared, wakers);
        undelivered
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
                if let (Some(cmd), wakers) = st.pop() {
                    drop(st);
                    wake_senders(&self.rx.shared, wakers);
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
        if let (Some(cmd), wakers) = st.pop() {
            drop(st);
            wake_senders(&self.rx.shared, wakers);
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
    fn a_bounded_queue_refuses_try_send_when_full_and_takes_it_after_a_recv() {
        let (tx, mut rx) = bounded_command_queue(2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        assert_eq!(rx.try_recv(), Some(1));
        tx.try_send(3).unwrap();
        assert_eq!(rx.close(), vec![2, 3]);
        assert_eq!(tx.try_send(4), Err(TrySendError::Closed(4)));
    }

    #[test]
    fn blocked_senders_lose_nothing_and_finish_once_the_receiver_drains() {
        let (tx, mut rx) = bounded_command_queue::<u32>(1);
        let senders: Vec<_> = (0..3)
            .map(|t| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        if t == 0 {
                            tx.send_blocking(i).unwrap();
                        } else {
                            block_on(tx.send_async(t * 1000 + i)).unwrap();
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut got = Vec::new();
        while let Some(c) = block_on(rx.recv()) {
            got.push(c);
        }
        for s in senders {
            s.join().unwrap();
        }
        got.sort_unstable();
        let mut want: Vec<u32> = (0..3)
            .flat_map(|t| (0..100).map(move |i| t * 1000 + i))
            .collect();
        want.sort_unstable();
        assert_eq!(got, want);
    }

    #[test]
    fn close_hands_a_waiting_sender_its_command_back() {
        let (tx, mut rx) = bounded_command_queue::<u32>(1);
        tx.try_send(1).unwrap();
        let t = std::thread::spawn(move || tx.send_blocking(2));
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(rx.close(), vec![1]);
        assert_eq!(t.join().unwrap(), Err(Closed(2)));
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
