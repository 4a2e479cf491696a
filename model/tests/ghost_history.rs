//! The history-dependent safety properties are stated against ghost history (what the owners
//! really did: their heartbeats per generation, the generations they ran; what each observer
//! forgot and convicted), not against the guards of `protocol.rs` that protect them. Each is
//! shown here catching a mutation AWAY from its guard, in a small configuration, where the
//! guard-mirroring statement it replaces would have passed; and the correct protocol keeps
//! every safety property in the same configurations (exhaustive BFS).
//!
//! | property | mutation (not its guard) | the old statement would have passed because |
//! |---|---|---|
//! | heartbeat provenance (new) | `digest-heartbeat-any-generation` (§5.8) | there was no such property |
//! | revival | `digest-heartbeat-any-generation` | the reviving heartbeat is above the one held |
//! | no zombie | `digest-heartbeat-any-generation`, 3 nodes | the re-learned node comes with a higher generation (or heartbeat) than it was forgotten at, at a heartbeat it never reached there |
//! | no older generation | `forget-without-record` (§5.2/§7), with a restart | the node was re-learned, not held before the step |
//! | monotonic | `forget-without-record` | same: re-learned after it was forgotten |
//! | own state | `bump-on-receive` on a `Redeliver` step | only `Deliver` was checked |

use gossip_model::properties::names::*;
use gossip_model::properties::reached;
use gossip_model::{
    Envelope, GossipAction, GossipConfig, GossipModel, GossipState, Msg, NetworkConfig, Status,
    Variant, Violation,
};
use stateright::{Checker, Expectation, HasDiscoveries, Model, Path};

/// The first (shortest) counterexample of `property` by a one-thread BFS.
fn first_violation(cfg: &GossipConfig, property: &'static str) -> Path<GossipState, GossipAction> {
    let model = cfg.clone().into_model();
    let checker = model
        .checker()
        .threads(1)
        .finish_when(HasDiscoveries::AnyOf([property].into()))
        .spawn_bfs()
        .join();
    checker
        .discovery(property)
        .unwrap_or_else(|| panic!("{property:?} not violated in {cfg:?}"))
}

/// The last step of a path: (state before, action, state after).
fn last_step(path: &Path<GossipState, GossipAction>) -> (GossipState, GossipAction, GossipState) {
    let pairs = path.clone().into_vec();
    let n = pairs.len();
    assert!(n >= 2, "a counterexample has a step");
    let before = pairs[n - 2].0.clone();
    let action = pairs[n - 2].1.clone().expect("a step");
    (before, action, pairs[n - 1].0.clone())
}

/// Exhaustive BFS of the correct protocol in `cfg`: no `always` property is violated.
fn correct_keeps_every_safety_property(cfg: &GossipConfig) {
    let model = GossipConfig {
        variant: Variant::Correct,
        ..cfg.clone()
    }
    .into_model();
    let checker = model.clone().checker().threads(1).spawn_bfs().join();
    assert!(checker.is_done());
    for p in model.properties() {
        if p.expectation == Expectation::Always {
            assert!(
                checker.discovery(p.name).is_none(),
                "the correct protocol violates {:?} in {cfg:?}",
                p.name
            );
        }
    }
}

/// 2 nodes, no writes, a crash and a restart, convictions: the generation-crossing variant's
/// witness configuration with the failure detector on.
fn two_nodes_restart_convict() -> GossipConfig {
    GossipConfig {
        convict: true,
        ..Variant::DigestHeartbeatAnyGeneration.witness_config()
    }
}

/// 3 nodes, no writes, a crash and a restart, convictions and forgetting.
fn three_nodes_restart_forget() -> GossipConfig {
    GossipConfig {
        nodes: 3,
        convict: true,
        forget: true,
        ..Variant::DigestHeartbeatAnyGeneration.witness_config()
    }
}

