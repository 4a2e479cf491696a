//! [`Outbox`]: the event loop's "apply, then publish, then notify, then reply" step.

use crate::reply::Replier;
use crate::subscribers::Subscribers;
use crate::sync::Arc;
use crate::view::ViewCell;

/// What one event-loop iteration has applied but not yet made visible: the core's events and
/// the replies to the commands it applied.
///
/// The event loop applies commands and remote deltas to its core, pushing each reply with
/// [`push_reply`](Self::push_reply) and each event with [`push_event`](Self::push_event)
/// instead of sending them at once, then builds one snapshot and calls
/// [`publish`](Self::publish), which makes everything visible in the only order that keeps
/// readers consistent:
///
/// 1. the snapshot is published to the [`ViewCell`];
/// 2. the events are delivered to the [`Subscribers`], so a subscriber that reacts to an
///    event by reading the view sees a snapshot that already contains it;
/// 3. the replies are sent, so a caller whose write was acknowledged reads it back (from any
///    handle of the node): read-your-writes.
///
/// Each step happens-before the next (same thread), and each hand-off is through the
/// receiving side's lock, so a reply or event received on another thread happens-after the
/// publication. This ordering lives here, and not in the node, so that the loom models
/// (`tests/loom_*.rs`) check the code the node runs.
#[derive(Debug)]
pub struct Outbox<E, R> {
    events: Vec<E>,
    replies: Vec<(Replier<R>, R)>,
}

impl<E, R> Default for Outbox<E, R> {
    fn default() -> Self {
        Self {
            events: Vec::new(),
            replies: Vec::new(),
        }
    }
}

impl<E: Clone, R> Outbox<E, R> {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues an event for the next [`publish`](Self::publish).
    pub fn push_event(&mut self, event: E) {
        self.events.push(event);
    }

    /// Queues `reply` to be sent through `replier` after the next [`publish`](Self::publish).
    pub fn push_reply(&mut self, replier: Replier<R>, reply: R) {
        self.replies.push((replier, reply));
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.replies.is_empty()
    }

    /// Publishes `snapshot` (which must reflect everything applied so far), then delivers the
    /// queued events, then sends the queued replies, in the order they were pushed. Returns
    /// the snapshot's epoch. The outbox is empty afterwards.
    pub fn publish<T>(
        &mut self,
        view: &ViewCell<T>,
        snapshot: Arc<T>,
        subs: &Subscribers<E>,
    ) -> u64 {
        #[cfg(loom)]
        if crate::broken::on(crate::broken::Broken::ReplyBeforePublish) {
            self.send_replies();
            let epoch = view.publish(snapshot);
            self.deliver_events(subs);
            return epoch;
        }
        #[cfg(loom)]
        if crate::broken::on(crate::broken::Broken::EventsBeforeView) {
            self.deliver_events(subs);
            let epoch = view.publish(snapshot);
            self.send_replies();
            return epoch;
        }
        let epoch = view.publish(snapshot);
        self.deliver_events(subs);
        self.send_replies();
        epoch
    }

    /// Sends the queued replies without publishing and drops the queued events: for a stop
    /// path that cannot build a consistent snapshot (the loop panicked mid-iteration). The
    /// writes were applied to the core, so their callers are still told so.
    pub fn reply_unpublished(&mut self) {
        self.events.clear();
        self.send_replies();
    }

    fn deliver_events(&mut self, subs: &Subscribers<E>) {
        for ev in self.events.drain(..) {
            subs.publish(&ev);
        }
    }

    fn send_replies(&mut self) {
        for (replier, reply) in self.replies.drain(..) {
            replier.send(reply);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::{Delivery, TryRecv, reply_slot};

    #[test]
    fn a_reply_and_an_event_are_sent_after_the_snapshot_is_published() {
        let view = ViewCell::new(Arc::new(0u32));
        let subs = Subscribers::new(4);
        let mut sub = subs.subscribe();
        let (replier, mut waiter) = reply_slot();
        let mut outbox = Outbox::new();
        outbox.push_event("e");
        outbox.push_reply(replier, 7u64);
        assert!(!outbox.is_empty());
        assert_eq!(waiter.try_take(), Ok(None));
        assert_eq!(outbox.publish(&view, Arc::new(1), &subs), 1);
        assert!(outbox.is_empty());
        assert_eq!(waiter.try_take(), Ok(Some(7)));
        assert_eq!(sub.try_recv(), TryRecv::Ready(Delivery::Event("e")));
        assert_eq!(*view.load(), 1);
    }

    #[test]
    fn reply_unpublished_answers_without_publishing() {
        let view = ViewCell::new(Arc::new(0u32));
        let (replier, waiter) = reply_slot();
        let mut outbox = Outbox::<u8, u8>::new();
        outbox.push_event(1);
        outbox.push_reply(replier, 3);
        outbox.reply_unpublished();
        assert!(outbox.is_empty());
        assert_eq!(waiter.wait_blocking(), Ok(3));
        assert_eq!(view.epoch(), 0);
    }
}
