//! The conformance kit's JSON-lines protocol `gossip-kit/1` (`docs/spec/conformance-kit.md`):
//! the request and response types, their conversion to and from `gossip-core` types, and
//! [`KitNode`], the adapter logic over a `gossip-core` [`Core`] used by the `gossip-kit-node`
//! binary and by the test vectors.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use gossip_core::wire::{self, Message};
use gossip_core::{
    ClusterView, Config, Core, EntryView, ForgottenView, GossipMode, Limits, NodeView, Status,
    Transmit,
};
use rand::rngs::mock::StepRng;
use serde::{Deserialize, Deserializer, Serialize};

/// The protocol version string.
pub const KIT_VERSION: &str = "gossip-kit/1";

/// A node configuration as carried by `init` (the fields of [`Config`], durations in ms).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KitConfig {
    /// Cluster id.
    pub cluster_id: String,
    /// Node name.
    pub name: String,
    /// Gossip address (`ip:port`).
    pub gossip_addr: String,
    /// Seed addresses.
    pub seeds: Vec<String>,
    /// This run's generation.
    pub generation: u64,
    /// `push-pull`, `pull` or `push`.
    pub mode: String,
    /// Peers per timer round.
    pub fanout: usize,
    /// Maximum datagram size.
    pub mtu: usize,
    /// Maximum encoded digest size.
    pub max_digest_len: usize,
    /// Maximum updates per delta (`null`: only the MTU cuts).
    pub max_delta_updates: Option<usize>,
    /// Whether the delta start rotates after a cut.
    pub rotate_delta_start: bool,
    /// Gossip timer period.
    pub gossip_interval_ms: u64,
    /// Phi-accrual threshold.
    pub phi_threshold: f64,
    /// Suspected → dead.
    pub dead_after_ms: u64,
    /// Dead/left → forgotten.
    pub dead_grace_period_ms: u64,
    /// Tombstone → collected.
    pub tombstone_grace_period_ms: u64,
    /// Forgotten record retention.
    pub forgotten_retention_ms: u64,
    /// Memory bounds.
    pub limits: Limits,
    /// Send compressed frames (docs/spec/wire.md "Compressed frame"); absent means false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compression: bool,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The name of a gossip mode in the kit protocol.
pub fn mode_name(m: GossipMode) -> &'static str {
    match m {
        GossipMode::PushPull => "push-pull",
        GossipMode::Pull => "pull",
        GossipMode::Push => "push",
    }
}

impl KitConfig {
    /// The kit form of a core configuration.
    pub fn from_config(c: &Config) -> KitConfig {
        KitConfig {
            cluster_id: c.cluster_id.clone(),
            name: c.name.clone(),
            gossip_addr: c.gossip_addr.to_string(),
            seeds: c.seeds.iter().map(|s| s.to_string()).collect(),
            generation: c.generation,
            mode: mode_name(c.mode).to_owned(),
            fanout: c.fanout,
            mtu: c.mtu,
            max_digest_len: c.max_digest_len,
            max_delta_updates: c.max_delta_updates,
            rotate_delta_start: c.rotate_delta_start,
            gossip_interval_ms: ms(c.gossip_interval),
            phi_threshold: c.phi_threshold,
            dead_after_ms: ms(c.dead_after),
            dead_grace_period_ms: ms(c.dead_grace_period),
            tombstone_grace_period_ms: ms(c.tombstone_grace_period),
            forgotten_retention_ms: ms(c.forgotten_retention),
            limits: c.limits.clone(),
            compression: c.compression,
        }
    }

