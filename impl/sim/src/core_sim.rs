//! N real [`gossip_core::Core`] state machines on the [`cluster`](crate::cluster) simulator
//! (the datagrams are the core's own encoded bytes, the timers its own `poll_timeout`, the
//! failure detector its own), driven by a [`Scenario`] (loadable from JSON) and summarised by
//! a [`CoreReport`]: the probe write's spread, traffic and failure detection.

use std::time::Duration;

use gossip_core::{Config, Core, Event, GossipMode, NodeId};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::cluster::{Sim, Stepped, index_of};
use crate::engine::{MS, Nanos, NetModel, SEC};
use crate::error::SimError;

/// A run of the real core, as data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Number of nodes.
    pub nodes: usize,
    /// Seed of every random choice of the run (network, start offsets, the cores' RNGs).
    pub seed: u64,
    /// Gossip interval in milliseconds (one **round**).
    pub gossip_interval_ms: u64,
    /// Peers per round.
    pub fanout: usize,
    /// Exchange variant.
    pub mode: GossipMode,
    /// The core's `max_digest_len` (`None`: the core's default).
    pub max_digest_len: Option<usize>,
    /// The core's `phi_threshold`.
    pub phi_threshold: f64,
    /// The core's `phi_window`. Smaller than the core's default (1,000) to bound memory at
    /// large N: each node keeps a window per known node.
    pub phi_window: usize,
    /// The core's `dead_after`, in seconds.
    pub dead_after_s: f64,
    /// Number of seed nodes (nodes `0..seeds`).
    pub seeds: usize,
    /// The network.
    pub net: NetModel,
    /// Give up if membership has not converged after this many seconds.
    pub converge_limit_s: f64,
    /// Seconds after membership convergence at which node `writer` writes the probe key.
    pub write_after_s: f64,
    /// The writing node (`None`: node `nodes / 2`).
    pub writer: Option<usize>,
    /// Seconds the run continues after the write.
    pub measure_s: f64,
    /// Faults, at times relative to membership convergence.
    pub actions: Vec<TimedAction>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            nodes: 100,
            seed: 1,
            gossip_interval_ms: 1_000,
            fanout: 1,
            mode: GossipMode::PushPull,
            max_digest_len: None,
            phi_threshold: 8.0,
            phi_window: 100,
            dead_after_s: 10.0,
            seeds: 3,
            net: NetModel::default(),
            converge_limit_s: 3_600.0,
            write_after_s: 1.0,
            writer: None,
            measure_s: 60.0,
            actions: Vec::new(),
        }
    }
}

/// A fault injected at `at_s` seconds after membership convergence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedAction {
    /// Seconds after convergence.
    pub at_s: f64,
    /// What happens.
    pub action: Action,
}

/// A fault or repair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// The nodes crash (state lost, datagrams to them dropped).
    Crash {
        /// Node indices.
        nodes: Vec<usize>,
    },
    /// The nodes restart with a new generation and empty state.
    Restart {
        /// Node indices.
        nodes: Vec<usize>,
    },
    /// Datagrams flow only within each listed group (unlisted nodes form one more group).
    Partition {
        /// The groups.
        groups: Vec<Vec<usize>>,
    },
    /// Removes the partition.
    Heal,
    /// Changes the loss probability.
    SetLoss {
        /// New loss probability.
        loss: f64,
    },
    /// Changes the duplication probability.
    SetDuplicate {
        /// New duplication probability.
        duplicate: f64,
    },
}

/// How far one write spread, in rounds (gossip intervals) and seconds after the write.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Live nodes when the run ended.
    pub live_nodes: usize,
    /// Rounds until 50% of the live nodes held the write.
    pub rounds_50: Option<f64>,
    /// Rounds until 99%.
    pub rounds_99: Option<f64>,
    /// Rounds until 100%.
    pub rounds_100: Option<f64>,
    /// Seconds until 50%.
    pub secs_50: Option<f64>,
    /// Seconds until 99%.
    pub secs_99: Option<f64>,
    /// Seconds until 100%.
    pub secs_100: Option<f64>,
}

