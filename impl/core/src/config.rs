//! Configuration of a [`Core`](crate::Core).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::id::NodeId;
use crate::security::FRAME_OVERHEAD;
use crate::wire::{
    Attestation, Change, DeltaKind, Digest, DigestEntry, DigestRange, NodeDelta, SIGNATURE_LEN,
    Update, delta_len, envelope_base_len,
};

pub use crate::wire::GossipMode;

/// Bounds on what a node stores about others, so that memory stays bounded under hostile or
/// misconfigured peers. What exceeds them is dropped and counted in [`Stats`](crate::Stats).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Maximum number of node identities held: nodes in the view (the node itself included)
    /// **plus forgotten records**. Node deltas about new nodes beyond this are dropped
    /// (`Stats::dropped_nodes`). Forgotten records count because an endless stream of new
    /// identities that die and are forgotten would otherwise grow the forgotten table without
    /// bound; they are never evicted early (that would let zombies back), so while the table is
    /// full new nodes are refused until records expire (`forgotten_retention`).
    pub max_nodes: usize,
    /// Maximum number of keys (tombstones included) held per node. Updates that would create
    /// more are dropped (the node delta is cut there; `Stats::dropped_updates`).
    pub max_keys_per_node: usize,
    /// Maximum length of a value in bytes. Local writes above it fail; a datagram carrying one
    /// is rejected (`RejectReason::LimitExceeded`).
    pub max_value_len: usize,
    /// Maximum length of a key in bytes (same treatment as `max_value_len`).
    pub max_key_len: usize,
    /// Maximum length of a node name in bytes (same treatment as `max_value_len`).
    pub max_name_len: usize,
    /// Datagrams accepted per second from one source address (a token bucket holding at most
    /// this many tokens, refilled continuously); beyond it a datagram is rejected before
    /// decoding (`RejectReason::RateLimited`). `0` disables the limit. An honest peer sends a
    /// node at most about three datagrams per exchange, one exchange per gossip round it or the
    /// node starts.
    pub max_datagrams_per_peer_per_sec: u32,
    /// Maximum number of source addresses the rate limiter tracks. When the table is full,
    /// sources idle long enough for their bucket to be full again are evicted; if none is, a
    /// datagram from an untracked source is rejected (`RejectReason::RateLimited`), so a flood
    /// of spoofed sources cannot grow memory.
    pub max_tracked_peers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_nodes: 10_000,
            max_keys_per_node: 10_000,
            max_value_len: 512,
            max_key_len: 128,
            max_name_len: 64,
            max_datagrams_per_peer_per_sec: 200,
            max_tracked_peers: 4_096,
        }
    }
}

/// Configuration of one node's [`Core`](crate::Core). Build it with [`Config::new`] and
/// adjust the public fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// The node's name (unique in the cluster).
    pub name: String,
    /// The node's gossip address: peers send datagrams here; part of its [`NodeId`](crate::NodeId).
    pub gossip_addr: SocketAddr,
    /// Cluster id; datagrams carrying another one are rejected (`RejectReason::WrongCluster`).
    pub cluster_id: String,
    /// Seed addresses used to join and when isolated (protocol.md §6, §7).
    pub seeds: Vec<SocketAddr>,
    /// This run's **generation**: must be strictly greater than every earlier run of the same
    /// node (the shell typically uses the boot time in milliseconds).
    pub generation: u64,
    /// Gossip timer period (default 1 s).
    pub gossip_interval: Duration,
    /// Peers chosen per gossip round (default 1).
    pub fanout: usize,
    /// Exchange variant (default push-pull).
    pub mode: GossipMode,
    /// Maximum datagram size in bytes, everything included (default 1,400).
    pub mtu: usize,
    /// Maximum encoded size of a digest in bytes (default 1,400, the default MTU: a Syn's
    /// digest may fill its datagram). A smaller digest covers fewer nodes per round (slower
    /// spread and membership convergence once digests are partial, fewer heartbeats per
    /// round) but costs fewer bytes: this is the main bandwidth knob (docs/results/README.md
    /// §5.4 measures 700 against 1,400).
    pub max_digest_len: usize,
    /// Phi-accrual threshold above which a node is suspected (default 8.0).
    pub phi_threshold: f64,
    /// Number of heartbeat inter-arrival intervals the detector keeps (default 1,000).
    pub phi_window: usize,
    /// Lower bound of the standard deviation used by the detector (default 500 ms).
    pub min_std_dev: Duration,
    /// Interval assumed before any heartbeat interval has been observed (default 1 s).
    pub initial_interval_estimate: Duration,
    /// How long a node stays suspected before it is declared dead (default 10 s).
    pub dead_after: Duration,
    /// How long a dead or left node stays in the view before it is forgotten (default 24 h).
    pub dead_grace_period: Duration,
    /// How long a tombstone is held before it is collected (default 1 h).
    pub tombstone_grace_period: Duration,
    /// How long a forgotten record is kept (default 48 h).
    pub forgotten_retention: Duration,
    /// Maximum number of updates per delta, mirroring the model's `max_delta`; `None` (the
    /// default) means only the MTU cuts.
    pub max_delta_updates: Option<usize>,
    /// When true (the default), the node at which delta building starts rotates after each cut
    /// delta so that no node is starved; when false, deltas always start at the smallest node id
    /// (exactly the order of protocol.md §4, for conformance testing).
    pub rotate_delta_start: bool,
    /// Memory bounds.
    pub limits: Limits,
    /// Whether to send compressed frames (docs/spec/wire.md, "Compressed frame"): every
    /// datagram is built exactly as without compression (same content, same MTU budgets), then
    /// sent as a raw DEFLATE compressed frame if that is shorter. Receiving accepts both forms
    /// whatever this says. Default **false**: nodes of releases that predate compressed frames
    /// drop them (`unknown_version`), so a cluster turns it on once every node runs a release
    /// that accepts them. With a keyring, see docs/spec/security.md §8 on what compression
    /// before encryption reveals through datagram lengths.
    #[serde(default)]
    pub compression: bool,
}

