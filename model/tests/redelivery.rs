//! The duplication abstraction `NetworkConfig::redeliver` ("duplication as redelivery") is
//! sound and loses nothing, checked on small exhaustive configurations against the model with
//! `Duplicate`. Write `D(k)` for the model with `Duplicate` and `max_in_flight = k`, and `R(k)`
//! for the model with `Redeliver` instead and the same `k`:
//!
//! * **Nothing invented:** every state `R(k)` reaches is a state `D(k + 1)` reaches (a
//!   redelivery is a `Duplicate` into the extra slot followed by the delivery of the first
//!   copy, which leaves the network as it was but for the replies). So every violation and
//!   example `R(k)` reports is one of a network that duplicates.
//! * **Nothing lost:** for every state `D(k)` reaches, `R(k)` reaches a state with the same
//!   nodes and ghost state whose network has the same messages in the same order, each run of
//!   equal copies no longer (a copy-collapsed network). So every violation `D(k)` finds, `R(k)`
//!   finds, and every property has a verdict between those of `D(k)` and `D(k + 1)`.
//! * Without duplication the switch changes nothing; every seeded bug is still caught.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use gossip_model::{Envelope, Expected, GossipConfig, GossipState, NetworkConfig};
use stateright::Model;

mod common;

/// (Duplicate at k, redelivery at k, Duplicate at k + 1) unique states of [`configs`].
const PINNED: &[(usize, usize, usize)] = &[
    (1215, 4326, 12518),
    (875, 4154, 17915),
    (1078, 2794, 5682),
    (3752, 15355, 43693),
];

/// The maximal runs of equal adjacent envelopes, with their lengths. On an unordered network
/// (a sorted multiset) a run is one distinct message and its count; on a FIFO network (sorted
/// by link, each link in sending order) equal envelopes share a link, so runs stay in a link.
fn runs(network: &[Envelope]) -> Vec<(&Envelope, usize)> {
    let mut out: Vec<(&Envelope, usize)> = Vec::new();
    for e in network {
        match out.last_mut() {
            Some((last, n)) if *last == e => *n += 1,
            _ => out.push((e, 1)),
        }
    }
    out
}

/// Whether `r` is `s` with some copies collapsed: the same runs in the same order, each at
/// most as long (and at least one copy).
fn collapses(r: &[Envelope], s: &[Envelope]) -> bool {
    let (a, b) = (runs(r), runs(s));
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|((x, m), (y, n))| x == y && 1 <= *m && m <= n)
}

/// The state without its network.
fn nodes_and_ghosts(s: &GossipState) -> GossipState {
    GossipState {
        network: vec![],
        ..s.clone()
    }
}

fn with_in_flight(cfg: &GossipConfig, k: usize) -> GossipConfig {
    let mut c = cfg.clone();
    c.network.max_in_flight = k;
    c
}

fn redelivering(cfg: &GossipConfig) -> GossipConfig {
    let mut c = cfg.clone();
    c.network.redeliver = true;
    c
}

fn net(lossy: bool, ordered: bool, max_in_flight: usize) -> NetworkConfig {
    NetworkConfig {
        lossy,
        duplicating: true,
        ordered,
        max_in_flight,
        redeliver: false,
    }
}

/// Small duplicating configurations: FIFO and unordered links, with and without loss, a
/// crash, 1 and 2 messages in flight.
fn configs() -> Vec<(&'static str, GossipConfig)> {
    let base = common::two_nodes_one_write_one_crash();
    vec![
        (
            "2 nodes, 1 write each, FIFO, loss + dup + 1 crash, 1 in flight",
            GossipConfig {
                network: net(true, true, 1),
                ..base.clone()
            },
        ),
        (
            "2 nodes, 1 write each, unordered, dup without loss, 1 crash, 1 in flight",
            GossipConfig {
                network: net(false, false, 1),
                ..base.clone()
            },
        ),
        (
            "2 nodes, 1 write each, FIFO, dup without loss, no crash, 2 in flight",
            GossipConfig {
                crashes: 0,
                convict: false,
                network: net(false, true, 2),
                ..base.clone()
            },
        ),
        (
            "2 nodes, 1 write each, unordered, loss + dup, no crash, 2 in flight",
            GossipConfig {
                crashes: 0,
                convict: false,
                network: net(true, false, 2),
                ..base.clone()
            },
        ),
    ]
}

