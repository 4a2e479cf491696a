//! The thin layer between `gossip-check` and the `gossip-model` crate: command-line fault and
//! feature lists, configuration summaries, variant listings, expectations, and the
//! [`Inspect`](crate::check::Inspect) implementations of the gossip and linearizability models.

use crate::check::{self, CheckError, Inspect, Progress, RunOptions};
use crate::report::{Expected, RunReport};
use gossip_model::linearizability::{
    ClientOp, LINEARIZABLE, LinearizabilityAction, LinearizabilityConfig, LinearizabilityModel,
    LinearizabilityState,
};
use gossip_model::{GossipAction, GossipConfig, GossipModel, GossipState, Mode, Variant};
use stateright::Model as _;
use std::fmt::Write as _;
use std::str::FromStr;

/// Maps the model's expectation to the report's.
pub fn map_expected(e: gossip_model::Expected) -> Expected {
    match e {
        gossip_model::Expected::Holds => Expected::Holds,
        gossip_model::Expected::Violated => Expected::Violated,
        gossip_model::Expected::Found => Expected::Found,
        gossip_model::Expected::NotFound => Expected::NotFound,
    }
}

fn action_value<A: serde::Serialize + std::fmt::Debug>(action: &A) -> serde_json::Value {
    serde_json::to_value(action)
        .unwrap_or_else(|_| serde_json::Value::String(format!("{action:?}")))
}

impl Inspect for GossipModel {
    fn expectation(&self, property: &str) -> Expected {
        map_expected(self.expected(property))
    }
    fn describe(&self, state: &Self::State) -> String {
        self.describe_state(state)
    }
    fn action_json(&self, action: &Self::Action) -> serde_json::Value {
        action_value(action)
    }
    fn describe_action(&self, from: &Self::State, action: &Self::Action) -> String {
        stateright::Model::format_step(self, from, action.clone())
            .unwrap_or_else(|| stateright::Model::format_action(self, action))
    }
}

/// The gossip model as seen by the fairness-aware engine: the model's weak-fairness classes
/// ([`GossipModel::fair_class`]) and its leads-to requirements ([`GossipModel::liveness`]).
/// A newtype, so that the fair engine's trait is implemented here without claiming the
/// `FairModel for GossipModel` impl for this module.
#[derive(Clone)]
pub struct FairGossip {
    model: GossipModel,
    conditions: Vec<fn(&GossipModel, &GossipState) -> bool>,
    liveness: Vec<gossip_model::Liveness>,
}

impl FairGossip {
    /// Wraps `model`, caching its property conditions and liveness requirements.
    pub fn new(model: GossipModel) -> Self {
        let conditions = model.properties().iter().map(|p| p.condition).collect();
        let liveness = model.liveness();
        FairGossip {
            model,
            conditions,
            liveness,
        }
    }

    /// The gossip model.
    pub fn model(&self) -> &GossipModel {
        &self.model
    }
}

impl stateright::Model for FairGossip {
    type State = <GossipModel as stateright::Model>::State;
    type Action = <GossipModel as stateright::Model>::Action;

    fn init_states(&self) -> Vec<Self::State> {
        self.model.init_states()
    }
    fn actions(&self, state: &Self::State, actions: &mut Vec<Self::Action>) {
        self.model.actions(state, actions)
    }
    fn next_state(&self, last: &Self::State, action: Self::Action) -> Option<Self::State> {
        self.model.next_state(last, action)
    }
    fn format_action(&self, action: &Self::Action) -> String {
        self.model.format_action(action)
    }
    fn format_step(&self, last: &Self::State, action: Self::Action) -> Option<String> {
        self.model.format_step(last, action)
    }
    fn properties(&self) -> Vec<stateright::Property<Self>> {
        self.model
            .properties()
            .iter()
            .enumerate()
            .map(|(i, p)| stateright::Property {
                expectation: p.expectation.clone(),
                name: p.name,
                condition: FAIR_CONDITIONS[i],
            })
            .collect()
    }
}

/// `FairGossip` property `I` is the inner model's property `I` (property conditions are plain
/// `fn` pointers, so the index is a const parameter).
fn fair_condition<const I: usize>(m: &FairGossip, s: &GossipState) -> bool {
    (m.conditions[I])(&m.model, s)
}

