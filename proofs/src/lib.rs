//! Checking tools for the gossip protocol.

pub mod check;
pub mod fair;
pub mod report;
