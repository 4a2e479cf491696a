//! The model's parameters ([`GossipConfig`]) and the protocol variants ([`Variant`]), among them
//! the seeded bugs that the tests use to show that every property can fail.

use serde::{Deserialize, Serialize};

use crate::{GossipModel, NodeId};

/// Who sends deltas in a gossip exchange (protocol.md §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The Syn carries a delta of everything the sender holds; no reply.
    Push,
    /// The Syn carries a digest; the SynAck carries the delta the Syn's sender lacks; no Ack.
    Pull,
    /// Syn (digest), SynAck (digest + delta), Ack (delta): the default.
    PushPull,
}

impl Mode {
    /// The mode's name as used on the command line: `push`, `pull`, `push-pull`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Push => "push",
            Mode::Pull => "pull",
            Mode::PushPull => "push-pull",
        }
    }
}

/// What the network may do to messages in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkConfig {
    /// The network may lose any message in flight (a `Drop` action).
    pub lossy: bool,
    /// The network may duplicate any message in flight: a `Duplicate` action, or, with
    /// [`NetworkConfig::redeliver`], a `Redeliver` action.
    pub duplicating: bool,
    /// Messages on one link (from, to) are delivered in the order they were sent.
    pub ordered: bool,
    /// At most this many messages are in flight; a `Gossip` or `Duplicate` that would exceed it
    /// is not enabled. This bound is part of the model, not a checker boundary. (A `Redeliver`
    /// may use one slot more, see [`NetworkConfig::redeliver`].)
    pub max_in_flight: usize,
    /// State-space abstraction of duplication (off by default; `gossip-check
    /// --dup-as-redelivery`; a no-op unless `duplicating`): instead of `Duplicate`, which puts
    /// a second copy of a message in flight next to the first, the network may `Redeliver` a
    /// message: deliver it and keep it in flight, as if it had been duplicated and one copy
    /// delivered at once. A redelivery is enabled for every deliverable message whose receiver
    /// is up while at most `max_in_flight` messages are in flight (the copy uses the one extra
    /// slot, and the receiver's reply may too), so duplication is possible with one message in
    /// flight. Every state reached is a state of the model with `Duplicate` and one more slot,
    /// and every state of the model with `Duplicate` and the same bound has a counterpart with
    /// the same nodes and the same messages in flight (fewer copies): see the crate docs,
    /// "State-space reductions".
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redeliver: bool,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            lossy: true,
            duplicating: false,
            ordered: false,
            max_in_flight: 1,
            redeliver: false,
        }
    }
}

/// The model's parameters. `Default` is the built-in default configuration, the one that
/// `gossip-check` checks when given no options (exhaustive in well under a minute).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct GossipConfig {
    /// Number of nodes, named n0, n1, ….
    pub nodes: usize,
    /// Number of keys each node may write, named k0, k1, ….
    pub keys: u8,
    /// Number of distinct values, named a, b, ….
    pub values: u8,
    /// Writes (`set`) per node over the whole run (all generations together).
    pub writes_per_node: u8,
    /// Deletes per node over the whole run.
    pub deletes_per_node: u8,
    /// Only the first `writers` nodes (n0, n1, …) write and delete; `None` (the default):
    /// every node does. Fewer writing nodes make the data features (writes, deletes, garbage
    /// collection) cheap enough to check together with the membership features and faults in
    /// a 3-node configuration (`gossip-check --writers N`; the suites of `gossip-check` use it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writers: Option<usize>,
    /// Restarts over the whole run (all nodes together). A restart needs a crashed node.
    pub restarts: u8,
    /// Crashes over the whole run (all nodes together).
    pub crashes: u8,
    /// At most this many updates per delta message: the model's stand-in for the MTU.
    pub max_delta: usize,
    /// Peers per gossip round.
    pub fanout: usize,
    /// Push, pull or push-pull.
    pub mode: Mode,
    /// Network semantics and bound.
    pub network: NetworkConfig,
    /// Enable the abstract failure detector (`Convict`).
    pub convict: bool,
    /// Enable forgetting dead or left nodes (`Forget`).
    pub forget: bool,
    /// Enable `Leave`.
    pub leave: bool,
    /// Enable tombstone garbage collection (`CollectTombstones`).
    pub gc: bool,
    /// A node's heartbeat saturates at this value (the bound on gossip rounds that change state).
    pub max_heartbeat: u8,
    /// The seed nodes: the gossip targets of a node that knows no other live node.
    pub seeds: Vec<NodeId>,
    /// The correct protocol or a seeded bug.
    pub variant: Variant,
    /// State-space reduction (off by default; `gossip-check --prune-dead-messages`): a message
    /// to a node that is crashed and can never restart (the restart budget is used up) is
    /// removed from the network as soon as that holds, instead of waiting in flight to be
    /// delivered to nobody or dropped. Sound for every property; see the crate docs,
    /// "State-space reductions".
    pub prune_dead_messages: bool,
    /// The digest bound (`gossip-check --digest-entries N`; `None`, the default: digests are
    /// complete): a digest holds at most this many entries. A node whose view holds more
    /// nodes sends a *partial* digest (protocol.md §9, node.md §5): its own entry first
    /// (when half the bound holds it, i.e. from 2 entries on), then a range of ids from its
    /// rotating digest cursor. Bounds of 4 or more entries below the number of nodes are
    /// refused: the implementation would then also list placeholders and hot nodes, which the
    /// model does not (see the crate docs, "Partial digests").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_entries: Option<usize>,
    /// Enable the expiry of forgotten records (`Expire`; `gossip-check --features expire`):
    /// the implementation drops a forgotten record after `forgotten_retention` (48 h). The
    /// model's abstract timer may fire once no running node holds, and no message in flight
    /// carries, a state of the forgotten node that the record would block (the expiry
    /// horizon; see the crate docs, "Record expiry").
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub expire: bool,
}

