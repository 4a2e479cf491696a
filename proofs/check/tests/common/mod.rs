//! Shared by the measurement tests (`fair_bench.rs`, `fair_safety.rs`).

use gossip_model::GossipConfig;

/// The configuration a measurement runs: `GOSSIP_BENCH_CONFIG` (a `GossipConfig` as JSON) or,
/// without it, the default configuration.
pub fn bench_config() -> GossipConfig {
    std::env::var("GOSSIP_BENCH_CONFIG")
        .ok()
        .map(|j| serde_json::from_str(&j).expect("GOSSIP_BENCH_CONFIG is a GossipConfig"))
        .unwrap_or_default()
}
