//! The system under test: a cluster of nodes wired through a network the harness controls,
//! driven by the model's actions, and the **abstraction function** from the nodes' state to the
//! model's [`GossipState`]. Each node is a [`NodeDriver`]: an in-process `gossip-core` core (the
//! default) or an external process speaking the conformance kit's protocol
//! (`docs/spec/conformance-kit.md`); the table below names the core calls, and the kit
//! requests are the same inputs.
//!
//! ## How each model action is given to the implementation
//!
//! | model action | implementation input |
//! |---|---|
//! | `Write {node, key, value}` | `core.set("k<key>", [b'a' + value])` |
//! | `Delete {node, key}` | `core.delete("k<key>")` |
//! | `Leave {node}` | `core.leave()` |
//! | `Gossip {from, to: [t]}` | `core.start_round_with(addr(t))` (fanout 1: a test hook) |
//! | `Gossip {from, to}` (fanout 2, 3 nodes) | `core.handle_timeout(now)`: the node's own gossip timer fires and its own peer choice picks `to` (see below) |
//! | `Deliver(env)` | the in-flight datagram matched to `env` is given to `handle_datagram` of its receiver (lost if the receiver is down) |
//! | `Drop(env)` / `Duplicate(env)` | the matched datagram is removed / copied |
//! | `Redeliver(env)` | a copy of the matched datagram is given to `handle_datagram` of its receiver; the datagram stays in flight |
//! | `Crash {node}` | the core is frozen: it takes no more inputs (its state stays readable, as in the model) |
//! | `Restart {node}` | a new core with a strictly greater implementation generation |
//! | `Convict {observer, subject}` | `core.convict(subject)` |
//! | `Forget {observer, subject}` | `core.forget(subject)` |
//! | `CollectTombstones {node, subject}` | `core.collect_tombstones(subject)` |
//!
//! **Fanout 2** (3 nodes, no `leave`): a round is the node's own gossip timer
//! (`handle_timeout`, the interval 1 µs so that it is due at every input). With 3 nodes the
//! model's round goes to every candidate (known nodes that did not leave, plus the seeds), and
//! so does the implementation's: its RNG (always 0, see [`crate::driver::InProcess`]) takes all
//! of at most `fanout` candidates and adds the seed. `leave` is off in these configurations:
//! the implementation stops gossiping once its leave is acknowledged, the model does not.
//! Adapters of the conformance kit are driven with fanout 1 only (their RNG is their own).
//!
//! The cores are configured so that nothing else happens: the failure detector's threshold
//! and every grace period are effectively infinite and `handle_timeout` is called only for a
//! fanout-2 round (when its housekeeping does nothing), so suspicion, death, forgetting and
//! collection happen only through the explicit inputs; the
//! MTU is 60,000 bytes (digests are never partial) and `max_delta_updates` is the model's
//! `max_delta`, with `rotate_delta_start = false` (deltas start at the smallest node id, as in
//! protocol.md §4).
//!
//! ## The abstraction function
//!
//! Node `i` is named `n<i>` (address `127.0.0.1:7000+i`); key `k<j>` is `j`; the one-byte value
//! `a + v` is `v`. Implementation generations are mapped to model generations **by order**:
//! the harness gives node `i`'s `r`-th run an implementation generation of its choosing
//! (`5`, then `6`, then `2g + 3`: anything strictly increasing; the consecutive pair shows an
//! implementation that accepts a generation older by exactly one) and abstracts it to `r`. Versions are
//! the same numbers; heartbeats too, capped at the model's `max_heartbeat` (the model's
//! heartbeats saturate there, the implementation's do not: `check`, refinement 4). The implementation's `suspected` is the model's `alive`
//! (the model folds it, see `gossip_model::Status`). A forgotten record's `left` flag, which the
//! implementation does not store (its zombie check does not need it: a node's leave marker
//! is only ever held together with its final heartbeat), is taken from the view just before
//! the `Forget` input.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use gossip_core::wire::{self, DeltaKind as WDeltaKind, Message};
use gossip_core::{Config, GossipMode};