/// Failure-detection results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FdReport {
    /// (observer, crash) pairs in which the observer, live at the end, suspected the crashed
    /// node before it restarted.
    pub detections: usize,
    /// Pairs that were not detected before the run ended.
    pub undetected: usize,
    /// Mean seconds from crash to suspicion.
    pub mean_latency_s: Option<f64>,
    /// Largest seconds from crash to suspicion.
    pub max_latency_s: Option<f64>,
    /// Suspicions of a running node reachable from the observer (false positives), from
    /// membership convergence on (suspicions while nodes are still joining are not counted).
    pub false_positives: usize,
    /// Suspicions of a running node across a partition (expected, not counted as false).
    pub partition_suspicions: usize,
}

/// The result of one [`Scenario`] run. Identical for identical scenarios (the memory figure
/// aside, which depends on the process).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CoreReport {
    /// Number of nodes.
    pub nodes: usize,
    /// The seed.
    pub seed: u64,
    /// Seconds until membership converged (every node has every node in its view).
    pub converged_after_s: f64,
    /// Spread of the probe write.
    pub spread: Spread,
    /// Datagrams sent per live node per round, from the write to the end.
    pub msgs_per_node_round: f64,
    /// Bytes sent per live node per round, from the write to the end.
    pub bytes_per_node_round: f64,
    /// Largest datagram seen.
    pub max_datagram: usize,
    /// Failure detection.
    pub fd: FdReport,
    /// Events processed by the engine.
    pub events: u64,
    /// Peak resident memory of the process (`VmHWM`, KiB) when the run ended; not part of
    /// the deterministic result.
    #[serde(default)]
    pub vmhwm_kib: Option<u64>,
}

/// The tag of the probe write among the scheduled events (the actions' tags are their
/// indices).
const WRITE: u64 = u64::MAX;

/// Tracing of one subject's heartbeat arrivals at every observer (for the failure-detector
/// comparison in [`crate::phi`]).
#[derive(Clone, Debug, Default)]
pub struct HeartbeatTrace {
    /// The traced node.
    pub subject: usize,
    /// Per observer: times (ns) at which the observer's view of the subject's heartbeat rose,
    /// the first being when the subject entered its view.
    pub arrivals: Vec<Vec<Nanos>>,
    /// Per observer: times (ns) at which its timer fired (`handle_timeout`).
    pub ticks: Vec<Vec<Nanos>>,
    last_hb: Vec<Option<u64>>,
}

/// The simulator for the real core.
pub struct CoreSim {
    /// The scenario.
    pub scenario: Scenario,
    sim: Sim,
    // measurements
    probe: Option<(NodeId, u64, Nanos)>,
    informed: Vec<Option<Nanos>>,
    informed_count: usize,
    /// Crash episodes: `(node, crashed at, restarted at)`.
    crashes: Vec<(usize, Nanos, Option<Nanos>)>,
    /// First suspicion per (observer, crash episode): `(observer, episode, time)`.
    detect: Vec<(usize, usize, Nanos)>,
    false_positives: usize,
    partition_suspicions: usize,
    suspicions: Vec<(Nanos, usize, usize)>,
    fp_from: Nanos,
    /// Heartbeat tracing, if enabled with [`CoreSim::trace_heartbeats`].
    pub trace: Option<HeartbeatTrace>,
}

fn ns(d: Duration) -> Nanos {
    d.as_nanos() as Nanos
}

fn dur(t: Nanos) -> Duration {
    Duration::from_nanos(t)
}

fn secs(s: f64) -> Nanos {
    (s.max(0.0) * SEC as f64) as Nanos
}

