//! The phi-accrual failure detector (Hayashibara et al.), fed with heartbeat arrival times
//! (docs/spec/node.md §7). The formula itself, [`phi`] and [`interval_stats`], is public so
//! that tools (gossip-sim's detector comparison) compute exactly what the core computes.

use std::collections::VecDeque;
use std::time::Duration;

/// Inter-arrival statistics of one node's heartbeats.
#[derive(Clone, Debug)]
pub(crate) struct PhiDetector {
    intervals: VecDeque<f64>,
    sum: f64,
    sum_sq: f64,
    last_arrival: Duration,
}

impl PhiDetector {
    /// A detector whose first "arrival" is `now`.
    pub(crate) fn new(now: Duration) -> Self {
        Self {
            intervals: VecDeque::new(),
            sum: 0.0,
            sum_sq: 0.0,
            last_arrival: now,
        }
    }

    /// Records a heartbeat arrival.
    pub(crate) fn heartbeat(&mut self, now: Duration, window: usize) {
        let interval = now.saturating_sub(self.last_arrival).as_secs_f64();
        self.last_arrival = now;
        self.intervals.push_back(interval);
        self.sum += interval;
        self.sum_sq += interval * interval;
        while self.intervals.len() > window {
            if let Some(old) = self.intervals.pop_front() {
                self.sum -= old;
                self.sum_sq -= old * old;
            }
        }
    }

    /// φ at `now`: `-log10(P(no heartbeat for this long))`, with inter-arrival times modelled as
    /// a normal distribution (logistic approximation of its CDF, as in Akka and Cassandra).
    pub(crate) fn phi(&self, now: Duration, initial: Duration, min_std_dev: Duration) -> f64 {
        let elapsed = now.saturating_sub(self.last_arrival).as_secs_f64();
        if !self.intervals.is_empty() && elapsed * (self.intervals.len() as f64) <= self.sum {
            // Not later than the mean interval: φ ≤ log10(2), far below any useful threshold.
            return 0.0;
        }
        let (mean, std_dev) = interval_stats(
            self.intervals.len(),
            self.sum,
            self.sum_sq,
            initial,
            min_std_dev,
        );
        phi(elapsed, mean, std_dev)
    }
}

/// The mean and the floored standard deviation of a window of `n` inter-arrival intervals
/// (seconds) of sum `sum` and sum of squares `sum_sq` (docs/spec/node.md §7): with no interval
/// yet, `initial` and `initial / 4`; else `sum / n` and `sqrt(max(0, sum_sq / n - mean²))`;
/// the standard deviation is then raised to at least `min_std_dev` and 1 ms.
pub fn interval_stats(
    n: usize,
    sum: f64,
    sum_sq: f64,
    initial: Duration,
    min_std_dev: Duration,
) -> (f64, f64) {
    let (mean, std_dev) = if n == 0 {
        let m = initial.as_secs_f64();
        (m, m / 4.0)
    } else {
        let n = n as f64;
        let mean = sum / n;
        let var = (sum_sq / n - mean * mean).max(0.0);
        (mean, var.sqrt())
    };
    (mean, std_dev.max(min_std_dev.as_secs_f64()).max(1e-3))
}

