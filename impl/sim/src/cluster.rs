//! N real [`gossip_core::Core`]s in **virtual time** on the [`engine`](crate::engine)'s seeded
//! network: the one driver behind the core's cluster tests, the examples and
//! [`CoreSim`](crate::core_sim::CoreSim). No sockets, no clock: a run is a function of its seed
//! and its inputs. Loss, duplication, latency and partitions are those of
//! [`Network`]; the datagrams are the cores' own encoded bytes, the timers their own
//! `poll_timeout`.
//!
//! ```
//! use gossip_sim::{NetModel, Sim};
//! use std::time::Duration;
//!
//! let mut sim = Sim::new(NetModel::default(), 7);
//! for i in 0..5 {
//!     sim.add_node(Sim::config(i, &[0]));
//! }
//! sim.run_for(Duration::from_secs(1)); // every node has started
//! sim.set(3, "k", b"v");
//! assert!(sim.run_until(Duration::from_secs(60), |s| s.all_hold(3, "k")));
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use gossip_core::{Config, Core, Event, NodeId, NodeView, Security, Status};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::{Nanos, NetModel, Network, Queue};

/// One simulated node.
pub struct SimNode {
    /// Its core, `None` while crashed or not yet started.
    pub core: Option<Core<ChaCha8Rng>>,
    /// Its configuration (used again on restart).
    pub config: Config,
    /// Its keyring and signing key (used again on restart).
    pub security: Security,
    /// Events it emitted, in order (kept across restarts; a caller may drain them).
    pub events: Vec<Event>,
    timer: Option<Duration>,
    starting: bool,
}

enum Pending {
    Start(usize),
    Timer(usize),
    Deliver {
        from: usize,
        to: usize,
        payload: Vec<u8>,
    },
    /// An event of the caller's, identified by a tag (see [`Sim::schedule`]).
    App(u64),
}

/// What one [`Sim::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stepped {
    /// Node `.0` started (it may have sent datagrams and emitted events).
    Started(usize),
    /// Node `.0`'s timer fired (`handle_timeout`).
    Ticked(usize),
    /// Node `.0` received a datagram (`handle_datagram`).
    Received(usize),
    /// The caller's event with this tag is due (see [`Sim::schedule`]); nothing else was done.
    App(u64),
    /// Nothing: a superseded timer, or a datagram to a node that is down.
    Nothing,
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

/// A function called with `(from, to, payload)` for every datagram sent.
pub type Tap = Box<dyn FnMut(SocketAddr, SocketAddr, &[u8])>;

/// The simulator: nodes, the event queue, the network and the one seeded RNG that decides
/// start offsets, the cores' seeds and every datagram's fate.
pub struct Sim {
    queue: Queue<Pending>,
    /// The nodes, by index.
    pub nodes: Vec<SimNode>,
    by_addr: BTreeMap<SocketAddr, usize>,
    rng: ChaCha8Rng,
    /// The network: its model (may be changed between steps) and partitions.
    pub net: Network,
    /// Network-wide counters.
    pub stats: NetStats,
    /// Called for every datagram sent.
    pub tap: Option<Tap>,
}

fn ns(d: Duration) -> Nanos {
    d.as_nanos().min(Nanos::MAX as u128) as Nanos
}

/// The gossip address of node `i` (10.x.y.z:7000), as used by [`Sim::config`].
pub fn addr(i: usize) -> SocketAddr {
    let i = i as u32 + 1;
    SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8),
        7000,
    ))
}

/// The index `i` of the node at [`addr(i)`](addr), if `a` is such an address.
pub fn index_of(a: &SocketAddr) -> Option<usize> {
    match a.ip() {
        IpAddr::V4(ip) => {
            let o = ip.octets();
            let i = ((o[1] as u32) << 16) | ((o[2] as u32) << 8) | o[3] as u32;
            (i >= 1).then(|| i as usize - 1)
        }
        IpAddr::V6(_) => None,
    }
}

impl Sim {
    /// An empty simulation.
    pub fn new(net: NetModel, seed: u64) -> Self {
        Self {
            queue: Queue::default(),
            nodes: Vec::new(),
            by_addr: BTreeMap::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            net: Network::new(net, 0),
            stats: NetStats::default(),
            tap: None,
        }
    }

    /// The gossip address of node `i` (10.x.y.z:7000).
    pub fn addr(i: usize) -> SocketAddr {
        addr(i)
    }

    /// The id of node `i` as built by [`Sim::config`].
    pub fn id(i: usize) -> NodeId {
        NodeId::new(format!("n{i}"), addr(i))
    }

    /// A default configuration for node `i` (name `n{i}`, cluster `sim`) whose seeds are the
    /// nodes `seeds`.
    pub fn config(i: usize, seeds: &[usize]) -> Config {
        let mut c = Config::new(format!("n{i}"), addr(i));
        c.cluster_id = "sim".into();
        c.seeds = seeds.iter().map(|&s| addr(s)).collect();
        c
    }

