//! Multi-node scenarios in virtual time (the `sim` driver): convergence, failure detection,
//! restarts, tombstone collection with resets, leaving, forgetting, and the MTU at 1,000
//! nodes.

use std::time::Duration;

use gossip_core::{Event, Status};
use gossip_sim::{Latency, NetModel, Sim};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn lossy() -> NetModel {
    NetModel {
        loss: 0.05,
        duplicate: 0.02,
        latency: Latency::Uniform {
            min_ms: 1.0,
            max_ms: 80.0,
        },
        ..NetModel::default()
    }
}

#[test]
fn fifty_nodes_converge_on_every_write_over_a_lossy_network() {
    let mut sim = Sim::cluster(50, lossy(), 11, |_| {});
    sim.run_for(secs(2));
    for i in 0..50 {
        sim.set(i, "k", format!("v{i}").as_bytes());
    }
    sim.delete(7, "k");
    assert!(
        sim.run_until(secs(120), |s| s.converged()),
        "no convergence by {:?}",
        sim.now()
    );
    assert!(sim.views_agree());
    for i in 0..50 {
        assert!(sim.core(i).view().nodes.len() == 50);
    }
    assert!(sim.stats.max_datagram <= 1400);
}

#[test]
fn a_crashed_node_is_suspected_then_declared_dead_by_every_node() {
    let mut sim = Sim::cluster(20, lossy(), 12, |_| {});
    assert!(sim.run_until(secs(60), |s| s.converged()));
    sim.run_for(secs(20)); // let the detectors learn the heartbeat intervals
    let victim = Sim::id(5);
    for i in 0..20 {
        sim.nodes[i].events.clear();
    }
    sim.crash(5);
    assert!(
        sim.run_until(secs(120), |s| s
            .statuses_of(&victim)
            .iter()
            .all(|st| *st == Some(Status::Dead))),
        "{:?}",
        sim.statuses_of(&victim)
    );
    for i in (0..20).filter(|&i| i != 5) {
        let mine: Vec<&Event> = sim.nodes[i]
            .events
            .iter()
            .filter(|e| {
                matches!(e, Event::NodeSuspected { node } | Event::NodeDead { node } if *node == victim)
            })
            .collect();
        assert_eq!(
            mine,
            vec![
                &Event::NodeSuspected {
                    node: victim.clone()
                },
                &Event::NodeDead {
                    node: victim.clone()
                }
            ],
            "node {i}"
        );
    }
}

#[test]
fn a_restarted_node_with_a_higher_generation_replaces_its_old_self_everywhere() {
    let mut sim = Sim::cluster(20, lossy(), 13, |_| {});
    sim.run_for(secs(1));
    sim.set(4, "old", b"1");
    sim.set(4, "old2", b"1");
    assert!(sim.run_until(secs(60), |s| s.converged()));
    sim.crash(4);
    sim.run_for(secs(3));
    sim.restart(4, 2);
    sim.set(4, "new", b"2");
    let me = Sim::id(4);
    assert!(sim.run_until(secs(120), |s| s.converged()));
    for i in 0..20 {
        let n = sim.core(i).node(&me).unwrap();
        assert_eq!(n.generation, 2, "node {i}");
        assert_eq!(
            n.entries.keys().collect::<Vec<_>>(),
            vec!["new"],
            "node {i}"
        );
        assert_eq!(n.status, Status::Alive);
    }
}

#[test]
fn a_deleted_key_does_not_come_back_after_gc_even_through_a_node_partitioned_during_the_grace_period()
 {
    let tweak = |c: &mut gossip_core::Config| {
        c.tombstone_grace_period = secs(30);
        c.dead_grace_period = secs(3600);
    };
    let mut sim = Sim::cluster(10, lossy(), 14, tweak);
    sim.run_for(secs(1));
    sim.set(1, "k", b"doomed");
    sim.set(1, "keep", b"1");
    assert!(sim.run_until(secs(60), |s| s.all_hold(1, "k") && s.converged()));
    // Node 9 is cut off, then the key is deleted and its tombstone collected everywhere else.
    sim.set_group(9, 1);
    let del = sim.delete(1, "k");
    sim.run_for(secs(90));
    let owner = Sim::id(1);
    for i in 0..9 {
        let n = sim.core(i).node(&owner).unwrap();
        assert!(
            !n.entries.contains_key("k"),
            "node {i} did not collect the tombstone"
        );
        assert!(n.gc_floor >= del, "node {i}");
    }
    assert!(
        sim.core(9)
            .get(&owner, "k")
            .is_some_and(|e| e.value == Some(b"doomed"))
    );
    let resets_before: u64 = (0..10).map(|i| sim.core(i).stats().resets_sent).sum();
    sim.heal();
    assert!(sim.run_until(secs(120), |s| s.converged()));
    sim.run_for(secs(30));
    for i in 0..10 {
        let n = sim.core(i).node(&owner).unwrap();
        assert!(
            !n.entries.contains_key("k"),
            "the deleted key came back at node {i}"
        );
        assert!(n.entries.contains_key("keep"), "node {i}");
    }
    let resets_after: u64 = (0..10).map(|i| sim.core(i).stats().resets_sent).sum();
    assert!(resets_after > resets_before, "node 9 was not reset");
    assert!(sim.core(9).stats().resets_applied >= 1);
}

