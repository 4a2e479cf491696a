//! `gossip-core`: the sans-io reference implementation of the gossip protocol specified in
//! `docs/spec/protocol.md` (wire format: `docs/spec/wire.md`).
//!
//! The [`Core`] is a pure state machine in the style of `quinn-proto`: inputs are
//! `handle_*` calls and local writes, each given the current time; outputs are pulled with
//! `poll_transmit`, `poll_event` and `poll_timeout`. It reads no clock, opens no socket and
//! uses only the random number generator it is given, so that a run is a deterministic
//! function of its inputs (the `gossip-sim` crate drives many cores in virtual time on a
//! seeded network; the core's cluster tests use it).
//!
//! # Module layering
//!
//! Modules import only from modules listed before them (no import circles), bottom to top:
//!
//! 1. `error`, `fd` (the φ failure detector), `bounds` (footprint, rate limiter), `codec`
//!    (MessagePack byte strings and exact sizes): leaves.
//! 2. `id`: [`NodeId`] and its encoding.
//! 3. [`wire`]: the message types (signatures and attestations included, as opaque fields),
//!    their encoding, compressed frames, decoding.
//! 4. [`security`]: keys, encrypted frames, the bytes signed for wire updates and attestations.
//! 5. `config`: [`Config`] and its validation (the minimum MTU is computed from wire sizes and
//!    frame overhead).
//! 6. `view` (snapshots, events, stats), then `state` (one node's state as the core holds it).
//! 7. `core`: the [`Core`], split by protocol section (see its module documentation).

mod bounds;
mod codec;
mod config;
mod core;
mod error;
pub mod fd;
mod id;
pub mod security;
mod state;
mod view;
pub mod wire;

pub use crate::bounds::Footprint;
pub use crate::config::{Config, ConfigError, GossipMode, Limits, SecurityLayers};
pub use crate::core::{Core, DetectorSettings, EntryRef, NodeSummary};
pub use crate::error::{DatagramError, RejectReason, WriteError};
pub use crate::id::NodeId;
pub use crate::security::{
    ClusterKey, Fingerprint, Keyring, KeyringError, Roster, Security, Signing,
};
pub use crate::view::{
    ClusterView, EntryView, Event, ForgottenView, NodeView, Rejected, Stats, Status, Transmit,
};