/// Every property's result over the reachable set.
type Verdicts = Vec<(&'static str, Expected)>;

/// The reachable sets of one configuration and every property's result over each: with
/// `Duplicate` at `k` and `k + 1` slots, and with redelivery at `k` slots.
struct Compared {
    name: &'static str,
    cfg: GossipConfig,
    dup: (HashSet<GossipState>, Verdicts),
    redeliver: (HashSet<GossipState>, Verdicts),
    dup_more: (HashSet<GossipState>, Verdicts),
}

fn explore(cfg: &GossipConfig) -> (HashSet<GossipState>, Verdicts) {
    let states = cfg.clone().into_model().reachable_states();
    let v = verdicts(cfg, &states);
    (states, v)
}

/// Computed once, one thread per configuration, and shared by the tests (the exploration is
/// most of their time).
fn compared() -> &'static [Compared] {
    static ALL: OnceLock<Vec<Compared>> = OnceLock::new();
    ALL.get_or_init(|| {
        std::thread::scope(|scope| {
            let handles: Vec<_> = configs()
                .into_iter()
                .map(|(name, cfg)| {
                    scope.spawn(move || {
                        let k = cfg.network.max_in_flight;
                        Compared {
                            name,
                            dup: explore(&cfg),
                            redeliver: explore(&redelivering(&cfg)),
                            dup_more: explore(&with_in_flight(&cfg, k + 1)),
                            cfg,
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("exploration"))
                .collect()
        })
    })
}

#[test]
fn redelivery_reaches_only_states_of_the_duplicating_model_with_one_more_slot() {
    for c in compared() {
        let outside = c
            .redeliver
            .0
            .iter()
            .filter(|s| !c.dup_more.0.contains(s))
            .count();
        assert_eq!(
            outside,
            0,
            "{}: {outside} of {} redelivery states are not reachable with Duplicate and one \
             more slot",
            c.name,
            c.redeliver.0.len(),
        );
    }
}

#[test]
fn every_state_of_the_duplicating_model_has_a_copy_collapsed_counterpart_with_redelivery() {
    for c in compared() {
        let mut by_nodes: HashMap<GossipState, Vec<&[Envelope]>> = HashMap::new();
        for s in &c.redeliver.0 {
            by_nodes
                .entry(nodes_and_ghosts(s))
                .or_default()
                .push(&s.network);
        }
        let missing: Vec<&GossipState> = c
            .dup
            .0
            .iter()
            .filter(|s| {
                !by_nodes
                    .get(&nodes_and_ghosts(s))
                    .is_some_and(|nets| nets.iter().any(|n| collapses(n, &s.network)))
            })
            .collect();
        assert!(
            missing.is_empty(),
            "{}: {} of {} states with Duplicate have no counterpart with redelivery, e.g.\n{}",
            c.name,
            missing.len(),
            c.dup.0.len(),
            c.cfg.clone().into_model().describe_state(missing[0])
        );
    }
}

/// Every property's result (violated / holds / found / not found) over a reachable set.
fn verdicts(cfg: &GossipConfig, states: &HashSet<GossipState>) -> Verdicts {
    let model = cfg.clone().into_model();
    model
        .properties()
        .into_iter()
        .map(|p| {
            let always = p.expectation.discovery_is_failure();
            // A discovery: a counterexample of an `always`, an example of a `sometimes`.
            let discovered = states.iter().any(|s| (p.condition)(&model, s) != always);
            let got = match (always, discovered) {
                (true, true) => Expected::Violated,
                (true, false) => Expected::Holds,
                (false, true) => Expected::Found,
                (false, false) => Expected::NotFound,
            };
            (p.name, got)
        })
        .collect()
}

/// "Violated" and "Found" are the larger results: more states can only add discoveries.
fn at_least(a: Expected, b: Expected) -> bool {
    use Expected::*;
    a == b || matches!((a, b), (Violated, Holds) | (Found, NotFound))
}

#[test]
fn every_verdict_with_redelivery_lies_between_the_duplicating_models_at_k_and_k_plus_1() {
    for c in compared() {
        let (d, r, m) = (&c.dup.1, &c.redeliver.1, &c.dup_more.1);
        for ((p, vd), ((_, vr), (_, vm))) in d.iter().zip(r.iter().zip(m)) {
            assert!(
                at_least(*vr, *vd),
                "{}: {p:?}: {vd:?} with Duplicate, {vr:?} with redelivery",
                c.name
            );
            assert!(
                at_least(*vm, *vr),
                "{}: {p:?}: {vr:?} with redelivery, {vm:?} with Duplicate and one more slot",
                c.name
            );
        }
        // The correct protocol: every safety property holds in all three.
        assert!(
            r.iter().all(|(_, v)| *v != Expected::Violated),
            "{}: {r:?}",
            c.name
        );
    }
}

#[test]
fn every_verdict_with_redelivery_is_the_expected_one() {
    for c in compared() {
        let model = redelivering(&c.cfg).into_model();
        for &(p, got) in &c.redeliver.1 {
            assert_eq!(got, model.expected(p), "{}: {p:?}", c.name);
        }
    }
}

/// The state counts, pinned: redelivery sits between `Duplicate` at `k` and at `k + 1`.
#[test]
fn redelivery_state_counts_are_pinned() {
    let counts: Vec<(usize, usize, usize)> = compared()
        .iter()
        .map(|c| (c.dup.0.len(), c.redeliver.0.len(), c.dup_more.0.len()))
        .collect();
    for (c, n) in compared().iter().zip(&counts) {
        println!(
            "{}: Duplicate at k {}, redelivery at k {}, Duplicate at k + 1 {}",
            c.name, n.0, n.1, n.2
        );
    }
    assert_eq!(counts, PINNED);
}

#[test]
fn redelivery_is_a_no_op_without_duplication() {
    for (name, cfg) in configs() {
        let mut plain = cfg.clone();
        plain.network.duplicating = false;
        let d = plain.clone().into_model().reachable_states();
        let r = redelivering(&plain).into_model().reachable_states();
        assert!(
            d == r,
            "{name}: {} states without the switch, {} with",
            d.len(),
            r.len()
        );
    }
}

#[test]
fn every_seeded_bug_is_still_caught_with_duplication_as_redelivery() {
    common::assert_every_seeded_bug_caught("redelivery", |witness| {
        let mut cfg = redelivering(witness);
        cfg.network.duplicating = true;
        cfg
    });
}