    /// The core configuration (not yet validated: [`Core::new`] does that).
    pub fn to_config(&self) -> Result<Config, String> {
        let mut c = Config::new(self.name.clone(), parse_addr(&self.gossip_addr)?);
        c.cluster_id = self.cluster_id.clone();
        c.seeds = self
            .seeds
            .iter()
            .map(|s| parse_addr(s))
            .collect::<Result<_, _>>()?;
        c.generation = self.generation;
        c.mode = match self.mode.as_str() {
            "push-pull" => GossipMode::PushPull,
            "pull" => GossipMode::Pull,
            "push" => GossipMode::Push,
            m => return Err(format!("unknown mode {m:?}")),
        };
        c.fanout = self.fanout;
        c.mtu = self.mtu;
        c.max_digest_len = self.max_digest_len;
        c.max_delta_updates = self.max_delta_updates;
        c.rotate_delta_start = self.rotate_delta_start;
        c.compression = self.compression;
        c.gossip_interval = Duration::from_millis(self.gossip_interval_ms);
        c.phi_threshold = self.phi_threshold;
        c.dead_after = Duration::from_millis(self.dead_after_ms);
        c.dead_grace_period = Duration::from_millis(self.dead_grace_period_ms);
        c.tombstone_grace_period = Duration::from_millis(self.tombstone_grace_period_ms);
        c.forgotten_retention = Duration::from_millis(self.forgotten_retention_ms);
        c.limits = self.limits.clone();
        Ok(c)
    }
}

/// A node id in the kit protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KitNodeId {
    /// Name.
    pub name: String,
    /// Address (`ip:port`).
    pub addr: String,
}

impl KitNodeId {
    /// The kit form of a node id.
    pub fn from_id(id: &gossip_core::NodeId) -> KitNodeId {
        KitNodeId {
            name: id.name.clone(),
            addr: id.addr.to_string(),
        }
    }

    /// The core node id.
    pub fn to_id(&self) -> Result<gossip_core::NodeId, String> {
        Ok(gossip_core::NodeId::new(
            self.name.clone(),
            parse_addr(&self.addr)?,
        ))
    }
}

/// One request (`docs/spec/conformance-kit.md` §4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Start (or restart) the node from scratch.
    Init {
        /// The protocol version the harness speaks.
        kit: String,
        /// Time.
        now_ms: u64,
        /// The configuration.
        config: Box<KitConfig>,
    },
    /// Receive a datagram.
    Datagram {
        /// Time.
        now_ms: u64,
        /// Sender address.
        from: String,
        /// The datagram, hex.
        hex: String,
    },
    /// One gossip round toward `peer`.
    Gossip {
        /// Time.
        now_ms: u64,
        /// The peer's address.
        peer: String,
    },
    /// Timers fire.
    Tick {
        /// Time.
        now_ms: u64,
    },
    /// Local write.
    Set {
        /// Time.
        now_ms: u64,
        /// Key.
        key: String,
        /// Value, hex.
        value: String,
    },
    /// Local delete.
    Delete {
        /// Time.
        now_ms: u64,
        /// Key.
        key: String,
    },
    /// Leave the cluster.
    Leave {
        /// Time.
        now_ms: u64,
    },
    /// The failure detector convicts `node`.
    Convict {
        /// Time.
        now_ms: u64,
        /// The subject.
        node: KitNodeId,
    },
    /// Forget `node`.
    Forget {
        /// Time.
        now_ms: u64,
        /// The subject.
        node: KitNodeId,
    },
    /// Collect every tombstone of `node`.
    CollectTombstones {
        /// Time.
        now_ms: u64,
        /// The subject.
        node: KitNodeId,
    },
    /// Report the view.
    View {
        /// Time.
        now_ms: u64,
    },
}

/// A datagram a node sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// Destination address.
    pub to: String,
    /// The datagram, hex.
    pub hex: String,
}

/// One entry of a node's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KitEntry {
    /// Version.
    pub version: u64,
    /// Value, hex; `null` for a tombstone.
    pub value: Option<String>,
}

