//! The discrete-event engine shared by every protocol in this crate: a binary heap of timed
//! events (ties broken by insertion order, so runs are deterministic) and a seeded network
//! model (per-link latency distributions, loss, duplication, partitions).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Virtual time in nanoseconds since the start of a run.
pub type Nanos = u64;

/// Nanoseconds per millisecond.
pub const MS: Nanos = 1_000_000;
/// Nanoseconds per second.
pub const SEC: Nanos = 1_000_000_000;

struct Entry<E> {
    at: Nanos,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the heap is a max-heap and we want the earliest (then oldest) first.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A priority queue of events in virtual time. Events at the same instant come out in the order
/// they were scheduled.
pub struct Queue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
    now: Nanos,
    processed: u64,
}

impl<E> Default for Queue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
            now: 0,
            processed: 0,
        }
    }
}

impl<E> Queue<E> {
    /// The current virtual time (the time of the last event popped).
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Schedules `event` at `at` (clamped to now: time never goes back).
    pub fn schedule(&mut self, at: Nanos, event: E) {
        self.seq += 1;
        self.heap.push(Entry {
            at: at.max(self.now),
            seq: self.seq,
            event,
        });
    }

    /// Pops the next event if it is due at or before `until`, advancing the clock to it.
    pub fn pop_until(&mut self, until: Nanos) -> Option<(Nanos, E)> {
        if self.heap.peek()?.at > until {
            return None;
        }
        let e = self.heap.pop()?;
        self.now = e.at;
        self.processed += 1;
        Some((e.at, e.event))
    }

    /// Advances the clock to `t` (after the events before it have been popped).
    pub fn advance_to(&mut self, t: Nanos) {
        self.now = self.now.max(t);
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Number of events processed so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }
}

/// A one-way latency distribution, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Latency {
    /// Always `ms`.
    Constant {
        /// The latency.
        ms: f64,
    },
    /// Uniform in `[min_ms, max_ms)`.
    Uniform {
        /// Lower bound.
        min_ms: f64,
        /// Upper bound.
        max_ms: f64,
    },
    /// `min_ms` plus an exponential tail of mean `mean_extra_ms`.
    Exponential {
        /// Propagation floor.
        min_ms: f64,
        /// Mean of the queueing tail.
        mean_extra_ms: f64,
    },
    /// Log-normal with the given median and shape `sigma` (of the underlying normal).
    LogNormal {
        /// Median latency.
        median_ms: f64,
        /// Standard deviation of `ln(latency)`.
        sigma: f64,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Uniform {
            min_ms: 1.0,
            max_ms: 10.0,
        }
    }
}

impl Latency {
    /// Draws one latency.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> Nanos {
        let ms = match *self {
            Latency::Constant { ms } => ms,
            Latency::Uniform { min_ms, max_ms } => {
                if max_ms > min_ms {
                    rng.gen_range(min_ms..max_ms)
                } else {
                    min_ms
                }
            }
            Latency::Exponential {
                min_ms,
                mean_extra_ms,
            } => {
                let u: f64 = rng.r#gen::<f64>();
                min_ms - mean_extra_ms * (1.0 - u).ln()
            }
            Latency::LogNormal { median_ms, sigma } => {
                // Box–Muller.
                let u1: f64 = 1.0 - rng.r#gen::<f64>();
                let u2: f64 = rng.r#gen::<f64>();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                median_ms * (sigma * z).exp()
            }
        };
        (ms.max(0.0) * MS as f64) as Nanos
    }
}

/// The network as data: latency per link (by zone), loss and duplication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetModel {
    /// Latency between nodes of the same zone (all links when `zones` is 1).
    pub latency: Latency,
    /// Number of zones; node `i` is in zone `i % zones`.
    pub zones: usize,
    /// Latency between nodes of different zones (defaults to `latency`).
    pub cross_zone_latency: Option<Latency>,
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram is delivered twice (independent latencies).
    pub duplicate: f64,
}

