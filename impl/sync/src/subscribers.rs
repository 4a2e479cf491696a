//! [`Subscribers`]: fan-out of events from the event loop to any number of subscribers.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::sync::{Arc, Mutex, lock};

/// What a [`Subscription`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery<E> {
    /// The next event.
    Event(E),
    /// The subscriber's queue was full and this many events, published at this point of the
    /// stream, were not queued for it. Events before and after the marker are in order.
    Lagged(u64),
}

/// The publishing side: a registry of subscribers, each with its own bounded queue.
///
/// # Guarantees (what the loom models check)
///
/// * **No duplicates, in order:** each [`publish`](Self::publish) pushes one clone of the
///   event into each live subscriber's queue at most once; a subscriber pops each entry once.
/// * **Nothing after unsubscribe:** [`Subscription::unsubscribe`] (and dropping the
///   subscription) marks its queue closed and empties it under the queue's lock; `publish`
///   checks the mark under that same lock, and `recv` returns `None` once it is set. So once
///   `unsubscribe` has returned, that subscription yields nothing more.
/// * **Nothing lost silently:** a publish to a subscriber whose queue holds `capacity` events
///   does not drop the event unnoticed: it appends (or increments) a [`Delivery::Lagged`]
///   marker at the position the events were lost from. Publishing never blocks on a slow
///   subscriber.
/// * **End of stream:** after [`close`](Self::close) (the node stopped), each subscription
///   still yields what was queued for it, then `None`; later `subscribe`s get a subscription
///   that yields `None` at once.
///
/// Lock order: the registry lock, then one subscriber's queue lock. `unsubscribe` takes the
/// queue lock first and releases it before taking the registry lock, so they never nest the
/// other way round.
///
/// `Subscribers` is a cheap handle: clones share one registry.
#[derive(Debug)]
pub struct Subscribers<E> {
    inner: Arc<Inner<E>>,
}

impl<E> Clone for Subscribers<E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

#[derive(Debug)]
struct Inner<E> {
    registry: Mutex<Registry<E>>,
    capacity: usize,
}

#[derive(Debug)]
struct Registry<E> {
    next_id: u64,
    closed: bool,
    subs: Vec<(u64, Arc<SubShared<E>>)>,
}

#[derive(Debug)]
struct SubShared<E> {
    state: Mutex<SubState<E>>,
}

#[derive(Debug)]
struct SubState<E> {
    /// At most `capacity` events; a `Lagged` marker may follow each of them (and sit in
    /// front), so at most `2 * capacity + 1` entries. Consecutive losses share one marker.
    queue: VecDeque<Delivery<E>>,
    /// Events currently in `queue` (markers excluded).
    events: usize,
    /// Set by unsubscribe: discard everything, deliver nothing more.
    unsubscribed: bool,
    /// Set by `Subscribers::close`: deliver what is queued, then end.
    ended: bool,
    waker: Option<Waker>,
}

