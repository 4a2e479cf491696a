//! Hostile and broken datagrams are rejected with a typed error, counted per reason, and
//! change nothing; the node keeps working.

mod support;

use gossip_core::wire::{self, Change, DeltaKind, Envelope, Message, NodeDelta, Update};
use gossip_core::{DatagramError, RejectReason};
use proptest::prelude::*;
use support::*;

fn a_with_state() -> gossip_core::Core<rand_chacha::ChaCha8Rng> {
    let mut a = core_a();
    a.set("k", b"v", secs(0)).unwrap();
    let b = id("b", 2);
    deliver_ack_from_b(
        &mut a,
        vec![learned(&b, 1, vec![set(1, "x", b"y")], 1)],
        secs(0),
    );
    events(&mut a);
    a
}

fn one_delta(updates: Vec<Update>, watermark_after: u64) -> Vec<u8> {
    ack(vec![NodeDelta {
        node: id("c", 3),
        generation: 1,
        heartbeat: 1,
        kind: DeltaKind::Incremental { from: 0 },
        updates,
        watermark_after,
        attestation: None,
    }])
}

/// Feeds `bytes`, checks the expected rejection, its counter, and that nothing changed.
fn assert_rejected(bytes: &[u8], reason: RejectReason) {
    let mut a = a_with_state();
    let before = a.view();
    let counted_before = a.stats().rejected.get(reason);
    let err = a.handle_datagram(addr(2), bytes, secs(1)).unwrap_err();
    assert_eq!(err.reason(), reason, "{err}");
    assert_eq!(a.stats().rejected.get(reason), counted_before + 1);
    assert_eq!(a.stats().rejected.total(), 1);
    assert_eq!(a.view(), before, "a rejected datagram changed the view");
    assert!(a.poll_transmit().is_none());
    assert!(a.poll_event().is_none());
    // The node keeps working: a valid Syn is still answered with the write.
    a.handle_datagram(addr(2), &syn(vec![entry(&id("b", 2), 1, 1, 1)]), secs(1))
        .unwrap();
    let out = sent(&mut a);
    let Message::SynAck { delta, .. } = &out[0].1 else {
        panic!()
    };
    assert_eq!(delta[0].updates.len(), 1);
}

#[test]
fn an_empty_datagram_is_rejected_as_truncated() {
    assert_rejected(&[], RejectReason::Truncated);
}

#[test]
fn a_truncated_datagram_is_rejected_as_truncated() {
    let full = syn(vec![entry(&id("b", 2), 1, 1, 1)]);
    for cut in 1..full.len() {
        let mut a = a_with_state();
        let err = a
            .handle_datagram(addr(2), &full[..cut], secs(1))
            .unwrap_err();
        assert!(
            matches!(err, DatagramError::Truncated | DatagramError::Malformed(_)),
            "{cut}: {err}"
        );
    }
    assert_rejected(&full[..full.len() - 3], RejectReason::Truncated);
}

#[test]
fn garbage_is_rejected_as_malformed() {
    assert_rejected(&[1, 0xc1, 0xff, 0x00], RejectReason::Malformed);
    assert_rejected(
        &[1, 0x93, 0xa4, b't', b'e', b's', b't', 9, 0x90],
        RejectReason::Malformed,
    );
}

#[test]
fn trailing_bytes_are_rejected_as_malformed() {
    let mut d = syn(vec![entry(&id("b", 2), 1, 1, 1)]);
    d.push(0);
    assert_rejected(&d, RejectReason::Malformed);
}

#[test]
fn an_oversize_datagram_is_rejected_before_decoding() {
    let mut d = syn(vec![entry(&id("b", 2), 1, 1, 1)]);
    d.resize(1401, 0);
    assert_rejected(&d, RejectReason::Oversize);
}

#[test]
fn an_unknown_protocol_version_is_rejected() {
    let mut d = syn(vec![entry(&id("b", 2), 1, 1, 1)]);
    d[0] = 4; // 2 and 3 are the encrypted and compressed frame types (security.md, wire.md)
    assert_rejected(&d, RejectReason::UnknownVersion);
}

#[test]
fn a_datagram_from_another_cluster_is_rejected() {
    let d = wire::encode(&Envelope {
        cluster_id: "other".into(),
        message: Message::Ack { delta: vec![] },
    });
    assert_rejected(&d, RejectReason::WrongCluster);
}

