//! Compressed frames (docs/spec/wire.md, "Compressed frame"): the sender rule, the bounded
//! decompression on receipt, interop between compressing and plain nodes, and compression
//! under the encryption layer.

mod support;

use std::time::Duration;

use gossip_core::security::{ClusterKey, Keyring, Security};
use gossip_core::wire::{
    self, Change, DeltaKind, Envelope, FRAME_COMPRESSED, Message, NodeDelta, Update,
};
use gossip_core::{Core, DatagramError, RejectReason};
use gossip_sim::{NetModel, Sim};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use support::*;

/// An Ack about node `b` whose values are sized so that the datagram is exactly `len` bytes
/// (values of 300 bytes, then one of 256 to 512 that fills; their bytes repeat, so it
/// compresses well).
fn ack_of_len(len: usize) -> Vec<u8> {
    let fixed: u64 = if len > 1_200 { 3 } else { 2 };
    let set = |version: u64, key: String, value: Vec<u8>| Update {
        version,
        change: Change::Set { key, value },
        sig: None,
    };
    let mk = |value_len: usize| {
        let mut updates: Vec<Update> = (0..fixed)
            .map(|v| set(v + 1, format!("k{v}"), vec![b'x'; 300]))
            .collect();
        updates.push(set(fixed + 1, "last".into(), vec![b'y'; value_len]));
        ack(vec![NodeDelta {
            node: id("b", 2),
            generation: 1,
            heartbeat: 1,
            kind: DeltaKind::Incremental { from: 0 },
            updates,
            watermark_after: fixed + 1,
            attestation: None,
        }])
    };
    let base = mk(300).len() - 300;
    let d = mk(len - base);
    assert_eq!(d.len(), len, "value sizes straddle a bin header width");
    d
}

/// Feeds `bytes` to `core` (from node 2, at 1 s), expects the rejection `reason`, and checks
/// that only the counter changed and nothing counted as a compressed datagram.
fn assert_dropped(core: &mut Core<ChaCha8Rng>, bytes: &[u8], reason: RejectReason) {
    support::assert_dropped(core, addr(2), bytes, secs(1), reason);
    assert_eq!(core.stats().compressed_in, 0);
}

#[test]
fn a_compressed_frame_decodes_to_the_same_envelope_as_its_datagram() {
    let d = ack_of_len(1_000);
    let frame = wire::compress(&d).expect("repetitive values compress");
    assert_eq!(frame[0], FRAME_COMPRESSED);
    assert!(frame.len() < d.len() / 4, "{} bytes", frame.len());
    assert_eq!(
        wire::decode(&frame, 1_400).unwrap(),
        wire::decode(&d, 1_400).unwrap()
    );
    assert_eq!(wire::inflate(&frame[1..], 1_400).unwrap(), d);
    // and a node applies it like the datagram itself
    let mut a = core_a();
    a.handle_datagram(addr(2), &frame, secs(1)).unwrap();
    assert_eq!(a.get(&id("b", 2), "last").unwrap().version, 3);
    assert_eq!(a.stats().compressed_in, 1);
}

#[test]
fn a_frame_is_sent_only_when_shorter_than_the_datagram() {
    // A tiny datagram does not compress: the sender keeps it as is.
    let small = syn(vec![]);
    assert!(wire::compress_with_level(&small, 6).len() >= small.len());
    assert_eq!(wire::compress(&small), None);
}

#[test]
fn decompression_is_bounded_by_the_mtu_exactly() {
    let mut a = core_a();
    // Inflating to exactly the MTU is accepted ...
    let at = wire::compress(&ack_of_len(1_400)).unwrap();
    a.handle_datagram(addr(2), &at, secs(1)).unwrap();
    assert_eq!(a.stats().compressed_in, 1);
    // ... one byte more is not, although the frame itself is small.
    let mut b = core_a();
    let over = wire::compress(&ack_of_len(1_401)).unwrap();
    assert!(over.len() < 200);
    let view = b.view();
    let err = b.handle_datagram(addr(2), &over, secs(1)).unwrap_err();
    assert!(matches!(err, DatagramError::LimitExceeded(_)), "{err}");
    assert_eq!(b.stats().rejected.get(RejectReason::LimitExceeded), 1);
    assert_eq!(b.view(), view);
    // The bound follows the configured MTU.
    assert!(wire::inflate(&over[1..], 1_401).is_ok());
    assert!(matches!(
        wire::inflate(&over[1..], 1_400),
        Err(DatagramError::LimitExceeded(_))
    ));
}