/// 2 nodes, no writes, a crash and a restart, convictions, forgetting, 2 messages in flight,
/// heartbeats up to 2 (so a restarted node can be falsely convicted): forget-without-record's
/// bug meets a restart.
fn forget_without_record_with_restart() -> GossipConfig {
    GossipConfig {
        crashes: 1,
        restarts: 1,
        max_heartbeat: 2,
        network: NetworkConfig {
            max_in_flight: 2,
            ..Variant::ForgetWithoutRecord.witness_config().network
        },
        nodes: 2,
        ..Variant::ForgetWithoutRecord.witness_config()
    }
}

/// The heartbeat (generation, heartbeat) X holds of N, if any.
fn held(s: &GossipState, x: usize, n: u8) -> Option<(u8, u8, Status)> {
    s.nodes[x]
        .view
        .get(&n)
        .map(|v| (v.generation, v.heartbeat, v.status))
}

#[test]
fn a_heartbeat_taken_from_another_generation_is_caught_at_the_step_that_stores_it() {
    let cfg = Variant::DigestHeartbeatAnyGeneration.witness_config();
    let model = cfg.clone().into_model();
    let path = first_violation(&cfg, HEARTBEAT_PROVENANCE);
    let (before, action, after) = last_step(&path);
    let provenance = model.property(HEARTBEAT_PROVENANCE);
    // The state before the step is fine; the step that stores the heartbeat breaks it: a
    // delivered digest carries the node at another generation than the receiver holds.
    assert!((provenance.condition)(&model, &before));
    assert!(!(provenance.condition)(&model, &after));
    let GossipAction::Deliver(Envelope {
        to,
        msg: Msg::Syn { digest, .. } | Msg::SynAck { digest, .. },
        ..
    }) = &action
    else {
        panic!(
            "not the delivery of a digest: {}",
            model.format_action(&action)
        );
    };
    let x = *to as usize;
    assert!(digest.iter().any(|e| {
        held(&before, x, e.node).is_some_and(|(g, h, _)| g != e.generation && h < e.heartbeat)
    }));
}

#[test]
fn a_revival_by_another_generations_heartbeat_is_caught_though_that_heartbeat_is_higher() {
    let cfg = two_nodes_restart_convict();
    let path = first_violation(&cfg, REVIVAL);
    let (before, _, after) = last_step(&path);
    // Some observer saw a node go from dead to alive in the same generation with a HIGHER
    // heartbeat: the guard-mirroring check ("the heartbeat rose") passes, the ghost check
    // ("a heartbeat the node really reached in that generation") does not.
    let revived = (0..cfg.nodes).any(|x| {
        (0..cfg.nodes as u8).any(|n| match (held(&before, x, n), held(&after, x, n)) {
            (Some((g0, h0, Status::Dead)), Some((g1, h1, Status::Alive))) => g0 == g1 && h1 > h0,
            _ => false,
        })
    });
    assert!(revived);
    assert!(after.violations.contains(&Violation::StaleRevival));
    correct_keeps_every_safety_property(&cfg);
}

#[test]
fn a_zombie_brought_back_by_another_generations_heartbeat_is_caught_though_it_looks_fresh() {
    let cfg = three_nodes_restart_forget();
    let path = first_violation(&cfg, NO_ZOMBIE);
    let (before, _, after) = last_step(&path);
    // An observer re-learned a node it had forgotten with what the guard (and the old check)
    // take as evidence, a higher generation or, at the forgotten generation, a higher
    // heartbeat; but the node never reached that heartbeat in that generation.
    let relearned = (0..cfg.nodes).any(|x| {
        (0..cfg.nodes as u8).any(|n| {
            let f = before.ghost.forgotten.get(&(x as u8, n));
            match (held(&before, x, n), held(&after, x, n), f) {
                (None, Some((g, h, _)), Some(f)) => {
                    let old_evidence =
                        g > f.generation || (g == f.generation && !f.left && h > f.heartbeat);
                    let top = reached(&after.nodes, &after.ghost.ended_runs, n, g);
                    old_evidence && top.is_none_or(|top| h > top)
                }
                _ => false,
            }
        })
    });
    assert!(relearned);
    correct_keeps_every_safety_property(&cfg);
}

