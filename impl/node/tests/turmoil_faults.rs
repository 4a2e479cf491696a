//! Fault tests over the **real node** (`gossip-node`'s tokio event loop, unchanged) in turmoil's
//! simulated network and time: message loss from 0 to 50 %, duplication, reordering,
//! partitions and healing, crash and restart (bounce) with a new generation, clock jumps, and
//! a graceful leave followed by forgetting.
//!
//! Every scenario runs several turmoil seeds (`GOSSIP_TURMOIL_SEEDS`, default 4; the soak
//! command in docs/reliability.md runs more). While it runs, every node's published snapshot is
//! sampled every 50 ms of simulated time and the model's safety properties
//! (`gossip_model::properties::names`) are checked on consecutive samples and on the final
//! state; after healing, every live node must converge, no acknowledged write may be lost, no
//! deleted key may come back and no forgotten node may reappear.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use gossip_core::{ClusterView, Config, Status};
use gossip_model::properties::names;
use gossip_node::{ClockSkew, Node, NodeConfig, NodeError, NodeHandle, Transport};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PORT: u16 = 7000;
const CLUSTER: &str = "turmoil";

// ---------------------------------------------------------------------------------------------
// The transport: turmoil's UDP socket, plus seeded per-datagram loss and duplication (turmoil's
// own `fail_rate` fails whole links for a while, which is a partition, not loss).

#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    loss: f64,
    duplicate: f64,
}

struct TurmoilTransport {
    socket: turmoil::net::UdpSocket,
    local: SocketAddr,
    faults: Arc<Mutex<Faults>>,
    rng: Mutex<StdRng>,
}

impl Transport for TurmoilTransport {
    fn local_addr(&self) -> SocketAddr {
        self.local
    }

    async fn send_to(&self, payload: &[u8], dst: SocketAddr) -> io::Result<()> {
        let f = *self.faults.lock().unwrap();
        let (lost, dup) = {
            let mut rng = self.rng.lock().unwrap();
            (rng.gen_bool(f.loss), rng.gen_bool(f.duplicate))
        };
        if lost {
            return Ok(());
        }
        // turmoil reports sends to unknown or crashed hosts as errors; UDP would not.
        let _ = self.socket.send_to(payload, dst).await;
        if dup {
            let _ = self.socket.send_to(payload, dst).await;
        }
        Ok(())
    }

    async fn recv_from(&mut self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.socket.recv_from(buf).await
    }
}

// ---------------------------------------------------------------------------------------------
// The cluster: turmoil hosts running `Node::start_with_transport`, driven from the outside by
// stepping the simulation.

/// Node `i`'s address in the simulated network (inside the simulation only).
fn ip(i: usize) -> IpAddr {
    turmoil::lookup(host(i))
}

fn host(i: usize) -> String {
    format!("n{i}")
}

struct Shared {
    handles: BTreeMap<usize, NodeHandle>,
    generations: BTreeMap<usize, u64>,
}

/// One write issued through a node handle.
#[derive(Debug, Clone)]
struct Write {
    node: usize,
    key: String,
    /// `None`: a delete.
    value: Option<Vec<u8>>,
    generation: u64,
    /// The version the node acknowledged, once it did.
    acked: Option<u64>,
}

type Pending = Pin<Box<dyn Future<Output = Result<u64, NodeError>>>>;

/// What a node published at one sample, with the incarnation it belongs to.
#[derive(Clone)]
struct Sample {
    generation: u64,
    view: ClusterView,
}

struct Cluster {
    sim: turmoil::Sim<'static>,
    n: usize,
    shared: Rc<RefCell<Shared>>,
    faults: Arc<Mutex<Faults>>,
    skews: Vec<ClockSkew>,
    up: Vec<bool>,
    writes: Vec<Write>,
    pending: Vec<(usize, Pending)>,
    seq: u64,
    last: BTreeMap<usize, Sample>,
    /// (observer, node, generation, key) → highest version of a tombstone the observer held
    /// and then dropped while keeping that generation.
    dropped: BTreeMap<(usize, String, u64, String), u64>,
    /// (observer, node name) → (generation, heartbeat, left) when the observer forgot it.
    forgotten: BTreeMap<(usize, String), (u64, u64, bool)>,
    violations: BTreeSet<String>,
    samples: u64,
    /// (acknowledged writes, samples) checked by `check_outcomes`.
    checked: (usize, usize),
}