impl<E: Clone> Subscribers<E> {
    /// Creates an empty registry; each subscriber's queue holds up to `capacity` events
    /// (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                registry: Mutex::new(Registry {
                    next_id: 0,
                    closed: false,
                    subs: Vec::new(),
                }),
                capacity: capacity.max(1),
            }),
        }
    }

    /// Adds a subscriber. It receives every event published after this call returns.
    pub fn subscribe(&self) -> Subscription<E> {
        let mut reg = lock(&self.inner.registry);
        let id = reg.next_id;
        reg.next_id += 1;
        let shared = Arc::new(SubShared {
            state: Mutex::new(SubState {
                queue: VecDeque::new(),
                events: 0,
                unsubscribed: false,
                ended: reg.closed,
                waker: None,
            }),
        });
        if !reg.closed {
            reg.subs.push((id, shared.clone()));
        }
        Subscription {
            id,
            shared,
            registry: Arc::downgrade_compat(&self.inner),
        }
    }

    /// Delivers a clone of `event` to every live subscriber. Never blocks on a subscriber.
    /// Returns the number of subscribers it was queued for (not counting those that lagged).
    pub fn publish(&self, event: &E) -> usize {
        let reg = lock(&self.inner.registry);
        let mut wakers = Vec::new();
        let mut queued = 0;
        for (_, sub) in &reg.subs {
            let mut st = lock(&sub.state);
            if st.unsubscribed || st.ended {
                continue;
            }
            if st.events < self.inner.capacity {
                st.queue.push_back(Delivery::Event(event.clone()));
                st.events += 1;
                queued += 1;
            } else if let Some(Delivery::Lagged(n)) = st.queue.back_mut() {
                *n += 1;
            } else {
                st.queue.push_back(Delivery::Lagged(1));
            }
            if let Some(w) = st.waker.take() {
                wakers.push(w);
            }
        }
        drop(reg);
        for w in wakers {
            w.wake();
        }
        queued
    }

    /// Ends every subscription (they yield what is queued, then `None`) and refuses new ones.
    pub fn close(&self) {
        let subs = {
            let mut reg = lock(&self.inner.registry);
            reg.closed = true;
            std::mem::take(&mut reg.subs)
        };
        for (_, sub) in subs {
            let waker = {
                let mut st = lock(&sub.state);
                st.ended = true;
                st.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// The number of registered, live subscribers.
    pub fn len(&self) -> usize {
        lock(&self.inner.registry).subs.len()
    }

    /// Whether no subscriber is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<E> Inner<E> {
    fn remove(&self, id: u64) {
        let removed = {
            let mut reg = lock(&self.registry);
            reg.subs
                .iter()
                .position(|(i, _)| *i == id)
                .map(|pos| reg.subs.swap_remove(pos))
        };
        drop(removed);
    }
}

/// A weak reference to the registry (`Weak` is spelled differently in loom and std; both
/// have `Arc::downgrade`, so this small trait keeps one call site).
trait DowngradeCompat<T> {
    fn downgrade_compat(this: &Self) -> WeakRegistry<T>;
}

#[cfg(not(loom))]
type WeakRegistry<T> = std::sync::Weak<T>;
#[cfg(loom)]
type WeakRegistry<T> = Option<Arc<T>>;

impl<T> DowngradeCompat<T> for Arc<T> {
    #[cfg(not(loom))]
    fn downgrade_compat(this: &Self) -> WeakRegistry<T> {
        Arc::downgrade(this)
    }
    // loom's Arc has no Weak: hold a strong reference instead (a cycle is impossible: the
    // registry holds `SubShared`, not `Subscription`).
    #[cfg(loom)]
    fn downgrade_compat(this: &Self) -> WeakRegistry<T> {
        Some(this.clone())
    }
}

/// One subscriber's handle: receive with [`recv`](Self::recv) or
/// [`try_recv`](Self::try_recv); unsubscribe explicitly or by dropping it.
#[derive(Debug)]
pub struct Subscription<E: Clone> {
    id: u64,
    shared: Arc<SubShared<E>>,
    registry: WeakRegistry<Inner<E>>,
}

/// The result of [`Subscription::try_recv`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TryRecv<E> {
    /// An entry was ready.
    Ready(Delivery<E>),
    /// Nothing queued right now.
    Empty,
    /// The stream has ended (unsubscribed, or closed and drained).
    Ended,
}

impl<E: Clone> Subscription<E> {
    /// Waits for the next delivery; `None` once the subscription has ended.
    pub fn recv(&mut self) -> SubRecv<'_, E> {
        SubRecv { sub: self }
    }

    /// Takes the next delivery without waiting.
    pub fn try_recv(&mut self) -> TryRecv<E> {
        let mut st = lock(&self.shared.state);
        match pop(&mut st) {
            Some(d) => TryRecv::Ready(d),
            None if st.unsubscribed || st.ended => TryRecv::Ended,
            None => TryRecv::Empty,
        }
    }

    /// Unsubscribes: once this returns, no further event is delivered to this subscription
    /// (queued ones are discarded) and `recv` returns `None`. Idempotent.
    pub fn unsubscribe(&mut self) {
        let waker = {
            let mut st = lock(&self.shared.state);
            st.unsubscribed = true;
            st.queue.clear();
            st.events = 0;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        #[cfg(not(loom))]
        let reg = self.registry.upgrade();
        #[cfg(loom)]
        let reg = self.registry.take();
        if let Some(reg) = reg {
            reg.remove(self.id);
        }
    }
}

fn pop<E>(st: &mut SubState<E>) -> Option<Delivery<E>> {
    if st.unsubscribed {
        return None;
    }
    let d = st.queue.pop_front()?;
    if matches!(d, Delivery::Event(_)) {
        st.events -= 1;
    }
    Some(d)
}

impl<E: Clone> Drop for Subscription<E> {
    fn drop(&mut self) {
        self.unsubscribe();
    }
}

/// The future returned by [`Subscription::recv`].
#[derive(Debug)]
pub struct SubRecv<'a, E: Clone> {
    sub: &'a mut Subscription<E>,
}

