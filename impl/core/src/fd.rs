//! The phi-accrual failure detector (Hayashibara et al.), fed with heartbeat arrival times.

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
        let (mean, std) = if self.intervals.is_empty() {
            let m = initial.as_secs_f64();
            (m, m / 4.0)
        } else {
            let n = self.intervals.len() as f64;
            let mean = self.sum / n;
            let var = (self.sum_sq / n - mean * mean).max(0.0);
            (mean, var.sqrt())
        };
        let std = std.max(min_std_dev.as_secs_f64()).max(1e-3);
        let y = (elapsed - mean) / std;
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
}
