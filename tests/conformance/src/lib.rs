//! # gossip-conformance: evidence that the implementation does what the model says
//!
//! * [`cluster`]: the system under test (a cluster of `gossip-core` cores on a network the
//!   harness controls), the mapping of every model action to an implementation input, and the
//!   abstraction function from the cores' state to the model's state.
//! * [`driver`]: how the harness talks to one node: in process, or through the conformance
//!   kit's JSON-lines protocol to an adapter process in any language.
//! * [`kit`]: the kit protocol `gossip-kit/1` (`docs/spec/conformance-kit.md`) and the Rust
//!   adapter logic (the `gossip-kit-node` binary of `gossip-tools`).
//! * [`check`]: one conformance step (messages match, states equal, no `always` property is
//!   violated by the model's state or the implementation's), with the documented refinements.
//! * [`harness`]: the proptest state-machine test (reference = the stateright model).
//! * [`scenario`]: the scenario templates the harness's generator mixes into its random walks.
//! * [`trace`]: the language-neutral JSON trace format (`docs/spec/traces.md`), export of
//!   stateright paths, and replay against the implementation (`gossip-kit --replay`).
//! * [`vectors`]: the wire and delta test vectors (`tests/vectors/`, `docs/spec/test-vectors.md`).
//!
//! The harness, the seeded-bug replays, the algebraic laws (quickcheck) and the vector checks
//! run from this crate's `tests/`; the user-facing binaries built on it (`gossip-kit`,
//! `gossip-kit-node`, `gossip-vectors`) are the crate `gossip-tools` (`tests/tools/`).

#![forbid(unsafe_code)]

pub mod check;
pub mod cluster;
pub mod driver;
pub mod harness;
pub mod kit;
pub mod scenario;
pub mod trace;
pub mod vectors;