#[test]
fn an_older_generation_relearned_after_forgetting_the_newer_one_is_caught() {
    let cfg = forget_without_record_with_restart();
    let path = first_violation(&cfg, NO_OLDER_GENERATION);
    let (before, _, after) = last_step(&path);
    // The older generation comes back at a node that did not hold the node before the step
    // (it had forgotten the newer generation): a check of held views only cannot see it.
    let relearned_older = (0..cfg.nodes).any(|x| {
        (0..cfg.nodes as u8).any(|n| {
            let f = before.ghost.forgotten.get(&(x as u8, n));
            held(&before, x, n).is_none()
                && held(&after, x, n)
                    .zip(f)
                    .is_some_and(|((g, _, _), f)| g < f.generation)
        })
    });
    assert!(relearned_older);
    correct_keeps_every_safety_property(&cfg);
}

#[test]
fn a_heartbeat_relearned_lower_after_forgetting_is_caught_as_going_backwards() {
    let cfg = forget_without_record_with_restart();
    let path = first_violation(&cfg, MONOTONIC);
    let (before, _, after) = last_step(&path);
    let relearned_lower = (0..cfg.nodes).any(|x| {
        (0..cfg.nodes as u8).any(|n| {
            let f = before.ghost.forgotten.get(&(x as u8, n));
            held(&before, x, n).is_none()
                && held(&after, x, n)
                    .zip(f)
                    .is_some_and(|((g, h, _), f)| g == f.generation && h < f.heartbeat)
        })
    });
    assert!(relearned_lower);
    // The bug's own witness configuration shows it too (listed in `also_violates`).
    let witness = Variant::ForgetWithoutRecord.witness_config();
    assert!(
        Variant::ForgetWithoutRecord
            .also_violates()
            .contains(&MONOTONIC)
    );
    first_violation(&witness, MONOTONIC);
}

#[test]
fn a_redelivery_that_changes_the_receivers_own_state_is_caught() {
    let cfg = GossipConfig {
        network: NetworkConfig {
            duplicating: true,
            redeliver: true,
            ..Variant::BumpOnReceive.witness_config().network
        },
        ..Variant::BumpOnReceive.witness_config()
    };
    let model = cfg.clone().into_model();
    let init = model.init_states().remove(0);
    let s = model
        .next_state(
            &init,
            GossipAction::Gossip {
                from: 1,
                to: vec![0],
            },
        )
        .unwrap();
    let syn = s.network[0].clone();
    let t = model
        .next_state(&s, GossipAction::Redeliver(syn.clone()))
        .unwrap();
    assert!(t.network.contains(&syn), "the Syn stays in flight");
    assert!(t.violations.contains(&Violation::OwnStateChanged));
    // The correct protocol's redelivery leaves the receiver's own state alone.
    let correct = GossipModel {
        cfg: GossipConfig {
            variant: Variant::Correct,
            ..cfg
        },
    };
    let s = correct
        .next_state(
            &init,
            GossipAction::Gossip {
                from: 1,
                to: vec![0],
            },
        )
        .unwrap();
    let t = correct
        .next_state(&s, GossipAction::Redeliver(syn))
        .unwrap();
    assert!(t.violations.is_empty());
}

