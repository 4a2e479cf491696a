//! Drives N real [`gossip_core::Core`] state machines over the [`engine`](crate::engine): the
//! datagrams are the core's own encoded bytes, the timers its own `poll_timeout`, the failure
//! detector its own. A run is described by a [`Scenario`] (loadable from JSON) and summarised
//! by a [`CoreReport`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use gossip_core::{Config, Core, Event, GossipMode, NodeId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::engine::{MS, Nanos, NetModel, Network, Queue, SEC};
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

enum Ev {
    Start(u32),
    Timer(u32),
    Deliver {
        from: u32,
        to: u32,
        payload: Vec<u8>,
    },
    Action(usize),
    Write,
}

struct Slot {
    core: Option<Core<ChaCha8Rng>>,
    timer: Option<Duration>,
    generation: u64,
}

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
    queue: Queue<Ev>,
    net: Network,
    rng: ChaCha8Rng,
    slots: Vec<Slot>,
    // measurements
    sent: u64,
    bytes: u64,
    max_datagram: usize,
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

/// The gossip address of node `i`.
pub fn addr(i: usize) -> SocketAddr {
    let i = i as u32 + 1;
    SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8),
        7000,
    ))
}

fn index_of(a: &SocketAddr) -> Option<usize> {
    match a.ip() {
        IpAddr::V4(ip) => {
            let o = ip.octets();
            let i = ((o[1] as u32) << 16) | ((o[2] as u32) << 8) | o[3] as u32;
            (i >= 1).then(|| i as usize - 1)
        }
        IpAddr::V6(_) => None,
    }
}

fn ns(d: Duration) -> Nanos {
    d.as_nanos() as Nanos
}