use crate::driver::{Backend, NodeDriver};
use gossip_model::{
    Change, DeltaKind, DigestEntry, Forgotten, Generation, GossipAction, GossipConfig, GossipModel,
    GossipState, Key, Mode, Msg, Node, NodeDelta, NodeId, NodeView, Status, TransitionGhost,
    Update, Value, Violation,
};
use stateright::Model;

/// The MTU the conformance cores use: large enough that digests are never partial.
pub const CONFORMANCE_MTU: usize = 60_000;

/// The gossip address of node `i`.
pub fn addr(i: NodeId) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7000 + u16::from(i)))
}

/// The implementation name of node `i`.
pub fn name(i: NodeId) -> String {
    format!("n{i}")
}

/// The implementation key of model key `k`.
pub fn key_name(k: Key) -> String {
    format!("k{k}")
}

/// The implementation value of model value `v`.
pub fn value_bytes(v: Value) -> Vec<u8> {
    vec![b'a' + v]
}

fn impl_id(i: NodeId) -> gossip_core::NodeId {
    gossip_core::NodeId::new(name(i), addr(i))
}

/// The implementation configuration of node `i` for a model configuration (see the module
/// documentation).
pub fn core_config(cfg: &GossipConfig, i: NodeId, generation: u64) -> Config {
    let mut c = Config::new(name(i), addr(i));
    c.cluster_id = "conformance".to_owned();
    c.seeds = cfg.seeds.iter().map(|&s| addr(s)).collect();
    c.generation = generation;
    c.fanout = cfg.fanout;
    c.mode = match cfg.mode {
        Mode::Push => GossipMode::Push,
        Mode::Pull => GossipMode::Pull,
        Mode::PushPull => GossipMode::PushPull,
    };
    c.mtu = CONFORMANCE_MTU;
    c.max_digest_len = CONFORMANCE_MTU;
    c.phi_threshold = 1e300;
    let forever = Duration::from_secs(1 << 40);
    c.dead_after = forever;
    c.dead_grace_period = forever;
    c.tombstone_grace_period = forever;
    c.forgotten_retention = forever;
    c.max_delta_updates = Some(cfg.max_delta);
    if cfg.fanout > 1 {
        // Rounds come from the node's own gossip timer (see the module documentation): due at
        // every input, since the harness's clock advances by 1 ms per step.
        c.gossip_interval = Duration::from_micros(1);
    }
    c.rotate_delta_start = false;
    // The model has no rate limiter (a refused datagram would be a loss the model did not take).
    c.limits.max_datagrams_per_peer_per_sec = 0;
    c
}

/// A datagram in flight, kept by the harness.
#[derive(Clone, Debug)]
pub struct InFlight {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// The datagram's abstraction (what the implementation said, in the model's terms).
    pub msg: Msg,
    /// The model message it was matched to when sent (strict mode), if any.
    pub model_msg: Option<Msg>,
    /// The datagram; `None` for a phantom entry standing for a model message the
    /// implementation legitimately did not send (delivering it is a stutter).
    pub bytes: Option<Vec<u8>>,
}

/// What happened to an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The implementation was given the corresponding input.
    Applied,
    /// The action has no counterpart in the implementation's state (for example a phantom
    /// message, or, when replaying a buggy model's trace, a message the implementation never
    /// sent): a stutter.
    Stutter(String),
}

/// A cluster of nodes (in-process cores or kit adapter processes, see [`Backend`]), the
/// network between them and the bookkeeping the abstraction needs.
pub struct Cluster {
    cfg: GossipConfig,
    cores: Vec<Box<dyn NodeDriver>>,
    up: Vec<bool>,
    /// `gens[i][r]` is the implementation generation of node i's run r + 1.
    gens: Vec<Vec<u64>>,
    /// The network.
    pub inflight: Vec<InFlight>,
    /// Indices in `inflight` of the datagrams sent by the last input.
    pub last_sent: Vec<usize>,
    now: Duration,
    writes: Vec<u8>,
    deletes: Vec<u8>,
    crashes: u8,
    restarts: u8,
    /// The correct model of this configuration, and its state after the owners' local steps
    /// only (writes, deletes, leaves, crashes, restarts; never a message): the source of the
    /// ghost write history (see [`Cluster::abstract_state`]).
    owners_model: GossipModel,
    owners: GossipState,
    forgotten_left: BTreeMap<(NodeId, NodeId), bool>,
    violations: BTreeSet<Violation>,
    ghost: TransitionGhost,
    /// Empty Acks the implementation sent and the model does not (discarded: a stutter).
    pub empty_acks: usize,
    /// Implementation inputs given (one per applied action).
    pub inputs: usize,
}