impl Default for GossipConfig {
    fn default() -> Self {
        GossipConfig {
            nodes: 3,
            keys: 1,
            values: 1,
            writes_per_node: 1,
            deletes_per_node: 0,
            writers: None,
            restarts: 0,
            crashes: 1,
            max_delta: 1,
            fanout: 1,
            mode: Mode::PushPull,
            network: NetworkConfig::default(),
            convict: true,
            forget: false,
            leave: false,
            gc: false,
            max_heartbeat: 1,
            seeds: vec![0],
            variant: Variant::Correct,
            prune_dead_messages: false,
            digest_entries: None,
            expire: false,
        }
    }
}

/// A configuration that cannot be checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `nodes` is 0.
    #[error("the cluster needs at least one node")]
    NoNodes,
    /// More nodes than the model's node ids and symmetry reduction support.
    #[error("at most {max} nodes are supported, got {got}")]
    TooManyNodes {
        /// The configured number.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// `fanout` is 0 or not smaller than `nodes`.
    #[error("fanout must be between 1 and nodes - 1 ({nodes} nodes), got {fanout}")]
    BadFanout {
        /// The configured fanout.
        fanout: usize,
        /// The configured number of nodes.
        nodes: usize,
    },
    /// `max_delta` is 0: no update could ever be sent.
    #[error("max_delta must be at least 1")]
    ZeroMaxDelta,
    /// The network cannot hold one gossip round.
    #[error("max_in_flight ({max_in_flight}) must be at least fanout ({fanout})")]
    NetworkTooSmall {
        /// The configured bound.
        max_in_flight: usize,
        /// The configured fanout.
        fanout: usize,
    },
    /// A seed is not a node.
    #[error("seed n{seed} is not one of the {nodes} nodes")]
    SeedOutOfRange {
        /// The offending seed.
        seed: NodeId,
        /// The configured number of nodes.
        nodes: usize,
    },
    /// There are no seeds, so no node could ever join.
    #[error("at least one seed is needed for nodes to join")]
    NoSeeds,
    /// Writes are allowed but there is no key or no value to write.
    #[error("writes or deletes need at least one key and one value")]
    NothingToWrite,
    /// A bound would overflow the model's 8-bit counters.
    #[error("{what} is too large ({got}; the limit is {max})")]
    TooLarge {
        /// Which parameter.
        what: &'static str,
        /// The configured value.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// `digest_entries` is 0.
    #[error("digest_entries must be at least 1")]
    ZeroDigestEntries,
    /// A digest bound at which the implementation would list placeholders or hot nodes.
    #[error(
        "digest_entries {entries} with {nodes} nodes: partial digests of 4 or more entries list \
         placeholders and hot nodes, which the model leaves out (use at most 3, or at least \
         the number of nodes)"
    )]
    HotNodesNotModelled {
        /// The configured bound.
        entries: usize,
        /// The configured number of nodes.
        nodes: usize,
    },
    /// `writers` is 0 or more than `nodes`.
    #[error("writers must be between 1 and the number of nodes ({nodes}), got {writers}")]
    BadWriters {
        /// The configured number of writing nodes.
        writers: usize,
        /// The configured number of nodes.
        nodes: usize,
    },
    /// More restarts than crashes: a restart needs a crashed node.
    #[error("restarts ({restarts}) cannot exceed crashes ({crashes})")]
    RestartsWithoutCrashes {
        /// Configured restarts.
        restarts: u8,
        /// Configured crashes.
        crashes: u8,
    },
}