/// What a node knows about one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KitNodeView {
    /// Name.
    pub name: String,
    /// Address.
    pub addr: String,
    /// Generation.
    pub generation: u64,
    /// Heartbeat.
    pub heartbeat: u64,
    /// Watermark.
    pub watermark: u64,
    /// GC floor.
    pub gc_floor: u64,
    /// `alive`, `suspected`, `dead` or `left`.
    pub status: String,
    /// Leave marker version.
    pub left: Option<u64>,
    /// Key → entry.
    pub entries: BTreeMap<String, KitEntry>,
}

/// A forgotten record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KitForgotten {
    /// Name.
    pub name: String,
    /// Address.
    pub addr: String,
    /// Generation when forgotten.
    pub generation: u64,
    /// Heartbeat when forgotten.
    pub heartbeat: u64,
}

/// A node's view (`docs/spec/conformance-kit.md` §3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct KitView {
    /// Every node in the view, the node itself included.
    pub nodes: Vec<KitNodeView>,
    /// Forgotten records.
    pub forgotten: Vec<KitForgotten>,
}

/// Deserialises a present field (`null` included) as `Some`, so that a missing field (`None`,
/// with `#[serde(default)]`) and `null` (`Some(None)`) differ.
pub(crate) fn some_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// One response (`docs/spec/conformance-kit.md` §2, §4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Response {
    /// Whether the request was processed.
    pub ok: bool,
    /// The kit error, when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The protocol version (`init` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kit: Option<String>,
    /// `datagram`: `Some(None)` accepted, `Some(Some(name))` rejected.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_option"
    )]
    pub rejected: Option<Option<String>>,
    /// `set`/`delete`/`leave`: `Some(Some(v))` accepted with version v, `Some(None)` refused.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_option"
    )]
    pub version: Option<Option<u64>>,
    /// Why a write was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// `convict`/`forget`: whether it applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<bool>,
    /// `collect_tombstones`: how many were collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected: Option<usize>,
    /// The datagrams sent, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<Vec<Sent>>,
    /// The view after the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<KitView>,
}

impl Response {
    /// A kit error.
    pub fn error(e: impl Into<String>) -> Response {
        Response {
            ok: false,
            error: Some(e.into()),
            ..Response::default()
        }
    }
}

/// Lowercase hex.
pub fn to_hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(2 * b.len());
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Parses hex (either case).
pub fn from_hex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd-length hex {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("bad hex {s:?}"))
        })
        .collect()
}

/// Parses a socket address.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|e| format!("bad address {s:?}: {e}"))
}

impl KitView {
    /// The kit form of a core view.
    pub fn from_view(v: &ClusterView) -> KitView {
        KitView {
            nodes: v
                .nodes
                .iter()
                .map(|n| KitNodeView {
                    name: n.id.name.clone(),
                    addr: n.id.addr.to_string(),
                    generation: n.generation,
                    heartbeat: n.heartbeat,
                    watermark: n.watermark,
                    gc_floor: n.gc_floor,
                    status: n.status.as_str().to_owned(),
                    left: n.left,
                    entries: n
                        .entries
                        .iter()
                        .map(|(k, e)| {
                            (
                                k.clone(),
                                KitEntry {
                                    version: e.version,
                                    value: e.value.as_deref().map(to_hex),
                                },
                            )
                        })
                        .collect(),
                })
                .collect(),
            forgotten: v
                .forgotten
                .iter()
                .map(|f| KitForgotten {
                    name: f.id.name.clone(),
                    addr: f.id.addr.to_string(),
                    generation: f.generation,
                    heartbeat: f.heartbeat,
                })
                .collect(),
        }
    }