/// The configuration of node `i` in `scenario`, generation 1.
fn node_config(s: &Scenario, i: usize) -> Config {
    let mut c = Sim::config(i, &(0..s.seeds.min(s.nodes)).collect::<Vec<_>>());
    c.gossip_interval = Duration::from_millis(s.gossip_interval_ms);
    c.fanout = s.fanout;
    c.mode = s.mode;
    if let Some(d) = s.max_digest_len {
        c.max_digest_len = d;
    }
    c.phi_threshold = s.phi_threshold;
    c.phi_window = s.phi_window;
    c.dead_after = Duration::from_secs_f64(s.dead_after_s);
    c.limits.max_nodes = c.limits.max_nodes.max(s.nodes + 1);
    c
}

impl CoreSim {
    /// Builds the simulation (nothing runs yet). Fails on an invalid scenario.
    pub fn new(scenario: Scenario) -> Result<Self, SimError> {
        let n = scenario.nodes;
        if n < 2 {
            return Err(SimError::Invalid("at least 2 nodes are needed".into()));
        }
        if scenario.gossip_interval_ms == 0 {
            return Err(SimError::Invalid("gossip_interval_ms is 0".into()));
        }
        // Validate the configuration once, up front.
        node_config(&scenario, 0)
            .validate()
            .map_err(|e| SimError::Invalid(format!("core config: {e}")))?;
        let mut sim = Sim::new(scenario.net.clone(), scenario.seed);
        for i in 0..n {
            sim.add_node(node_config(&scenario, i));
        }
        Ok(Self {
            sim,
            probe: None,
            informed: vec![None; n],
            informed_count: 0,
            crashes: Vec::new(),
            detect: Vec::new(),
            false_positives: 0,
            partition_suspicions: 0,
            suspicions: Vec::new(),
            fp_from: Nanos::MAX,
            trace: None,
            scenario,
        })
    }

    /// Records every heartbeat arrival of `subject` at every node, and every timer firing.
    pub fn trace_heartbeats(&mut self, subject: usize) {
        let n = self.sim.nodes.len();
        self.trace = Some(HeartbeatTrace {
            subject,
            arrivals: vec![Vec::new(); n],
            ticks: vec![Vec::new(); n],
            last_hb: vec![None; n],
        });
    }

    /// The configuration of node `i` (with its current generation).
    pub fn config(&self, i: usize) -> Config {
        self.sim.nodes[i].config.clone()
    }

    /// Current virtual time in nanoseconds.
    pub fn now(&self) -> Nanos {
        ns(self.sim.now())
    }

    /// The core of node `i`, if it is running.
    pub fn core(&self, i: usize) -> Option<&Core<ChaCha8Rng>> {
        self.sim.nodes[i].core.as_ref()
    }

    fn crash(&mut self, i: usize) {
        if self.sim.is_up(i) {
            self.sim.crash(i);
            self.crashes.push((i, self.now(), None));
        }
    }

    /// Measures what node `i` just did: its suspicions, whether it holds the probe write, the
    /// traced subject's heartbeat.
    fn observe(&mut self, i: usize) {
        let now = self.now();
        let node = &mut self.sim.nodes[i];
        let Some(core) = node.core.as_ref() else {
            return;
        };
        let suspected: Vec<NodeId> = node
            .events
            .drain(..)
            .filter_map(|e| match e {
                Event::NodeSuspected { node } => Some(node),
                _ => None,
            })
            .collect();
        // The probe write.
        if let Some((owner, version, _)) = &self.probe
            && self.informed[i].is_none()
            && core
                .get(owner, "probe")
                .is_some_and(|e| e.version >= *version)
        {
            self.informed[i] = Some(now);
            self.informed_count += 1;
        }
        if let Some(tr) = self.trace.as_mut()
            && let Some(hb) = core.summary(&Sim::id(tr.subject)).map(|s| s.heartbeat)
            && tr.last_hb[i] != Some(hb)
        {
            tr.last_hb[i] = Some(hb);
            tr.arrivals[i].push(now);
        }
        for node in suspected {
            let Some(s) = index_of(&node.addr) else {
                continue;
            };
            self.suspicions.push((now, i, s));
            if now < self.fp_from {
                continue;
            }
            if self.sim.is_up(s) {
                if self.sim.net.connected(i, s) {
                    self.false_positives += 1;
                } else {
                    self.partition_suspicions += 1;
                }
            } else if let Some(ep) = self.crashes.iter().rposition(|c| c.0 == s && c.2.is_none())
                && !self.detect.iter().any(|&(o, e, _)| o == i && e == ep)
            {
                self.detect.push((i, ep, now));
            }
        }
    }