fn err<T>(s: impl Into<String>) -> Result<T, String> {
    Err(s.into())
}

impl Cluster {
    /// A fresh cluster of in-process cores for a model configuration: every node up in its
    /// first run, knowing only itself.
    pub fn new(cfg: &GossipConfig) -> Cluster {
        Cluster::with_backend(cfg, &Backend::InProcess).expect("valid conformance configuration")
    }

    /// A fresh cluster whose nodes are run by `backend` (fails if a node cannot be started).
    pub fn with_backend(cfg: &GossipConfig, backend: &Backend) -> Result<Cluster, String> {
        let n = cfg.nodes;
        let gens: Vec<Vec<u64>> = (0..n).map(|_| vec![5]).collect();
        let owners_model = crate::check::correct_model(&cfg.clone().into_model());
        let cores = (0..n)
            .map(|i| backend.start(&core_config(cfg, i as NodeId, 5), Duration::ZERO))
            .collect::<Result<_, _>>()?;
        Ok(Cluster {
            cfg: cfg.clone(),
            cores,
            up: vec![true; n],
            gens,
            inflight: Vec::new(),
            last_sent: Vec::new(),
            now: Duration::ZERO,
            writes: vec![0; n],
            deletes: vec![0; n],
            crashes: 0,
            restarts: 0,
            owners: owners_model.init_states().remove(0),
            owners_model,
            forgotten_left: BTreeMap::new(),
            violations: BTreeSet::new(),
            ghost: TransitionGhost::default(),
            empty_acks: 0,
            inputs: 0,
        })
    }

    /// The driver of node `i`.
    pub fn node(&self, i: NodeId) -> &dyn NodeDriver {
        self.cores[i as usize].as_ref()
    }

    /// Whether node `i`'s process runs.
    pub fn is_up(&self, i: NodeId) -> bool {
        self.up[i as usize]
    }

    fn tick(&mut self) -> Duration {
        self.now += Duration::from_millis(1);
        self.now
    }

    /// The owners' ghost state after a local step (write, delete, leave, crash, restart), as
    /// the correct model computes it; `None` if the correct model does not enable the step.
    fn owners_after(&self, action: &GossipAction) -> Option<GossipState> {
        let mut enabled = Vec::new();
        self.owners_model.actions(&self.owners, &mut enabled);
        if !enabled.contains(action) {
            return None;
        }
        self.owners_model.next_state(&self.owners, action.clone())
    }

    /// Finds the in-flight entry for a model envelope: the one matched to it when sent, else
    /// (lenient) one whose abstraction equals it, else (lenient) the oldest of the same kind on
    /// the same link.
    fn find(&self, env: &gossip_model::Envelope, lenient: bool) -> Option<usize> {
        let link = |f: &InFlight| f.from == env.from && f.to == env.to;
        if let Some(i) = self
            .inflight
            .iter()
            .position(|f| link(f) && f.model_msg.as_ref() == Some(&env.msg))
        {
            return Some(i);
        }
        if !lenient {
            return None;
        }
        self.inflight
            .iter()
            .position(|f| link(f) && f.msg == env.msg)
            .or_else(|| {
                self.inflight
                    .iter()
                    .position(|f| link(f) && f.msg.kind() == env.msg.kind())
            })
    }