type Condition = fn(&FairGossip, &GossipState) -> bool;

macro_rules! conditions {
    ($($i:literal)*) => { [$(fair_condition::<$i> as Condition),*] };
}

/// Enough for the model's properties (checked in a test).
const FAIR_CONDITIONS: [Condition; 48] = conditions!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23
    24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
);

/// The fairness the adapter declares, as reported with every liveness verdict.
pub const GOSSIP_FAIRNESS: &str = "strong fairness of each message delivery and each gossip \
     timer (from, peers; with partial digests also the initiator's digest cursor) (fair-loss links: a message or send enabled infinitely often happens \
     infinitely often) and weak fairness of Convict of a crashed or left node; faults, writes, \
     deletes, leaves, Forget and CollectTombstones are never forced";

/// The class tag (high byte) of [`GossipModel::fair_class`]: 1 = delivery, 2 = gossip timer,
/// 3 = convict.
fn class_tag(class: u64) -> u64 {
    class >> 56
}

impl stateright_fair::FairModel for FairGossip {
    /// Deliveries (tag 1) and gossip timers (tag 2) are strongly fair: with loss, a bounded
    /// network (`max_in_flight`) or random peer choice they are enabled infinitely often but
    /// not continuously, and weak fairness would admit "the network drops everything" or
    /// "the channel is always full when the timer looks". `Convict` (tag 3) is weakly fair.
    fn fairness(
        &self,
        state: &GossipState,
        action: &GossipAction,
    ) -> Option<stateright_fair::Fairness> {
        use stateright_fair::{FairClass, Fairness};
        if let GossipAction::Deliver(env) = action {
            // The model's class of a delivery is "this envelope" (tag 1 and a 56-bit SipHash
            // of it). The same partition with the engine's faster fixed-seed aHash: it is
            // computed for every delivery of every explored state.
            return Some(Fairness::Strong(FairClass(
                1 << 56 | FairClass::of(env).0 >> 8,
            )));
        }
        self.model
            .fair_class(state, action)
            .map(|c| match class_tag(c) {
                1 | 2 => Fairness::Strong(FairClass(c)),
                _ => Fairness::Weak(FairClass(c)),
            })
    }
    fn fairness_assumption(&self) -> Option<&'static str> {
        Some(GOSSIP_FAIRNESS)
    }
    fn leads_to(&self) -> Vec<stateright_fair::LeadsTo<Self>> {
        self.liveness
            .iter()
            .enumerate()
            .map(|(i, l)| stateright_fair::LeadsTo::new(l.name, LIVE_P[i], LIVE_Q[i]))
            .collect()
    }
}

fn live_p<const I: usize>(m: &FairGossip, s: &GossipState) -> bool {
    (m.liveness[I].p)(&m.model, s)
}

fn live_q<const I: usize>(m: &FairGossip, s: &GossipState) -> bool {
    (m.liveness[I].q)(&m.model, s)
}

const LIVE_P: [Condition; 8] = [
    live_p::<0>,
    live_p::<1>,
    live_p::<2>,
    live_p::<3>,
    live_p::<4>,
    live_p::<5>,
    live_p::<6>,
    live_p::<7>,
];
const LIVE_Q: [Condition; 8] = [
    live_q::<0>,
    live_q::<1>,
    live_q::<2>,
    live_q::<3>,
    live_q::<4>,
    live_q::<5>,
    live_q::<6>,
    live_q::<7>,
];

impl Inspect for FairGossip {
    /// Liveness (leads-to) requirements are not model properties: they are expected to hold,
    /// except convergence (the first requirement), which is expected to fail exactly where the
    /// quiescent convergence property is (seeded bugs such as `push-once`, a stuck push mode),
    /// and with one-entry partial digests among 3 or more nodes: a node that another does not
    /// know is covered only by that node's digests that the schedule sends elsewhere
    /// (measured; crate docs of `gossip-model`, "Partial digests").
    fn expectation(&self, property: &str) -> Expected {
        let c = &self.model.cfg;
        if self.model.properties().iter().any(|p| p.name == property) {
            map_expected(self.model.expected(property))
        } else if self.liveness.first().is_some_and(|l| l.name == property)
            && c.digest_entries == Some(1)
            && c.nodes >= 3
        {
            Expected::Violated
        } else if self.liveness.first().is_some_and(|l| l.name == property) {
            map_expected(
                self.model
                    .expected(gossip_model::properties::names::CONVERGENCE),
            )
        } else {
            Expected::Holds
        }
    }
    fn describe(&self, state: &GossipState) -> String {
        self.model.describe(state)
    }
    fn action_json(&self, action: &GossipAction) -> serde_json::Value {
        self.model.action_json(action)
    }
    fn describe_action(&self, from: &GossipState, action: &GossipAction) -> String {
        self.model.describe_action(from, action)
    }
}