impl Config {
    /// A configuration with the defaults above, cluster id `"default"`, no seeds and
    /// generation 1.
    pub fn new(name: impl Into<String>, gossip_addr: SocketAddr) -> Self {
        Self {
            name: name.into(),
            gossip_addr,
            cluster_id: "default".to_owned(),
            seeds: Vec::new(),
            generation: 1,
            gossip_interval: Duration::from_secs(1),
            fanout: 1,
            mode: GossipMode::PushPull,
            mtu: 1_400,
            max_digest_len: 1400,
            phi_threshold: 8.0,
            phi_window: 1_000,
            min_std_dev: Duration::from_millis(500),
            initial_interval_estimate: Duration::from_secs(1),
            dead_after: Duration::from_secs(10),
            dead_grace_period: Duration::from_secs(24 * 3600),
            tombstone_grace_period: Duration::from_secs(3600),
            forgotten_retention: Duration::from_secs(48 * 3600),
            max_delta_updates: None,
            rotate_delta_start: true,
            limits: Limits::default(),
            compression: false,
        }
    }

    /// Checks that the configuration is usable without encryption or signatures. Called by
    /// [`Core::new`](crate::Core::new).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_with(SecurityLayers::default())
    }

    /// Checks that the configuration is usable with the given security layers (their overhead
    /// counts in the minimum MTU). Called by [`Core::with_security`](crate::Core::with_security).
    pub fn validate_with(&self, layers: SecurityLayers) -> Result<(), ConfigError> {
        if self.name.is_empty() {
            return Err(ConfigError::EmptyName);
        }
        if self.name.len() > self.limits.max_name_len {
            return Err(ConfigError::NameTooLong);
        }
        if self.gossip_interval.is_zero() {
            return Err(ConfigError::ZeroGossipInterval);
        }
        if self.fanout == 0 {
            return Err(ConfigError::ZeroFanout);
        }
        if self.phi_window == 0 || !(self.phi_threshold.is_finite() && self.phi_threshold > 0.0) {
            return Err(ConfigError::BadFailureDetector);
        }
        if self.initial_interval_estimate.is_zero() {
            return Err(ConfigError::BadFailureDetector);
        }
        if self.max_delta_updates == Some(0) {
            return Err(ConfigError::ZeroMaxDelta);
        }
        if self.cluster_id.len() > 255 {
            return Err(ConfigError::ClusterIdTooLong);
        }
        let need_digest = min_digest_len(self);
        if self.max_digest_len < need_digest {
            return Err(ConfigError::DigestTooSmall {
                max_digest_len: self.max_digest_len,
                needed: need_digest,
            });
        }
        let need = min_mtu(self, layers);
        if self.mtu < need {
            return Err(ConfigError::MtuTooSmall {
                mtu: self.mtu,
                needed: need,
            });
        }
        Ok(())
    }
}

/// Which security layers (docs/spec/security.md) a core uses; they change the minimum MTU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecurityLayers {
    /// Every datagram is an encrypted frame (33 bytes of overhead).
    pub encrypted: bool,
    /// Node deltas and updates carry signatures (66 bytes per update, up to 76 per node delta).
    pub signed: bool,
}

