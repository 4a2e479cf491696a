//! `Core::view_epoch`: it changes whenever the view changes in anything but heartbeats (so a
//! shell may skip rebuilding its copy of the view while it stays the same), and heartbeat-only
//! gossip leaves it unchanged (so that skipping is worth something).

use std::time::Duration;

use gossip_core::ClusterView;
use gossip_sim::{Latency, NetModel, Sim};

/// The view without heartbeats (the only thing `view_epoch` may ignore).
fn without_heartbeats(mut v: ClusterView) -> ClusterView {
    for n in &mut v.nodes {
        n.heartbeat = 0;
    }
    v
}

#[test]
fn the_view_epoch_changes_with_every_change_of_the_view_but_not_with_heartbeats_alone() {
    let n = 6;
    let net = NetModel {
        loss: 0.05,
        duplicate: 0.02,
        latency: Latency::Uniform {
            min_ms: 1.0,
            max_ms: 40.0,
        },
        ..NetModel::default()
    };
    let mut sim = Sim::cluster(n, net, 5, |c| {
        c.tombstone_grace_period = Duration::from_secs(2);
        c.dead_grace_period = Duration::from_secs(3);
    });
    // Per node: (epoch, view without heartbeats) after the previous step, once started.
    let mut last: Vec<Option<(u64, ClusterView)>> = vec![None; n];
    let (mut changes, mut heartbeat_only_steps) = (0, 0);
    let mut check = |sim: &Sim, last: &mut Vec<Option<(u64, ClusterView)>>| {
        for (i, slot) in last.iter_mut().enumerate() {
            if !sim.is_up(i) {
                *slot = None;
                continue;
            }
            let epoch = sim.core(i).view_epoch();
            let view = without_heartbeats(sim.core(i).view());
            let Some(prev) = slot else {
                *slot = Some((epoch, view));
                continue;
            };
            assert!(
                epoch >= prev.0,
                "node {i}: the epoch went back from {} to {epoch}",
                prev.0
            );
            if view != prev.1 {
                assert!(
                    epoch > prev.0,
                    "node {i}: the view changed, the epoch did not increase"
                );
                changes += 1;
            } else if epoch == prev.0 {
                heartbeat_only_steps += 1;
            }
            *prev = (epoch, view);
        }
    };
    for step in 0..60_000 {
        match step {
            500 => {
                sim.set(0, "a", b"1");
                sim.set(1, "b", b"2");
            }
            2_000 => {
                sim.delete(0, "a");
            }
            4_000 => {
                sim.leave(2);
            }
            6_000 => sim.crash(3),
            _ => {}
        }
        if !sim.step() {
            break;
        }
        check(&sim, &mut last);
    }
    // The scenario exercised joins, writes, deletes, tombstone collection, a leave, failure
    // detection and forgetting, and heartbeat-only gossip.
    assert!(changes > 50, "only {changes} view changes");
    assert!(heartbeat_only_steps > 1_000, "only {heartbeat_only_steps}");
    assert!(
        !sim.core(0).view().forgotten.is_empty(),
        "nobody was forgotten"
    );
}

#[test]
fn collecting_tombstones_changes_the_view_epoch_only_when_a_tombstone_was_collected() {
    use rand::SeedableRng;
    let config = gossip_core::Config::new("a", "10.0.0.1:7000".parse().unwrap());
    let rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut core = gossip_core::Core::new(config, rng, Duration::ZERO).unwrap();
    let now = Duration::from_secs(1);
    for key in ["a", "b"] {
        core.set(key, b"1", now).unwrap();
        core.delete(key, now).unwrap();
    }
    let me = core.id().clone();
    let before = core.view_epoch();
    assert_eq!(core.collect_tombstones(&me, now), 2);
    let after = core.view_epoch();
    assert!(
        after > before,
        "collecting two tombstones moved the epoch from {before} to {after}"
    );
    assert!(core.view().node(&me).unwrap().entries.is_empty());
    assert_eq!(core.collect_tombstones(&me, now), 0);
    assert_eq!(
        core.view_epoch(),
        after,
        "nothing collected, the epoch stays"
    );
}
