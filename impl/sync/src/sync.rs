//! The synchronisation shim: `loom::sync` under `--cfg loom`, `std::sync` otherwise.
//!
//! Every type in this crate takes its `Arc`, `Mutex` and `Condvar` from here, so that the loom
//! models (run with `RUSTFLAGS="--cfg loom"`) see every shared-memory operation this crate does.
//! Nothing in this crate uses atomics directly: every piece of shared state sits behind one
//! `Mutex`, which keeps the models small and the reasoning local.

#[cfg(loom)]
pub use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning.
///
/// Poisoning only records that some thread panicked while holding the lock. Every critical
/// section in this crate leaves its state consistent at each point where user code could panic
/// (no user callbacks run under a lock, except `Clone`/`Drop` of queued values), so the data is
/// still valid and the other side must keep working (a panicking application thread must not
/// wedge the event loop).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits on `cv`, ignoring poisoning (see [`lock`]).
pub(crate) fn wait<'a, T>(cv: &Condvar, g: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(g)
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
