//! Side-by-side benchmark of `gossip-node` against chitchat 0.13 (Scuttlebutt, whole digest)
//! and foca 2 (SWIM with rumor-only custom broadcasts), all on loopback UDP in one process.
//!
//! * [`counters`]: socket wrappers that count bytes and datagrams (and inject loss) for each
//!   implementation: our [`gossip_node::Transport`], chitchat's `transport::Transport`, and a
//!   plain UDP shim for foca.
//! * [`ours`], [`chit`]: clusters of N nodes that can be written to and polled for visibility.
//! * [`swim`]: a tokio driver for N sans-io `foca::Foca` instances.
//! * [`bench`]: the phases (convergence + steady state; delivery under loss) and the report.
//! * [`cpu`]: process CPU time, the kernel's UDP receive-buffer drops and the load average
//!   (from `/proc`, through `procfs`).
//!
//! The benchmark is the `gossip-compare` binary; docs/results/README.md has the command and the
//! measured numbers.

pub mod bench;
pub mod chit;
pub mod counters;
pub mod cpu;
pub mod ours;
pub mod swim;