/// The largest cluster the model accepts.
pub const MAX_NODES: usize = 6;

impl GossipConfig {
    /// Checks that the bounds make sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.nodes == 0 {
            return Err(ConfigError::NoNodes);
        }
        if self.nodes > MAX_NODES {
            return Err(ConfigError::TooManyNodes {
                got: self.nodes,
                max: MAX_NODES,
            });
        }
        if self.nodes > 1 && (self.fanout == 0 || self.fanout >= self.nodes) {
            return Err(ConfigError::BadFanout {
                fanout: self.fanout,
                nodes: self.nodes,
            });
        }
        if self.max_delta == 0 {
            return Err(ConfigError::ZeroMaxDelta);
        }
        if self.network.max_in_flight < self.fanout.max(1) {
            return Err(ConfigError::NetworkTooSmall {
                max_in_flight: self.network.max_in_flight,
                fanout: self.fanout,
            });
        }
        if self.seeds.is_empty() {
            return Err(ConfigError::NoSeeds);
        }
        if let Some(&seed) = self.seeds.iter().find(|&&s| s as usize >= self.nodes) {
            return Err(ConfigError::SeedOutOfRange {
                seed,
                nodes: self.nodes,
            });
        }
        if (self.writes_per_node > 0 && (self.keys == 0 || self.values == 0))
            || (self.deletes_per_node > 0 && self.keys == 0)
        {
            return Err(ConfigError::NothingToWrite);
        }
        let versions = self.writes_per_node as usize + self.deletes_per_node as usize + 1;
        if versions > 100 {
            return Err(ConfigError::TooLarge {
                what: "writes_per_node + deletes_per_node",
                got: versions - 1,
                max: 99,
            });
        }
        if self.restarts > 100 || self.crashes > 100 || self.max_heartbeat > 100 {
            return Err(ConfigError::TooLarge {
                what: "restarts, crashes or max_heartbeat",
                got: self.restarts.max(self.crashes).max(self.max_heartbeat) as usize,
                max: 100,
            });
        }
        match self.digest_entries {
            Some(0) => return Err(ConfigError::ZeroDigestEntries),
            Some(entries) if entries >= 4 && entries < self.nodes => {
                return Err(ConfigError::HotNodesNotModelled {
                    entries,
                    nodes: self.nodes,
                });
            }
            _ => {}
        }
        if let Some(w) = self.writers
            && (w == 0 || w > self.nodes)
        {
            return Err(ConfigError::BadWriters {
                writers: w,
                nodes: self.nodes,
            });
        }
        if self.restarts > self.crashes {
            return Err(ConfigError::RestartsWithoutCrashes {
                restarts: self.restarts,
                crashes: self.crashes,
            });
        }
        Ok(())
    }

    /// How many nodes write and delete: `writers`, or every node.
    pub fn writing_nodes(&self) -> usize {
        self.writers.unwrap_or(self.nodes).min(self.nodes)
    }

    /// Whether node `i` may write and delete (it is one of the first
    /// [`GossipConfig::writing_nodes`]).
    pub fn is_writer(&self, i: usize) -> bool {
        i < self.writing_nodes()
    }

    /// The most changes (writes, deletes, leave markers) all nodes together can make within
    /// one generation each.
    pub fn total_changes(&self) -> usize {
        self.writing_nodes() * (self.writes_per_node as usize + self.deletes_per_node as usize)
            + self.nodes * usize::from(self.leave)
    }

    /// The model for this configuration. Panics if the configuration is invalid: call
    /// [`GossipConfig::validate`] first when it comes from a user.
    pub fn into_model(self) -> GossipModel {
        if let Err(e) = self.validate() {
            panic!("invalid gossip configuration: {e}");
        }
        GossipModel { cfg: self }
    }
}