#[test]
fn own_state_is_checked_on_every_step_that_is_not_the_nodes_own() {
    use gossip_model::properties::check_transition;
    let model = GossipConfig::default().into_model();
    let before = model.init_states().remove(0);
    let mut after = before.nodes.clone();
    after[0].view.get_mut(&0).unwrap().heartbeat += 1;
    let env = Envelope {
        from: 1,
        to: 0,
        msg: Msg::Ack { delta: vec![] },
    };
    let found = |action: GossipAction| {
        let mut ghost = before.ghost.clone();
        let mut found = std::collections::BTreeSet::new();
        check_transition(&before.nodes, &action, &after, &mut ghost, &mut found);
        found.contains(&Violation::OwnStateChanged)
    };
    for action in [
        GossipAction::Deliver(env.clone()),
        GossipAction::Redeliver(env.clone()),
        GossipAction::Duplicate(env.clone()),
        GossipAction::Drop(env),
        GossipAction::Convict {
            observer: 0,
            subject: 1,
        },
        GossipAction::Gossip {
            from: 1,
            to: vec![0],
        },
        GossipAction::Crash { node: 0 },
        GossipAction::CollectTombstones {
            node: 0,
            subject: 1,
        },
    ] {
        assert!(found(action.clone()), "{action:?}");
    }
    // n0's own steps may change it.
    for action in [
        GossipAction::Gossip {
            from: 0,
            to: vec![1],
        },
        GossipAction::Write {
            node: 0,
            key: 0,
            value: 0,
        },
        GossipAction::Leave { node: 0 },
        GossipAction::CollectTombstones {
            node: 0,
            subject: 0,
        },
    ] {
        assert!(!found(action.clone()), "{action:?}");
    }
}

/// Re-learning a forgotten node is checked: by the ghost forgotten record (heartbeat and
/// generation, see above) and, for what it re-learns, by the watermark rule. The tombstone
/// records of `NO_RESURRECTION` deliberately end at the forget: the observer then starts from
/// nothing, like a node that never saw the delete, so an older value under a watermark below
/// the tombstone is fine; under a watermark that covers the tombstone (and no later change of
/// the key above it) the watermark rule catches it.
#[test]
fn relearning_a_forgotten_node_is_checked_by_the_watermark_rule_not_by_old_tombstone_records() {
    use gossip_model::properties::check_transition;
    use std::collections::BTreeSet;
    let model = GossipConfig {
        nodes: 2,
        writes_per_node: 1,
        deletes_per_node: 1,
        convict: true,
        forget: true,
        ..GossipConfig::default()
    }
    .into_model();
    let mut s = model.init_states().remove(0);
    // n0 wrote k0 = a (version 1) and deleted it (version 2); n1 holds the tombstone, dead.
    s.history
        .insert((0, 1, 1, gossip_model::Change::Set { key: 0, value: 0 }));
    s.history
        .insert((0, 1, 2, gossip_model::Change::Delete { key: 0 }));
    let own = s.nodes[0].view.get_mut(&0).unwrap();
    own.entries.insert(0, (2, None));
    own.watermark = 2;
    let mut seen = own.clone();
    seen.status = Status::Dead;
    s.nodes[1].view.insert(0, seen);
    let forget = GossipAction::Forget {
        observer: 1,
        subject: 0,
    };
    let mut t = s.clone();
    t.nodes[1].view.remove(&0);
    let mut found = BTreeSet::new();
    check_transition(&s.nodes, &forget, &t.nodes, &mut t.ghost, &mut found);
    assert!(found.is_empty());
    assert_eq!(t.ghost.forgotten[&(1, 0)].heartbeat, 0);
    // n1 re-learns n0 at generation 1 with a fresh heartbeat and the old value of k0.
    t.nodes[0].view.get_mut(&0).unwrap().heartbeat = 1;
    let relearned = |watermark: u8| {
        let mut u = t.clone();
        let mut v = gossip_model::NodeView::empty(1, 1);
        v.entries.insert(0, (1, Some(0)));
        v.watermark = watermark;
        u.nodes[1].view.insert(0, v);
        let env = Envelope {
            from: 0,
            to: 1,
            msg: Msg::Ack { delta: vec![] },
        };
        let mut found = BTreeSet::new();
        check_transition(
            &t.nodes,
            &GossipAction::Deliver(env),
            &u.nodes,
            &mut u.ghost,
            &mut found,
        );
        assert!(found.is_empty(), "{found:?}");
        let holds = |name| (model.property(name).condition)(&model, &u);
        (holds(WATERMARK_RULE), holds(NO_RESURRECTION))
    };
    assert_eq!(
        relearned(1),
        (true, true),
        "below the tombstone: still to come"
    );
    assert_eq!(
        relearned(2),
        (false, true),
        "the watermark covers the delete"
    );
}
