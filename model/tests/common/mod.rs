//! Helpers shared by the model's integration tests.

use gossip_model::{GossipConfig, Variant};
use stateright::{Checker, HasDiscoveries, Model};

/// Asserts that every seeded bug's expected violation is still found, by a one-thread
/// breadth-first search, in its witness configuration changed by `change` (`with` names the
/// change in the failure message).
pub fn assert_every_seeded_bug_caught(with: &str, change: impl Fn(&GossipConfig) -> GossipConfig) {
    for &v in Variant::all().iter().filter(|v| v.is_seeded_bug()) {
        let property = v.expected_violation().expect("a seeded bug");
        let model = change(&v.witness_config()).into_model();
        let checker = model
            .checker()
            .threads(1)
            .finish_when(HasDiscoveries::AnyOf([property].into()))
            .spawn_bfs()
            .join();
        assert!(
            checker.discovery(property).is_some(),
            "{}: {property:?} not violated with {with}",
            v.name()
        );
    }
}

/// The base of the small configurations: 2 nodes, 1 write each, 1 crash, convictions on,
/// the rest as in the default configuration.
pub fn two_nodes_one_write_one_crash() -> GossipConfig {
    GossipConfig {
        nodes: 2,
        writes_per_node: 1,
        crashes: 1,
        convict: true,
        ..GossipConfig::default()
    }
}