#[test]
fn a_compression_bomb_is_dropped_and_counted_without_inflating_it() {
    let mut a = core_a();
    // 1 MiB of zeros behind a valid version byte: about a kilobyte of DEFLATE.
    let mut big = vec![0u8; 1 << 20];
    big[0] = wire::PROTOCOL_VERSION;
    let bomb = wire::compress_with_level(&big, 9);
    assert!(bomb.len() <= 1_400, "{} bytes", bomb.len());
    assert_dropped(&mut a, &bomb, RejectReason::LimitExceeded);
}

#[test]
fn a_truncated_corrupt_or_trailing_stream_is_dropped_and_counted_as_malformed() {
    let good = wire::compress(&ack_of_len(1_000)).unwrap();
    let mut a = core_a();
    // The stream without its last byte (before the end of the final block), or only the
    // frame type.
    assert_dropped(&mut a, &good[..good.len() - 1], RejectReason::Malformed);
    assert_dropped(&mut a, &[FRAME_COMPRESSED], RejectReason::Malformed);
    // A block of the reserved type 3 (BFINAL 1, BTYPE 11).
    assert_dropped(
        &mut a,
        &[FRAME_COMPRESSED, 0b111, 0, 0],
        RejectReason::Malformed,
    );
    // A stored block whose NLEN is not the complement of LEN.
    assert_dropped(
        &mut a,
        &[FRAME_COMPRESSED, 0b001, 1, 0, 0, 0, 0x01],
        RejectReason::Malformed,
    );
    // A byte after the end of the final block.
    let mut trailing = good.clone();
    trailing.push(0);
    assert_dropped(&mut a, &trailing, RejectReason::Malformed);
    // The frame itself is still accepted afterwards.
    a.handle_datagram(addr(2), &good, secs(1)).unwrap();
}

#[test]
fn frames_do_not_nest_and_what_they_hold_is_validated_as_a_datagram() {
    let d = ack_of_len(1_000);
    let once = wire::compress(&d).unwrap();
    let twice = wire::compress_with_level(&once, 6);
    let mut a = core_a();
    assert_dropped(&mut a, &twice, RejectReason::UnknownVersion);
    // An empty decompressed datagram is truncated; another cluster's is refused.
    assert_dropped(
        &mut a,
        &wire::compress_with_level(&[], 6),
        RejectReason::Truncated,
    );
    let other = wire::encode(&Envelope {
        cluster_id: "prod".into(),
        message: Message::Ack { delta: vec![] },
    });
    assert_dropped(
        &mut a,
        &wire::compress_with_level(&other, 6),
        RejectReason::WrongCluster,
    );
    // The MTU check applies to the frame before anything is inflated.
    let mut big = wire::compress_with_level(&d, 0);
    assert!(big.len() > 1_000);
    big.resize(1_401, 0);
    assert_dropped(&mut a, &big, RejectReason::Oversize);
}

/// A simulated cluster of `n` nodes (fanout 3, two keys each, a 512-byte incompressible value
/// on every node so that deltas fill datagrams); `compress(i)` says whether node `i`
/// compresses. Every datagram sent is checked against the MTU and the sender rule.
fn cluster(n: usize, compress: impl Fn(usize) -> bool) -> Sim {
    let mut sim = Sim::new(NetModel::default(), 3);
    for i in 0..n {
        let mut c = Sim::config(i, &[0]);
        c.fanout = 3;
        c.compression = compress(i);
        sim.add_node(c);
    }
    sim.tap = Some(Box::new(|_, _, p: &[u8]| {
        assert!(p.len() <= 1_400, "a datagram of {} bytes", p.len());
        if p[0] == FRAME_COMPRESSED {
            let inner = wire::inflate(&p[1..], 1_400).expect("own frames inflate");
            assert!(
                inner.len() > p.len(),
                "a frame not shorter than its datagram"
            );
            assert!(inner.len() <= 1_400);
        }
    }));
    sim.run_for(Duration::from_secs(1));
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for i in 0..n {
        let mut noise = vec![0u8; 512];
        rand::RngCore::fill_bytes(&mut rng, &mut noise);
        sim.set(i, "noise", &noise);
        sim.set(i, "color", format!("red-{i}").as_bytes());
    }
    sim
}

