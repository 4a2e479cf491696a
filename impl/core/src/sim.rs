//! A deterministic multi-node driver in **virtual time** (feature `sim`): N cores connected by
//! a seeded network with loss, duplication, delay and partitions. No sockets, no clock: a run
//! is a function of its seed and its inputs.
//!
//! ```
//! use gossip_core::sim::{NetConfig, Sim};
//! use std::time::Duration;
//!
//! let mut sim = Sim::new(NetConfig::default(), 7);
//! for i in 0..5 {
//!     sim.add_node(Sim::config(i, &[0]));
//! }
//! sim.run_for(Duration::from_secs(1)); // every node has started
//! sim.set(3, "k", b"v");
//! assert!(sim.run_until(Duration::from_secs(60), |s| s.all_hold(3, "k")));
//! ```

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Config, Core, Event, NodeId, Security, Status};

/// Network behaviour.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// Minimum one-way delay.
    pub min_delay: Duration,
    /// Maximum one-way delay (uniform between the two; reordering follows).
    pub max_delay: Duration,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            loss: 0.0,
            duplicate: 0.0,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
        }
    }
}

/// One simulated node.
pub struct SimNode {
    /// Its core, `None` while crashed or not yet started.
    pub core: Option<Core<ChaCha8Rng>>,
    /// Its configuration (used again on restart).
    pub config: Config,
    /// Its keyring and signing key (used again on restart).
    pub security: Security,
    /// Events it emitted, in order (kept across restarts).
    pub events: Vec<Event>,
    timer: Option<Duration>,
    group: u32,
    starting: bool,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    Start(usize),
    Timer(usize),
    Deliver {
        from: SocketAddr,
        to: usize,
        payload: Vec<u8>,
    },
}

/// Network-wide counters.
#[derive(Clone, Debug, Default)]
pub struct NetStats {
    /// Datagrams sent by all nodes.
    pub sent: u64,
    /// Bytes sent by all nodes.
    pub bytes: u64,
    /// Datagrams lost (loss, partition, crashed or unknown receiver).
    pub dropped: u64,
    /// Largest datagram seen.
    pub max_datagram: usize,
}

/// The simulator.
pub struct Sim {
    now: Duration,
    seq: u64,
    /// The nodes, by index.
    pub nodes: Vec<SimNode>,
    by_addr: BTreeMap<SocketAddr, usize>,
    queue: BinaryHeap<Reverse<(Duration, u64, Pending)>>,
    rng: ChaCha8Rng,
    /// Network behaviour (may be changed between steps).
    pub net: NetConfig,
    /// Network-wide counters.
    pub stats: NetStats,
    /// Called with `(from, to, payload)` for every datagram sent.
    #[allow(clippy::type_complexity)]
    pub tap: Option<Box<dyn FnMut(SocketAddr, SocketAddr, &[u8])>>,
}

impl Sim {
    /// An empty simulation.
    pub fn new(net: NetConfig, seed: u64) -> Self {
        Self {
            now: Duration::ZERO,
            seq: 0,
            nodes: Vec::new(),
            by_addr: BTreeMap::new(),
            queue: BinaryHeap::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            net,
            stats: NetStats::default(),
            tap: None,
        }
    }

