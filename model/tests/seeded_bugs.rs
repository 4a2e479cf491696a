//! Every seeded bug is caught by the property `Variant::expected_violation` names, with a
//! pinned SHORTEST counterexample (BFS, stateright 0.30.2), which replays with
//! `Path::from_actions`; and the correct protocol satisfies that property in the same
//! configuration, so the counterexample is the bug's doing.

use gossip_model::properties::names::*;
use gossip_model::{Envelope, GossipAction, GossipConfig, GossipModel, Msg, Variant};
use stateright::{Checker, Model, Path};

/// (variant, the property that catches it, shortest counterexample length).
const CAUGHT: &[(&str, &str, usize)] = &[
    ("apply-past-gap", WATERMARK_RULE, 11),
    ("cut-not-prefix", WATERMARK_RULE, 5),
    ("accept-older-generation", NO_OLDER_GENERATION, 8),
    ("equal-generation-wins", MONOTONIC, 7),
    ("gc-without-reset", WATERMARK_RULE, 9),
    ("resurrect-after-gc", NO_RESURRECTION, 9),
    ("no-heartbeat-bump", ALIVE_SEEN, 5),
    ("bump-on-receive", OWN_STATE, 2),
    ("revive-on-stale-gossip", REVIVAL, 8),
    ("forget-without-record", NO_ZOMBIE, 9),
    ("reuse-generation-on-restart", SAME_VALUE, 7),
    ("delete-reuses-version", NO_INVENTED_VALUE, 2),
    ("leave-without-version", LEAVE_SEEN, 5),
    ("delta-from-digest-only", JOIN, 6),
    ("push-once", CONVERGENCE, 8),
    ("rotation-never-advances", CONVERGENCE, 15),
    ("partial-digest-listed-only", JOIN, 10),
    ("expire-early", NO_ZOMBIE, 10),
    ("digest-heartbeat-any-generation", HEARTBEAT_PROVENANCE, 8),
];

fn counterexample(
    cfg: GossipConfig,
    property: &'static str,
) -> Option<Path<gossip_model::GossipState, GossipAction>> {
    let model = cfg.into_model();
    // One thread: stateright's BFS returns a shortest path only when a single worker
    // explores level by level; with two workers a longer path can be discovered first.
    let checker = model.checker().threads(1).spawn_bfs().join();
    assert!(checker.is_done());
    checker.discovery(property)
}

/// The shortest counterexample of `property` in `variant`'s witness configuration, one
/// formatted action per step.
fn shown_counterexample(variant: Variant, property: &'static str) -> Vec<String> {
    let model = GossipModel {
        cfg: variant.witness_config(),
    };
    let path = counterexample(model.cfg.clone(), property).unwrap();
    path.into_actions()
        .iter()
        .map(|a| model.format_action(a))
        .collect()
}

#[test]
fn the_table_covers_every_seeded_bug_and_agrees_with_expected_violation() {
    let bugs: Vec<&str> = Variant::all()
        .iter()
        .filter(|v| v.is_seeded_bug())
        .map(|v| v.name())
        .collect();
    let table: Vec<&str> = CAUGHT.iter().map(|c| c.0).collect();
    assert_eq!(bugs, table);
    for &(name, property, _) in CAUGHT {
        let v = Variant::from_name(name).unwrap();
        assert_eq!(v.expected_violation(), Some(property), "{name}");
        assert_eq!(
            v.witness_config().into_model().expected(property),
            gossip_model::Expected::Violated
        );
    }
}

#[test]
fn every_seeded_bug_is_caught_by_its_property_with_the_pinned_shortest_counterexample() {
    for &(name, property, len) in CAUGHT {
        let variant = Variant::from_name(name).unwrap();
        let cfg = variant.witness_config();
        let model = cfg.clone().into_model();
        let path = counterexample(cfg, property)
            .unwrap_or_else(|| panic!("{name}: {property:?} not violated"));
        let actions = path.clone().into_actions();
        let shown: Vec<String> = actions.iter().map(|a| model.format_action(a)).collect();
        assert_eq!(actions.len(), len, "{name}: {shown:#?}");
        // The counterexample replays, and its last state violates the property.
        let init = model.init_states().remove(0);
        let replay = Path::from_actions(&model, init, &actions).expect("replays");
        let p = model.property(property);
        assert!(!(p.condition)(&model, replay.last_state()), "{name}");
    }
}

