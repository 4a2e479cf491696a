//! The core's phi-accrual failure detector measured against its own formula.
//!
//! The core computes `φ(t) = -log10(P_later(t - last))` with inter-arrival times modelled as a
//! normal distribution `N(mean, max(std, min_std_dev))` over the last `phi_window` intervals
//! (logistic approximation of the CDF), and checks it on every timer tick. This module uses
//! that formula ([`gossip_core::fd::phi`], docs/spec/node.md §7) to *predict*, from the heartbeat
//! arrivals traced in the simulator, when each observer should suspect a crashed node, and how
//! many false suspicions a threshold should cause if the arrivals were normal; the runs
//! measure what the core actually does.

use std::time::Duration;

use gossip_core::fd::{interval_stats, phi};
use serde::{Deserialize, Serialize};

use crate::core_sim::{Action, CoreSim, Scenario};
use crate::engine::{Nanos, NetModel, SEC};
use crate::error::SimError;

/// Mean and (floored) standard deviation of the last `window` intervals of `arrivals`, as the
/// core computes them ([`gossip_core::fd::interval_stats`]: initial estimate `initial`, std
/// `initial / 4`, before any interval).
pub fn window_stats(
    arrivals: &[Nanos],
    window: usize,
    initial: Duration,
    min_std: Duration,
) -> (f64, f64) {
    let iv: Vec<f64> = arrivals
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / SEC as f64)
        .collect();
    let iv = &iv[iv.len().saturating_sub(window)..];
    let sum = iv.iter().sum::<f64>();
    let sum_sq = iv.iter().map(|x| x * x).sum::<f64>();
    interval_stats(iv.len(), sum, sum_sq, initial, min_std)
}

/// One row of the detection-latency table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectionRow {
    /// φ threshold.
    pub threshold: f64,
    /// Loss probability.
    pub loss: f64,
    /// Observers that suspected the crashed node.
    pub observers: usize,
    /// Mean measured seconds from the last heartbeat arrival to suspicion.
    pub measured_s: f64,
    /// Mean seconds predicted by the formula (first tick with φ ≥ threshold).
    pub predicted_s: f64,
    /// Observers whose suspicion came at exactly the predicted tick.
    pub exact: usize,
    /// Mean heartbeat inter-arrival seconds seen by the observers.
    pub mean_interval_s: f64,
    /// Mean floored standard deviation.
    pub std_s: f64,
}

fn fd_scenario(n: usize, threshold: f64, loss: f64, seed: u64) -> Scenario {
    Scenario {
        nodes: n,
        seed,
        phi_threshold: threshold,
        net: NetModel {
            loss,
            ..NetModel::default()
        },
        dead_after_s: 1e6,
        ..Scenario::default()
    }
}

/// Crashes node 0 of an `n`-node cluster after `warmup_s` seconds and compares, for every
/// observer, the tick at which it suspected node 0 with the tick the formula predicts from the
/// heartbeat arrivals it saw.
pub fn detection(
    n: usize,
    threshold: f64,
    loss: f64,
    seed: u64,
    warmup_s: u64,
) -> Result<DetectionRow, SimError> {
    let sc = fd_scenario(n, threshold, loss, seed);
    let (window, initial, min_std) = {
        let c = gossip_core::Config::new("x", crate::cluster::addr(0));
        (sc.phi_window, c.initial_interval_estimate, c.min_std_dev)
    };
    let mut sim = CoreSim::new(sc)?;
    sim.trace_heartbeats(0);
    let crash_at = warmup_s * SEC;
    sim.run_until(crash_at);
    sim.apply(Action::Crash { nodes: vec![0] });
    sim.run_until(crash_at + 300 * SEC);
    let trace = sim.trace.clone().expect("traced");
    let (mut meas, mut pred, mut exact, mut count, mut means, mut stds) =
        (0.0, 0.0, 0, 0, 0.0, 0.0);
    for o in 1..n {
        let Some(&(t_sus, _, _)) = sim
            .suspicions()
            .iter()
            .find(|&&(t, obs, s)| obs == o && s == 0 && t >= crash_at)
        else {
            continue;
        };
        // Heartbeats of the crashed node keep arriving for a few rounds after the crash (its
        // last values are still spreading): every arrival before the suspicion counts.
        let arrivals: Vec<Nanos> = trace.arrivals[o]
            .iter()
            .copied()
            .filter(|&t| t < t_sus)
            .collect();
        let Some(&last) = arrivals.last() else {
            continue;
        };
        let (mean, std) = window_stats(&arrivals, window, initial, min_std);
        let predicted = trace.ticks[o]
            .iter()
            .copied()
            .filter(|&t| t > last)
            .find(|&t| phi((t - last) as f64 / SEC as f64, mean, std) >= threshold);
        let Some(predicted) = predicted else { continue };
        count += 1;
        exact += (predicted == t_sus) as usize;
        meas += (t_sus - last) as f64 / SEC as f64;
        pred += (predicted - last) as f64 / SEC as f64;
        means += mean;
        stds += std;
    }
    let c = count.max(1) as f64;
    Ok(DetectionRow {
        threshold,
        loss,
        observers: count,
        measured_s: meas / c,
        predicted_s: pred / c,
        exact,
        mean_interval_s: means / c,
        std_s: stds / c,
    })
}

/// One row of the false-positive table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FalsePositiveRow {
    /// φ threshold.
    pub threshold: f64,
    /// Loss probability.
    pub loss: f64,
    /// Observed (observer, subject) heartbeat intervals, estimated from one traced subject.
    pub intervals: f64,
    /// Suspicions of running nodes measured.
    pub measured: usize,
    /// Suspicions the formula expects if inter-arrival times were normal: one per
    /// `10^threshold` intervals.
    pub predicted: f64,
}

/// Runs an `n`-node cluster without crashes for `secs` seconds and counts suspicions of
/// running nodes.
pub fn false_positives(
    n: usize,
    threshold: f64,
    loss: f64,
    seed: u64,
    secs: u64,
) -> Result<FalsePositiveRow, SimError> {
    let sc = fd_scenario(n, threshold, loss, seed);
    let mut sim = CoreSim::new(sc)?;
    sim.trace_heartbeats(1);
    // Warm up the detectors for 30 s, then count.
    sim.run_until(30 * SEC);
    let before = sim.suspicions().len();
    let arrivals_before: usize = sim
        .trace
        .as_ref()
        .map_or(0, |t| t.arrivals.iter().map(Vec::len).sum());
    sim.run_until((30 + secs) * SEC);
    let measured = sim.suspicions().len() - before;
    let arrivals_after: usize = sim
        .trace
        .as_ref()
        .map_or(0, |t| t.arrivals.iter().map(Vec::len).sum());
    // Intervals about one subject at all observers, times n subjects.
    let intervals = (arrivals_after - arrivals_before) as f64 * n as f64;
    Ok(FalsePositiveRow {
        threshold,
        loss,
        intervals,
        measured,
        predicted: intervals * 10f64.powf(-threshold),
    })
}