/// Asserts that the running nodes other than `gone` ignored stale gossip about it at least
/// once (the scenario exercised the zombie rule).
fn assert_stale_gossip_was_ignored(sim: &Sim, gone: usize) {
    let ignored: u64 = sim
        .up()
        .filter(|&i| i != gone)
        .map(|i| sim.core(i).stats().zombies_ignored)
        .sum();
    assert!(ignored > 0, "the stale gossip was never exercised");
}

#[test]
fn a_node_that_left_is_never_resurrected_even_by_a_node_that_missed_the_leave() {
    let tweak = |c: &mut gossip_core::Config| c.dead_grace_period = secs(20);
    let mut sim = Sim::cluster(10, lossy(), 15, tweak);
    assert!(sim.run_until(secs(60), |s| s.converged()));
    sim.run_for(secs(10));
    let leaver = Sim::id(3);
    sim.set_group(8, 1); // node 8 will keep stale gossip about node 3
    sim.leave(3);
    assert!(sim.run_until(secs(30), |s| s.core(3).left_acknowledged()));
    sim.run_for(secs(3));
    sim.crash(3); // the process stops once its leave is acknowledged
    assert!(sim.run_until(secs(120), |s| {
        (0..10).filter(|&i| i != 3 && i != 8).all(|i| {
            s.nodes[i].events.contains(&Event::NodeForgotten {
                node: leaver.clone(),
                generation: 1,
            })
        })
    }));
    // Node 8 still holds node 3 (dead, not yet forgotten) when the partition heals.
    assert!(sim.core(8).node(&leaver).is_some());
    sim.heal();
    sim.run_for(secs(120));
    for i in (0..10).filter(|&i| i != 3) {
        assert!(
            sim.core(i).node(&leaver).is_none(),
            "node {i} resurrected the left node"
        );
        let evs = &sim.nodes[i].events;
        if i != 8 {
            let left_at = evs
                .iter()
                .position(|e| {
                    *e == Event::NodeLeft {
                        node: leaver.clone(),
                    }
                })
                .expect("saw the leave");
            assert!(
                !evs[left_at..]
                    .iter()
                    .any(|e| matches!(e, Event::NodeJoined { node, .. } | Event::NodeUp { node } if *node == leaver)),
                "node {i} revived the left node"
            );
        }
    }
    assert_stale_gossip_was_ignored(&sim, 3);
}

#[test]
fn a_forgotten_node_does_not_come_back_as_a_zombie() {
    let tweak = |c: &mut gossip_core::Config| {
        // Node 8 forgets later than the others, so it still holds the stale state at the heal.
        c.dead_grace_period = if c.name == "n8" { secs(600) } else { secs(20) };
    };
    let mut sim = Sim::cluster(10, lossy(), 16, tweak);
    assert!(sim.run_until(secs(60), |s| s.converged()));
    sim.run_for(secs(10));
    let victim = Sim::id(3);
    sim.set_group(8, 1); // node 8 keeps an older view of node 3
    sim.run_for(secs(2));
    sim.crash(3);
    assert!(sim.run_until(secs(120), |s| {
        (0..10)
            .filter(|&i| i != 3 && i != 8)
            .all(|i| s.core(i).node(&victim).is_none() && !s.core(i).view().forgotten.is_empty())
    }));
    assert!(
        sim.core(8).node(&victim).is_some(),
        "node 8 should still hold the stale state"
    );
    sim.heal();
    sim.run_for(secs(120));
    assert_eq!(
        sim.core(8).status(&victim),
        Some(Status::Dead),
        "node 8 keeps it dead until its own grace period ends"
    );
    for i in (0..10).filter(|&i| i != 3 && i != 8) {
        assert!(sim.core(i).node(&victim).is_none(), "zombie at node {i}");
        let evs = &sim.nodes[i].events;
        if let Some(f) = evs
            .iter()
            .position(|e| matches!(e, Event::NodeForgotten { node, .. } if *node == victim))
        {
            assert!(
                !evs[f..]
                    .iter()
                    .any(|e| matches!(e, Event::NodeJoined { node, .. } if *node == victim)),
                "node {i} re-added the forgotten node"
            );
        }
    }
    assert_stale_gossip_was_ignored(&sim, 3);
}

/// `n` nodes with writes spread over the cluster: every datagram fits the MTU (the digest of
/// every node does not, so partial digests rotate) and the cluster converges.
fn every_datagram_fits_the_mtu_and_the_cluster_converges(n: usize, deadline: u64) {
    let mut sim = Sim::cluster(n, NetModel::default(), 17, |_| {});
    sim.run_for(secs(1));
    for i in (0..n).step_by(97) {
        sim.set(i, "k", &[i as u8; 200]);
    }
    let ok = sim.run_until_every(secs(deadline), secs(10), |s| s.converged());
    eprintln!(
        "{n} nodes: converged={ok} at {:?}, {:?}",
        sim.now(),
        sim.stats
    );
    assert!(ok);
    assert!(sim.stats.max_datagram <= 1400, "{}", sim.stats.max_datagram);
    assert!(sim.views_agree());
}

#[test]
fn at_three_hundred_nodes_every_datagram_fits_the_mtu_and_the_cluster_converges() {
    every_datagram_fits_the_mtu_and_the_cluster_converges(300, 900);
}

/// About five minutes of wall time: run with
/// `cargo test --release -p gossip-core --test cluster -- --ignored`.
#[test]
#[ignore = "slow (minutes); run with --ignored"]
fn at_a_thousand_nodes_every_datagram_fits_the_mtu_and_the_cluster_converges() {
    every_datagram_fits_the_mtu_and_the_cluster_converges(1000, 900);
}
