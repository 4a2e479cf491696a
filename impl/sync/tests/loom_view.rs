//! Loom model 2: a reader takes snapshots of the published view while the event loop
//! republishes it after applying remote deltas (each delta sets two keys at one version).
//!
//! Proves: a reader never sees the epoch or the view's version go backwards, never sees a
//! half-applied delta (both keys of a delta, or neither), and the epoch it is given always
//! belongs to the snapshot it is given (no torn read between epoch and value); a reader that
//! knows (via another thread) of epoch `e` never loads an older snapshot.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p gossip-sync --release --test loom_view`
#![cfg(loom)]

mod loom_support;

use gossip_sync::broken::Broken;
use gossip_sync::{Arc, ViewCell};
use loom::sync::atomic::{AtomicU64, Ordering};
use loom::thread;
use loom_support::{Core, Snap, expect_caught, model};

/// A snapshot is whole: the two keys of every delta carry the same version, and the
/// published version equals the epoch (in this model each publication applies one delta).
fn assert_whole(epoch: u64, snap: &Snap) {
    assert_eq!(
        snap.entries.get("x"),
        snap.entries.get("y"),
        "half-applied delta: {snap:?}"
    );
    assert_eq!(
        epoch, snap.version,
        "torn read: epoch {epoch} with the snapshot of version {}",
        snap.version
    );
}

fn reader_while_republished() {
    let view = Arc::new(ViewCell::new(Arc::new(Snap::default())));
    let reader = {
        let view = view.clone();
        thread::spawn(move || {
            let (e1, s1) = view.load_with_epoch();
            assert_whole(e1, &s1);
            let (e2, s2) = view.load_with_epoch();
            assert_whole(e2, &s2);
            assert!(e2 >= e1, "epoch went backwards: {e1} then {e2}");
            assert!(s2.version >= s1.version, "version went backwards");
            // `load` then `epoch`: the epoch read later is at least the snapshot's.
            let s3 = view.load();
            assert!(
                view.epoch() >= s3.version,
                "epoch behind a snapshot already read"
            );
            assert!(s3.version >= s2.version, "version went backwards");
        })
    };
    // A second reader that learns (through an atomic, Release/Acquire) an epoch the first one
    // has seen: its own later load must not be older (loads are linearisable).
    let seen = Arc::new(AtomicU64::new(0));
    let first = {
        let (view, seen) = (view.clone(), seen.clone());
        thread::spawn(move || {
            let (e, s) = view.load_with_epoch();
            assert_whole(e, &s);
            seen.store(e, Ordering::Release);
        })
    };
    let second = {
        let (view, seen) = (view.clone(), seen.clone());
        thread::spawn(move || {
            let known = seen.load(Ordering::Acquire);
            let (e, s) = view.load_with_epoch();
            assert_whole(e, &s);
            assert!(
                e >= known,
                "older than a snapshot another reader already saw"
            );
        })
    };
    // The event loop: apply a delta, publish; twice.
    let mut core = Core::default();
    for _ in 0..2 {
        core.apply_delta(&["x", "y"]);
        view.publish(core.snapshot());
    }
    for t in [reader, first, second] {
        t.join().unwrap();
    }
    assert_eq!(view.load_with_epoch().0, 2);
}

#[test]
fn a_reader_sees_whole_snapshots_that_never_go_backwards() {
    model("view", reader_while_republished);
}

#[test]
fn broken_torn_publish_is_caught() {
    expect_caught(
        Broken::ViewTornPublish,
        "view",
        "broken_torn_publish_is_caught",
        reader_while_republished,
    );
}