fn client_op(op: ClientOp) -> String {
    match op {
        ClientOp::Write(v) => format!("write({v})"),
        ClientOp::Read => "read".into(),
    }
}

impl Inspect for LinearizabilityModel {
    /// The demo's point: reads over gossip are not linearizable. Every other `always` property
    /// is expected to hold and every `sometimes` property to be reachable.
    fn expectation(&self, property: &str) -> Expected {
        let kind = self
            .properties()
            .into_iter()
            .find(|p| p.name == property)
            .map(|p| p.expectation);
        match kind {
            _ if property == LINEARIZABLE => Expected::Violated,
            Some(stateright::Expectation::Sometimes) => Expected::Found,
            _ => Expected::Holds,
        }
    }

    fn describe(&self, s: &LinearizabilityState) -> String {
        let mut out = String::new();
        for (n, r) in s.replicas.iter().enumerate() {
            let _ = writeln!(
                out,
                "n{n}: register = {} (version {}, written at n{})",
                r.value, r.stamp.0, r.stamp.1
            );
        }
        for (c, (node, script)) in self.cfg.clients.iter().enumerate() {
            let (next, in_flight) = s.clients[c];
            let state = if in_flight {
                format!("waiting for n{node} to answer {}", client_op(script[next]))
            } else if next < script.len() {
                format!("next: {} at n{node}", client_op(script[next]))
            } else {
                "done".into()
            };
            let _ = writeln!(out, "client c{c}: {state}");
        }
        out
    }

    fn action_json(&self, action: &LinearizabilityAction) -> serde_json::Value {
        serde_json::Value::String(format!("{action:?}"))
    }

    fn describe_action(
        &self,
        from: &LinearizabilityState,
        action: &LinearizabilityAction,
    ) -> String {
        match *action {
            LinearizabilityAction::Invoke(c) => {
                let (node, script) = &self.cfg.clients[c];
                let op = client_op(script[from.clients[c].0]);
                format!("client c{c} sends {op} to n{node}")
            }
            LinearizabilityAction::Serve(c) => {
                let (node, script) = &self.cfg.clients[c];
                match script[from.clients[c].0] {
                    ClientOp::Write(v) => {
                        format!("n{node} applies write({v}) locally and answers client c{c}: ok")
                    }
                    ClientOp::Read => format!(
                        "n{node} answers client c{c}'s read with its local value {}",
                        from.replicas[*node].value
                    ),
                }
            }
            LinearizabilityAction::Gossip { from: a, to: b } => format!(
                "gossip n{a} → n{b}: n{b} takes value {}",
                from.replicas[a].value
            ),
        }
    }
}

/// The faults of `--faults`: the list replaces the configuration's faults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// The network may lose messages.
    pub loss: bool,
    /// The network may duplicate messages.
    pub dup: bool,
    /// The network may reorder messages (it is unordered).
    pub reorder: bool,
    /// Crashes over the whole run.
    pub crashes: u8,
    /// Restarts over the whole run.
    pub restarts: u8,
}

fn count(name: &str, value: Option<&str>) -> Result<u8, String> {
    match value {
        None => Ok(1),
        Some(v) => v
            .parse()
            .map_err(|_| format!("--faults: {name}={v}: expected a count from 0 to 255")),
    }
}

impl FromStr for Faults {
    type Err = String;