    /// A simulation of `n` nodes whose seeds are nodes 0, 1 and 2, each configured by `tweak`.
    pub fn cluster(n: usize, net: NetModel, seed: u64, tweak: impl Fn(&mut Config)) -> Self {
        let mut sim = Self::new(net, seed);
        let seeds: Vec<usize> = (0..n.min(3)).collect();
        for i in 0..n {
            let mut c = Self::config(i, &seeds);
            tweak(&mut c);
            sim.add_node(c);
        }
        sim
    }

    /// Current virtual time.
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.queue.now())
    }

    /// Events processed so far.
    pub fn processed(&self) -> u64 {
        self.queue.processed()
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
        let interval = ns(config.gossip_interval);
        let offset = if interval == 0 {
            0
        } else {
            self.rng.gen_range(0..interval)
        };
        self.nodes.push(SimNode {
            core: None,
            config,
            security,
            events: Vec::new(),
            timer: None,
            starting: true,
        });
        self.net.add_node();
        self.queue
            .schedule(self.queue.now() + offset, Pending::Start(i));
        i
    }

    /// Schedules the caller's event `tag` at virtual time `at`: [`Sim::step`] returns
    /// [`Stepped::App`] with it, in order with the network's events.
    pub fn schedule(&mut self, at: Duration, tag: u64) {
        self.queue.schedule(ns(at), Pending::App(tag));
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
        let now = self.now();
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

    /// Restarts node `i` now with `generation` (must exceed the previous ones) and empty
    /// state.
    pub fn restart(&mut self, i: usize, generation: u64) {
        self.crash(i);
        self.nodes[i].config.generation = generation;
        self.start(i);
    }

    fn start(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let seed = self.rng.r#gen::<u64>();
        let core = Core::with_security(
            node.config.clone(),
            node.security.clone(),
            ChaCha8Rng::seed_from_u64(seed),
            Duration::from_nanos(self.queue.now()),
        )
        .expect("valid config");
        node.core = Some(core);
        node.timer = None;
        node.starting = false;
        self.flush(i);
    }

    /// Puts node `i` in partition group `group`: datagrams only flow within a group.
    pub fn set_group(&mut self, i: usize, group: u32) {
        self.net.set_group(i, group);
    }

    /// Puts every node back in group 0.
    pub fn heal(&mut self) {
        self.net.heal();
    }

    /// Drains node `i`'s transmits and events, re-arms its timer, and sends the datagrams
    /// through the network (timer first, then the datagrams in order: the order of the
    /// queue's ties).
    fn flush(&mut self, i: usize) {
        let now = self.queue.now();
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
        if timeout != node.timer {
            node.timer = timeout;
            if let Some(t) = timeout {
                self.queue.schedule(ns(t), Pending::Timer(i));
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
            let route = self.net.route(&mut self.rng, i, to);
            let delays = route.delays();
            if delays.is_empty() {
                self.stats.dropped += 1;
            }
            let mut payload = Some(t.payload);
            for (k, d) in delays.iter().enumerate() {
                let payload = if k + 1 == delays.len() {
                    payload.take().unwrap_or_default()
                } else {
                    payload.clone().unwrap_or_default()
                };
                self.queue.schedule(
                    now + d,
                    Pending::Deliver {
                        from: i,
                        to,
                        payload,
                    },
                );
            }
        }
    }

    /// Processes the next pending event if it is due at or before `until`, advancing the
    /// clock to it. `None` when nothing is due.
    pub fn step_until(&mut self, until: Duration) -> Option<Stepped> {
        let (at, p) = self.queue.pop_until(ns(until))?;
        Some(match p {
            Pending::Start(i) => {
                self.start(i);
                Stepped::Started(i)
            }
            Pending::Timer(i) => {
                let node = &mut self.nodes[i];
                match node.core.as_mut() {
                    Some(core) if node.timer.map(ns) == Some(at) => {
                        node.timer = None;
                        core.handle_timeout(Duration::from_nanos(at));
                        self.flush(i);
                        Stepped::Ticked(i)
                    }
                    _ => Stepped::Nothing,
                }
            }
            Pending::Deliver { from, to, payload } => {
                let from = self.nodes[from].config.gossip_addr;
                match self.nodes[to].core.as_mut() {
                    Some(core) => {
                        // Errors are counted in the receiver's stats.
                        let _ = core.handle_datagram(from, &payload, Duration::from_nanos(at));
                        self.flush(to);
                        Stepped::Received(to)
                    }
                    None => {
                        self.stats.dropped += 1;
                        Stepped::Nothing
                    }
                }
            }
            Pending::App(tag) => Stepped::App(tag),
        })
    }

    /// Processes the next pending event. Returns false when nothing is pending.
    pub fn step(&mut self) -> bool {
        self.step_until(Duration::MAX).is_some()
    }

    /// Advances the clock to `t` if it is later (after the events due before it have been
    /// processed with [`Sim::step_until`]).
    pub fn advance_to(&mut self, t: Duration) {
        self.queue.advance_to(ns(t));
    }

    /// Runs until virtual time `now + d`.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now() + d;
        while self.step_until(end).is_some() {}
        self.advance_to(end);
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
        let end = self.now() + limit;
        loop {
            if pred(self) {
                return true;
            }
            if self.now() >= end {
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
        let live = |n: &NodeView| {
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
