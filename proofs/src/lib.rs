//! Checking tools for the gossip protocol.

pub mod fair;