    /// Gives the implementation the input corresponding to `action`. In `lenient` mode (for
    /// traces of a buggy model), an action without a counterpart is a stutter instead of an
    /// error, and messages are matched by link and kind when no exact match exists.
    pub fn apply(&mut self, action: &GossipAction, lenient: bool) -> Result<Outcome, String> {
        self.last_sent.clear();
        let now = self.tick();
        let before = self.abstract_nodes()?;
        let local = matches!(
            action,
            GossipAction::Write { .. }
                | GossipAction::Delete { .. }
                | GossipAction::Leave { .. }
                | GossipAction::Crash { .. }
                | GossipAction::Restart { .. }
        );
        let owners = if local {
            match self.owners_after(action) {
                Some(o) => Some(o),
                None if lenient => {
                    return Ok(Outcome::Stutter(format!(
                        "the correct model does not enable {}",
                        gossip_model::format::action(action)
                    )));
                }
                None => {
                    return err(format!(
                        "the correct model does not enable {}",
                        gossip_model::format::action(action)
                    ));
                }
            }
        } else {
            None
        };
        let outcome = self.apply_inner(action, lenient, now)?;
        if outcome == Outcome::Applied {
            self.inputs += 1;
            if let Some(o) = owners {
                self.owners = o;
            }
        }
        self.drain()?;
        let after = self.abstract_nodes()?;
        self.check_transition(&before, action, &after);
        Ok(outcome)
    }

    fn apply_inner(
        &mut self,
        action: &GossipAction,
        lenient: bool,
        now: Duration,
    ) -> Result<Outcome, String> {
        let stutter = |why: String| -> Result<Outcome, String> {
            if lenient {
                Ok(Outcome::Stutter(why))
            } else {
                Err(why)
            }
        };
        let node_of = |n: NodeId| n as usize;
        match action {
            &GossipAction::Write { node, key, value } => {
                let i = node_of(node);
                match self.cores[i].set(&key_name(key), &value_bytes(value), now)? {
                    Ok(_) => self.writes[i] += 1,
                    Err(e) => return stutter(format!("set refused: {e}")),
                }
            }
            &GossipAction::Delete { node, key } => {
                let i = node_of(node);
                match self.cores[i].delete(&key_name(key), now)? {
                    Ok(_) => self.deletes[i] += 1,
                    Err(e) => return stutter(format!("delete refused: {e}")),
                }
            }
            &GossipAction::Leave { node } => {
                let i = node_of(node);
                match self.cores[i].leave(now)? {
                    Ok(_) => {}
                    Err(e) => return stutter(format!("leave refused: {e}")),
                }
            }
            GossipAction::Gossip { from, to } => {
                let i = node_of(*from);
                if self.cfg.fanout == 1 {
                    let [peer] = to[..] else {
                        return err(format!("a fanout-1 round with peers {to:?}"));
                    };
                    self.cores[i].gossip(addr(peer), now)?;
                } else {
                    // The node's own gossip timer: the implementation bumps its heartbeat and
                    // picks the peers itself; `match_sent` then checks that it sent its Syns
                    // to exactly the peers of the model's round.
                    self.cores[i].timer(now)?;
                }
            }
            GossipAction::Deliver(env) | GossipAction::Redeliver(env) => {
                // A redelivery delivers a copy and keeps the datagram in flight.
                let keep = matches!(action, GossipAction::Redeliver(_));
                let Some(k) = self.find(env, lenient) else {
                    return stutter(format!(
                        "no datagram in flight matches the {} {} n{}→n{}",
                        if keep { "redelivered" } else { "delivered" },
                        env.msg.kind(),
                        env.from,
                        env.to
                    ));
                };
                let f = if keep {
                    self.inflight[k].clone()
                } else {
                    self.inflight.remove(k)
                };
                let Some(bytes) = f.bytes else {
                    return Ok(Outcome::Stutter("a phantom message (no-op)".into()));
                };
                let r = node_of(f.to);
                if self.up[r]
                    && let Some(e) = self.cores[r].datagram(addr(f.from), &bytes, now)?
                {
                    return err(format!("n{r} rejected a datagram of n{}: {e:?}", f.from));
                }
            }
            GossipAction::Drop(env) => {
                let Some(k) = self.find(env, lenient) else {
                    return stutter("no datagram in flight matches the dropped message".into());
                };
                self.inflight.remove(k);
            }
            GossipAction::Duplicate(env) => {
                let Some(k) = self.find(env, lenient) else {
                    return stutter("no datagram in flight matches the duplicated message".into());
                };
                let copy = self.inflight[k].clone();
                self.inflight.insert(k + 1, copy);
            }
            &GossipAction::Crash { node } => {
                let i = node_of(node);
                self.up[i] = false;
                self.crashes += 1;
            }
            &GossipAction::Restart { node } => {
                let i = node_of(node);
                if self.up[i] {
                    return stutter(format!("n{i} is not crashed"));
                }
                let last = *self.gens[i].last().expect("a first run");
                // The second run's generation is the next integer (so that an implementation
                // that accepts a generation older by exactly one shows it), later ones jump.
                let g = if self.gens[i].len() == 1 {
                    last + 1
                } else {
                    2 * last + 3
                };
                self.gens[i].push(g);
                self.cores[i].init(&core_config(&self.cfg, node, g), now)?;
                self.up[i] = true;
                self.restarts += 1;
                self.forgotten_left.retain(|(x, _), _| *x != node);
            }
            &GossipAction::Convict { observer, subject } => {
                if !self.cores[node_of(observer)].convict(&impl_id(subject), now)? {
                    return stutter(format!("n{observer} cannot convict n{subject}"));
                }
            }
            &GossipAction::Forget { observer, subject } => {
                let x = node_of(observer);
                let view = self.cores[x].node(&impl_id(subject));
                if !self.cores[x].forget(&impl_id(subject), now)? {
                    return stutter(format!("n{observer} does not know n{subject}"));
                }
                let view = view.expect("known, since forgotten");
                self.forgotten_left
                    .insert((observer, subject), view.left.is_some());
            }
            &GossipAction::CollectTombstones { node, subject } => {
                self.cores[node_of(node)].collect_tombstones(&impl_id(subject), now)?;
            }
            // The harness's configurations do not enable record expiry (`forgotten_retention`
            // has no test hook).
            GossipAction::Expire { .. } => {
                return stutter("record expiry is not driven by the harness".into());
            }
        }
        Ok(Outcome::Applied)
    }

