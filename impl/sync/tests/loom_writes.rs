//! Loom model 1: two application threads write through the command queue (each with a reply
//! slot; one awaits it, one blocks on it) while the event loop applies the commands and a remote delta, then publishes the
//! view through the production [`Outbox`] (publish, then reply).
//!
//! Proves: every acknowledged write is in the view its writer reads next (read-your-writes),
//! the acknowledged versions are unique, published versions and epochs strictly increase, and
//! nothing deadlocks (the loop's `recv` cannot miss a wake-up).
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p gossip-sync --release --test loom_writes`
#![cfg(loom)]

mod loom_support;

use gossip_sync::broken::Broken;
use gossip_sync::{Arc, Outbox, Replier, Subscribers, ViewCell, command_queue, reply_slot};
use loom::future::block_on;
use loom::thread;
use loom_support::{Core, Outcomes, Snap, expect_caught, model};

enum Cmd {
    Set(&'static str, Replier<u64>),
}

static OUTCOMES: Outcomes<2> = Outcomes::new(["both-writes-in-one-iteration", "two-iterations"]);

fn two_writers_and_a_remote_delta() {
    let view = Arc::new(ViewCell::new(Arc::new(Snap::default())));
    let subs = Subscribers::<u64>::new(1);
    let (tx, mut rx) = command_queue::<Cmd>();

    let writers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|key| {
            let tx = tx.clone();
            let view = view.clone();
            thread::spawn(move || {
                let (replier, waiter) = reply_slot();
                assert!(tx.send(Cmd::Set(key, replier)).is_ok(), "queue open");
                // One writer awaits its reply (`NodeHandle::set`), the other blocks on it
                // (`NodeHandle::set_blocking`, the condvar path).
                let version = if key == "a" {
                    block_on(waiter)
                } else {
                    waiter.wait_blocking()
                }
                .expect("the write is answered");
                let snap = view.load();
                assert_eq!(
                    snap.entries.get(key),
                    Some(&version),
                    "acknowledged write {key}@{version} missing from the view read after the ack"
                );
                assert!(snap.version >= version);
                version
            })
        })
        .collect();
    drop(tx);

    // The event loop (this thread).
    let mut core = Core::default();
    let mut outbox = Outbox::new();
    let (mut applied, mut delta_applied) = (0, false);
    let (mut last_version, mut last_epoch) = (0, 0);
    let mut iterations = 0;
    while applied < 2 {
        let mut next = Some(block_on(rx.recv()).expect("writers still hold senders"));
        while let Some(Cmd::Set(key, replier)) = next {
            let version = core.set(key);
            outbox.push_reply(replier, version);
            applied += 1;
            next = rx.try_recv();
        }
        if !delta_applied {
            core.apply_delta(&["r1", "r2"]);
            delta_applied = true;
        }
        let snap = core.snapshot();
        assert!(snap.version > last_version, "published versions increase");
        last_version = snap.version;
        let epoch = outbox.publish(&view, snap, &subs);
        assert!(epoch > last_epoch, "epochs increase");
        last_epoch = epoch;
        iterations += 1;
    }
    OUTCOMES.hit(iterations - 1);

    let versions: Vec<u64> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    assert_ne!(versions[0], versions[1], "acknowledged versions are unique");
    let fin = view.load();
    assert_eq!(fin.entries.get("a"), Some(&versions[0]));
    assert_eq!(fin.entries.get("b"), Some(&versions[1]));
    assert_eq!(fin.entries.get("r1"), fin.entries.get("r2"));
    assert!(fin.entries.contains_key("r1"));
}

#[test]
fn acknowledged_writes_are_in_the_next_view() {
    model("writes", two_writers_and_a_remote_delta);
    OUTCOMES.check("writes", &[]);
}

#[test]
fn broken_reply_before_publish_is_caught() {
    expect_caught(
        Broken::ReplyBeforePublish,
        "writes",
        "broken_reply_before_publish_is_caught",
        two_writers_and_a_remote_delta,
    );
}

#[test]
fn broken_queue_lost_wakeup_is_caught() {
    expect_caught(
        Broken::QueueLostWakeup,
        "writes",
        "broken_queue_lost_wakeup_is_caught",
        two_writers_and_a_remote_delta,
    );
}