impl<E: Clone> Future for SubRecv<'_, E> {
    type Output = Option<Delivery<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        #[cfg(loom)]
        if crate::broken::on(crate::broken::Broken::SubLostWakeup) {
            // Racy: the waker is stored in a second critical section, after the check.
            {
                let mut st = lock(&self.sub.shared.state);
                if let Some(d) = pop(&mut st) {
                    return Poll::Ready(Some(d));
                }
                if st.unsubscribed || st.ended {
                    return Poll::Ready(None);
                }
            }
            lock(&self.sub.shared.state).waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let mut st = lock(&self.sub.shared.state);
        if let Some(d) = pop(&mut st) {
            return Poll::Ready(Some(d));
        }
        if st.unsubscribed || st.ended {
            return Poll::Ready(None);
        }
        crate::register_waker(&mut st.waker, cx);
        Poll::Pending
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::block_on;

    #[test]
    fn every_subscriber_gets_each_event_once_in_order() {
        let subs = Subscribers::new(8);
        let mut a = subs.subscribe();
        let mut b = subs.subscribe();
        for i in 0..3 {
            assert_eq!(subs.publish(&i), 2);
        }
        for s in [&mut a, &mut b] {
            for i in 0..3 {
                assert_eq!(block_on(s.recv()), Some(Delivery::Event(i)));
            }
            assert_eq!(s.try_recv(), TryRecv::Empty);
        }
    }

    #[test]
    fn a_subscriber_only_sees_events_published_after_it_subscribed() {
        let subs = Subscribers::new(8);
        subs.publish(&1);
        let mut a = subs.subscribe();
        subs.publish(&2);
        assert_eq!(a.try_recv(), TryRecv::Ready(Delivery::Event(2)));
    }

    #[test]
    fn an_overflowing_subscriber_gets_a_lagged_marker_where_events_were_lost() {
        let subs = Subscribers::new(2);
        let mut a = subs.subscribe();
        for i in 0..5 {
            subs.publish(&i);
        }
        assert_eq!(a.try_recv(), TryRecv::Ready(Delivery::Event(0)));
        subs.publish(&5);
        assert_eq!(a.try_recv(), TryRecv::Ready(Delivery::Event(1)));
        assert_eq!(a.try_recv(), TryRecv::Ready(Delivery::Lagged(3)));
        assert_eq!(a.try_recv(), TryRecv::Ready(Delivery::Event(5)));
        assert_eq!(a.try_recv(), TryRecv::Empty);
    }

    #[test]
    fn nothing_is_delivered_after_unsubscribe_returns() {
        let subs = Subscribers::new(8);
        let mut a = subs.subscribe();
        subs.publish(&1);
        a.unsubscribe();
        subs.publish(&2);
        assert_eq!(a.try_recv(), TryRecv::Ended);
        assert_eq!(block_on(a.recv()), None);
        assert!(subs.is_empty());
    }

    #[test]
    fn dropping_a_subscription_unregisters_it() {
        let subs = Subscribers::<u8>::new(8);
        let a = subs.subscribe();
        assert_eq!(subs.len(), 1);
        drop(a);
        assert_eq!(subs.len(), 0);
    }

    #[test]
    fn close_lets_subscribers_drain_then_ends_them() {
        let subs = Subscribers::new(8);
        let mut a = subs.subscribe();
        subs.publish(&1);
        subs.close();
        subs.publish(&2);
        assert_eq!(block_on(a.recv()), Some(Delivery::Event(1)));
        assert_eq!(block_on(a.recv()), None);
        let mut late = subs.subscribe();
        assert_eq!(late.try_recv(), TryRecv::Ended);
    }

    #[test]
    fn a_waiting_subscriber_is_woken_by_a_publish_on_another_thread() {
        let subs = Subscribers::new(8);
        let mut a = subs.subscribe();
        let p = subs.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            p.publish(&"e");
        });
        assert_eq!(block_on(a.recv()), Some(Delivery::Event("e")));
        t.join().unwrap();
    }

    #[test]
    fn a_subscription_outliving_its_registry_ends_cleanly() {
        let subs = Subscribers::<u8>::new(8);
        let mut a = subs.subscribe();
        drop(subs);
        assert_eq!(a.try_recv(), TryRecv::Empty);
        a.unsubscribe();
        assert_eq!(a.try_recv(), TryRecv::Ended);
    }
}