    fn write(&mut self) {
        let n = self.sim.nodes.len();
        let w = self.scenario.writer.unwrap_or(n / 2).min(n - 1);
        if self.sim.is_up(w) {
            let at = self.now();
            let (owner, v) = self.sim.with_core(w, |core, now| {
                let v = core.set("probe", b"x", now).expect("probe write");
                (core.id().clone(), v)
            });
            self.probe = Some((owner, v, at));
            self.observe(w);
        }
    }

    /// Applies a fault now.
    pub fn apply(&mut self, action: Action) {
        let n = self.sim.nodes.len();
        match action {
            Action::Crash { nodes } => {
                for i in nodes.into_iter().filter(|&i| i < n) {
                    self.crash(i);
                }
            }
            Action::Restart { nodes } => {
                for i in nodes.into_iter().filter(|&i| i < n) {
                    self.crash(i);
                    let generation = self.sim.nodes[i].config.generation + 1;
                    self.sim.restart(i, generation);
                    let now = self.now();
                    for c in self
                        .crashes
                        .iter_mut()
                        .filter(|c| c.0 == i && c.2.is_none())
                    {
                        c.2 = Some(now);
                    }
                    self.observe(i);
                }
            }
            Action::Partition { groups } => self.sim.net.partition(&groups),
            Action::Heal => self.sim.net.heal(),
            Action::SetLoss { loss } => self.sim.net.model.loss = loss.clamp(0.0, 1.0),
            Action::SetDuplicate { duplicate } => {
                self.sim.net.model.duplicate = duplicate.clamp(0.0, 1.0)
            }
        }
    }

    /// Runs until virtual time `until` (ns).
    pub fn run_until(&mut self, until: Nanos) {
        while let Some(step) = self.sim.step_until(dur(until)) {
            match step {
                Stepped::Started(i) | Stepped::Received(i) => self.observe(i),
                Stepped::Ticked(i) => {
                    let now = self.now();
                    if let Some(tr) = self.trace.as_mut() {
                        tr.ticks[i].push(now);
                    }
                    self.observe(i);
                }
                Stepped::App(WRITE) => self.write(),
                Stepped::App(k) => {
                    let action = self.scenario.actions[k as usize].action.clone();
                    self.apply(action);
                }
                Stepped::Nothing => {}
            }
        }
        self.sim.advance_to(dur(until));
    }

    /// Whether every running node has every running node in its view (whatever the status:
    /// at a few hundred nodes some pair is nearly always suspected for a moment, see
    /// docs/results/README.md).
    pub fn membership_converged(&self) -> bool {
        let up: Vec<usize> = self.sim.up().collect();
        if up.len() < self.sim.nodes.len() && self.now() < self.scenario.gossip_interval_ms * MS {
            return false;
        }
        let ids: Vec<NodeId> = up.iter().map(|&i| Sim::id(i)).collect();
        if up
            .iter()
            .any(|&i| self.sim.core(i).node_ids().count() < up.len())
        {
            return false;
        }
        up.iter().all(|&i| {
            let core = self.sim.core(i);
            ids.iter().all(|id| core.status(id).is_some())
        })
    }