fn dur(t: Nanos) -> Duration {
    Duration::from_nanos(t)
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
        let mut sim = Self {
            net: Network::new(scenario.net.clone(), n),
            queue: Queue::default(),
            rng: ChaCha8Rng::seed_from_u64(scenario.seed),
            slots: (0..n)
                .map(|_| Slot {
                    core: None,
                    timer: None,
                    generation: 1,
                })
                .collect(),
            sent: 0,
            bytes: 0,
            max_datagram: 0,
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
        };
        // Validate the configuration once, up front.
        let cfg = sim.config(0);
        cfg.validate()
            .map_err(|e| SimError::Invalid(format!("core config: {e}")))?;
        let interval = sim.scenario.gossip_interval_ms * MS;
        for i in 0..n {
            let offset = sim.rng.gen_range(0..interval);
            sim.queue.schedule(offset, Ev::Start(i as u32));
        }
        Ok(sim)
    }

    /// Records every heartbeat arrival of `subject` at every node, and every timer firing.
    pub fn trace_heartbeats(&mut self, subject: usize) {
        let n = self.slots.len();
        self.trace = Some(HeartbeatTrace {
            subject,
            arrivals: vec![Vec::new(); n],
            ticks: vec![Vec::new(); n],
            last_hb: vec![None; n],
        });
    }

    /// The configuration of node `i`.
    pub fn config(&self, i: usize) -> Config {
        let s = &self.scenario;
        let mut c = Config::new(format!("n{i}"), addr(i));
        c.cluster_id = "sim".into();
        c.seeds = (0..s.seeds.min(s.nodes)).map(addr).collect();
        c.generation = self.slots[i].generation;
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

    /// Current virtual time in nanoseconds.
    pub fn now(&self) -> Nanos {
        self.queue.now()
    }

    /// The core of node `i`, if it is running.
    pub fn core(&self, i: usize) -> Option<&Core<ChaCha8Rng>> {
        self.slots[i].core.as_ref()
    }

    fn start(&mut self, i: usize) {
        let cfg = self.config(i);
        let seed = self.rng.r#gen::<u64>();
        let now = dur(self.now());
        let core = Core::new(cfg, ChaCha8Rng::seed_from_u64(seed), now).expect("validated");
        self.slots[i].core = Some(core);
        self.slots[i].timer = None;
        let now = self.now();
        for c in self
            .crashes
            .iter_mut()
            .filter(|c| c.0 == i && c.2.is_none())
        {
            c.2 = Some(now);
        }
        self.flush(i);
    }

    fn crash(&mut self, i: usize) {
        if self.slots[i].core.take().is_some() {
            self.slots[i].timer = None;
            self.crashes.push((i, self.now(), None));
        }
    }

    fn flush(&mut self, i: usize) {
        let now = self.now();
        let Some(core) = self.slots[i].core.as_mut() else {
            return;
        };
        let mut out = Vec::new();
        while let Some(t) = core.poll_transmit() {
            out.push(t);
        }
        let mut suspected = Vec::new();
        while let Some(e) = core.poll_event() {
            if let Event::NodeSuspected { node } = e {
                suspected.push(node);
            }
        }
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
        if let Some(tr) = self.trace.as_mut() {
            let subject = NodeId::new(format!("n{}", tr.subject), addr(tr.subject));
            if let Some(hb) = core.summary(&subject).map(|s| s.heartbeat)
                && tr.last_hb[i] != Some(hb)
            {
                tr.last_hb[i] = Some(hb);
                tr.arrivals[i].push(now);
            }
        }
        let timeout = core.poll_timeout();
        if timeout != self.slots[i].timer {
            self.slots[i].timer = timeout;
            if let Some(t) = timeout {
                self.queue.schedule(ns(t), Ev::Timer(i as u32));
            }
        }
        for node in suspected {
            let Some(s) = index_of(&node.addr) else {
                continue;
            };
            self.suspicions.push((now, i, s));
            if now < self.fp_from {
                continue;
            }
            if self.slots[s].core.is_some() {
                if self.net.connected(i, s) {
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
        for t in out {
            self.sent += 1;
            self.bytes += t.payload.len() as u64;
            self.max_datagram = self.max_datagram.max(t.payload.len());
            let Some(to) = index_of(&t.dst).filter(|&j| j < self.slots.len()) else {
                continue;
            };
            let route = self.net.route(&mut self.rng, i, to);
            let delays = route.delays();
            let mut payload = Some(t.payload);
            for (k, d) in delays.iter().enumerate() {
                let payload = if k + 1 == delays.len() {
                    payload.take().unwrap_or_default()
                } else {
                    payload.clone().unwrap_or_default()
                };
                self.queue.schedule(
                    now + d,
                    Ev::Deliver {
                        from: i as u32,
                        to: to as u32,
                        payload,
                    },
                );
            }
        }
    }

    fn handle(&mut self, at: Nanos, ev: Ev) {
        match ev {
            Ev::Start(i) => self.start(i as usize),
            Ev::Timer(i) => {
                let i = i as usize;
                if self.slots[i].timer.map(ns) == Some(at) && self.slots[i].core.is_some() {
                    self.slots[i].timer = None;
                    if let Some(core) = self.slots[i].core.as_mut() {
                        core.handle_timeout(dur(at));
                    }
                    if let Some(tr) = self.trace.as_mut() {
                        tr.ticks[i].push(at);
                    }
                    self.flush(i);
                }
            }
            Ev::Deliver { from, to, payload } => {
                let to = to as usize;
                if let Some(core) = self.slots[to].core.as_mut() {
                    let _ = core.handle_datagram(addr(from as usize), &payload, dur(at));
                    self.flush(to);
                }
            }
            Ev::Action(k) => {
                let action = self.scenario.actions[k].action.clone();
                self.apply(action);
            }
            Ev::Write => {
                let n = self.slots.len();
                let w = self.scenario.writer.unwrap_or(n / 2).min(n - 1);
                let now = dur(at);
                if let Some(core) = self.slots[w].core.as_mut() {
                    let v = core.set("probe", b"x", now).expect("probe write");
                    let owner = core.id().clone();
                    self.probe = Some((owner, v, at));
                    self.flush(w);
                }
            }
        }
    }

    /// Applies a fault now.
    pub fn apply(&mut self, action: Action) {
        let n = self.slots.len();
        match action {
            Action::Crash { nodes } => {
                for i in nodes.into_iter().filter(|&i| i < n) {
                    self.crash(i);
                }
            }
            Action::Restart { nodes } => {
                for i in nodes.into_iter().filter(|&i| i < n) {
                    self.crash(i);
                    self.slots[i].generation += 1;
                    self.start(i);
                }
            }
            Action::Partition { groups } => self.net.partition(&groups),
            Action::Heal => self.net.heal(),
            Action::SetLoss { loss } => self.net.model.loss = loss.clamp(0.0, 1.0),
            Action::SetDuplicate { duplicate } => {
                self.net.model.duplicate = duplicate.clamp(0.0, 1.0)
            }
        }
    }

    /// Runs until virtual time `until` (ns).
    pub fn run_until(&mut self, until: Nanos) {
        while let Some((at, ev)) = self.queue.pop_until(until) {
            self.handle(at, ev);
        }
        self.queue.advance_to(until);
    }

    /// Whether every running node has every running node in its view (whatever the status:
    /// at a few hundred nodes some pair is nearly always suspected for a moment, see
    /// docs/results/README.md).
    pub fn membership_converged(&self) -> bool {
        let up: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].core.is_some())
            .collect();
        if up.len() < self.slots.len() && self.now() < self.scenario.gossip_interval_ms * MS {
            return false;
        }
        let ids: Vec<NodeId> = up
            .iter()
            .map(|&i| NodeId::new(format!("n{i}"), addr(i)))
            .collect();
        for &i in &up {
            let core = self.slots[i].core.as_ref().expect("up");
            if core.node_ids().count() < up.len() {
                return false;
            }
        }
        up.iter().all(|&i| {
            let core = self.slots[i].core.as_ref().expect("up");
            ids.iter().all(|id| core.status(id).is_some())
        })
    }

    /// Runs the whole scenario and reports.
    pub fn run(mut self) -> Result<CoreReport, SimError> {
        let step = SEC;
        let limit = (self.scenario.converge_limit_s * SEC as f64) as Nanos;
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
            let at = converged + (a.at_s.max(0.0) * SEC as f64) as Nanos;
            self.queue.schedule(at, Ev::Action(k));
        }
        let write_at = converged + (self.scenario.write_after_s.max(0.0) * SEC as f64) as Nanos;
        self.run_until(write_at);
        let (s0, b0) = (self.sent, self.bytes);
        self.queue.schedule(write_at, Ev::Write);
        let end = write_at + (self.scenario.measure_s.max(0.0) * SEC as f64) as Nanos;
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
        let live: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].core.is_some())
            .collect();
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
            nodes: self.slots.len(),
            seed: self.scenario.seed,
            converged_after_s: converged as f64 / SEC as f64,
            spread,
            msgs_per_node_round: (self.sent - s0) as f64 / denom,
            bytes_per_node_round: (self.bytes - b0) as f64 / denom,
            max_datagram: self.max_datagram,
            fd,
            events: self.queue.processed(),
            vmhwm_kib: crate::engine::peak_memory_kib(),
        }
    }

    /// Every suspicion raised so far: `(time ns, observer, suspected)`.
    pub fn suspicions(&self) -> &[(Nanos, usize, usize)] {
        &self.suspicions
    }

    /// Datagrams sent so far.
    pub fn datagrams_sent(&self) -> u64 {
        self.sent
    }
}