fn node_config(i: usize, n: usize, tweak: &dyn Fn(&mut Config)) -> Config {
    let mut c = Config::new(host(i), SocketAddr::new(ip(i), PORT));
    // (ip() resolves through turmoil: this runs inside the host.)
    c.cluster_id = CLUSTER.into();
    c.seeds = (0..n.min(2))
        .map(|s| SocketAddr::new(ip(s), PORT))
        .collect();
    c.gossip_interval = Duration::from_millis(200);
    c.dead_after = Duration::from_secs(2);
    c.dead_grace_period = Duration::from_secs(8);
    c.tombstone_grace_period = Duration::from_secs(6);
    c.forgotten_retention = Duration::from_secs(3_600);
    tweak(&mut c);
    c
}

impl Cluster {
    fn new(n: usize, seed: u64, tweak: impl Fn(&mut Config) + Clone + 'static) -> Cluster {
        let mut sim = turmoil::Builder::new()
            .rng_seed(seed)
            .simulation_duration(Duration::from_secs(3_600))
            .tick_duration(Duration::from_millis(1))
            .min_message_latency(Duration::from_millis(1))
            .max_message_latency(Duration::from_millis(40))
            .build();
        let shared = Rc::new(RefCell::new(Shared {
            handles: BTreeMap::new(),
            generations: BTreeMap::new(),
        }));
        let faults = Arc::new(Mutex::new(Faults::default()));
        let skews: Vec<ClockSkew> = (0..n).map(|_| ClockSkew::default()).collect();
        for (i, skew) in skews.iter().enumerate() {
            let shared = shared.clone();
            let faults = faults.clone();
            let skew = skew.clone();
            let tweak = tweak.clone();
            sim.host(host(i), move || {
                let shared = shared.clone();
                let faults = faults.clone();
                let skew = skew.clone();
                let tweak = tweak.clone();
                async move {
                    // A new generation on every (re)start, as the data-dir counter gives.
                    let generation = {
                        let mut s = shared.borrow_mut();
                        let g = s.generations.entry(i).or_insert(0);
                        *g += 1;
                        *g
                    };
                    let socket = turmoil::net::UdpSocket::bind(SocketAddr::new(
                        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                        PORT,
                    ))
                    .await?;
                    let transport = TurmoilTransport {
                        local: SocketAddr::new(ip(i), PORT),
                        socket,
                        faults,
                        rng: Mutex::new(StdRng::seed_from_u64(
                            seed * 1_000 + generation * 31 + i as u64,
                        )),
                    };
                    let mut nc = NodeConfig::new(node_config(i, n, &tweak));
                    nc.generation = Some(generation);
                    nc.rng_seed = Some(seed * 100 + i as u64 + generation * 7);
                    nc.clock_skew = skew;
                    let handle = Node::start_with_transport(nc, transport)
                        .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)?;
                    shared.borrow_mut().handles.insert(i, handle.clone());
                    handle.stopped().await;
                    Ok(())
                }
            });
        }
        Cluster {
            sim,
            n,
            shared,
            faults,
            skews,
            up: vec![true; n],
            writes: Vec::new(),
            pending: Vec::new(),
            seq: 0,
            last: BTreeMap::new(),
            dropped: BTreeMap::new(),
            forgotten: BTreeMap::new(),
            violations: BTreeSet::new(),
            samples: 0,
            checked: (0, 0),
        }
    }

    fn handle(&self, i: usize) -> NodeHandle {
        self.shared.borrow().handles[&i].clone()
    }

    fn set_loss(&self, loss: f64) {
        self.faults.lock().unwrap().loss = loss;
    }

    fn set_duplicate(&self, p: f64) {
        self.faults.lock().unwrap().duplicate = p;
    }

    fn partition(&self, a: &[usize], b: &[usize]) {
        for &x in a {
            for &y in b {
                self.sim.partition(host(x), host(y));
            }
        }
    }

    fn heal(&self) {
        for x in 0..self.n {
            for y in x + 1..self.n {
                self.sim.repair(host(x), host(y));
            }
        }
    }

    fn crash(&mut self, i: usize) {
        self.sim.crash(host(i));
        self.up[i] = false;
        self.last.remove(&i);
    }

    fn bounce(&mut self, i: usize) {
        self.sim.bounce(host(i));
        self.up[i] = true;
        self.last.remove(&i);
    }

    fn jump_clock(&self, i: usize, millis: i64) {
        self.skews[i].jump(millis);
    }

    /// Issues `key = value` (or a delete) at node `i`; acknowledged once the node answers.
    fn write(&mut self, i: usize, key: &str, delete: bool) {
        let h = self.handle(i);
        self.seq += 1;
        let value = (!delete).then(|| format!("{}-{}", host(i), self.seq).into_bytes());
        self.writes.push(Write {
            node: i,
            key: key.into(),
            value: value.clone(),
            generation: h.generation(),
            acked: None,
        });
        let idx = self.writes.len() - 1;
        let key = key.to_owned();
        let fut: Pending = match value {
            Some(v) => Box::pin(async move { h.set(key, v).await }),
            None => Box::pin(async move { h.delete(key).await }),
        };
        self.pending.push((idx, fut));
    }

    fn poll_writes(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        let writes = &mut self.writes;
        self.pending
            .retain_mut(|(idx, fut)| match fut.as_mut().poll(&mut cx) {
                Poll::Ready(r) => {
                    writes[*idx].acked = r.ok();
                    false
                }
                Poll::Pending => true,
            });
    }

    /// Runs `d` of simulated time, sampling and checking every 50 ms.
    fn run(&mut self, d: Duration) {
        let end = self.sim.elapsed() + d;
        let mut next_sample = self.sim.elapsed();
        while self.sim.elapsed() < end {
            self.sim.step().expect("a host failed");
            self.poll_writes();
            if self.sim.elapsed() >= next_sample {
                self.sample();
                next_sample += Duration::from_millis(50);
            }
        }
    }

    fn live(&self) -> Vec<usize> {
        (0..self.n)
            .filter(|&i| {
                self.up[i]
                    && self
                        .handle(i)
                        .snapshot()
                        .view
                        .node(self.handle(i).id())
                        .is_some_and(|v| v.left.is_none())
            })
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // the model's safety properties, on consecutive samples of each node

    fn violation(&mut self, name: &str, detail: String) {
        self.violations.insert(format!("{name}: {detail}"));
    }

    fn sample(&mut self) {
        self.samples += 1;
        for x in 0..self.n {
            if !self.up[x] {
                continue;
            }
            let h = self.handle(x);
            let snap = h.snapshot();
            let now = Sample {
                generation: h.generation(),
                view: snap.view.clone(),
            };
            self.check_values(x, &now.view);
            if let Some(before) = self.last.get(&x).cloned()
                && before.generation == now.generation
            {
                self.check_transition(x, &before.view, &now.view);
            }
            self.last.insert(x, now);
        }
    }

    /// NO_INVENTED_VALUE and SAME_VALUE (values are unique per write, so "same value" is
    /// "the value of the acknowledged write at that version").
    fn check_values(&mut self, x: usize, view: &ClusterView) {
        for nv in &view.nodes {
            let owner: usize = nv.id.name[1..].parse().unwrap();
            for (key, e) in &nv.entries {
                let known = self.writes.iter().any(|w| {
                    w.node == owner
                        && w.generation == nv.generation
                        && w.key == *key
                        && w.value == e.value
                        && w.acked.is_none_or(|v| v == e.version)
                });
                if !known {
                    self.violation(
                        names::NO_INVENTED_VALUE,
                        format!(
                            "n{x} holds {}/{key}@{} = {:?}",
                            nv.id.name, e.version, e.value
                        ),
                    );
                }
            }
        }
    }

    /// MONOTONIC, NO_OLDER_GENERATION, NO_ZOMBIE, REVIVAL and NO_RESURRECTION, as
    /// `gossip_model::properties::check_transition` defines them.
    fn check_transition(&mut self, x: usize, b: &ClusterView, a: &ClusterView) {
        for f in &a.forgotten {
            self.forgotten
                .insert((x, f.id.name.clone()), (f.generation, f.heartbeat, f.left));
        }
        for bv in &b.nodes {
            let Some(av) = a.node(&bv.id) else { continue };
            let name = bv.id.name.clone();
            if av.generation < bv.generation {
                self.violation(names::NO_OLDER_GENERATION, format!("n{x} about {name}"));
            } else if av.generation == bv.generation {
                if av.heartbeat < bv.heartbeat || av.watermark < bv.watermark {
                    self.violation(names::MONOTONIC, format!("n{x} about {name}"));
                }
                if bv.left.is_some() && av.left.is_none() {
                    self.violation(names::NO_ZOMBIE, format!("n{x} lost {name}'s leave"));
                }
                if bv.status == Status::Dead
                    && av.status == Status::Alive
                    && av.heartbeat <= bv.heartbeat
                {
                    self.violation(names::REVIVAL, format!("n{x} about {name}"));
                }
                for (k, be) in &bv.entries {
                    if be.value.is_some() {
                        continue;
                    }
                    match av.entries.get(k) {
                        None => {
                            let r = self
                                .dropped
                                .entry((x, name.clone(), bv.generation, k.clone()))
                                .or_insert(be.version);
                            *r = (*r).max(be.version);
                        }
                        Some(ae) if ae.value.is_some() && ae.version < be.version => {
                            self.violation(
                                names::NO_RESURRECTION,
                                format!("n{x} about {name}/{k}"),
                            );
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        for av in &a.nodes {
            let name = av.id.name.clone();
            // A dropped tombstone must not come back as an older value.
            for (k, ae) in &av.entries {
                if let Some(&dv) = self
                    .dropped
                    .get(&(x, name.clone(), av.generation, k.clone()))
                    && ae.value.is_some()
                    && ae.version < dv
                {
                    self.violation(
                        names::NO_RESURRECTION,
                        format!("n{x} about {name}/{k} after gc"),
                    );
                }
            }
            if b.node(&av.id).is_some() {
                continue;
            }
            if let Some(&(g, h, left)) = self.forgotten.get(&(x, name.clone())) {
                let evidence =
                    av.generation > g || (av.generation == g && !left && av.heartbeat > h);
                if !evidence {
                    self.violation(names::NO_ZOMBIE, format!("n{x} re-added {name} gen {g}"));
                }
            }
        }
        let held: BTreeSet<(String, u64)> = a
            .nodes
            .iter()
            .map(|v| (v.id.name.clone(), v.generation))
            .collect();
        self.dropped
            .retain(|(o, n, g, _), _| *o != x || held.contains(&(n.clone(), *g)));
    }

    // -----------------------------------------------------------------------------------------
    // the outcomes after healing

    /// Whether every live node holds every live node's own state (generation, watermark and
    /// live entries).
    fn converged(&self) -> bool {
        let live = self.live();
        live.iter().all(|&o| {
            let own = self.handle(o).snapshot();
            let Some(me) = own.view.node(self.handle(o).id()).cloned() else {
                return false;
            };
            let values = |v: &gossip_core::NodeView| {
                v.entries
                    .iter()
                    .filter(|(_, e)| e.value.is_some())
                    .map(|(k, e)| (k.clone(), e.clone()))
                    .collect::<Vec<_>>()
            };
            live.iter().all(|&i| {
                self.handle(i)
                    .snapshot()
                    .view
                    .node(&me.id)
                    .is_some_and(|v| {
                        v.generation == me.generation
                            && v.watermark == me.watermark
                            && values(v) == values(&me)
                    })
            })
        })
    }

    /// Runs until converged (checked every 100 ms) or `limit`; returns the time it took.
    fn converge(&mut self, limit: Duration) -> Option<Duration> {
        let start = self.sim.elapsed();
        while self.sim.elapsed() - start < limit {
            if self.pending.is_empty() && self.converged() {
                return Some(self.sim.elapsed() - start);
            }
            self.run(Duration::from_millis(100));
        }
        None
    }

    /// After convergence: no acknowledged write of a live node's current generation is lost,
    /// no deleted key is back, no crashed generation or forgotten node reappears, and every
    /// property checked along the way held.
    fn check_outcomes(&mut self, departed: &[usize]) {
        let live = self.live();
        for &o in &live {
            let g = self.handle(o).generation();
            let mut last: BTreeMap<&str, &Write> = BTreeMap::new();
            for w in self
                .writes
                .iter()
                .filter(|w| w.node == o && w.generation == g)
            {
                if let Some(v) = w.acked
                    && last.get(w.key.as_str()).is_none_or(|p| p.acked < Some(v))
                {
                    last.insert(&w.key, w);
                }
            }
            for &i in &live {
                let snap = self.handle(i).snapshot();
                let v = snap.view.node(self.handle(o).id()).expect("converged");
                for (key, w) in &last {
                    let held = v.entries.get(*key);
                    let ok = match &w.value {
                        Some(val) => held.is_some_and(|e| {
                            e.version > w.acked.unwrap()
                                || (e.version == w.acked.unwrap() && e.value.as_ref() == Some(val))
                        }),
                        None => held.is_none_or(|e| e.value.is_none()),
                    };
                    if !ok {
                        let what = if w.value.is_some() {
                            "an acknowledged write was lost"
                        } else {
                            names::NO_RESURRECTION
                        };
                        self.violations
                            .insert(format!("{what}: n{i} about n{o}/{key}: {held:?}"));
                    }
                }
            }
        }
        // A restarted node's old generations, and nodes that left, are gone or marked.
        for &i in &live {
            let snap = self.handle(i).snapshot();
            for v in &snap.view.nodes {
                let owner: usize = v.id.name[1..].parse().unwrap();
                let current = self.shared.borrow().generations[&owner];
                if v.generation < current {
                    self.violations.insert(format!(
                        "{}: n{i} holds n{owner} generation {}",
                        names::NO_ZOMBIE,
                        v.generation
                    ));
                }
                if departed.contains(&owner)
                    && matches!(v.status, Status::Alive | Status::Suspected)
                {
                    self.violations.insert(format!(
                        "{}: n{i} sees departed n{owner} as {:?}",
                        names::NO_ZOMBIE,
                        v.status
                    ));
                }
            }
        }
        assert!(
            self.violations.is_empty(),
            "violations: {:#?}",
            self.violations
        );
        let acked = self.writes.iter().filter(|w| w.acked.is_some()).count();
        assert!(acked > 0 && self.samples > 0, "nothing was checked");
        self.checked.0 += acked;
        self.checked.1 += self.samples as usize;
    }
}

fn seeds() -> Vec<u64> {
    let n: u64 = std::env::var("GOSSIP_TURMOIL_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    (1..=n).collect()
}

/// Runs `scenario` for every seed and prints the wall time (for docs/reliability.md).
fn for_seeds(name: &str, scenario: impl Fn(u64)) {
    let t = Instant::now();
    let seeds = seeds();
    for &s in &seeds {
        scenario(s);
    }
    eprintln!(
        "{name}: {} seeds in {:.2?} wall time",
        seeds.len(),
        t.elapsed()
    );
}

fn settle(c: &mut Cluster, limit: u64, what: &str, seed: u64) -> Duration {
    match c.converge(Duration::from_secs(limit)) {
        Some(d) => d,
        None => panic!("seed {seed}: {what}: no convergence within {limit} s"),
    }
}

#[test]
fn under_loss_from_0_to_50_percent_every_node_converges_after_the_loss_stops() {
    for_seeds("loss", |seed| {
        for loss in [0.0, 0.1, 0.3, 0.5] {
            let mut c = Cluster::new(5, seed, |_| {});
            c.run(Duration::from_secs(3));
            c.set_loss(loss);
            for r in 0..10 {
                c.write(r % 5, &format!("k{}", r % 3), r % 4 == 3);
                c.run(Duration::from_millis(300));
            }
            // Acknowledged writes spread even while the loss lasts, only more slowly.
            settle(&mut c, 60, &format!("loss {loss}"), seed);
            c.set_loss(0.0);
            settle(&mut c, 20, "after loss", seed);
            c.check_outcomes(&[]);
        }
    });
}

#[test]
fn with_duplication_and_reordering_every_node_converges() {
    for_seeds("duplication+reordering", |seed| {
        let mut c = Cluster::new(4, seed, |_| {});
        c.sim.set_max_message_latency(Duration::from_millis(400));
        c.set_duplicate(0.3);
        c.run(Duration::from_secs(2));
        for r in 0..12 {
            c.write(r % 4, &format!("k{}", r % 3), r % 5 == 4);
            c.run(Duration::from_millis(150));
        }
        settle(&mut c, 30, "duplication", seed);
        c.check_outcomes(&[]);
    });
}

#[test]
fn after_a_partition_heals_both_sides_converge_and_no_delete_is_undone() {
    for_seeds("partition+heal", |seed| {
        let mut c = Cluster::new(5, seed, |_| {});
        c.run(Duration::from_secs(3));
        for i in 0..5 {
            c.write(i, "shared", false);
        }
        settle(&mut c, 20, "before the partition", seed);
        c.partition(&[0, 1], &[2, 3, 4]);
        for r in 0..10 {
            c.write(r % 5, &format!("k{}", r % 2), false);
            c.run(Duration::from_millis(200));
        }
        // Deletes on both sides; long enough for the tombstones to be collected on their side.
        c.write(0, "shared", true);
        c.write(3, "shared", true);
        c.run(Duration::from_secs(10));
        c.heal();
        settle(&mut c, 30, "after healing", seed);
        c.check_outcomes(&[]);
    });
}

#[test]
fn a_crashed_node_restarts_with_a_new_generation_and_its_old_state_does_not_come_back() {
    for_seeds("crash+bounce", |seed| {
        let mut c = Cluster::new(4, seed, |_| {});
        // Long latencies keep gossip about the old generation in flight across the restart.
        c.sim.set_max_message_latency(Duration::from_millis(300));
        c.run(Duration::from_secs(3));
        c.write(3, "a", false);
        c.write(3, "b", false);
        c.write(1, "x", false);
        settle(&mut c, 20, "before the crash", seed);
        c.crash(3);
        c.write(1, "x", true);
        c.run(Duration::from_secs(5));
        c.bounce(3);
        c.run(Duration::from_secs(1));
        c.write(3, "a", false);
        // Crash and restart a second node while the first one comes back, then a quick
        // crash-restart of the first one again.
        c.crash(2);
        c.run(Duration::from_secs(1));
        c.bounce(2);
        c.run(Duration::from_millis(150));
        c.crash(3);
        c.run(Duration::from_millis(100));
        c.bounce(3);
        c.run(Duration::from_secs(1));
        c.write(3, "b", false);
        settle(&mut c, 30, "after the restarts", seed);
        c.check_outcomes(&[]);
        assert_eq!(c.handle(3).generation(), 3);
    });
}

#[test]
fn clock_jumps_forwards_and_backwards_do_not_break_convergence_or_safety() {
    for_seeds("clock jumps", |seed| {
        let mut c = Cluster::new(4, seed, |_| {});
        c.run(Duration::from_secs(3));
        c.write(0, "k", false);
        c.write(1, "gone", true);
        c.run(Duration::from_secs(1));
        // n1's clock leaps an hour ahead: it suspects everyone, collects its tombstones at
        // once, and recovers as heartbeats arrive.
        c.jump_clock(1, 3_600_000);
        c.run(Duration::from_secs(2));
        c.write(2, "k", false);
        // n2's clock goes back 5 s: the core keeps the latest time it has seen, so its rounds
        // pause until its clock catches up.
        c.jump_clock(2, -5_000);
        c.run(Duration::from_secs(2));
        c.write(0, "k", true);
        settle(&mut c, 30, "after the clock jumps", seed);
        c.check_outcomes(&[]);
    });
}

#[test]
fn a_node_that_left_and_was_forgotten_never_reappears_after_a_partition_heals() {
    for_seeds("leave+forget+heal", |seed| {
        let mut c = Cluster::new(4, seed, |_| {});
        c.run(Duration::from_secs(3));
        c.write(3, "k", false);
        settle(&mut c, 20, "before the leave", seed);
        // n0 is cut off while n3 leaves; the others see the leave and forget n3 after the
        // grace period, while n0 still holds n3 alive.
        c.partition(&[0], &[1, 2, 3]);
        let h = c.handle(3);
        let mut leave: Pin<Box<dyn Future<Output = _>>> =
            Box::pin(async move { h.leave(Duration::from_secs(5)).await });
        let mut cx = Context::from_waker(Waker::noop());
        let mut outcome = leave.as_mut().poll(&mut cx);
        for _ in 0..60 {
            if outcome.is_ready() {
                break;
            }
            c.run(Duration::from_millis(100));
            outcome = leave.as_mut().poll(&mut cx);
        }
        assert!(matches!(outcome, Poll::Ready(Ok(_))), "{outcome:?}");
        c.up[3] = false;
        c.last.remove(&3);
        c.run(Duration::from_secs(12));
        for i in [1, 2] {
            let snap = c.handle(i).snapshot();
            assert!(snap.view.node_named("n3").is_none(), "n{i} forgot n3");
        }
        c.heal();
        c.run(Duration::from_secs(10));
        settle(&mut c, 20, "after healing", seed);
        c.check_outcomes(&[3]);
    });
}