/// Why a [`Config`] was refused by [`Core::new`](crate::Core::new). No core is created.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The node name is empty.
    #[error("node name is empty")]
    EmptyName,
    /// The node name is longer than `limits.max_name_len`.
    #[error("node name is longer than limits.max_name_len")]
    NameTooLong,
    /// `gossip_interval` is zero.
    #[error("gossip_interval is zero")]
    ZeroGossipInterval,
    /// `fanout` is zero.
    #[error("fanout is zero")]
    ZeroFanout,
    /// `phi_window` is zero, `phi_threshold` is not a positive number, or
    /// `initial_interval_estimate` is zero.
    #[error("invalid failure detector parameters")]
    BadFailureDetector,
    /// `max_delta_updates` is `Some(0)`: no delta could ever carry an update.
    #[error("max_delta_updates is zero")]
    ZeroMaxDelta,
    /// The cluster id is longer than 255 bytes.
    #[error("cluster id is longer than 255 bytes")]
    ClusterIdTooLong,
    /// `max_digest_len` cannot hold one digest entry with a range for a maximal node name.
    #[error("max_digest_len {max_digest_len} is too small; at least {needed} bytes are needed")]
    DigestTooSmall {
        /// The configured `max_digest_len`.
        max_digest_len: usize,
        /// The smallest usable value.
        needed: usize,
    },
    /// The MTU cannot hold a message with one digest entry and one maximal update.
    #[error("mtu {mtu} is too small for the limits; at least {needed} bytes are needed")]
    MtuTooSmall {
        /// The configured MTU.
        mtu: usize,
        /// The smallest MTU that fits the configured limits.
        needed: usize,
    },
}

/// A node id with the longest name the limits allow and an IPv6 address: the largest id.
fn worst_id(config: &Config) -> NodeId {
    NodeId {
        name: "x".repeat(config.limits.max_name_len),
        addr: "[::1]:1".parse().expect("valid literal"),
    }
}

/// A digest with a worst-case range and one worst-case entry.
fn worst_digest(config: &Config) -> Digest {
    let worst_id = worst_id(config);
    Digest {
        range: Some(DigestRange {
            start: worst_id.clone(),
            end: worst_id.clone(),
        }),
        entries: vec![DigestEntry {
            node: worst_id,
            generation: u64::MAX,
            heartbeat: u64::MAX,
            watermark: u64::MAX,
        }],
    }
}

/// The size of a digest with a worst-case range and one worst-case entry.
fn min_digest_len(config: &Config) -> usize {
    worst_digest(config).encoded_len() + 2
}

/// The smallest MTU for which every message can carry at least one digest entry (with a
/// worst-case range) and one maximal update for a maximal node name.
fn min_mtu(config: &Config, layers: SecurityLayers) -> usize {
    let delta = vec![NodeDelta {
        node: worst_id(config),
        generation: u64::MAX,
        heartbeat: u64::MAX,
        kind: DeltaKind::Reset { gc_floor: u64::MAX },
        updates: vec![Update {
            version: u64::MAX,
            change: Change::Set {
                key: "k".repeat(config.limits.max_key_len),
                value: vec![0; config.limits.max_value_len],
            },
            sig: layers.signed.then_some([0; SIGNATURE_LEN]),
        }],
        watermark_after: u64::MAX,
        attestation: layers.signed.then_some(Attestation {
            watermark: u64::MAX,
            sig: [0; SIGNATURE_LEN],
        }),
    }];
    // envelope, SynAck body header (fixarray 2)
    let base = envelope_base_len(&config.cluster_id) + 1;
    let d = min_digest_len(config);
    let u = delta_len(&delta) + 2;
    let avail = (4 * d).max((4 * u).div_ceil(3));
    let frame = if layers.encrypted { FRAME_OVERHEAD } else { 0 };
    base + avail + frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limits_need_an_mtu_of_1188_bytes() {
        let c = Config::new("a", "10.0.0.1:1".parse().unwrap());
        assert_eq!(min_mtu(&c, Default::default()), 1188);
    }

    #[test]
    fn the_security_layers_raise_the_minimum_mtu_by_their_overhead() {
        let c = Config::new("a", "10.0.0.1:1".parse().unwrap());
        let mtu = |encrypted, signed| min_mtu(&c, SecurityLayers { encrypted, signed });
        assert_eq!(mtu(true, false), 1188 + 33);
        assert_eq!(mtu(false, true), 1250);
        assert_eq!(mtu(true, true), 1283);
    }
}
