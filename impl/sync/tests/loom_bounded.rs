//! Loom model 5: the bounded command queue (capacity 1) under backpressure. An application
//! thread sends two commands with `send_async` (the second must wait for room) while the
//! event loop receives; and, in a second model, a sender waiting for room races `close`.
//!
//! Proves: a sender waiting on a full queue is woken by the receiver's `recv` (no deadlock,
//! nothing lost, order kept), and a waiting sender racing `close` gets its command back:
//! every command is received, handed back by `close`, or returned to its sender.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p gossip-sync --release --test loom_bounded`
#![cfg(loom)]

mod loom_support;

use gossip_sync::broken::Broken;
use gossip_sync::{Closed, bounded_command_queue};
use loom::future::block_on;
use loom::thread;
use loom_support::{expect_caught, model};

fn a_sender_waits_for_room_and_the_receiver_wakes_it() {
    let (tx, mut rx) = bounded_command_queue::<u8>(1);
    let sender = thread::spawn(move || {
        block_on(tx.send_async(1)).unwrap();
        block_on(tx.send_async(2)).unwrap();
    });
    let a = block_on(rx.recv());
    let b = block_on(rx.recv());
    assert_eq!((a, b), (Some(1), Some(2)));
    sender.join().unwrap();
}

fn a_waiting_sender_racing_close_gets_its_command_back() {
    let (tx, mut rx) = bounded_command_queue::<u8>(1);
    tx.try_send(1).unwrap();
    let sender = thread::spawn(move || match block_on(tx.send_async(2)) {
        Ok(()) => None,
        Err(Closed(c)) => Some(c),
    });
    let mut seen = Vec::new();
    if let Some(c) = rx.try_recv() {
        seen.push(c);
    }
    seen.extend(rx.close());
    if let Some(c) = sender.join().unwrap() {
        seen.push(c);
    }
    seen.sort_unstable();
    assert_eq!(seen, vec![1, 2], "every command exactly once");
}

#[test]
fn a_sender_blocked_on_a_full_queue_is_woken_by_the_receiver() {
    model(
        "bounded-wakeup",
        a_sender_waits_for_room_and_the_receiver_wakes_it,
    );
}

#[test]
fn a_sender_blocked_on_a_full_queue_racing_close_loses_nothing() {
    model(
        "bounded-close",
        a_waiting_sender_racing_close_gets_its_command_back,
    );
}

#[test]
fn broken_full_lost_wakeup_is_caught() {
    expect_caught(
        Broken::FullLostWakeup,
        "bounded-wakeup",
        "broken_full_lost_wakeup_is_caught",
        a_sender_waits_for_room_and_the_receiver_wakes_it,
    );
}