    /// The gossip address of node `i` (10.x.y.z:7000).
    pub fn addr(i: usize) -> SocketAddr {
        let i = i as u32 + 1;
        SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8),
            7000,
        ))
    }

    /// The id of node `i` as built by [`Sim::config`].
    pub fn id(i: usize) -> NodeId {
        NodeId::new(format!("n{i}"), Self::addr(i))
    }

    /// A default configuration for node `i` (name `n{i}`, cluster `sim`) whose seeds are the
    /// nodes `seeds`.
    pub fn config(i: usize, seeds: &[usize]) -> Config {
        let mut c = Config::new(format!("n{i}"), Self::addr(i));
        c.cluster_id = "sim".into();
        c.seeds = seeds.iter().map(|&s| Self::addr(s)).collect();
        c
    }

    /// Current virtual time.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// Adds a node; it starts after a random offset within one gossip interval. Returns its
    /// index.
    pub fn add_node(&mut self, config: Config) -> usize {
        self.add_secure_node(config, Security::none())
    }

    /// Adds a node using the given security layers (docs/spec/security.md); otherwise as
    /// [`Sim::add_node`].
    pub fn add_secure_node(&mut self, config: Config, security: Security) -> usize {
        let i = self.nodes.len();
        self.by_addr.insert(config.gossip_addr, i);
        let offset = self.jitter(config.gossip_interval);
        self.nodes.push(SimNode {
            core: None,
            config,
            security,
            events: Vec::new(),
            timer: None,
            group: 0,
            starting: true,
        });
        self.push(self.now + offset, Pending::Start(i));
        i
    }

    /// A simulation of `n` nodes whose seeds are nodes 0, 1 and 2, each configured by `tweak`.
    pub fn cluster(n: usize, net: NetConfig, seed: u64, tweak: impl Fn(&mut Config)) -> Self {
        let mut sim = Self::new(net, seed);
        let seeds: Vec<usize> = (0..n.min(3)).collect();
        for i in 0..n {
            let mut c = Self::config(i, &seeds);
            tweak(&mut c);
            sim.add_node(c);
        }
        sim
    }

    fn jitter(&mut self, max: Duration) -> Duration {
        let nanos = max.as_nanos().min(u64::MAX as u128) as u64;
        if nanos == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(self.rng.gen_range(0..nanos))
        }
    }

    fn push(&mut self, at: Duration, p: Pending) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, p)));
    }

    /// The core of node `i` (panics if it is down).
    pub fn core(&self, i: usize) -> &Core<ChaCha8Rng> {
        self.nodes[i].core.as_ref().expect("node is down")
    }

    /// Whether node `i` is running.
    pub fn is_up(&self, i: usize) -> bool {
        self.nodes[i].core.is_some()
    }

    /// Runs `f` on node `i`'s core at the current time, then sends what it produced.
    pub fn with_core<T>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut Core<ChaCha8Rng>, Duration) -> T,
    ) -> T {
        let now = self.now;
        let core = self.nodes[i].core.as_mut().expect("node is down");
        let out = f(core, now);
        self.flush(i);
        out
    }

    /// `set` on node `i`; panics on error. Returns the version.
    pub fn set(&mut self, i: usize, key: &str, value: &[u8]) -> u64 {
        self.with_core(i, |c, now| c.set(key, value, now))
            .expect("set")
    }

    /// `delete` on node `i`; panics on error. Returns the version.
    pub fn delete(&mut self, i: usize, key: &str) -> u64 {
        self.with_core(i, |c, now| c.delete(key, now))
            .expect("delete")
    }

    /// `leave` on node `i`; panics on error. Returns the version.
    pub fn leave(&mut self, i: usize) -> u64 {
        self.with_core(i, |c, now| c.leave(now)).expect("leave")
    }

    /// Crashes node `i`: its state is lost, datagrams to it are dropped.
    pub fn crash(&mut self, i: usize) {
        self.nodes[i].core = None;
        self.nodes[i].timer = None;
    }

    /// Restarts node `i` with `generation` (must exceed the previous ones) and empty state.
    pub fn restart(&mut self, i: usize, generation: u64) {
        self.crash(i);
        self.nodes[i].config.generation = generation;
        let now = self.now;
        self.start(i, now);
    }

    fn start(&mut self, i: usize, now: Duration) {
        let cfg = self.nodes[i].config.clone();
        let sec = self.nodes[i].security.clone();
        let seed = self.rng.r#gen::<u64>();
        let core = Core::with_security(cfg, sec, ChaCha8Rng::seed_from_u64(seed), now)
            .expect("valid config");
        self.nodes[i].core = Some(core);
        self.nodes[i].starting = false;
        self.flush(i);
    }

    /// Puts node `i` in partition group `group`: datagrams only flow within a group.
    pub fn set_group(&mut self, i: usize, group: u32) {
        self.nodes[i].group = group;
    }

    /// Puts every node back in group 0.
    pub fn heal(&mut self) {
        for n in &mut self.nodes {
            n.group = 0;
        }
    }

    /// Drains node `i`'s transmits and events and re-arms its timer.
    fn flush(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let Some(core) = node.core.as_mut() else {
            return;
        };
        let from = core.config().gossip_addr;
        let mut out = Vec::new();
        while let Some(t) = core.poll_transmit() {
            out.push(t);
        }
        while let Some(e) = core.poll_event() {
            node.events.push(e);
        }
        let timeout = core.poll_timeout();
        if timeout != self.nodes[i].timer {
            self.nodes[i].timer = timeout;
            if let Some(t) = timeout {
                self.push(t.max(self.now), Pending::Timer(i));
            }
        }
        for t in out {
            self.stats.sent += 1;
            self.stats.bytes += t.payload.len() as u64;
            self.stats.max_datagram = self.stats.max_datagram.max(t.payload.len());
            if let Some(tap) = self.tap.as_mut() {
                tap(from, t.dst, &t.payload);
            }
            let Some(&to) = self.by_addr.get(&t.dst) else {
                self.stats.dropped += 1;
                continue;
            };
            if self.nodes[to].group != self.nodes[i].group || self.rng.gen_bool(self.net.loss) {
                self.stats.dropped += 1;
                continue;
            }
            let copies = if self.rng.gen_bool(self.net.duplicate) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let span = self.net.max_delay.saturating_sub(self.net.min_delay);
                let delay = self.net.min_delay + self.jitter(span);
                self.push(
                    self.now + delay,
                    Pending::Deliver {
                        from,
                        to,
                        payload: t.payload.clone(),
                    },
                );
            }
        }
    }

    /// Processes the next pending event. Returns false when nothing is pending.
    pub fn step(&mut self) -> bool {
        let Some(Reverse((at, _, p))) = self.queue.pop() else {
            return false;
        };
        self.now = self.now.max(at);
        let now = self.now;
        match p {
            Pending::Start(i) => self.start(i, now),
            Pending::Timer(i) => {
                if self.nodes[i].timer == Some(at) {
                    self.nodes[i].timer = None;
                    if let Some(core) = self.nodes[i].core.as_mut() {
                        core.handle_timeout(now);
                        self.flush(i);
                    }
                }
            }
            Pending::Deliver { from, to, payload } => match self.nodes[to].core.as_mut() {
                Some(core) => {
                    // Errors are counted in the receiver's stats.
                    let _ = core.handle_datagram(from, &payload, now);
                    self.flush(to);
                }
                None => self.stats.dropped += 1,
            },
        }
        true
    }

    /// Runs until virtual time `now + d`.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(Reverse((at, _, _))) = self.queue.peek() {
            if *at > end {
                break;
            }
            self.step();
        }
        self.now = self.now.max(end);
    }

    /// Runs until `pred` holds (checked every 100 ms of virtual time) or `limit` more virtual
    /// time has passed. Returns whether `pred` held.
    pub fn run_until(&mut self, limit: Duration, pred: impl FnMut(&Sim) -> bool) -> bool {
        self.run_until_every(limit, Duration::from_millis(100), pred)
    }

    /// [`Sim::run_until`] checking `pred` every `every` of virtual time.
    pub fn run_until_every(
        &mut self,
        limit: Duration,
        every: Duration,
        mut pred: impl FnMut(&Sim) -> bool,
    ) -> bool {
        let end = self.now + limit;
        loop {
            if pred(self) {
                return true;
            }
            if self.now >= end {
                return false;
            }
            self.run_for(every);
        }
    }

    /// Indices of the running nodes.
    pub fn up(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| self.is_up(i))
    }

    /// Whether every running node holds node `owner`'s current entry for `key` (same version).
    pub fn all_hold(&self, owner: usize, key: &str) -> bool {
        let id = self.core(owner).id().clone();
        let Some(want) = self.core(owner).get(&id, key).map(|e| e.version) else {
            return false;
        };
        self.up()
            .all(|i| self.core(i).get(&id, key).map(|e| e.version) == Some(want))
    }

    /// Whether every running node knows every running node with that node's own generation
    /// and watermark (by the watermark rule, it then holds its state, up to collected
    /// tombstones). Cheap: no entries are compared.
    pub fn converged(&self) -> bool {
        if self.nodes.iter().any(|n| n.starting) {
            return false;
        }
        let up: Vec<usize> = self.up().collect();
        up.iter().all(|&o| {
            let owner = self.core(o);
            let Some(own) = owner.summary(owner.id()) else {
                return false;
            };
            up.iter().all(|&i| {
                self.core(i)
                    .summary(owner.id())
                    .is_some_and(|s| s.generation == own.generation && s.watermark == own.watermark)
            })
        })
    }

    /// Whether every running node's view of every running node holds exactly that node's own
    /// live (non-tombstone) entries, with the same generation and watermark.
    pub fn views_agree(&self) -> bool {
        let live = |n: &crate::NodeView| {
            n.entries
                .iter()
                .filter(|(_, e)| e.value.is_some())
                .map(|(k, e)| (k.clone(), e.clone()))
                .collect::<Vec<_>>()
        };
        let up: Vec<usize> = self.up().collect();
        up.iter().all(|&o| {
            let owner = self.core(o);
            let Some(me) = owner.node(owner.id()) else {
                return false;
            };
            let want = live(&me);
            up.iter().all(|&i| {
                self.core(i).node(owner.id()).is_some_and(|n| {
                    n.generation == me.generation && n.watermark == me.watermark && live(&n) == want
                })
            })
        })
    }

    /// The status every running node other than `subject` gives `subject` (`None` if unknown).
    pub fn statuses_of(&self, subject: &NodeId) -> Vec<Option<Status>> {
        self.up()
            .filter(|&i| self.core(i).id() != subject)
            .map(|i| self.core(i).status(subject))
            .collect()
    }
}