/// φ after `elapsed` seconds of silence when inter-arrival times have mean `mean` and standard
/// deviation `std_dev` (seconds; see [`interval_stats`]): `-log10(P(no heartbeat for this
/// long))`, with the intervals modelled as a normal distribution and its CDF approximated by a
/// logistic function (as in Akka and Cassandra; docs/spec/node.md §7). `+∞` when the
/// probability is not a positive normal double. (The detector returns 0 without calling this
/// when `elapsed` is not later than the mean.)
pub fn phi(elapsed: f64, mean: f64, std_dev: f64) -> f64 {
    let y = (elapsed - mean) / std_dev;
    let e = (-y * (1.5976 + 0.070566 * y * y)).exp();
    let p_later = if elapsed > mean {
        e / (1.0 + e)
    } else {
        1.0 - 1.0 / (1.0 + e)
    };
    if p_later <= f64::MIN_POSITIVE {
        f64::INFINITY
    } else {
        -p_later.log10()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi_grows_with_silence_and_drops_after_a_heartbeat() {
        let mut d = PhiDetector::new(Duration::ZERO);
        for s in 1..=10 {
            d.heartbeat(Duration::from_secs(s), 1000);
        }
        let init = Duration::from_secs(1);
        let min = Duration::from_millis(100);
        let p1 = d.phi(Duration::from_millis(10_500), init, min);
        let p2 = d.phi(Duration::from_secs(13), init, min);
        assert!(p1 < 1.0, "{p1}");
        assert!(p2 > 8.0, "{p2}");
        d.heartbeat(Duration::from_secs(13), 1000);
        assert!(d.phi(Duration::from_secs(13), init, min) < 1.0);
    }

    #[test]
    fn the_window_keeps_only_the_last_intervals() {
        let mut d = PhiDetector::new(Duration::ZERO);
        for s in 1..=5 {
            d.heartbeat(Duration::from_secs(100 * s), 2);
        }
        assert_eq!(d.intervals.len(), 2);
        assert!((d.sum - 200.0).abs() < 1e-9);
    }

    /// φ with the detector's inputs: heartbeats at the given seconds (after a first arrival at
    /// 0), then φ `elapsed` seconds after the last one.
    fn phi_after(arrivals: &[f64], window: usize, elapsed: f64, min_std_dev_ms: u64) -> f64 {
        let mut d = PhiDetector::new(Duration::ZERO);
        for a in arrivals {
            d.heartbeat(Duration::from_secs_f64(*a), window);
        }
        let last = arrivals.last().copied().unwrap_or(0.0);
        d.phi(
            Duration::from_secs_f64(last + elapsed),
            Duration::from_secs(1),
            Duration::from_millis(min_std_dev_ms),
        )
    }

    fn assert_close(got: f64, want: f64) {
        // Times pass through nanosecond `Duration`s: agreement to 1e-6 (relative).
        assert!(
            (got - want).abs() < 1e-6 * want.abs().max(1.0),
            "phi {got}, expected {want}"
        );
    }

    /// Reference values: the formula of the doc comment (logistic approximation of the normal
    /// CDF, `y = (elapsed - mean) / std`, `P = 1 / (1 + exp(y (1.5976 + 0.070566 y²)))`)
    /// evaluated independently in f64 (Python).
    #[test]
    fn phi_matches_the_logistic_approximation_of_the_normal_distribution() {
        // No interval yet: mean = initial (1 s), std = initial / 4; before and after the mean.
        assert_close(phi_after(&[], 1, 0.9, 100), 0.1833896025637761);
        assert_close(phi_after(&[], 1, 1.5, 100), 1.6428278854871123);
        // Intervals 1, 1, 1, 3: mean 1.5, std sqrt(0.75).
        assert_close(
            phi_after(&[1.0, 2.0, 3.0, 6.0], 100, 3.0, 100),
            1.3795044969816468,
        );
        // Regular intervals: std 0, raised to min_std_dev (0.1 s), or to 1 ms if that is 0.
        let ones = [1.0, 2.0, 3.0, 4.0];
        assert_close(phi_after(&ones, 100, 1.2, 100), 1.6428278854871117);
        assert_close(phi_after(&ones, 100, 1.002, 0), 1.6428278854871141);
        assert_close(phi_after(&ones, 100, 2.0, 100), 37.58471305287122);
        // Far in the tail the probability is computed as e / (1 + e), not 1 - 1 / (1 + e)
        // (which rounds to 0 beyond φ ≈ 16): φ stays finite and exact.
        assert_close(phi_after(&ones, 100, 1.8, 100), 21.241600212221336);
        // Beyond f64's range: infinite.
        assert_eq!(phi_after(&ones, 100, 100.0, 100), f64::INFINITY);
        // Not later than the mean interval: exactly 0.
        assert_eq!(phi_after(&ones, 100, 1.0, 100), 0.0);
        assert_eq!(phi_after(&ones, 100, 0.5, 100), 0.0);
    }

    #[test]
    fn the_window_drops_the_oldest_interval_from_the_mean_and_the_variance() {
        // Intervals 1, 1, 5 with a window of 2: 1 and 5 remain (mean 3, std 2).
        assert_close(phi_after(&[1.0, 2.0, 7.0], 2, 5.0, 100), 0.7995083208395598);
        // Intervals 2, 1, 5: the dropped interval's square (4, not 2 or 1) leaves the sums.
        assert_close(phi_after(&[2.0, 3.0, 8.0], 2, 5.0, 100), 0.7995083208395598);
    }
}