#[test]
fn compressing_and_plain_nodes_converge_together_within_the_mtu() {
    let n = 30;
    let mut sim = cluster(n, |i| i % 2 == 0);
    assert!(sim.run_until(Duration::from_secs(120), Sim::converged));
    for i in 0..n {
        let s = sim.core(i).stats();
        assert_eq!(s.rejected.total(), 0, "node {i}: {:?}", s.rejected);
        // everyone receives frames (from the even nodes); only even nodes send them
        assert!(s.compressed_in > 0, "node {i}");
        assert_eq!(s.compressed_out > 0, i % 2 == 0, "node {i}");
        for j in 0..n {
            assert!(sim.core(i).get(&Sim::id(j), "noise").is_some());
        }
    }
}

#[test]
fn compression_changes_the_bytes_but_not_a_single_exchange() {
    let run = |compress: bool| {
        let mut sim = cluster(20, |_| compress);
        sim.run_for(Duration::from_secs(40));
        let views: Vec<_> = (0..20).map(|i| sim.core(i).view()).collect();
        let rounds: u64 = (0..20).map(|i| sim.core(i).stats().rounds).sum();
        let saved: u64 = (0..20)
            .map(|i| sim.core(i).stats().compression_saved_bytes)
            .sum();
        (views, rounds, sim.stats.sent, sim.stats.bytes, saved)
    };
    let (v0, r0, sent0, bytes0, saved0) = run(false);
    let (v1, r1, sent1, bytes1, saved1) = run(true);
    assert_eq!((v0, r0, sent0), (v1, r1, sent1));
    assert_eq!(saved0, 0);
    assert_eq!(
        saved1,
        bytes0 - bytes1,
        "the saved bytes are counted exactly"
    );
    assert!(
        bytes1 * 10 < bytes0 * 8,
        "compressed {bytes1} vs plain {bytes0}"
    );
}

#[test]
fn a_compressed_frame_travels_sealed_and_an_unsealed_one_is_refused_by_an_encrypting_node() {
    let key = ClusterKey::from_bytes([7; 32]);
    let secure = |name: &str, last: u8, compression: bool| {
        let mut c = config(name, last);
        c.compression = compression;
        Core::with_security(
            c,
            Security {
                keyring: Some(Keyring::new(key.clone())),
                signing: None,
            },
            ChaCha8Rng::seed_from_u64(u64::from(last)),
            Duration::ZERO,
        )
        .unwrap()
    };
    let mut a = secure("a", 1, true);
    let mut b = secure("b", 2, false);
    for k in 0..20 {
        a.set(&format!("key-{k}"), &[b'v'; 40], secs(0)).unwrap();
    }
    // b's digest: a answers with a SynAck carrying its state, compressed then sealed.
    b.start_round_with(addr(1), secs(1));
    let syn = b.poll_transmit().unwrap().payload;
    a.handle_datagram(addr(2), &syn, secs(1)).unwrap();
    let frame = a.poll_transmit().unwrap().payload;
    assert!(frame.len() <= 1_400);
    let plain = Keyring::new(key.clone()).open(&frame, CLUSTER).unwrap();
    assert_eq!(plain[0], FRAME_COMPRESSED, "compress, then seal");
    assert_eq!(a.stats().compressed_out, 1);
    b.handle_datagram(addr(1), &frame, secs(1)).unwrap();
    assert_eq!(b.stats().compressed_in, 1);
    assert_eq!(b.get(&id("a", 1), "key-19").unwrap().version, 20);
    // The same compressed frame without the encrypted frame around it is refused.
    let mut c = secure("c", 3, false);
    let view = c.view();
    let err = c.handle_datagram(addr(1), &plain, secs(1)).unwrap_err();
    assert_eq!(err.reason(), RejectReason::Unencrypted);
    assert_eq!(c.view(), view);
}