#[test]
fn updates_out_of_version_order_are_rejected_as_invalid() {
    let d = one_delta(vec![set(2, "a", b"1"), set(1, "b", b"1")], 2);
    assert_rejected(&d, RejectReason::Invalid);
    let d = one_delta(vec![set(1, "a", b"1"), set(1, "b", b"1")], 1);
    assert_rejected(&d, RejectReason::Invalid);
}

#[test]
fn updates_above_watermark_after_are_rejected_as_invalid() {
    assert_rejected(
        &one_delta(vec![set(3, "a", b"1")], 2),
        RejectReason::Invalid,
    );
}

#[test]
fn values_and_keys_beyond_the_limits_are_rejected() {
    assert_rejected(
        &one_delta(vec![set(1, "a", &[0; 513])], 1),
        RejectReason::LimitExceeded,
    );
    assert_rejected(
        &one_delta(vec![set(1, &"k".repeat(129), b"1")], 1),
        RejectReason::LimitExceeded,
    );
    let delete = |key: String| Update {
        version: 1,
        change: Change::Delete { key },
        sig: None,
    };
    assert_rejected(
        &one_delta(vec![delete("k".repeat(129))], 1),
        RejectReason::LimitExceeded,
    );
    // Exactly at the limits: accepted.
    let mut a = core_a();
    a.handle_datagram(
        addr(3),
        &one_delta(vec![delete("k".repeat(128))], 1),
        secs(0),
    )
    .unwrap();
    let at_limits = ack(vec![NodeDelta {
        node: id("d", 4),
        generation: 1,
        heartbeat: 1,
        kind: DeltaKind::Incremental { from: 0 },
        updates: vec![set(1, &"k".repeat(128), &[0; 512])],
        watermark_after: 1,
        attestation: None,
    }]);
    a.handle_datagram(addr(4), &at_limits, secs(0)).unwrap();
    assert_eq!(a.stats().rejected.total(), 0);
    assert_eq!(a.view().nodes.len(), 3);
}

#[test]
fn a_huge_length_prefix_does_not_allocate_and_is_rejected() {
    // version, envelope [cluster "test", tag 2 (Ack), body [delta: array32 of 2^32-1 elements]]
    let mut d = vec![1, 0x93, 0xa4, b't', b'e', b's', b't', 2, 0x91, 0xdd];
    d.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    assert_rejected(&d, RejectReason::Truncated);
    // a str32 claiming 4 GiB as the cluster id
    let d = vec![1, 0x93, 0xdb, 0xff, 0xff, 0xff, 0xff, b'x'];
    assert_rejected(&d, RejectReason::Truncated);
}

#[test]
fn nodes_beyond_max_nodes_are_dropped_and_counted() {
    let mut c = config("a", 1);
    c.limits.max_nodes = 2;
    let mut a = core_with(c);
    for (name, last) in [("b", 2), ("c", 3)] {
        a.handle_datagram(
            addr(last),
            &ack(vec![learned(&id(name, last), 1, vec![], 0)]),
            secs(0),
        )
        .unwrap();
    }
    assert_eq!(a.view().nodes.len(), 2);
    assert_eq!(a.stats().dropped_nodes, 1);
}

/// A core whose `limits.max_keys_per_node` is `max`.
fn core_with_max_keys(max: usize) -> gossip_core::Core<rand_chacha::ChaCha8Rng> {
    let mut c = config("a", 1);
    c.limits.max_keys_per_node = max;
    core_with(c)
}

/// Node c's state in `a` after `a` handles `datagram` from 10.0.0.3 at `at`.
fn c_after(
    a: &mut gossip_core::Core<rand_chacha::ChaCha8Rng>,
    datagram: &[u8],
    at: std::time::Duration,
) -> gossip_core::NodeView {
    a.handle_datagram(addr(3), datagram, at).unwrap();
    a.view().node(&id("c", 3)).unwrap().clone()
}

/// Sets of the five keys p, q, r, s and t (value "1") at versions `first` to `first + 4`.
fn five_keys(first: u64) -> Vec<Update> {
    ["p", "q", "r", "s", "t"]
        .iter()
        .zip(first..)
        .map(|(key, version)| set(version, key, b"1"))
        .collect()
}