    /// Parses `loss,dup,reorder,crash[=N],restart[=N]` or `none`.
    fn from_str(list: &str) -> Result<Self, String> {
        let mut faults = Faults::default();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (item, None),
            };
            match (name, value) {
                ("none", None) => {}
                ("loss" | "lossy" | "drop", None) => faults.loss = true,
                ("dup" | "duplicate" | "duplication", None) => faults.dup = true,
                ("reorder" | "unordered", None) => faults.reorder = true,
                ("crash" | "crashes", v) => faults.crashes = count(name, v)?,
                ("restart" | "restarts", v) => faults.restarts = count(name, v)?,
                _ => {
                    return Err(format!(
                        "--faults: unknown fault {item:?}; the faults are loss, dup, reorder, \
                         crash[=N], restart[=N], none"
                    ));
                }
            }
        }
        Ok(faults)
    }
}

/// Replaces the configuration's faults by `faults`. A restart needs a crashed node, so
/// `restart=N` implies at least `N` crashes.
pub fn apply_faults(cfg: &mut GossipConfig, faults: &Faults) {
    cfg.network.lossy = faults.loss;
    cfg.network.duplicating = faults.dup;
    cfg.network.ordered = !faults.reorder;
    cfg.crashes = faults.crashes.max(faults.restarts);
    cfg.restarts = faults.restarts;
}

/// The optional protocol steps of `--features`: the list replaces the configuration's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// The abstract failure detector may convict nodes.
    pub convict: bool,
    /// Dead or left nodes may be forgotten.
    pub forget: bool,
    /// Nodes may leave.
    pub leave: bool,
    /// Tombstones may be garbage-collected.
    pub gc: bool,
    /// Forgotten records may expire (past the expiry horizon).
    pub expire: bool,
}

impl FromStr for Features {
    type Err = String;

    /// Parses `convict,forget,leave,gc,expire` or `none`.
    fn from_str(list: &str) -> Result<Self, String> {
        let mut f = Features::default();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "none" => {}
                "convict" => f.convict = true,
                "forget" => f.forget = true,
                "leave" => f.leave = true,
                "gc" => f.gc = true,
                "expire" => f.expire = true,
                _ => {
                    return Err(format!(
                        "--features: unknown feature {item:?}; the features are convict, \
                         forget, leave, gc, expire, none"
                    ));
                }
            }
        }
        Ok(f)
    }
}

/// Replaces the configuration's optional protocol steps by `features`.
pub fn apply_features(cfg: &mut GossipConfig, features: &Features) {
    cfg.convict = features.convict;
    cfg.forget = features.forget;
    cfg.leave = features.leave;
    cfg.gc = features.gc;
    cfg.expire = features.expire;
}

/// Parses `push`, `pull` or `push-pull`.
pub fn parse_mode(name: &str) -> Result<Mode, String> {
    [Mode::Push, Mode::Pull, Mode::PushPull]
        .into_iter()
        .find(|m| m.name() == name || (name == "pushpull" && *m == Mode::PushPull))
        .ok_or_else(|| {
            format!("--mode: unknown mode {name:?}; the modes are push, pull, push-pull")
        })
}

