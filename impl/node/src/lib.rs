//! The gossip node: the sans-io [`gossip_core::Core`] inside one tokio event loop.
//!
//! * [`Node::start`] binds a UDP socket, picks the generation (see [`generation`]) and spawns
//!   the event loop; it returns a [`NodeHandle`] (cheap to clone, `Send + Sync`) through
//!   which application code writes (`set`, `delete`), reads (`get`, `snapshot`: from the
//!   published snapshot, never waiting for the loop), subscribes to events, leaves and shuts
//!   down.
//! * The event loop owns the core and the transport. It waits on three things with one
//!   `tokio::select!`: the command queue, the socket, and the core's next timeout; after every
//!   input it drains the core's transmits and events and republishes the snapshot.
//! * Everything shared between the loop and the handles is a `gossip-sync` type (no tokio in
//!   it; checked with loom): see `docs/implementation.md`, section *Node*.
//! * [`admin`] is the HTTP/JSON admin API that `gossipd` serves on loopback: its JSON types
//!   ([`admin::api`]) and the client its subcommands use ([`admin::client`]).

pub mod admin;
pub mod generation;
mod node;
pub mod transport;

pub use gossip_core::{ClusterView, Config, Event, NodeId, NodeView, Stats, Status};
pub use gossip_sync::{Delivery, Phase, Subscription, TryRecv};
pub use node::{
    ClockSkew, IoStats, LeaveOutcome, Node, NodeConfig, NodeError, NodeHandle, NodeSnapshot,
    SecurityOp,
};
pub use transport::{MemoryNetwork, MemoryTransport, Transport, UdpTransport};
