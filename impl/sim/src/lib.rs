//! `gossip-sim`: a deterministic, seeded discrete-event simulator for the gossip protocol.
//!
//! * [`engine`]: the event queue (a binary heap of timed events) and the network model
//!   (per-link latency distributions, loss, duplication, partitions).
//! * [`cluster`]: N real `gossip_core::Core` state machines on that engine and network, driven
//!   programmatically ([`Sim`]: add nodes, write, crash, partition, run until a predicate
//!   holds); the core's cluster tests and the examples use it.
//! * [`core_sim`]: the same, driven by a [`Scenario`](core_sim::Scenario) (JSON) and
//!   summarised by a [`CoreReport`](core_sim::CoreReport).
//! * [`textbook`]: push, pull, push-pull anti-entropy and rumor mongering of a single rumor,
//!   on the same engine, for comparison with the papers.
//! * [`phi`]: the core's phi-accrual detector against its own formula
//!   (`gossip_core::fd::phi`).
//! * [`experiments`]: the averaged tables; [`svg`]: the plots.
//!
//! Every run is a function of its inputs and seed: the same seed gives the same report.

pub mod cluster;
pub mod core_sim;
pub mod engine;
pub mod error;
pub mod experiments;
pub mod phi;
pub mod svg;
pub mod textbook;

pub use crate::cluster::{NetStats, Sim, SimNode, Stepped};
pub use crate::engine::{Latency, NetModel};
pub use crate::error::SimError;
