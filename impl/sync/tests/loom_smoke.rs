//! A smoke model that keeps the `--cfg loom` build of this crate honest (the full models are
//! written separately). Run: `RUSTFLAGS="--cfg loom" cargo test -p gossip-sync --release --test loom_smoke`.
#![cfg(loom)]

use gossip_sync::{Arc, Canceled, ViewCell, command_queue, reply_slot};
use loom::future::block_on;
use loom::thread;

#[test]
fn a_command_racing_close_is_either_received_handed_back_or_refused_and_its_caller_is_answered() {
    loom::model(|| {
        let (tx, mut rx) = command_queue::<(u8, gossip_sync::Replier<u8>)>();
        let (replier, waiter) = reply_slot();
        let sender = thread::spawn(move || match tx.send((1, replier)) {
            Ok(()) => block_on(waiter),
            Err(gossip_sync::Closed((_, r))) => {
                drop(r);
                Err(Canceled)
            }
        });
        if let Some((v, r)) = rx.try_recv() {
            r.send(v);
        }
        for (_, r) in rx.close() {
            drop(r);
        }
        let outcome = sender.join().unwrap();
        assert!(outcome == Ok(1) || outcome == Err(Canceled));
    });
}

#[test]
fn a_reader_never_sees_the_view_epoch_go_backwards() {
    loom::model(|| {
        let cell = Arc::new(ViewCell::new(Arc::new(0u64)));
        let c = cell.clone();
        let reader = thread::spawn(move || {
            let (e1, v1) = c.load_with_epoch();
            let (e2, v2) = c.load_with_epoch();
            assert!(e1 <= e2);
            assert_eq!((e1, e2), (*v1, *v2));
        });
        cell.publish(Arc::new(1));
        cell.publish(Arc::new(2));
        reader.join().unwrap();
    });
}
