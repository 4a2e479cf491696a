//! `gossip-core`: the sans-io reference implementation of the gossip protocol specified in
//! `docs/spec/protocol.md` (wire format: `docs/spec/wire.md`).
//!
//! The [`Core`] is a pure state machine in the style of `quinn-proto`: inputs are
//! `handle_*` calls and local writes, each given the current time; outputs are pulled with
//! `poll_transmit`, `poll_event` and `poll_timeout`. It reads no clock, opens no socket and
//! uses only the random number generator it is given, so that a run is a deterministic
//! function of its inputs (the `gossip-sim` crate drives many cores in virtual time on a
//! seeded network; the core's cluster tests use it).

mod bounds;
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
pub use crate::core::{Core, EntryRef};
pub use crate::error::{DatagramError, RejectReason, WriteError};
pub use crate::id::NodeId;
pub use crate::security::{
    ClusterKey, Fingerprint, Keyring, KeyringError, Roster, Security, Signing,
};
pub use crate::view::{
    ClusterView, EntryView, Event, ForgottenView, NodeView, Rejected, Stats, Status, Transmit,
};