    /// Runs the whole scenario and reports.
    pub fn run(mut self) -> Result<CoreReport, SimError> {
        let step = SEC;
        let limit = secs(self.scenario.converge_limit_s);
        let mut t = 0;
        loop {
            t += step;
            self.run_until(t);
            if self.membership_converged() {
                break;
            }
            if t >= limit {
                return Err(SimError::NoConvergence(self.scenario.converge_limit_s));
            }
        }
        let converged = t;
        self.fp_from = converged;
        for (k, a) in self.scenario.actions.iter().enumerate() {
            self.sim.schedule(dur(converged + secs(a.at_s)), k as u64);
        }
        let write_at = converged + secs(self.scenario.write_after_s);
        self.run_until(write_at);
        let (s0, b0) = (self.sim.stats.sent, self.sim.stats.bytes);
        self.sim.schedule(dur(write_at), WRITE);
        let end = write_at + secs(self.scenario.measure_s);
        self.run_until(end);
        Ok(self.report(converged, write_at, end, s0, b0))
    }
    fn report(
        &self,
        converged: Nanos,
        write_at: Nanos,
        end: Nanos,
        s0: u64,
        b0: u64,
    ) -> CoreReport {
        let interval = (self.scenario.gossip_interval_ms * MS) as f64;
        let live: Vec<usize> = self.sim.up().collect();
        let mut times: Vec<Nanos> = live
            .iter()
            .filter_map(|&i| self.informed[i])
            .map(|t| t.saturating_sub(write_at))
            .collect();
        times.sort_unstable();
        let at_frac = |f: f64| -> Option<Nanos> {
            let need = ((live.len() as f64) * f).ceil().max(1.0) as usize;
            times.get(need - 1).copied()
        };
        let secs = |t: Option<Nanos>| t.map(|t| t as f64 / SEC as f64);
        let rounds = |t: Option<Nanos>| t.map(|t| t as f64 / interval);
        let spread = Spread {
            live_nodes: live.len(),
            rounds_50: rounds(at_frac(0.5)),
            rounds_99: rounds(at_frac(0.99)),
            rounds_100: rounds(at_frac(1.0)),
            secs_50: secs(at_frac(0.5)),
            secs_99: secs(at_frac(0.99)),
            secs_100: secs(at_frac(1.0)),
        };
        let round_count = (end - write_at) as f64 / interval;
        let denom = (live.len() as f64 * round_count).max(1.0);
        // Failure detection: every (live observer, crashed node) pair.
        let mut lat = Vec::new();
        let mut undetected = 0;
        for (ep, &(c, tc, _)) in self.crashes.iter().enumerate() {
            for &o in live.iter().filter(|&&o| o != c) {
                match self.detect.iter().find(|&&(oo, e, _)| oo == o && e == ep) {
                    Some(&(_, _, t)) => lat.push((t - tc) as f64 / SEC as f64),
                    None => undetected += 1,
                }
            }
        }
        let fd = FdReport {
            detections: lat.len(),
            undetected,
            mean_latency_s: (!lat.is_empty()).then(|| lat.iter().sum::<f64>() / lat.len() as f64),
            max_latency_s: lat.iter().copied().reduce(f64::max),
            false_positives: self.false_positives,
            partition_suspicions: self.partition_suspicions,
        };
        CoreReport {
            nodes: self.sim.nodes.len(),
            seed: self.scenario.seed,
            converged_after_s: converged as f64 / SEC as f64,
            spread,
            msgs_per_node_round: (self.sim.stats.sent - s0) as f64 / denom,
            bytes_per_node_round: (self.sim.stats.bytes - b0) as f64 / denom,
            max_datagram: self.sim.stats.max_datagram,
            fd,
            events: self.sim.processed(),
            vmhwm_kib: crate::engine::peak_memory_kib(),
        }
    }

    /// Every suspicion raised so far: `(time ns, observer, suspected)`.
    pub fn suspicions(&self) -> &[(Nanos, usize, usize)] {
        &self.suspicions
    }

    /// Datagrams sent so far.
    pub fn datagrams_sent(&self) -> u64 {
        self.sim.stats.sent
    }
}