#[test]
fn keys_beyond_max_keys_per_node_are_dropped_and_the_watermark_stays_sound() {
    let mut a = core_with_max_keys(2);
    let d = one_delta(
        vec![
            set(1, "p", b"1"),
            set(2, "q", b"1"),
            set(3, "r", b"1"),
            set(4, "p", b"2"),
        ],
        4,
    );
    let cv = c_after(&mut a, &d, secs(0));
    assert_eq!(cv.entries.len(), 2);
    assert_eq!(
        cv.watermark, 2,
        "the watermark stops before the dropped update"
    );
    assert_eq!(a.stats().dropped_updates, 2);
}

/// With room for one key, `datagram` (five keys about node c) is applied up to its first
/// update: c's watermark stops at `watermark` and the four later updates count as dropped.
fn cut_after_the_first_update(datagram: &[u8], watermark: u64) {
    let mut a = core_with_max_keys(1);
    let cv = c_after(&mut a, datagram, secs(0));
    assert_eq!(cv.entries.len(), 1);
    assert_eq!(cv.watermark, watermark, "the watermark stops at the cut");
    assert_eq!(
        a.stats().dropped_updates,
        4,
        "the four updates from the cut on"
    );
}

#[test]
fn an_incremental_delta_cut_after_its_first_update_counts_every_later_update_as_dropped() {
    cut_after_the_first_update(&one_delta(five_keys(1), 5), 1);
}

#[test]
fn a_reset_cut_after_its_first_update_counts_every_later_update_as_dropped() {
    let reset = ack(vec![NodeDelta {
        node: id("c", 3),
        generation: 1,
        heartbeat: 1,
        kind: DeltaKind::Reset { gc_floor: 1 },
        updates: five_keys(2),
        watermark_after: 6,
        attestation: None,
    }]);
    cut_after_the_first_update(&reset, 2);
}

#[test]
fn a_reset_cut_by_max_keys_per_node_never_lowers_the_watermark() {
    let mut a = core_with_max_keys(2);
    // The node holds c up to watermark 3 (two keys, versions 2 and 3).
    let d = one_delta(vec![set(2, "p", b"1"), set(3, "q", b"1")], 3);
    c_after(&mut a, &d, secs(0));
    // A reset claiming watermark 10 whose third key is beyond the limit really gives only the
    // version before that key: at 2 (below the held 3) it must be ignored, not lower the
    // watermark; at 5 it is applied up to the cut.
    let reset = |updates: Vec<Update>| {
        ack(vec![NodeDelta {
            node: id("c", 3),
            generation: 1,
            heartbeat: 2,
            kind: DeltaKind::Reset { gc_floor: 1 },
            updates,
            watermark_after: 10,
            attestation: None,
        }])
    };
    let steps = [
        (
            vec![
                set(1, "x", b"1"),
                set(2, "y", b"1"),
                set(4, "z", b"1"),
                set(10, "w", b"1"),
            ],
            3,
            "the cut reset (effective watermark 2) is ignored",
            4,
        ),
        (
            vec![set(4, "p", b"2"), set(5, "q", b"2"), set(6, "z", b"1")],
            5,
            "applied up to the cut before the third key",
            5,
        ),
    ];
    for (at, (updates, watermark, why, dropped)) in (1..).zip(steps) {
        let cv = c_after(&mut a, &reset(updates), secs(at));
        assert_eq!(cv.watermark, watermark, "{why}");
        assert_eq!(cv.entries.len(), 2);
        assert_eq!(a.stats().dropped_updates, dropped);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic_and_never_change_state(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
        let mut a = a_with_state();
        let before = a.view();
        if a.handle_datagram(addr(2), &bytes, secs(1)).is_err() {
            prop_assert_eq!(a.view(), before);
            prop_assert!(a.poll_transmit().is_none());
            prop_assert!(a.poll_event().is_none());
            prop_assert_eq!(a.stats().rejected.total(), 1);
        }
    }

    #[test]
    fn mutated_valid_datagrams_never_panic_and_rejections_change_nothing(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = one_delta(vec![set(1, "a", b"hello"), set(2, "b", b"world")], 2);
        for (i, b) in flips {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        let mut a = a_with_state();
        let before = a.view();
        if a.handle_datagram(addr(2), &bytes, secs(1)).is_err() {
            prop_assert_eq!(a.view(), before);
            prop_assert!(a.poll_event().is_none());
        }
    }
}
