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
            ..NetworkConfig::default()
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

/// The smallest renaming of `s` under every seed-preserving permutation: the definition the
/// representative must agree with up to the choice of orbit member (written out here, by brute
/// force, independently of the signature-guided search in `symmetry::representative`).
fn smallest_renaming(s: &gossip_model::GossipState) -> gossip_model::GossipState {
    let n = s.nodes.len();
    let mut perms: Vec<Vec<usize>> = vec![vec![]];
    for _ in 0..n {
        let mut longer = Vec::new();
        for p in &perms {
            for i in (0..n).filter(|i| !p.contains(i)) {
                let mut q = p.clone();
                q.push(i);
                longer.push(q);
            }
        }
        perms = longer;
    }
    perms
        .iter()
        .filter(|p| (0..n).all(|i| s.nodes[i].seed == s.nodes[p[i]].seed))
        .map(|p| gossip_model::symmetry::rename(s, p))
        .min()
        .expect("the identity")
}

#[test]
fn the_representative_picks_one_member_per_orbit_like_the_smallest_renaming() {
    // 3 nodes (2 interchangeable): every reachable state; 4 nodes (3 interchangeable): every
    // state within 7 steps.
    let four = GossipConfig {
        nodes: 4,
        max_delta: 4,
        ..cfg()
    };
    assert_eq!(four.clone().into_model().symmetric_nodes(), 3);
    one_member_per_orbit(&cfg().into_model(), 100);
    one_member_per_orbit(&four.into_model(), 7);
}

fn one_member_per_orbit(model: &GossipModel, depth: usize) {
    let mut seen = std::collections::HashSet::new();
    let mut frontier = model.init_states();
    for _ in 0..depth {
        let mut next = Vec::new();
        for s in &frontier {
            if seen.insert(s.clone()) {
                next.extend(model.next_states(s));
            }
        }
        frontier = next;
    }
    let mut by_rep = std::collections::HashMap::new();
    let mut orbits = std::collections::HashSet::new();
    for s in &seen {
        let r = GossipModel::representative(s);
        let o = smallest_renaming(s);
        // r is in s's orbit, and equal representatives mean equal orbits and vice versa.
        assert_eq!(smallest_renaming(&r), o);
        assert_eq!(by_rep.entry(r).or_insert_with(|| o.clone()), &o);
        orbits.insert(o);
    }
    assert_eq!(by_rep.len(), orbits.len());
    assert!(orbits.len() < seen.len());
}
