//! Symmetry reduction: the representative is canonical, and DFS with it finds the same
//! verdicts with fewer states.

use gossip_model::{GossipConfig, GossipModel, NetworkConfig};
use stateright::{Checker, Model};

fn cfg() -> GossipConfig {
    GossipConfig {
        nodes: 3,
        writes_per_node: 1,
        crashes: 0,
        convict: false,
        max_heartbeat: 1,
        max_delta: 3,
        network: NetworkConfig {
            lossy: false,
            duplicating: false,
            ordered: false,
            max_in_flight: 1,
        },
        ..GossipConfig::default()
    }
}

#[test]
fn the_representative_is_the_same_for_every_renaming_of_the_non_seeds() {
    let model = cfg().into_model();
    assert_eq!(model.symmetric_nodes(), 2);
    // Walk some states and compare the representative of a state and of its renaming n1↔n2.
    let mut frontier = model.init_states();
    for _ in 0..6 {
        let mut next = Vec::new();
        for s in &frontier {
            let swapped = gossip_model::symmetry::rename(s, &[0, 2, 1]);
            let r = GossipModel::representative(s);
            assert_eq!(r, GossipModel::representative(&swapped));
            assert_eq!(r, GossipModel::representative(&r));
            next.extend(model.next_states(s));
        }
        next.sort();
        next.dedup();
        frontier = next;
    }
}

#[test]
fn dfs_with_symmetry_explores_fewer_states_with_the_same_verdicts() {
    let model = cfg().into_model();
    let plain = model.clone().checker().threads(2).spawn_dfs().join();
    let sym = model
        .clone()
        .checker()
        .threads(2)
        .symmetry_fn(GossipModel::representative)
        .spawn_dfs()
        .join();
    assert!(sym.unique_state_count() < plain.unique_state_count());
    let mut a: Vec<_> = plain.discoveries().into_keys().collect();
    let mut b: Vec<_> = sym.discoveries().into_keys().collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn symmetry_is_declared_unsound_when_deltas_can_be_cut_across_nodes() {
    let model = GossipConfig {
        max_delta: 1,
        ..cfg()
    }
    .into_model();
    assert_eq!(model.symmetric_nodes(), 1);
}
