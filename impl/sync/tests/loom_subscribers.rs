//! Loom model 3: the event loop delivers events (through the production [`Outbox`]: view
//! first, then events) while one subscriber receives them all and another subscribes,
//! receives, and unsubscribes concurrently; then the loop stops and ends the subscriptions.
//!
//! Proves: a live subscriber gets every event exactly once, in order, then the end of the
//! stream (no duplicate, none lost, no missed wake-up); a subscriber gets every event whose
//! publication starts after its `subscribe` returned, starting with the first such event;
//! after `unsubscribe` returns nothing more is delivered to it and it is out of the registry;
//! and a subscriber reacting to an event already finds it in the published view.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p gossip-sync --release --test loom_subscribers`
#![cfg(loom)]

mod loom_support;

use gossip_sync::broken::Broken;
use gossip_sync::{Arc, Delivery, Outbox, Subscribers, TryRecv, ViewCell};
use loom::future::block_on;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use loom_support::{Core, Outcomes, Snap, expect_caught, model};

static OUTCOMES: Outcomes<6> = Outcomes::new([
    "b-first-none",
    "b-first-event-1",
    "b-first-event-2",
    "b-subscribed-before-event-1",
    "b-subscribed-before-event-2-only",
    "b-unsubscribed-before-a-publish",
]);

fn subscribe_unsubscribe_while_delivering() {
    let view = Arc::new(ViewCell::new(Arc::new(Snap::default())));
    let subs = Subscribers::<u64>::new(2);
    let b_subscribed = Arc::new(AtomicBool::new(false));
    let b_unsubscribed = Arc::new(AtomicBool::new(false));

    // A: subscribed before the loop starts; receives everything, then the end.
    let mut a = subs.subscribe();
    let ta = {
        let view = view.clone();
        thread::spawn(move || {
            for i in 1..=2u64 {
                assert_eq!(
                    block_on(a.recv()),
                    Some(Delivery::Event(i)),
                    "in order, once"
                );
                assert!(
                    view.load().version >= i,
                    "event {i} delivered before the view showing it"
                );
            }
            assert_eq!(block_on(a.recv()), None, "end of stream after close");
        })
    };

    // B: subscribes concurrently, takes the first delivery, unsubscribes.
    let tb = {
        let (subs, subscribed, unsubscribed) =
            (subs.clone(), b_subscribed.clone(), b_unsubscribed.clone());
        thread::spawn(move || {
            let mut b = subs.subscribe();
            subscribed.store(true, Ordering::Release);
            let first = block_on(b.recv());
            b.unsubscribe();
            unsubscribed.store(true, Ordering::Release);
            assert_eq!(b.try_recv(), TryRecv::Ended, "nothing after unsubscribe");
            assert_eq!(block_on(b.recv()), None, "nothing after unsubscribe");
            first
        })
    };

    // The event loop: two iterations, each applying a delta that yields one event.
    let mut core = Core::default();
    let mut outbox = Outbox::<u64, ()>::new();
    let mut b_must_get = [false; 3];
    for i in 1..=2u64 {
        let version = core.apply_delta(&["k"]);
        assert_eq!(version, i);
        outbox.push_event(version);
        // Read before the publication starts: if set, B's subscribe (or unsubscribe) has
        // returned before this event's publication.
        b_must_get[i as usize] = b_subscribed.load(Ordering::Acquire);
        let b_gone = b_unsubscribed.load(Ordering::Acquire);
        outbox.publish(&view, core.snapshot(), &subs);
        if b_gone {
            OUTCOMES.hit(5);
            assert_eq!(
                subs.len(),
                1,
                "an unsubscribed subscriber is still registered"
            );
        }
    }
    subs.close(); // the stop sequence ends every stream

    let first = tb.join().unwrap();
    ta.join().unwrap();
    OUTCOMES.hit(match first {
        None => 0,
        Some(Delivery::Event(1)) => 1,
        _ => 2,
    });
    if b_must_get[1] {
        OUTCOMES.hit(3);
    } else if b_must_get[2] {
        OUTCOMES.hit(4);
    }
    if b_must_get[1] {
        assert_eq!(first, Some(Delivery::Event(1)), "event 1 lost for B");
    } else if b_must_get[2] {
        assert!(
            matches!(first, Some(Delivery::Event(1 | 2))),
            "event 2 lost for B: got {first:?}"
        );
    } else {
        assert!(matches!(first, None | Some(Delivery::Event(1 | 2))));
    }
}

#[test]
fn subscribers_get_each_event_once_and_nothing_after_unsubscribe() {
    model("subscribers", subscribe_unsubscribe_while_delivering);
    OUTCOMES.check("subscribers", &[]);
}

#[test]
fn broken_subscriber_lost_wakeup_is_caught() {
    expect_caught(
        Broken::SubLostWakeup,
        "subscribers",
        "broken_subscriber_lost_wakeup_is_caught",
        subscribe_unsubscribe_while_delivering,
    );
}

#[test]
fn broken_events_before_view_is_caught() {
    expect_caught(
        Broken::EventsBeforeView,
        "subscribers",
        "broken_events_before_view_is_caught",
        subscribe_unsubscribe_while_delivering,
    );
}
