//! Checking tools for the gossip protocol: `gossip-check` (the model checker CLI, `src/bin`),
//! its run options and engines (`check`), the gossip model's adapter to the fairness-aware
//! engine of the `stateright-fair` crate (`gossip`: fairness classes, leads-to properties), its
//! runner (`fair_run`) and the report every engine produces (`report`); swarm verification
//! (`swarm`, the `gossip-swarm` CLI), pictures of runs as message sequence charts (`chart`) and
//! the model as the Explorer serves it (`explorer`).

pub mod chart;
pub mod check;
pub mod explorer;
pub mod fair_run;
pub mod gossip;
pub mod report;
pub mod suite;
pub mod swarm;
