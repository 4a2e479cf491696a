//! Loom model 4: shutdown, or a graceful leave, while a write is in flight.
//!
//! One application thread writes (command + reply slot) and then waits, blocking, for the
//! node to stop; another asks for shutdown (or leave) and waits, async, for the node to stop;
//! the event loop applies commands, publishes through the production [`Outbox`], and stops
//! through the production [`Lifecycle::stop`] (close the queue, fail what it hands back,
//! finish, then announce `Stopped`).
//!
//! Proves: every write is either applied (and then in the final view) or reported as failed
//! to its caller (refused at `send`, failed by `close`, or refused while leaving), never
//! both; once a caller observes `Stopped`, its write has been answered; a leave is answered;
//! and nothing deadlocks.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p gossip-sync --release --test loom_shutdown`
#![cfg(loom)]

mod loom_support;

use gossip_sync::broken::Broken;
use gossip_sync::{
    Arc, Canceled, Closed, Lifecycle, Outbox, Phase, Replier, Subscribers, ViewCell, command_queue,
    reply_slot,
};
use loom::future::block_on;
use loom::thread;
use loom_support::{Core, Outcomes, Snap, expect_caught, model};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    /// The node stopped before applying the command.
    Stopped,
    /// The node is leaving; writes are refused (the core's `WriteError::Left`).
    Left,
}

enum Cmd {
    Set(&'static str, Replier<Result<u64, Fail>>),
    Leave(Replier<Result<(), Fail>>),
    Shutdown,
}

impl Cmd {
    /// What the node does with a command it will not apply.
    fn fail(self) {
        match self {
            Cmd::Set(_, r) => r.send(Err(Fail::Stopped)),
            Cmd::Leave(r) => r.send(Err(Fail::Stopped)),
            Cmd::Shutdown => {}
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Stop {
    Shutdown,
    Leave,
}

/// The writer's outcomes, per stop kind (index `how as usize`).
const LABELS: [&str; 5] = [
    "applied",
    "refused-leaving",
    "refused-at-send",
    "failed-by-close",
    "canceled",
];
const CANCELED: usize = 4;
static OUTCOMES: [Outcomes<5>; 2] = [Outcomes::new(LABELS), Outcomes::new(LABELS)];

fn stop_while_writing(how: Stop) {
    let outcomes = &OUTCOMES[how as usize];
    let lifecycle = Lifecycle::new();
    let view = Arc::new(ViewCell::new(Arc::new(Snap::default())));
    let subs = Subscribers::<u64>::new(1);
    let (tx, mut rx) = command_queue::<Cmd>();

    let writer = {
        let (tx, lifecycle, view) = (tx.clone(), lifecycle.clone(), view.clone());
        thread::spawn(move || {
            let (replier, mut waiter) = reply_slot();
            let refused = tx.send(Cmd::Set("w", replier)).is_err();
            // (A refused command is dropped here, which fails its replier: `Canceled`; the
            // node calls `Cmd::fail` instead, giving `Stopped`. Both are "failed".)
            lifecycle.wait_for_blocking(Phase::Stopped);
            let answer = waiter.try_take();
            let applied = view.load().entries.get("w").copied();
            let outcome = match answer {
                Ok(None) => panic!("Stopped observed while the write is still unanswered"),
                Ok(Some(Ok(v))) => {
                    assert_eq!(applied, Some(v), "acknowledged but not applied");
                    0
                }
                Ok(Some(Err(f))) => {
                    assert_eq!(applied, None, "applied but reported as failed");
                    assert!(!refused);
                    match f {
                        Fail::Left => 1,
                        Fail::Stopped => 3,
                    }
                }
                Err(Canceled) => {
                    assert_eq!(applied, None, "applied but reported as failed");
                    if refused { 2 } else { CANCELED }
                }
            };
            outcomes.hit(outcome);
        })
    };

    let stopper = {
        let lifecycle = lifecycle.clone();
        thread::spawn(move || match how {
            Stop::Shutdown => {
                let _ = tx.send(Cmd::Shutdown);
                block_on(lifecycle.wait_for(Phase::Stopped));
            }
            Stop::Leave => {
                let (replier, waiter) = reply_slot();
                if let Err(Closed(cmd)) = tx.send(Cmd::Leave(replier)) {
                    cmd.fail();
                }
                assert_eq!(block_on(waiter), Ok(Ok(())), "the leave is answered");
                assert_eq!(block_on(lifecycle.wait_for(Phase::Stopped)), Phase::Stopped);
            }
        })
    };

    // The event loop.
    let mut core = Core::default();
    let mut outbox = Outbox::<u64, Result<u64, Fail>>::new();
    let mut leave: Option<Replier<Result<(), Fail>>> = None;
    loop {
        let mut next = Some(block_on(rx.recv()).expect("the stopper holds a sender"));
        let mut stop = false;
        while let Some(cmd) = next {
            match cmd {
                Cmd::Set(key, r) => {
                    let res = match leave {
                        Some(_) => Err(Fail::Left),
                        None => Ok(core.set(key)),
                    };
                    outbox.push_reply(r, res);
                }
                Cmd::Leave(r) => {
                    core.apply_delta(&["left-marker"]);
                    lifecycle.advance(Phase::Leaving);
                    leave = Some(r);
                }
                Cmd::Shutdown => stop = true,
            }
            next = if stop { None } else { rx.try_recv() };
        }
        outbox.publish(&view, core.snapshot(), &subs);
        if stop {
            break;
        }
        if let Some(r) = leave.take() {
            // One more iteration while the leave is gossiped (writes that arrived meanwhile
            // are refused with `Left`), then the leave is acknowledged and the loop stops.
            while let Some(cmd) = rx.try_recv() {
                match cmd {
                    Cmd::Set(_, w) => outbox.push_reply(w, Err(Fail::Left)),
                    other => other.fail(),
                }
            }
            outbox.publish(&view, core.snapshot(), &subs);
            r.send(Ok(()));
            break;
        }
    }
    lifecycle.stop(&mut rx, Cmd::fail, || subs.close());

    writer.join().unwrap();
    stopper.join().unwrap();
    assert_eq!(lifecycle.phase(), Phase::Stopped);
}

#[test]
fn shutdown_answers_every_write_without_deadlock() {
    model("shutdown", || stop_while_writing(Stop::Shutdown));
    OUTCOMES[Stop::Shutdown as usize].check("shutdown", &[1, CANCELED]);
}

#[test]
fn leave_answers_every_write_without_deadlock() {
    model("leave", || stop_while_writing(Stop::Leave));
    OUTCOMES[Stop::Leave as usize].check("leave", &[CANCELED]);
}

#[test]
fn broken_send_after_close_is_caught() {
    expect_caught(
        Broken::SendAfterClose,
        "shutdown",
        "broken_send_after_close_is_caught",
        || stop_while_writing(Stop::Shutdown),
    );
}

#[test]
fn broken_stopped_before_close_is_caught() {
    expect_caught(
        Broken::StoppedBeforeClose,
        "shutdown",
        "broken_stopped_before_close_is_caught",
        || stop_while_writing(Stop::Shutdown),
    );
}

#[test]
fn broken_stopped_before_close_is_caught_during_leave() {
    expect_caught(
        Broken::StoppedBeforeClose,
        "leave",
        "broken_stopped_before_close_is_caught_during_leave",
        || stop_while_writing(Stop::Leave),
    );
}