#[test]
fn the_correct_protocol_satisfies_each_catching_property_in_the_bugs_configuration() {
    let mut seen = Vec::new();
    for &(name, _, _) in CAUGHT {
        let cfg = GossipConfig {
            variant: Variant::Correct,
            ..Variant::from_name(name).unwrap().witness_config()
        };
        if seen.contains(&cfg) {
            continue;
        }
        seen.push(cfg.clone());
        let checker = cfg.into_model().checker().threads(2).spawn_bfs().join();
        for &(_, property, _) in CAUGHT {
            assert!(
                checker.discovery(property).is_none(),
                "{name}'s configuration: the correct protocol violates {property:?}"
            );
        }
    }
}

#[test]
fn short_counterexamples_are_pinned_action_by_action() {
    use GossipAction::*;
    // delete-reuses-version: the tombstone takes the write's version 1.
    let path = counterexample(
        Variant::DeleteReusesVersion.witness_config(),
        NO_INVENTED_VALUE,
    )
    .unwrap();
    assert_eq!(
        path.into_actions(),
        vec![
            Write {
                node: 0,
                key: 0,
                value: 0
            },
            Delete { node: 0, key: 0 }
        ]
    );
    // bump-on-receive: receiving n1's Syn changes n0's own heartbeat.
    let path = counterexample(Variant::BumpOnReceive.witness_config(), OWN_STATE).unwrap();
    let actions = path.into_actions();
    assert_eq!(
        actions[0],
        Gossip {
            from: 1,
            to: vec![0]
        }
    );
    assert!(matches!(
        &actions[1],
        Deliver(Envelope {
            from: 1,
            to: 0,
            msg: Msg::Syn { .. }
        })
    ));
    // cut-not-prefix: n0 sends only its newest update (version 2) yet claims watermark 2.
    assert_eq!(
        shown_counterexample(Variant::CutNotPrefix, WATERMARK_RULE),
        vec![
            "n0 writes k0=a",
            "n0 writes k1=a",
            "n1 gossips with n0",
            "n1 → n0 Syn [n1 g1 h1 w0]",
            "n0 → n1 SynAck [n0 g1 h0 w2] {n0 g1 h0 from 0 [2:k1=a] →w2}",
        ]
    );
    // digest-heartbeat-any-generation: n1 holds n0's first run at heartbeat 0; n0 restarts,
    // gossips once (generation 2, heartbeat 1), and n1 applies that heartbeat to generation 1,
    // which never reached it. Caught at the delivery that stores it.
    assert_eq!(
        shown_counterexample(Variant::DigestHeartbeatAnyGeneration, HEARTBEAT_PROVENANCE),
        vec![
            "n1 gossips with n0",
            "n1 → n0 Syn [n1 g1 h1 w0]",
            "n0 crashes",
            "n0 restarts",
            "n0 → n1 SynAck [n0 g1 h0 w0] {n0 g1 h0 from 0 [] →w0}",
            "n1 → n0 Ack {n1 g1 h1 from 0 [] →w0}",
            "n0 gossips with n1",
            "n0 → n1 Syn [n0 g2 h1 w0, n1 g1 h1 w0]",
        ]
    );

    // expire-early: n1 falsely convicts n0, forgets it at h0 and the record expires at once,
    // while n0 still runs at h0; n0's own node delta brings it back without a fresh heartbeat.
    assert_eq!(
        shown_counterexample(Variant::ExpireEarly, NO_ZOMBIE),
        vec![
            "n1 gossips with n0",
            "n1 → n0 Syn [n1 g1 h1 w0]",
            "n0 → n1 SynAck [n0 g1 h0 w0] {n0 g1 h0 from 0 [] →w0}",
            "n1 convicts n0",
            "n1 forgets n0",
            "n1's forgotten record of n0 expires",
            "n1 → n0 Ack {n1 g1 h1 from 0 [] →w0}",
            "n1 gossips with n0",
            "n1 → n0 Syn [n1 g1 h1 w0]",
            "n0 → n1 SynAck [n0 g1 h0 w0, n1 g1 h1 w0] {n0 g1 h0 from 0 [] →w0}",
        ]
    );
}