    /// Moves every datagram the cores want to send into the network (empty Acks, which the
    /// model never sends, are discarded and counted).
    fn drain(&mut self) -> Result<(), String> {
        for i in 0..self.cores.len() {
            for t in self.cores[i].take_sent() {
                let to = node_of_addr(t.dst)?;
                let msg = self.abstract_datagram(&t.payload)?;
                if let Msg::Ack { delta } = &msg
                    && delta.is_empty()
                {
                    self.empty_acks += 1;
                    continue;
                }
                self.last_sent.push(self.inflight.len());
                self.inflight.push(InFlight {
                    from: i as NodeId,
                    to,
                    msg,
                    model_msg: None,
                    bytes: Some(t.payload),
                });
            }
        }
        Ok(())
    }

    /// The abstraction of an implementation heartbeat: the model's heartbeats saturate at
    /// `max_heartbeat` (its bound on the rounds that change state), the implementation's do
    /// not, so a heartbeat is capped at `max_heartbeat` (see [`crate::check`], refinement 4).
    pub fn heartbeat(&self, h: u64) -> Result<u8, String> {
        to_u8(h.min(u64::from(self.cfg.max_heartbeat)), "heartbeat")
    }

    /// The model's heartbeat bound.
    pub fn max_heartbeat(&self) -> u8 {
        self.cfg.max_heartbeat
    }

    /// The model generation of implementation generation `g` of node `n`.
    pub fn model_generation(&self, n: NodeId, g: u64) -> Result<Generation, String> {
        self.gens
            .get(n as usize)
            .and_then(|gs| gs.iter().position(|&x| x == g))
            .map(|r| (r + 1) as Generation)
            .ok_or_else(|| format!("generation {g} of n{n} was never used by n{n}"))
    }