    /// The core form (nodes and forgotten records in ascending id order; a forgotten record's
    /// `left` flag is not carried by the kit and is `false`).
    pub fn to_view(&self) -> Result<ClusterView, String> {
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for n in &self.nodes {
            let status = match n.status.as_str() {
                "alive" => Status::Alive,
                "suspected" => Status::Suspected,
                "dead" => Status::Dead,
                "left" => Status::Left,
                s => return Err(format!("unknown status {s:?}")),
            };
            let mut entries = BTreeMap::new();
            for (k, e) in &n.entries {
                entries.insert(
                    k.clone(),
                    EntryView {
                        version: e.version,
                        value: e.value.as_deref().map(from_hex).transpose()?,
                    },
                );
            }
            nodes.push(NodeView {
                id: gossip_core::NodeId::new(n.name.clone(), parse_addr(&n.addr)?),
                generation: n.generation,
                heartbeat: n.heartbeat,
                entries,
                left: n.left,
                watermark: n.watermark,
                gc_floor: n.gc_floor,
                status,
            });
        }
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        let mut forgotten = self
            .forgotten
            .iter()
            .map(|f| {
                Ok(ForgottenView {
                    id: gossip_core::NodeId::new(f.name.clone(), parse_addr(&f.addr)?),
                    generation: f.generation,
                    heartbeat: f.heartbeat,
                    left: false,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        forgotten.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(ClusterView {
            self_id: None,
            nodes,
            forgotten,
        })
    }
}

/// A deliberately broken behaviour of the Rust adapter, to show that the kit catches bugs
/// (selected with `gossip-kit-node --break NAME` or `GOSSIP_KIT_BREAK=NAME`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `lose-first-update`: the receiver drops the first update of the first node delta that
    /// carries updates, and still takes the node delta's `watermark_after` (a receiver that
    /// skips the "no gap below the watermark" rule of protocol.md §4).
    LoseFirstUpdate,
    /// `stale-digest-watermark`: the sender's digest entries claim a watermark one lower than
    /// held (its peers then resend an update it already has; harmless to convergence, but not
    /// the protocol's digest).
    StaleDigestWatermark,
}

impl Fault {
    /// Every fault with its name.
    pub const ALL: [(&'static str, Fault); 2] = [
        ("lose-first-update", Fault::LoseFirstUpdate),
        ("stale-digest-watermark", Fault::StaleDigestWatermark),
    ];

    /// The fault named `s`.
    pub fn parse(s: &str) -> Result<Fault, String> {
        Fault::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, f)| *f)
            .ok_or_else(|| format!("unknown fault {s:?}"))
    }
}

/// The adapter logic: a `gossip-core` [`Core`] behind the kit protocol.
#[derive(Default)]
pub struct KitNode {
    core: Option<Core<StepRng>>,
    fault: Option<Fault>,
}

impl KitNode {
    /// A node without configuration (the first request must be `init`).
    pub fn new(fault: Option<Fault>) -> KitNode {
        KitNode { core: None, fault }
    }

    /// The core, once initialised.
    pub fn core(&self) -> Option<&Core<StepRng>> {
        self.core.as_ref()
    }

    /// Handles one request line and returns the response line (without the newline).
    pub fn handle_line(&mut self, line: &str) -> String {
        let resp = match serde_json::from_str::<Request>(line) {
            Ok(req) => self.handle(req),
            Err(e) => Response::error(format!("bad request: {e}")),
        };
        serde_json::to_string(&resp).unwrap_or_else(|e| {
            format!(
                "{{\"ok\":false,\"error\":{}}}",
                serde_json::Value::String(e.to_string())
            )
        })
    }

    /// Handles one request.
    pub fn handle(&mut self, req: Request) -> Response {
        match self.handle_inner(req) {
            Ok(mut r) => {
                r.ok = true;
                let Some(core) = self.core.as_mut() else {
                    return Response::error("not initialised");
                };
                let mut sent = Vec::new();
                while let Some(t) = core.poll_transmit() {
                    sent.push(Sent {
                        to: t.dst.to_string(),
                        hex: to_hex(&mangle_out(self.fault, t).payload),
                    });
                }
                while core.poll_event().is_some() {}
                r.sent = Some(sent);
                r.view = Some(KitView::from_view(&core.view()));
                r
            }
            Err(e) => Response::error(e),
        }
    }
}

fn mangle_out(fault: Option<Fault>, mut t: Transmit) -> Transmit {
    if fault != Some(Fault::StaleDigestWatermark) {
        return t;
    }
    let Ok(mut env) = wire::decode(&t.payload, usize::MAX) else {
        return t;
    };
    let digest = match &mut env.message {
        Message::Syn { digest, .. } | Message::SynAck { digest, .. } => digest.as_mut(),
        Message::Ack { .. } => None,
    };
    if let Some(d) = digest {
        for e in &mut d.entries {
            e.watermark = e.watermark.saturating_sub(1);
        }
    }
    t.payload = wire::encode(&env);
    t
}

fn mangle_in(fault: Option<Fault>, bytes: Vec<u8>) -> Vec<u8> {
    if fault != Some(Fault::LoseFirstUpdate) {
        return bytes;
    }
    let Ok(mut env) = wire::decode(&bytes, usize::MAX) else {
        return bytes;
    };
    let delta = match &mut env.message {
        Message::Syn { delta, .. } | Message::SynAck { delta, .. } | Message::Ack { delta } => {
            delta
        }
    };
    if let Some(nd) = delta.iter_mut().find(|nd| !nd.updates.is_empty()) {
        nd.updates.remove(0);
        return wire::encode(&env);
    }
    bytes
}

impl KitNode {
    fn handle_inner(&mut self, req: Request) -> Result<Response, String> {
        let at = Duration::from_millis;
        if let Request::Init {
            kit,
            now_ms,
            config,
        } = &req
        {
            if kit != KIT_VERSION {
                return Err(format!(
                    "unsupported kit version {kit:?} (this is {KIT_VERSION})"
                ));
            }
            let cfg = config.to_config()?;
            let core =
                Core::new(cfg, StepRng::new(0, 1), at(*now_ms)).map_err(|e| e.to_string())?;
            self.core = Some(core);
            return Ok(Response {
                kit: Some(KIT_VERSION.to_owned()),
                ..Response::default()
            });
        }
        let fault_in = self.fault;
        let core = self.core.as_mut().ok_or("the first request must be init")?;
        let mut r = Response::default();
        let write = |r: &mut Response, res: Result<u64, gossip_core::WriteError>| match res {
            Ok(v) => r.version = Some(Some(v)),
            Err(e) => {
                r.version = Some(None);
                r.refused = Some(e.to_string());
            }
        };
        match req {
            Request::Init { .. } => unreachable!("handled above"),
            Request::Datagram { now_ms, from, hex } => {
                let from = parse_addr(&from)?;
                let bytes = mangle_in(fault_in, from_hex(&hex)?);
                r.rejected = Some(
                    core.handle_datagram(from, &bytes, at(now_ms))
                        .err()
                        .map(|e| format!("{:?}", e.reason())),
                );
            }
            Request::Gossip { now_ms, peer } => {
                core.start_round_with(parse_addr(&peer)?, at(now_ms));
            }
            Request::Tick { now_ms } => core.handle_timeout(at(now_ms)),
            Request::Set { now_ms, key, value } => {
                let v = from_hex(&value)?;
                write(&mut r, core.set(&key, &v, at(now_ms)));
            }
            Request::Delete { now_ms, key } => write(&mut r, core.delete(&key, at(now_ms))),
            Request::Leave { now_ms } => write(&mut r, core.leave(at(now_ms))),
            Request::Convict { now_ms, node } => {
                r.applied = Some(core.convict(&node.to_id()?, at(now_ms)));
            }
            Request::Forget { now_ms, node } => {
                r.applied = Some(core.forget(&node.to_id()?, at(now_ms)));
            }
            Request::CollectTombstones { now_ms, node } => {
                r.collected = Some(core.collect_tombstones(&node.to_id()?, at(now_ms)));
            }
            Request::View { .. } => {}
        }
        Ok(r)
    }
}
