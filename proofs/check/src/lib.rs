//! Checking tools for the gossip protocol: `gossip-check` (the model checker CLI, `src/bin`),
//! its run options and engines (`check`), the gossip model's adapter to the fairness-aware
//! engine of the `stateright-fair` crate (`gossip`: fairness classes, leads-to properties), its
//! runner (`fair_run`) and the report every engine produces (`report`).

pub mod check;
pub mod fair_run;
pub mod gossip;
pub mod report;
pub mod suite;