/// The command-line options that override fields of a gossip configuration, shared by
/// `gossip-check` and `gossip-swarm` (flattened into their arguments), so that both accept the
/// same options and [`ConfigOverrides::given`] lists every one of them.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ConfigOverrides {
    /// Number of nodes.
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Number of distinct keys.
    #[arg(long)]
    pub keys: Option<u8>,
    /// Number of distinct values.
    #[arg(long)]
    pub values: Option<u8>,
    /// Writes (sets) each node may make.
    #[arg(long)]
    pub writes: Option<u8>,
    /// Deletes each node may make.
    #[arg(long)]
    pub deletes: Option<u8>,
    /// Only the first N nodes (n0, …) write and delete (default: every node).
    #[arg(long, value_name = "N")]
    pub writers: Option<usize>,
    /// Faults, comma-separated; the list replaces the configuration's faults: loss, dup,
    /// reorder, crash[=N], restart[=N], or none.
    #[arg(long, value_name = "LIST")]
    pub faults: Option<String>,
    /// Optional protocol steps, comma-separated; the list replaces the configuration's: convict,
    /// forget, leave, gc, expire (forgotten records expire past the expiry horizon), or none.
    #[arg(long, value_name = "LIST")]
    pub features: Option<String>,
    /// Exchange mode: push, pull or push-pull.
    #[arg(long)]
    pub mode: Option<String>,
    /// Peers contacted per gossip round.
    #[arg(long)]
    pub fanout: Option<usize>,
    /// Maximum updates per delta (the model's MTU).
    #[arg(long)]
    pub max_delta: Option<usize>,
    /// Bound on messages in flight.
    #[arg(long)]
    pub max_in_flight: Option<usize>,
    /// Bound on each node's heartbeat.
    #[arg(long)]
    pub max_heartbeat: Option<u8>,
    /// At most N entries per digest: a node knowing more nodes sends partial digests (own
    /// entry, then a rotating range; 1 to 3, or at least the number of nodes).
    #[arg(long, value_name = "N")]
    pub digest_entries: Option<usize>,
    /// State-space reduction: a message to a node that is crashed and can never restart (the
    /// restart budget is used up) is removed at once instead of waiting in flight (sound for
    /// every property; docs/checking.md, "State-space reductions").
    #[arg(long)]
    pub prune_dead_messages: bool,
    /// Duplication abstraction (needs `dup` in --faults): instead of a second copy in another
    /// in-flight slot, a duplicated message is delivered and stays in flight (a redelivery),
    /// so duplication is possible with --max-in-flight 1. Every state reached is one of the
    /// model with copies and one more slot; nothing reachable with copies and the same slot
    /// count is lost (docs/checking.md, "State-space reductions").
    #[arg(long)]
    pub dup_as_redelivery: bool,
}

impl ConfigOverrides {
    /// The options given, by their command-line names.
    pub fn given(&self) -> Vec<&'static str> {
        [
            (self.nodes.is_some(), "--nodes"),
            (self.keys.is_some(), "--keys"),
            (self.values.is_some(), "--values"),
            (self.writes.is_some(), "--writes"),
            (self.deletes.is_some(), "--deletes"),
            (self.writers.is_some(), "--writers"),
            (self.faults.is_some(), "--faults"),
            (self.features.is_some(), "--features"),
            (self.mode.is_some(), "--mode"),
            (self.fanout.is_some(), "--fanout"),
            (self.max_delta.is_some(), "--max-delta"),
            (self.max_in_flight.is_some(), "--max-in-flight"),
            (self.max_heartbeat.is_some(), "--max-heartbeat"),
            (self.digest_entries.is_some(), "--digest-entries"),
            (self.prune_dead_messages, "--prune-dead-messages"),
            (self.dup_as_redelivery, "--dup-as-redelivery"),
        ]
        .into_iter()
        .filter_map(|(given, name)| given.then_some(name))
        .collect()
    }

    /// Overrides `cfg`'s fields with the options given (the configuration is not validated
    /// here). The error says which option is wrong.
    pub fn apply(&self, cfg: &mut GossipConfig) -> Result<(), String> {
        if let Some(n) = self.nodes {
            cfg.nodes = n;
        }
        if let Some(n) = self.keys {
            cfg.keys = n;
        }
        if let Some(n) = self.values {
            cfg.values = n;
        }
        if let Some(n) = self.writes {
            cfg.writes_per_node = n;
        }
        if let Some(n) = self.deletes {
            cfg.deletes_per_node = n;
        }
        if let Some(n) = self.writers {
            cfg.writers = Some(n);
        }
        if let Some(list) = &self.faults {
            apply_faults(cfg, &list.parse()?);
        }
        if let Some(list) = &self.features {
            apply_features(cfg, &list.parse()?);
        }
        if let Some(mode) = &self.mode {
            cfg.mode = parse_mode(mode)?;
        }
        if let Some(n) = self.fanout {
            cfg.fanout = n;
        }
        if let Some(n) = self.max_delta {
            cfg.max_delta = n;
        }
        if let Some(n) = self.max_in_flight {
            cfg.network.max_in_flight = n;
        }
        if let Some(n) = self.max_heartbeat {
            cfg.max_heartbeat = n;
        }
        if let Some(n) = self.digest_entries {
            cfg.digest_entries = Some(n);
        }
        if self.prune_dead_messages {
            cfg.prune_dead_messages = true;
        }
        if self.dup_as_redelivery {
            if !cfg.network.duplicating {
                return Err(
                    "--dup-as-redelivery needs a duplicating network (`dup` in --faults)".into(),
                );
            }
            cfg.network.redeliver = true;
        }
        Ok(())
    }
}