/// The correct protocol, or a seeded bug: a realistic one-line mistake that a named property
/// catches. Protocol *options* (mode, fanout, max_delta) are configuration, not variants.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The protocol as protocol.md specifies it.
    #[default]
    Correct,
    /// §5.4/§5.6: an incremental delta is applied although the receiver's watermark is below its
    /// `from` (the gap check is missing).
    ApplyPastGap,
    /// §4: a cut delta takes the newest updates instead of a prefix in version order, and still
    /// claims the sender's watermark.
    CutNotPrefix,
    /// §5.3: a node delta of an older generation is applied over a newer one.
    AcceptOlderGeneration,
    /// §5.3/§5.4: an equal generation is treated as a newer one, so the node state is replaced
    /// by an empty one before applying (the comparison is `>=` instead of `>`).
    EqualGenerationWins,
    /// §4.2: after garbage collection, a peer below the gc floor gets an incremental delta
    /// instead of a reset, silently skipping the collected delete.
    GcWithoutReset,
    /// §5.6: an update is applied when its version is above the key's current version, without
    /// the watermark test: a set older than a collected tombstone comes back.
    ResurrectAfterGc,
    /// §6: the gossip round does not increment the heartbeat.
    NoHeartbeatBump,
    /// §1: the heartbeat is incremented when a Syn is received instead of when a round starts.
    BumpOnReceive,
    /// §5.7: any node delta makes a dead node alive, even one with a stale heartbeat.
    ReviveOnStaleGossip,
    /// §7: forgetting a node keeps no forgotten record, so stale gossip brings it back.
    ForgetWithoutRecord,
    /// §1/§7: a restarted node reuses its previous generation.
    ReuseGenerationOnRestart,
    /// §1: a delete's tombstone keeps the deleted entry's version instead of taking a new one.
    DeleteReusesVersion,
    /// §1: the leave marker does not take a new version, so no delta ever carries it.
    LeaveWithoutVersion,
    /// §4: the delta is built by walking the peer's digest, so nodes the peer does not know
    /// are never sent to it.
    DeltaFromDigestOnly,
    /// A liveness bug: a node sends each of its own changes in one delta only, and leaves them
    /// out of later rounds; if that delta is lost, the change may never spread.
    PushOnce,
    /// §9: the digest cursor never advances, so every partial digest covers the same range
    /// and a node outside it is never pulled.
    RotationNeverAdvances,
    /// §3/§4: a partial digest is taken to cover only the nodes it lists (its range is
    /// ignored), so a node the peer does not know is never sent to it.
    PartialDigestListedOnly,
    /// §2/§7: a forgotten record expires while a running node still holds, or a message
    /// still carries, a state of the node that the record blocks (no expiry horizon).
    ExpireEarly,
    /// §5.8: a digest entry's heartbeat is applied to the node state held of that node whatever
    /// generation the entry is of (the generation comparison is missing), so a heartbeat of one
    /// run is taken for another's.
    DigestHeartbeatAnyGeneration,
}