impl Default for NetModel {
    fn default() -> Self {
        Self {
            latency: Latency::default(),
            zones: 1,
            cross_zone_latency: None,
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

/// The live network: the model plus the current partition (a group per node; datagrams only
/// flow within a group).
#[derive(Clone, Debug)]
pub struct Network {
    /// The model (may be changed during a run).
    pub model: NetModel,
    group: Vec<u32>,
}

/// What the network does with one datagram: deliver it after each of these delays (none if
/// it is lost, two if duplicated).
#[derive(Clone, Copy, Debug, Default)]
pub struct Route {
    delays: [Nanos; 2],
    n: usize,
}

impl Route {
    /// The delivery delays.
    pub fn delays(&self) -> &[Nanos] {
        &self.delays[..self.n]
    }
}

impl Network {
    /// A network of `n` nodes, all in one partition group.
    pub fn new(model: NetModel, n: usize) -> Self {
        Self {
            model,
            group: vec![0; n],
        }
    }

    /// Splits the nodes: `groups[g]` are put in group `g + 1`; nodes not listed stay in group 0.
    pub fn partition(&mut self, groups: &[Vec<usize>]) {
        self.heal();
        for (g, members) in groups.iter().enumerate() {
            for &i in members {
                if let Some(slot) = self.group.get_mut(i) {
                    *slot = g as u32 + 1;
                }
            }
        }
    }

    /// Adds a node (the next index) to group 0.
    pub fn add_node(&mut self) {
        self.group.push(0);
    }

    /// Puts node `i` in partition group `group`.
    pub fn set_group(&mut self, i: usize, group: u32) {
        self.group[i] = group;
    }

    /// Removes every partition.
    pub fn heal(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
    }

    /// Whether `a` and `b` are in the same partition group.
    pub fn connected(&self, a: usize, b: usize) -> bool {
        self.group[a] == self.group[b]
    }

    /// Decides the fate of one datagram from `from` to `to`.
    pub fn route(&self, rng: &mut ChaCha8Rng, from: usize, to: usize) -> Route {
        let mut r = Route::default();
        if !self.connected(from, to) || (self.model.loss > 0.0 && rng.gen_bool(self.model.loss)) {
            return r;
        }
        let copies = if self.model.duplicate > 0.0 && rng.gen_bool(self.model.duplicate) {
            2
        } else {
            1
        };
        let zones = self.model.zones.max(1);
        let lat = match &self.model.cross_zone_latency {
            Some(c) if from % zones != to % zones => c,
            _ => &self.model.latency,
        };
        for _ in 0..copies {
            r.delays[r.n] = lat.sample(rng);
            r.n += 1;
        }
        r
    }
}

/// Peak resident set size of this process (`VmHWM` from `/proc/self/status`, read by
/// `procfs`), in KiB, if available (Linux).
pub fn peak_memory_kib() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        procfs::process::Process::myself()
            .ok()?
            .status()
            .ok()?
            .vmhwm
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Current resident set size (`VmRSS`), in KiB, if available (Linux).
pub fn current_memory_kib() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        procfs::process::Process::myself()
            .ok()?
            .status()
            .ok()?
            .vmrss
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn events_come_out_in_time_order_and_ties_in_insertion_order() {
        let mut q = Queue::default();
        q.schedule(5, 'c');
        q.schedule(1, 'a');
        q.schedule(5, 'd');
        q.schedule(2, 'b');
        let out: Vec<char> = std::iter::from_fn(|| q.pop_until(u64::MAX).map(|e| e.1)).collect();
        assert_eq!(out, vec!['a', 'b', 'c', 'd']);
    }

    #[test]
    fn a_partition_drops_datagrams_between_groups_only() {
        let mut net = Network::new(NetModel::default(), 4);
        net.partition(&[vec![0, 1]]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!(net.route(&mut rng, 0, 2).delays().is_empty());
        assert_eq!(net.route(&mut rng, 0, 1).delays().len(), 1);
        assert_eq!(net.route(&mut rng, 2, 3).delays().len(), 1);
        net.heal();
        assert_eq!(net.route(&mut rng, 0, 2).delays().len(), 1);
    }
}