/// The faults of a configuration as a `--faults` list.
pub fn faults_of(cfg: &GossipConfig) -> String {
    let mut items = Vec::new();
    if cfg.network.lossy {
        items.push("loss".to_string());
    }
    if cfg.network.duplicating {
        items.push("dup".to_string());
    }
    if !cfg.network.ordered {
        items.push("reorder".to_string());
    }
    if cfg.crashes > 0 {
        items.push(format!("crash={}", cfg.crashes));
    }
    if cfg.restarts > 0 {
        items.push(format!("restart={}", cfg.restarts));
    }
    if items.is_empty() {
        "none".into()
    } else {
        items.join(",")
    }
}

/// The optional protocol steps of a configuration as a `--features` list.
pub fn features_of(cfg: &GossipConfig) -> String {
    let items: Vec<_> = [
        (cfg.convict, "convict"),
        (cfg.forget, "forget"),
        (cfg.leave, "leave"),
        (cfg.gc, "gc"),
        (cfg.expire, "expire"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(",")
    }
}

/// One line describing a configuration, in the vocabulary of the command-line options.
pub fn summarize(cfg: &GossipConfig) -> String {
    let seeds: Vec<_> = cfg.seeds.iter().map(|s| format!("n{s}")).collect();
    format!(
        "variant {}, {} nodes, {} keys, {} values, {} writes and {} deletes per node, mode {}, \
         fanout {}, max-delta {}, max-in-flight {}, max-heartbeat {}, faults {}, features {}, \
         seeds {}{}{}{}{}",
        cfg.variant.name(),
        cfg.nodes,
        cfg.keys,
        cfg.values,
        cfg.writes_per_node,
        cfg.deletes_per_node,
        cfg.mode.name(),
        cfg.fanout,
        cfg.max_delta,
        cfg.network.max_in_flight,
        cfg.max_heartbeat,
        faults_of(cfg),
        features_of(cfg),
        seeds.join(","),
        match cfg.writers {
            Some(1) if cfg.nodes > 1 => ", only n0 writes".to_string(),
            Some(n) if n < cfg.nodes => format!(", only n0..n{} write", n - 1),
            _ => String::new(),
        },
        if cfg.network.duplicating && cfg.network.redeliver {
            ", duplication as redelivery"
        } else {
            ""
        },
        if cfg.prune_dead_messages {
            ", dead messages pruned"
        } else {
            ""
        },
        match cfg.digest_entries {
            Some(n) => format!(", digest-entries {n}"),
            None => String::new(),
        }
    )
}

/// The `--list-variants` text: one block per variant.
pub fn list_variants() -> String {
    let mut out = String::new();
    for v in Variant::all() {
        let _ = writeln!(out, "{}", v.name());
        let _ = writeln!(out, "    {}", v.description());
        match v.expected_violation() {
            Some(p) => {
                let _ = writeln!(out, "    seeded bug; expected to violate: {p}");
                let _ = writeln!(out, "    witness: {}", summarize(&v.witness_config()));
            }
            None => {
                let _ = writeln!(out, "    correct protocol; every property as expected");
            }
        }
    }
    out
}

/// The configuration `--variant NAME` starts from when no `--config` is given: the variant's
/// witness configuration (the small configuration where its bug is observable), or the built-in
/// default for the correct protocol.
pub fn base_config(variant: Option<Variant>) -> GossipConfig {
    match variant {
        Some(v) if v.is_seeded_bug() => v.witness_config(),
        Some(v) => GossipConfig {
            variant: v,
            ..GossipConfig::default()
        },
        None => GossipConfig::default(),
    }
}

/// `--expect-correct`: judges the run against the correct protocol's expectations, so that a
/// seeded bug's violation counts as a failure.
pub fn expect_correct(report: &mut RunReport, cfg: &GossipConfig) {
    // Through the fair adapter, which also knows the leads-to requirements (the fair checker
    // reports them next to the model's properties; `GossipModel::expected` does not know them).
    let correct = FairGossip::new(
        GossipConfig {
            variant: Variant::Correct,
            ..cfg.clone()
        }
        .into_model(),
    );
    for p in &mut report.properties {
        p.expected = correct.expectation(&p.name);
        p.verdict = p.expected.verdict(p.status);
    }
}

/// A sentence explaining how a seeded-bug variant's result is judged.
pub fn variant_note(variant: Variant, expect_correct: bool) -> Option<String> {
    let property = variant.expected_violation()?;
    Some(if expect_correct {
        format!(
            "note: --expect-correct: variant {} is judged as if it were the correct protocol, so \
             a violation of \"{property}\" is a failure (exit 1)",
            variant.name()
        )
    } else {
        format!(
            "note: variant {} is a seeded bug; \"{property}\" is expected to be violated, so a \
             violation means the checker caught the bug (exit 0); add --expect-correct to judge \
             it as the correct protocol",
            variant.name()
        )
    })
}

/// Checks the linearizability demo model exhaustively with single-threaded BFS.
pub fn run_linearizability_demo(progress: Progress) -> Result<RunReport, CheckError> {
    let model = LinearizabilityConfig::default().into_model();
    let opts = RunOptions {
        progress,
        ..RunOptions::new("linearizability demo")
    };
    check::run(model, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_list_replaces_every_fault() {
        let mut cfg = GossipConfig::default();
        apply_faults(&mut cfg, &"dup,crash=2".parse().unwrap());
        assert!(!cfg.network.lossy);
        assert!(cfg.network.duplicating);
        assert!(cfg.network.ordered);
        assert_eq!((cfg.crashes, cfg.restarts), (2, 0));
        assert_eq!(faults_of(&cfg), "dup,crash=2");
    }

    #[test]
    fn a_restart_implies_a_crash() {
        let mut cfg = GossipConfig::default();
        apply_faults(&mut cfg, &"restart".parse().unwrap());
        assert_eq!((cfg.crashes, cfg.restarts), (1, 1));
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn none_means_a_perfect_network_and_no_crashes() {
        let mut cfg = GossipConfig::default();
        apply_faults(&mut cfg, &"none".parse().unwrap());
        assert_eq!(faults_of(&cfg), "none");
    }

    #[test]
    fn unknown_faults_and_features_are_rejected_with_the_valid_names() {
        let err = "loss,earthquake".parse::<Faults>().unwrap_err();
        assert!(
            err.contains("earthquake") && err.contains("reorder"),
            "{err}"
        );
        let err = "teleport".parse::<Features>().unwrap_err();
        assert!(err.contains("teleport") && err.contains("convict"), "{err}");
    }

    #[test]
    fn expire_is_a_feature_that_round_trips_through_the_summary() {
        let mut cfg = GossipConfig::default();
        apply_features(&mut cfg, &"convict,forget,expire".parse().unwrap());
        assert!(cfg.expire && cfg.forget && cfg.convict && !cfg.gc);
        assert_eq!(features_of(&cfg), "convict,forget,expire");
        cfg.digest_entries = Some(2);
        assert!(summarize(&cfg).ends_with(", digest-entries 2"));
        assert!(!summarize(&GossipConfig::default()).contains("digest-entries"));
    }

    #[test]
    fn the_fair_view_has_enough_condition_slots_for_every_property() {
        let model = GossipConfig::default().into_model();
        assert!(model.properties().len() <= FAIR_CONDITIONS.len());
        assert!(model.liveness().len() <= LIVE_P.len());
        let fair = FairGossip::new(model);
        let names: Vec<_> = fair.properties().iter().map(|p| p.name).collect();
        let inner: Vec<_> = fair.model().properties().iter().map(|p| p.name).collect();
        assert_eq!(names, inner);
    }

    #[test]
    fn every_mode_parses_from_its_name() {
        for m in [Mode::Push, Mode::Pull, Mode::PushPull] {
            assert_eq!(parse_mode(m.name()), Ok(m));
        }
        assert!(parse_mode("broadcast").is_err());
    }

    #[test]
    fn the_variant_list_names_every_seeded_bug_and_its_property() {
        let text = list_variants();
        for v in Variant::all() {
            assert!(text.contains(v.name()));
            if let Some(p) = v.expected_violation() {
                assert!(text.contains(p));
            }
        }
    }
}
