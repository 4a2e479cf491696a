//! Throughput comparison with stateright's own breadth-first checker, in the same process.

pub use crate::mem::peak_rss_bytes;
use crate::mem::reset_peak_rss;
use crate::{FairChecker, FairError, FairModel};
use stateright::{Checker, Model};
use std::fmt;
use std::hash::Hash;
use std::time::Instant;

/// The outcome of [`compare_with_stateright`].
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Worker threads given to both checkers.
    pub threads: usize,
    /// Unique states found by this engine.
    pub ours_states: u64,
    /// Edges stored by this engine.
    pub ours_edges: u64,
    /// Wall-clock seconds of this engine (exploration and all property analyses).
    pub ours_seconds: f64,
    /// Unique states per second of this engine (`ours_states / ours_seconds`).
    pub ours_states_per_sec: f64,
    /// Wall-clock seconds of this engine's exploration phase alone (what stateright does,
    /// minus its on-the-fly property checks; ours evaluates the predicates during exploration
    /// too, but runs the liveness analyses afterwards).
    pub ours_explore_seconds: f64,
    /// Stored bytes per state of this engine, excluding edges.
    pub ours_bytes_per_state: f64,
    /// Peak RSS during this engine's run, when the kernel let us reset the high-water mark.
    pub ours_peak_rss: Option<u64>,
    /// Unique states found by stateright's `spawn_bfs`.
    pub stateright_states: u64,
    /// Wall-clock seconds of stateright's `spawn_bfs`.
    pub stateright_seconds: f64,
    /// Unique states per second of stateright.
    pub stateright_states_per_sec: f64,
    /// Peak RSS during stateright's run, when the kernel let us reset the high-water mark.
    pub stateright_peak_rss: Option<u64>,
    /// `ours_states_per_sec / stateright_states_per_sec` (whole run, analyses included).
    pub ratio: f64,
    /// The same ratio for the exploration phase alone.
    pub explore_ratio: f64,
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mb = |b: Option<u64>| b.map_or("n/a".to_string(), |b| format!("{} MiB", b >> 20));
        writeln!(
            f,
            "fair engine : {:>10} states {:>11} edges {:>8.3} s {:>12.0} states/s {:>6.1} B/state (+edges) peak RSS {}",
            self.ours_states,
            self.ours_edges,
            self.ours_seconds,
            self.ours_states_per_sec,
            self.ours_bytes_per_state,
            mb(self.ours_peak_rss)
        )?;
        writeln!(
            f,
            "stateright  : {:>10} states {:>11} {:>8.3} s {:>12.0} states/s peak RSS {}",
            self.stateright_states,
            "",
            self.stateright_seconds,
            self.stateright_states_per_sec,
            mb(self.stateright_peak_rss)
        )?;
        write!(
            f,
            "ratio (fair engine / stateright spawn_bfs, threads={}): {:.2}x whole run, {:.2}x \
             exploration only ({:.3} s)",
            self.threads, self.ratio, self.explore_ratio, self.ours_explore_seconds
        )
    }
}

/// Runs stateright's `spawn_bfs` and then this engine on clones of `model` with the same thread
/// count, and compares unique states per second.
///
/// Stateright stops once every property has a discovery, so give the model at least one
/// property that is never discovered (e.g. an `always` that holds) or the comparison is unfair to
/// us; `stateright_states` versus `ours_states` shows whether both explored the same space.
/// Stateright ignores nothing here (no symmetry, no bounds), and this engine additionally runs
/// its liveness analyses, which are included in `ours_seconds`.
pub fn compare_with_stateright<M>(model: &M, threads: usize) -> Result<Comparison, FairError>
where
    M: FairModel + Clone + Send + Sync + 'static,
    M::State: Hash + Eq + Clone + fmt::Debug + Send + Sync + 'static,
    M::Action: Clone + fmt::Debug + Send + Sync + 'static,
{
    let threads = threads.max(1);
    let can_reset = reset_peak_rss();
    let t = Instant::now();
    let sr = Model::checker(model.clone())
        .threads(threads)
        .spawn_bfs()
        .join();
    let stateright_seconds = t.elapsed().as_secs_f64();
    let stateright_states = sr.unique_state_count() as u64;
    drop(sr);
    let stateright_peak_rss = if can_reset { peak_rss_bytes() } else { None };

    reset_peak_rss();
    let ours = FairChecker::new(model).threads(threads).run()?;
    let ours_peak_rss = if can_reset { peak_rss_bytes() } else { None };
    let ours_states_per_sec = ours.unique_states as f64 / ours.seconds.max(1e-9);
    let stateright_states_per_sec = stateright_states as f64 / stateright_seconds.max(1e-9);
    Ok(Comparison {
        threads,
        ours_states: ours.unique_states,
        ours_edges: ours.edges,
        ours_seconds: ours.seconds,
        ours_states_per_sec,
        ours_explore_seconds: ours.explore_seconds,
        ours_bytes_per_state: ours.bytes_per_state,
        ours_peak_rss,
        stateright_states,
        stateright_seconds,
        stateright_states_per_sec,
        stateright_peak_rss,
        ratio: ours_states_per_sec / stateright_states_per_sec.max(1e-9),
        explore_ratio: stateright_seconds / ours.explore_seconds.max(1e-9)
            * (ours.unique_states as f64 / stateright_states.max(1) as f64),
    })
}
