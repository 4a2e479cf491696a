//! The failure detector's heartbeat period `P` (docs/spec/node.md §7): measured from the
//! heartbeat arrivals a node receives (smoothed over rounds, in integers), at most the rotation
//! period of its own Syn digests, and 1 (the configured settings) while its Syn digests are
//! complete.

mod support;

use std::time::Duration;

use gossip_core::wire::NodeDelta;
use gossip_core::{Config, Core, DetectorSettings, NodeId};
use rand_chacha::ChaCha8Rng;
use support::*;

fn n(i: u8) -> NodeId {
    id(&format!("n{i:02}"), 100 + i)
}

/// Node "a" holding 40 other nodes at heartbeat 1 (learned from one Ack), with a 200-byte
/// digest budget: its Syn digests are partial.
fn node_with_forty_others(max_digest_len: usize) -> (Core<ChaCha8Rng>, Config) {
    let mut c = config("a", 1);
    c.limits.max_name_len = 8;
    c.max_digest_len = max_digest_len;
    c.min_std_dev = Duration::from_millis(100);
    c.initial_interval_estimate = Duration::from_secs(1);
    c.dead_after = Duration::from_secs(1);
    let mut a = core_with(c.clone());
    let all: Vec<NodeDelta> = (0..40).map(|i| learned(&n(i), 1, vec![], 0)).collect();
    a.handle_datagram(addr(2), &ack(all), secs(0)).unwrap();
    sent(&mut a);
    (a, c)
}

/// A peer's Syn whose digest carries the heartbeat `heartbeat` of the first `count` nodes.
fn heartbeats(a: &mut Core<ChaCha8Rng>, count: u8, heartbeat: u64, now: Duration) {
    let entries = (0..count).map(|i| entry(&n(i), 1, heartbeat, 0)).collect();
    a.handle_datagram(addr(3), &syn(entries), now).unwrap();
    sent(a);
}

fn round(a: &mut Core<ChaCha8Rng>, now: Duration) {
    a.start_round_with(addr(2), now);
    sent(a);
}

/// Asserts the smoothed heartbeat arrival rate and the period `P`, which is below the own
/// digest rotation.
#[track_caller]
fn assert_rate_and_period_below_rotation(a: &Core<ChaCha8Rng>, rate: u64, period: u32) {
    assert_eq!(a.heartbeat_arrival_rate(), rate);
    let own = a.digest_rotation_rounds();
    assert!(own > period, "own {own}");
    assert_eq!(a.heartbeat_period_rounds(), period);
}

#[test]
fn the_heartbeat_period_follows_the_heartbeat_arrivals_received_within_the_own_rotation() {
    let (mut a, c) = node_with_forty_others(200);
    round(&mut a, secs(1));
    assert_eq!(a.heartbeat_arrival_rate(), 0);
    let own = a.digest_rotation_rounds();
    assert!(own > 1, "the own Syn digests are partial");
    assert_eq!(
        a.heartbeat_period_rounds(),
        own,
        "no arrival yet: the own rotation"
    );

    // One arrival in a round: 8 × 40 / 1 = 320 rounds, but never more than the own rotation.
    heartbeats(&mut a, 1, 2, secs(1));
    round(&mut a, secs(2));
    assert_eq!(a.heartbeat_arrival_rate(), 1);
    assert_eq!(a.heartbeat_period_rounds(), a.digest_rotation_rounds());

    // Every node's heartbeat once in a round (a repeated digest brings no new heartbeat): rate
    // 1 − ⌊1/8⌋ + 40 = 41, P = ⌈320 / 41⌉ = 8, below the own rotation.
    heartbeats(&mut a, 40, 3, secs(2));
    heartbeats(&mut a, 40, 3, secs(2));
    round(&mut a, secs(3));
    assert_rate_and_period_below_rotation(&a, 41, 8);

    // Again: 41 − 5 + 40 = 76, P = ⌈320 / 76⌉ = 5, so T = 5 s: σ ≥ 3.75 s, initial interval
    // 5 s, dead after 10 s.
    heartbeats(&mut a, 40, 4, secs(3));
    round(&mut a, secs(4));
    assert_rate_and_period_below_rotation(&a, 76, 5);
    assert_eq!(c.gossip_interval, secs(1));
    assert_eq!(
        a.effective_detector_settings(),
        DetectorSettings {
            min_std_dev: Duration::from_millis(3750),
            initial_interval_estimate: secs(5),
            dead_after: secs(10)
        }
    );
}

#[test]
fn a_node_receiving_every_heartbeat_every_round_uses_the_configured_detector_settings() {
    let (mut a, c) = node_with_forty_others(200);
    let mut rounds = 0;
    while a.heartbeat_period_rounds() > 1 || rounds == 0 {
        rounds += 1;
        assert!(
            rounds <= 60,
            "P = {} after 60 rounds",
            a.heartbeat_period_rounds()
        );
        heartbeats(&mut a, 40, rounds + 1, secs(rounds));
        round(&mut a, secs(rounds + 1));
    }
    assert!(
        a.digest_rotation_rounds() > 1,
        "its own Syn digests are partial"
    );
    assert!(a.heartbeat_arrival_rate() >= 320);
    assert_eq!(a.effective_detector_settings(), configured_detector(&c));
}

#[test]
fn with_complete_syn_digests_the_period_is_one_whatever_arrives() {
    // The default digest budget holds every one of the 41 nodes: P = 1, although heartbeats
    // arrive only rarely.
    let (mut a, c) = node_with_forty_others(700);
    round(&mut a, secs(1));
    heartbeats(&mut a, 1, 2, secs(1));
    round(&mut a, secs(2));
    assert_eq!(a.heartbeat_arrival_rate(), 1);
    assert_eq!(a.digest_rotation_rounds(), 1);
    assert_eq!(a.heartbeat_period_rounds(), 1);
    assert_eq!(a.effective_detector_settings(), configured_detector(&c));
}