impl Variant {
    /// Every variant in declaration order, the correct protocol first (derived from the enum,
    /// so a new variant cannot be left out).
    pub fn all() -> &'static [Variant] {
        use strum::IntoEnumIterator as _;
        static ALL: std::sync::LazyLock<Vec<Variant>> =
            std::sync::LazyLock::new(|| Variant::iter().collect());
        &ALL
    }

    /// The variant's kebab-case name, as used on the command line.
    pub fn name(self) -> &'static str {
        use Variant::*;
        match self {
            Correct => "correct",
            ApplyPastGap => "apply-past-gap",
            CutNotPrefix => "cut-not-prefix",
            AcceptOlderGeneration => "accept-older-generation",
            EqualGenerationWins => "equal-generation-wins",
            GcWithoutReset => "gc-without-reset",
            ResurrectAfterGc => "resurrect-after-gc",
            NoHeartbeatBump => "no-heartbeat-bump",
            BumpOnReceive => "bump-on-receive",
            ReviveOnStaleGossip => "revive-on-stale-gossip",
            ForgetWithoutRecord => "forget-without-record",
            ReuseGenerationOnRestart => "reuse-generation-on-restart",
            DeleteReusesVersion => "delete-reuses-version",
            LeaveWithoutVersion => "leave-without-version",
            DeltaFromDigestOnly => "delta-from-digest-only",
            PushOnce => "push-once",
            RotationNeverAdvances => "rotation-never-advances",
            PartialDigestListedOnly => "partial-digest-listed-only",
            ExpireEarly => "expire-early",
            DigestHeartbeatAnyGeneration => "digest-heartbeat-any-generation",
        }
    }

    /// The variant named `name` (kebab-case), if any.
    pub fn from_name(name: &str) -> Option<Variant> {
        Variant::all().iter().copied().find(|v| v.name() == name)
    }

    /// One sentence: what is wrong (or that nothing is).
    pub fn description(self) -> &'static str {
        use Variant::*;
        match self {
            Correct => "the protocol as specified in docs/spec/protocol.md",
            ApplyPastGap => {
                "an incremental delta is applied although the receiver's watermark is below its `from` (gap check missing, §5.4/§5.6)"
            }
            CutNotPrefix => {
                "a delta cut by max_delta keeps the newest updates instead of a version-order prefix, and still claims the full watermark (§4)"
            }
            AcceptOlderGeneration => {
                "a node delta of an older generation overwrites the newer generation held (§5.3)"
            }
            EqualGenerationWins => {
                "an equal generation is treated as newer, so the held node state is replaced by an empty one (`>=` for `>`, §5.3-§5.4)"
            }
            GcWithoutReset => {
                "a peer whose watermark is below the gc floor is sent an incremental delta instead of a reset (§4.2, §8)"
            }
            ResurrectAfterGc => {
                "updates are applied by per-key version only, without the watermark test, so a set older than a collected tombstone comes back (§5.6)"
            }
            NoHeartbeatBump => "the gossip round does not increment the node's heartbeat (§6.1)",
            BumpOnReceive => {
                "the heartbeat is incremented when a Syn is received instead of when a round starts (§1, §6.1)"
            }
            ReviveOnStaleGossip => {
                "any node delta revives a dead node, even one carrying no fresh heartbeat (§5.7)"
            }
            ForgetWithoutRecord => {
                "a forgotten node leaves no forgotten record, so stale gossip brings it back as a zombie (§5.2, §7)"
            }
            ReuseGenerationOnRestart => {
                "a restarted node keeps its previous generation, so versions repeat within a generation (§1, §7)"
            }
            DeleteReusesVersion => {
                "a tombstone keeps the deleted entry's version instead of taking the next version (§1)"
            }
            LeaveWithoutVersion => {
                "the leave marker does not take a new version, so no delta carries it (§1, §7)"
            }
            DeltaFromDigestOnly => {
                "the delta is built by walking the peer's digest, so nodes the peer does not know are never sent (§4.1)"
            }
            PushOnce => {
                "liveness bug: a node sends each of its own changes in one delta only and leaves them out of later rounds"
            }
            RotationNeverAdvances => {
                "the digest cursor never advances, so every partial digest covers the same range and a node outside it is never pulled (§9)"
            }
            PartialDigestListedOnly => {
                "a partial digest is taken to cover only the nodes it lists, not its range, so a node the peer does not know is never sent (§3, §4)"
            }
            ExpireEarly => {
                "a forgotten record expires while a running node or a message in flight still holds a state of the node it blocks (no expiry horizon, §2, §7)"
            }
            DigestHeartbeatAnyGeneration => {
                "a digest entry's heartbeat is applied to the held node state whatever the entry's generation, so one run's heartbeat is taken for another's (§5.8)"
            }
        }
    }

    /// Whether this is a seeded bug (everything but [`Variant::Correct`]).
    pub fn is_seeded_bug(self) -> bool {
        self != Variant::Correct
    }

    /// The name of the property this bug violates (the one the tests pin a shortest
    /// counterexample for), or `None` for the correct protocol.
    pub fn expected_violation(self) -> Option<&'static str> {
        use crate::properties::names::*;
        use Variant::*;
        Some(match self {
            Correct => return None,
            ApplyPastGap => WATERMARK_RULE,
            CutNotPrefix => WATERMARK_RULE,
            AcceptOlderGeneration => NO_OLDER_GENERATION,
            EqualGenerationWins => MONOTONIC,
            GcWithoutReset => WATERMARK_RULE,
            ResurrectAfterGc => NO_RESURRECTION,
            NoHeartbeatBump => ALIVE_SEEN,
            BumpOnReceive => OWN_STATE,
            ReviveOnStaleGossip => REVIVAL,
            ForgetWithoutRecord => NO_ZOMBIE,
            ReuseGenerationOnRestart => SAME_VALUE,
            DeleteReusesVersion => NO_INVENTED_VALUE,
            LeaveWithoutVersion => LEAVE_SEEN,
            DeltaFromDigestOnly => JOIN,
            PushOnce => CONVERGENCE,
            RotationNeverAdvances => CONVERGENCE,
            PartialDigestListedOnly => JOIN,
            ExpireEarly => NO_ZOMBIE,
            DigestHeartbeatAnyGeneration => HEARTBEAT_PROVENANCE,
        })
    }

    /// A small configuration in which this bug is observable (it enables the faults and
    /// features the bug needs). The tests pin the shortest counterexample in this configuration.
    pub fn witness_config(self) -> GossipConfig {
        use Variant::*;
        let base = GossipConfig {
            nodes: 2,
            keys: 1,
            values: 1,
            writes_per_node: 0,
            deletes_per_node: 0,
            writers: None,
            restarts: 0,
            crashes: 0,
            max_delta: 2,
            fanout: 1,
            mode: Mode::PushPull,
            network: NetworkConfig {
                lossy: false,
                duplicating: false,
                ordered: false,
                max_in_flight: 1,
                redeliver: false,
            },
            convict: false,
            forget: false,
            leave: false,
            gc: false,
            max_heartbeat: 1,
            seeds: vec![0],
            variant: self,
            prune_dead_messages: false,
            digest_entries: None,
            expire: false,
        };
        match self {
            Correct => GossipConfig::default(),
            ApplyPastGap => GossipConfig {
                // Two keys: with one, the second write supersedes the first, and a gap delta
                // carrying it is complete; the gap shows when the skipped write is still held.
                keys: 2,
                writes_per_node: 2,
                crashes: 1,
                restarts: 1,
                ..base
            },
            CutNotPrefix => GossipConfig {
                writes_per_node: 2,
                keys: 2,
                max_delta: 1,
                ..base
            },
            AcceptOlderGeneration => GossipConfig {
                writes_per_node: 1,
                crashes: 1,
                restarts: 1,
                network: NetworkConfig {
                    max_in_flight: 2,
                    ..base.network.clone()
                },
                ..base
            },
            EqualGenerationWins => GossipConfig {
                writes_per_node: 2,
                network: NetworkConfig {
                    max_in_flight: 2,
                    ..base.network.clone()
                },
                ..base
            },
            GcWithoutReset | ResurrectAfterGc => GossipConfig {
                writes_per_node: 1,
                deletes_per_node: 1,
                gc: true,
                network: NetworkConfig {
                    max_in_flight: 2,
                    ..base.network.clone()
                },
                ..base
            },
            NoHeartbeatBump => GossipConfig {
                convict: true,
                ..base
            },
            BumpOnReceive => base,
            ReviveOnStaleGossip => GossipConfig {
                nodes: 3,
                writes_per_node: 1,
                convict: true,
                ..base
            },
            ForgetWithoutRecord => GossipConfig {
                nodes: 3,
                convict: true,
                forget: true,
                crashes: 1,
                ..base
            },
            ReuseGenerationOnRestart => GossipConfig {
                writes_per_node: 2,
                values: 2,
                crashes: 1,
                restarts: 1,
                ..base
            },
            DeleteReusesVersion => GossipConfig {
                writes_per_node: 1,
                deletes_per_node: 1,
                ..base
            },
            LeaveWithoutVersion => GossipConfig {
                leave: true,
                ..base
            },
            DeltaFromDigestOnly => GossipConfig { nodes: 3, ..base },
            PushOnce => GossipConfig {
                writes_per_node: 1,
                network: NetworkConfig {
                    lossy: true,
                    ..base.network.clone()
                },
                ..base
            },
            RotationNeverAdvances => GossipConfig {
                nodes: 3,
                writes_per_node: 1,
                digest_entries: Some(2),
                ..base
            },
            PartialDigestListedOnly => GossipConfig {
                nodes: 3,
                digest_entries: Some(1),
                ..base
            },
            ExpireEarly => GossipConfig {
                writes_per_node: 1,
                convict: true,
                forget: true,
                expire: true,
                crashes: 1,
                ..base
            },
            DigestHeartbeatAnyGeneration => GossipConfig {
                crashes: 1,
                restarts: 1,
                ..base
            },
        }
    }
}