    fn node_id(&self, id: &gossip_core::NodeId) -> Result<NodeId, String> {
        let i: NodeId = id
            .name
            .strip_prefix('n')
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("unknown node name {:?}", id.name))?;
        if (i as usize) >= self.cores.len() || id.addr != addr(i) {
            return err(format!("unknown node {id}"));
        }
        Ok(i)
    }

    fn abstract_update(&self, u: &wire::Update) -> Result<Update, String> {
        let change = match &u.change {
            wire::Change::Set { key, value } => Change::Set {
                key: abstract_key(key)?,
                value: abstract_value(value)?,
            },
            wire::Change::Delete { key } => Change::Delete {
                key: abstract_key(key)?,
            },
            wire::Change::Leave => Change::Leave,
        };
        Ok(Update {
            version: to_u8(u.version, "version")?,
            change,
        })
    }

    fn abstract_delta(&self, delta: &[wire::NodeDelta]) -> Result<Vec<NodeDelta>, String> {
        delta
            .iter()
            .map(|nd| {
                let node = self.node_id(&nd.node)?;
                Ok(NodeDelta {
                    node,
                    generation: self.model_generation(node, nd.generation)?,
                    heartbeat: self.heartbeat(nd.heartbeat)?,
                    kind: match nd.kind {
                        WDeltaKind::Incremental { from } => DeltaKind::Incremental {
                            from: to_u8(from, "from")?,
                        },
                        WDeltaKind::Reset { gc_floor } => DeltaKind::Reset {
                            gc_floor: to_u8(gc_floor, "gc_floor")?,
                        },
                    },
                    updates: nd
                        .updates
                        .iter()
                        .map(|u| self.abstract_update(u))
                        .collect::<Result<_, _>>()?,
                    watermark_after: to_u8(nd.watermark_after, "watermark_after")?,
                })
            })
            .collect()
    }

    fn abstract_digest(&self, d: Option<&wire::Digest>) -> Result<Vec<DigestEntry>, String> {
        let Some(d) = d else { return Ok(vec![]) };
        if d.range.is_some() {
            return err("a partial digest (not modelled; the MTU should prevent it)");
        }
        d.entries
            .iter()
            .map(|e| {
                let node = self.node_id(&e.node)?;
                Ok(DigestEntry {
                    node,
                    generation: self.model_generation(node, e.generation)?,
                    heartbeat: self.heartbeat(e.heartbeat)?,
                    watermark: to_u8(e.watermark, "watermark")?,
                })
            })
            .collect()
    }

    /// Decodes a datagram and abstracts it to the model's message type.
    pub fn abstract_datagram(&self, bytes: &[u8]) -> Result<Msg, String> {
        let env = wire::decode(bytes, CONFORMANCE_MTU).map_err(|e| format!("undecodable: {e}"))?;
        Ok(match &env.message {
            Message::Syn { digest, delta, .. } => Msg::Syn {
                digest: self.abstract_digest(digest.as_ref())?,
                delta: self.abstract_delta(delta)?,
                range: None,
            },
            Message::SynAck { digest, delta } => Msg::SynAck {
                digest: self.abstract_digest(digest.as_ref())?,
                delta: self.abstract_delta(delta)?,
                range: None,
            },
            Message::Ack { delta } => Msg::Ack {
                delta: self.abstract_delta(delta)?,
            },
        })
    }

    /// The abstraction of every node's process state (up, view, forgotten records, budgets).
    pub fn abstract_nodes(&self) -> Result<Vec<Node>, String> {
        let mut out = Vec::with_capacity(self.cores.len());
        for (i, core) in self.cores.iter().enumerate() {
            let me = i as NodeId;
            let v = core.view();
            let mut view = BTreeMap::new();
            for n in &v.nodes {
                let id = self.node_id(&n.id)?;
                let mut entries = BTreeMap::new();
                for (k, e) in &n.entries {
                    let value = match &e.value {
                        Some(b) => Some(abstract_value(b)?),
                        None => None,
                    };
                    entries.insert(abstract_key(k)?, (to_u8(e.version, "version")?, value));
                }
                view.insert(
                    id,
                    NodeView {
                        generation: self.model_generation(id, n.generation)?,
                        heartbeat: self.heartbeat(n.heartbeat)?,
                        entries,
                        left: n.left.map(|l| to_u8(l, "leave version")).transpose()?,
                        watermark: to_u8(n.watermark, "watermark")?,
                        gc_floor: to_u8(n.gc_floor, "gc_floor")?,
                        status: match n.status {
                            gossip_core::Status::Alive | gossip_core::Status::Suspected => {
                                Status::Alive
                            }
                            gossip_core::Status::Dead => Status::Dead,
                            gossip_core::Status::Left => Status::Left,
                        },
                    },
                );
            }
            let mut forgotten = BTreeMap::new();
            for f in &v.forgotten {
                let id = self.node_id(&f.id)?;
                forgotten.insert(
                    id,
                    Forgotten {
                        generation: self.model_generation(id, f.generation)?,
                        heartbeat: self.heartbeat(f.heartbeat)?,
                        left: self.forgotten_left.get(&(me, id)).copied().unwrap_or(false),
                    },
                );
            }
            out.push(Node {
                up: self.up[i],
                seed: self.cfg.seeds.contains(&me),
                view,
                forgotten,
                writes: self.writes[i],
                deletes: self.deletes[i],
                pushed: 0,
                digest_cursor: None,
            });
        }
        Ok(out)
    }

    /// The abstraction of the whole implementation state as a model state: nodes, network (the
    /// in-flight datagrams' abstractions) and ghost state. The ghost write history (`history`,
    /// `changes`) comes from the **correct model**, not from the implementation: the model's
    /// `next_state` applied to the owners' local steps alone (writes, deletes, leaves, crashes,
    /// restarts), so that "no node holds a value its owner never wrote at that version" and the
    /// watermark rule check the versions and values the implementation holds against the
    /// versions the protocol assigns, not against the versions the implementation reports. The
    /// transition checks are evaluated on consecutive abstract states of the implementation.
    pub fn abstract_state(&self) -> Result<gossip_model::GossipState, String> {
        let nodes = self.abstract_nodes()?;
        let mut network: Vec<gossip_model::Envelope> = self
            .inflight
            .iter()
            .map(|f| gossip_model::Envelope {
                from: f.from,
                to: f.to,
                msg: f.msg.clone(),
            })
            .collect();
        if !self.cfg.network.ordered {
            network.sort();
        }
        Ok(gossip_model::GossipState {
            nodes,
            network,
            crashes: self.crashes,
            restarts: self.restarts,
            history: self.owners.history.clone(),
            changes: self.owners.changes.clone(),
            violations: self.violations.clone(),
            ghost: self.ghost.clone(),
            ordered_network: self.cfg.network.ordered,
        })
    }

    /// The transition checks of the model's properties (`MONOTONIC`, `NO_OLDER_GENERATION`,
    /// `NO_ZOMBIE`, `OWN_STATE`, `REVIVAL`, and `NO_RESURRECTION`'s shared
    /// `properties::check_tombstones`), evaluated on two consecutive abstract states of
    /// the implementation; violations accumulate in the abstract state's `violations`.
    fn check_transition(&mut self, before: &[Node], action: &GossipAction, after: &[Node]) {
        let mut found = BTreeSet::new();
        gossip_model::properties::check_transition(
            before,
            action,
            after,
            &mut self.ghost,
            &mut found,
        );
        self.violations.extend(found);
    }
}

fn node_of_addr(a: SocketAddr) -> Result<NodeId, String> {
    let p = a.port();
    if (7000..7000 + gossip_model::MAX_NODES as u16).contains(&p) {
        Ok((p - 7000) as NodeId)
    } else {
        err(format!("a datagram to an unknown address {a}"))
    }
}

fn to_u8(x: u64, what: &str) -> Result<u8, String> {
    u8::try_from(x).map_err(|_| format!("{what} {x} does not fit the model"))
}

fn abstract_key(k: &str) -> Result<Key, String> {
    k.strip_prefix('k')
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("unknown key {k:?}"))
}

fn abstract_value(v: &[u8]) -> Result<Value, String> {
    match v {
        [b] if *b >= b'a' => Ok(b - b'a'),
        _ => err(format!("unknown value {v:?}")),
    }
}
