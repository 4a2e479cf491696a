//! Deterministic multi-node driver in virtual time (feature `sim`).
