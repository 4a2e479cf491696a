//! Error types. Each variant's documentation says whether the core's state changed.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why [`Core::handle_datagram`](crate::Core::handle_datagram) rejected a datagram.
///
/// **A rejected datagram never changes the view, the node's own state or any queue**: the only
/// effect of a rejection is one increment of the matching counter in
/// [`Stats::rejected`](crate::Stats::rejected) (and of `datagrams_in` / `bytes_in`), plus the
/// rate limiter's bookkeeping of the source (a token spent or refused).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DatagramError {
    /// Longer than the configured MTU; rejected before any decoding. State unchanged.
    #[error("datagram of {len} bytes exceeds the mtu of {mtu}")]
    Oversize {
        /// The datagram's length.
        len: usize,
        /// The configured MTU.
        mtu: usize,
    },
    /// Empty, or the MessagePack body ends early. State unchanged.
    #[error("truncated datagram")]
    Truncated,
    /// The first byte is not a protocol version this implementation speaks. State unchanged.
    #[error("unknown protocol version {0}")]
    UnknownVersion(u8),
    /// The body is not a well-formed message (bad MessagePack, wrong types, unknown tags,
    /// trailing bytes). State unchanged.
    #[error("malformed datagram: {0}")]
    Malformed(String),
    /// The message carries another cluster id. State unchanged.
    #[error("datagram from cluster {0:?}")]
    WrongCluster(String),
    /// Well-formed but violates the protocol's structural rules (e.g. updates not in strictly
    /// increasing version order, or outside the node delta's version range). State unchanged.
    #[error("invalid message: {0}")]
    Invalid(&'static str),
    /// A name, key or value exceeds the configured [`Limits`](crate::Limits). State unchanged.
    #[error("limit exceeded: {0}")]
    LimitExceeded(&'static str),
    /// An encrypted frame whose key id matches no installed key (or any encrypted frame at a
    /// node without a keyring). State unchanged.
    #[error("no installed key for this frame")]
    NoKey,
    /// An encrypted frame that no installed key with its key id authenticates (wrong key,
    /// tampered or truncated ciphertext, other cluster id). State unchanged.
    #[error("frame authentication failed")]
    DecryptFailed,
    /// A plaintext datagram at a node with a keyring. State unchanged.
    #[error("plaintext datagram while encryption is required")]
    Unencrypted,
    /// A node delta or update without signature at a node with a roster. State unchanged.
    #[error("unsigned node delta or update while signatures are required")]
    Unsigned,
    /// A node delta about a node whose name is not in the roster. State unchanged.
    #[error("no public key for node {0:?}")]
    UnknownSigner(String),
    /// A signature that does not verify, or a claim it does not cover. State unchanged.
    #[error("bad signature: {0}")]
    BadSignature(&'static str),
    /// The source exceeded `limits.max_datagrams_per_peer_per_sec`, or the rate limiter's peer
    /// table is full of busy sources; rejected before decoding. Only the rate limiter's own
    /// bookkeeping changes.
    #[error("rate limited")]
    RateLimited,
}

/// The reason a datagram was rejected, as counted in [`Stats::rejected`](crate::Stats::rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RejectReason {
    /// [`DatagramError::Oversize`].
    Oversize,
    /// [`DatagramError::Truncated`].
    Truncated,
    /// [`DatagramError::UnknownVersion`].
    UnknownVersion,
    /// [`DatagramError::Malformed`].
    Malformed,
    /// [`DatagramError::WrongCluster`].
    WrongCluster,
    /// [`DatagramError::Invalid`].
    Invalid,
    /// [`DatagramError::LimitExceeded`].
    LimitExceeded,
    /// [`DatagramError::NoKey`].
    NoKey,
    /// [`DatagramError::DecryptFailed`].
    DecryptFailed,
    /// [`DatagramError::Unencrypted`].
    Unencrypted,
    /// [`DatagramError::Unsigned`].
    Unsigned,
    /// [`DatagramError::UnknownSigner`].
    UnknownSigner,
    /// [`DatagramError::BadSignature`].
    BadSignature,
    /// [`DatagramError::RateLimited`].
    RateLimited,
}

impl DatagramError {
    /// The counter this error increments.
    pub fn reason(&self) -> RejectReason {
        match self {
            DatagramError::Oversize { .. } => RejectReason::Oversize,
            DatagramError::Truncated => RejectReason::Truncated,
            DatagramError::UnknownVersion(_) => RejectReason::UnknownVersion,
            DatagramError::Malformed(_) => RejectReason::Malformed,
            DatagramError::WrongCluster(_) => RejectReason::WrongCluster,
            DatagramError::Invalid(_) => RejectReason::Invalid,
            DatagramError::LimitExceeded(_) => RejectReason::LimitExceeded,
            DatagramError::NoKey => RejectReason::NoKey,
            DatagramError::DecryptFailed => RejectReason::DecryptFailed,
            DatagramError::Unencrypted => RejectReason::Unencrypted,
            DatagramError::Unsigned => RejectReason::Unsigned,
            DatagramError::UnknownSigner(_) => RejectReason::UnknownSigner,
            DatagramError::BadSignature(_) => RejectReason::BadSignature,
            DatagramError::RateLimited => RejectReason::RateLimited,
        }
    }
}

/// Why a local write ([`Core::set`](crate::Core::set), [`Core::delete`](crate::Core::delete),
/// [`Core::leave`](crate::Core::leave)) was refused.
///
/// **A refused write never changes state**: no version is consumed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// The key is empty. State unchanged.
    #[error("empty key")]
    EmptyKey,
    /// The key is longer than `limits.max_key_len`. State unchanged.
    #[error("key of {len} bytes exceeds limits.max_key_len = {max}")]
    KeyTooLong {
        /// The key's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value is longer than `limits.max_value_len`. State unchanged.
    #[error("value of {len} bytes exceeds limits.max_value_len = {max}")]
    ValueTooLong {
        /// The value's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Setting a new key would exceed `limits.max_keys_per_node` (tombstones count until
    /// collected). State unchanged.
    #[error("too many keys")]
    TooManyKeys,
    /// The node has left: it makes no more changes. State unchanged.
    #[error("the node has left the cluster")]
    Left,
}
