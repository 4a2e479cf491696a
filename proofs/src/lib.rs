//! Checking tools for the gossip protocol.

pub mod check;
pub mod fair;
pub mod fair_run;
pub mod gossip;
pub mod report;
