//! [`ViewCell`]: the published, immutable snapshot of the cluster view.

use crate::sync::{Arc, Mutex, lock};

/// A cell holding the latest published snapshot of a value (the cluster view), RCU style.
///
/// The event loop builds a complete new `T`, wraps it in an `Arc` and [`publish`](Self::publish)es
/// it; readers [`load`](Self::load) the current `Arc` and keep reading it for as long as they
/// like, with no lock held.
///
/// # Guarantees
///
/// * **No half-applied state.** A snapshot is immutable once published (it is behind an `Arc`
///   and `T` is only ever built by the publisher before the call), so a reader sees either the
///   whole of one publication or the whole of another.
/// * **Never backwards.** Every publication is given the next *epoch* (1, 2, ...) under the
///   cell's lock, and loads are linearised by the same lock: if one load returns epoch `e`,
///   every load that starts after it returns an epoch `>= e`, whichever thread it runs on and
///   however many publishers there are.
/// * **Readers never wait for the event loop.** The lock is held only to clone or swap one
///   `Arc` (a reference-count change; the old snapshot is dropped *after* the lock is
///   released), never while the view is built. A reader can wait at most for another such
///   pointer swap.
#[derive(Debug)]
pub struct ViewCell<T> {
    inner: Mutex<Slot<T>>,
}

#[derive(Debug)]
struct Slot<T> {
    epoch: u64,
    value: Arc<T>,
}

impl<T> ViewCell<T> {
    /// Creates a cell whose initial snapshot (epoch 0) is `initial`.
    pub fn new(initial: Arc<T>) -> Self {
        Self {
            inner: Mutex::new(Slot {
                epoch: 0,
                value: initial,
            }),
        }
    }

    /// Publishes `value` as the current snapshot and returns the epoch it was given.
    ///
    /// The previous snapshot stays valid for readers that hold it; it is freed when the last of
    /// them drops it.
    pub fn publish(&self, value: Arc<T>) -> u64 {
        #[cfg(loom)]
        if crate::broken::on(crate::broken::Broken::ViewTornPublish) {
            // Racy: the epoch and the value change in separate critical sections.
            let epoch = {
                let mut slot = lock(&self.inner);
                slot.epoch += 1;
                slot.epoch
            };
            let old = std::mem::replace(&mut lock(&self.inner).value, value);
            drop(old);
            return epoch;
        }
        let (epoch, old) = {
            let mut slot = lock(&self.inner);
            slot.epoch += 1;
            let old = std::mem::replace(&mut slot.value, value);
            (slot.epoch, old)
        };
        // Dropped outside the lock: freeing a large view must not delay readers.
        drop(old);
        epoch
    }

    /// Returns the current snapshot.
    pub fn load(&self) -> Arc<T> {
        lock(&self.inner).value.clone()
    }

    /// Returns the current snapshot together with its epoch (0 for the initial value).
    pub fn load_with_epoch(&self) -> (u64, Arc<T>) {
        let slot = lock(&self.inner);
        (slot.epoch, slot.value.clone())
    }

    /// Returns the epoch of the current snapshot.
    pub fn epoch(&self) -> u64 {
        lock(&self.inner).epoch
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_load_returns_the_latest_publication_and_epochs_increase() {
        let cell = ViewCell::new(Arc::new(0u32));
        assert_eq!(cell.load_with_epoch(), (0, Arc::new(0)));
        assert_eq!(cell.publish(Arc::new(7)), 1);
        assert_eq!(cell.publish(Arc::new(9)), 2);
        assert_eq!(*cell.load(), 9);
        assert_eq!(cell.epoch(), 2);
    }

    #[test]
    fn a_reader_keeps_its_snapshot_after_a_new_publication() {
        let cell = ViewCell::new(Arc::new(vec![1, 2, 3]));
        let old = cell.load();
        cell.publish(Arc::new(vec![4]));
        assert_eq!(*old, vec![1, 2, 3]);
        assert_eq!(*cell.load(), vec![4]);
    }

    #[test]
    fn concurrent_readers_never_see_the_epoch_go_backwards() {
        let cell = Arc::new(ViewCell::new(Arc::new(0u64)));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let cell = cell.clone();
                std::thread::spawn(move || {
                    let mut last = 0;
                    for _ in 0..10_000 {
                        let (e, v) = cell.load_with_epoch();
                        assert!(e >= last);
                        assert_eq!(*v, e, "value and epoch come from one publication");
                        last = e;
                    }
                })
            })
            .collect();
        for i in 1..=10_000u64 {
            assert_eq!(cell.publish(Arc::new(i)), i);
        }
        for r in readers {
            r.join().unwrap();
        }
    }
}
