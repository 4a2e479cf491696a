//! The security layers (docs/spec/security.md): encrypted frames, keyring rotation on a running
//! cluster, per-node signatures against a malicious member, replays.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use gossip_core::security::{self, ClusterKey, Keyring, Roster, Security, Signing, SigningKey};
use gossip_core::wire::{self, Change, DeltaKind, Envelope, Message, NodeDelta};
use gossip_core::{Config, Core, DatagramError, Event, GossipMode, RejectReason};
use gossip_sim::{NetModel, Sim};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use support::*;

fn key(b: u8) -> ClusterKey {
    ClusterKey::from_bytes([b; 32])
}

fn signing_key(name: &str) -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..name.len()].copy_from_slice(name.as_bytes());
    SigningKey::from_bytes(&seed)
}

fn roster(names: &[&str]) -> Roster {
    let mut r = Roster::new();
    for n in names {
        r.insert(*n, signing_key(n).verifying_key());
    }
    r
}

fn security(name: &str, keys: &[ClusterKey], names: &[&str]) -> Security {
    Security {
        keyring: Keyring::from_keys(keys.iter().cloned()),
        signing: Some(Signing {
            key: signing_key(name),
            roster: roster(names),
        }),
    }
}

fn secure_core(mut c: Config, keys: &[ClusterKey], names: &[&str]) -> Core<ChaCha8Rng> {
    // These tests feed hundreds of datagrams from one source at one instant; the per-peer rate
    // limit (tested in hostile.rs) would reject them before the security layer sees them.
    c.limits.max_datagrams_per_peer_per_sec = 0;
    let name = c.name.clone();
    Core::with_security(
        c,
        security(&name, keys, names),
        ChaCha8Rng::seed_from_u64(u64::from(name.as_bytes()[0])),
        Duration::ZERO,
    )
    .expect("valid config")
}

const NAMES: [&str; 4] = ["a", "b", "c", "m"];

/// Node `a` (push mode, so its Syn carries its own signed node delta) and node `b`.
fn a_and_b() -> (Core<ChaCha8Rng>, Core<ChaCha8Rng>) {
    let mut ca = config("a", 1);
    ca.mode = GossipMode::Push;
    let a = secure_core(ca, &[key(1)], &NAMES);
    let b = secure_core(config("b", 2), &[key(1)], &NAMES);
    (a, b)
}

/// The sealed datagrams `core` has queued.
fn frames(core: &mut Core<ChaCha8Rng>) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| core.poll_transmit().map(|t| t.payload)).collect()
}

/// Opens and decodes a sealed datagram with the cluster key, as a member can.
fn open(frame: &[u8], k: &ClusterKey) -> Envelope {
    let plain = Keyring::new(k.clone()).open(frame, CLUSTER).expect("opens");
    wire::decode(&plain, usize::MAX).expect("decodes")
}

/// Re-seals a (possibly forged) envelope with the cluster key, as a member can.
fn seal(env: &Envelope, k: &ClusterKey) -> Vec<u8> {
    Keyring::new(k.clone()).seal(&wire::encode(env), CLUSTER)
}

fn delta_of(env: &Envelope) -> Vec<NodeDelta> {
    match &env.message {
        Message::Syn { delta, .. } | Message::SynAck { delta, .. } | Message::Ack { delta } => {
            delta.clone()
        }
    }
}

fn with_delta(delta: Vec<NodeDelta>) -> Envelope {
    Envelope {
        cluster_id: CLUSTER.into(),
        message: Message::Syn {
            mode: GossipMode::Push,
            digest: None,
            delta,
        },
    }
}

/// `a` writes, then sends `b` one push Syn; returns the sealed frame (not yet delivered).
fn genuine_frame(a: &mut Core<ChaCha8Rng>, b: &Core<ChaCha8Rng>) -> Vec<u8> {
    a.set("k", b"v1", secs(0)).unwrap();
    a.set("x", b"y", secs(0)).unwrap();
    a.start_round_with(b.config().gossip_addr, secs(1));
    let f = frames(a);
    assert_eq!(f.len(), 1);
    f.into_iter().next().unwrap()
}

/// Feeds `bytes` to `core` (from node 3, at 2 s), expects the rejection `reason`, and checks
/// that only the counter changed.
fn assert_dropped(core: &mut Core<ChaCha8Rng>, bytes: &[u8], reason: RejectReason) {
    support::assert_dropped(core, addr(3), bytes, secs(2), reason);
}

// ---------------------------------------------------------------------------------------------
// frames

#[test]
fn a_sealed_datagram_opens_to_the_same_bytes_and_is_33_bytes_longer() {
    let plain = syn(vec![entry(&id("a", 1), 1, 1, 0)]);
    let ring = Keyring::new(key(1));
    let frame = ring.seal(&plain, CLUSTER);
    assert_eq!(frame.len(), plain.len() + security::FRAME_OVERHEAD);
    assert_eq!(frame[0], security::FRAME_ENCRYPTED);
    assert_eq!(&frame[1..5], &key(1).key_id());
    assert_eq!(ring.open(&frame, CLUSTER).unwrap(), plain);
    // Another frame of the same datagram uses another nonce.
    let again = ring.seal(&plain, CLUSTER);
    assert_ne!(frame[5..17], again[5..17]);
    // Another cluster id (bound in the AAD) does not open it.
    assert_eq!(
        ring.open(&frame, "other"),
        Err(DatagramError::DecryptFailed)
    );
}

#[test]
fn two_cores_built_with_the_same_rng_seed_never_seal_with_the_same_nonce() {
    // Two nodes given the same injected RNG seed (as a test, or a restart that reuses a seed,
    // would) make the same protocol choices, but their AEAD nonces come from the OS CSPRNG:
    // no (key, nonce) pair repeats, by construction.
    let (mut a1, b) = a_and_b();
    let (mut a2, _) = a_and_b();
    let mut nonces = std::collections::BTreeSet::new();
    let mut sent = 0;
    for round in 1..=50 {
        for a in [&mut a1, &mut a2] {
            a.start_round_with(b.config().gossip_addr, secs(round));
            for f in frames(a) {
                assert_eq!(f[0], security::FRAME_ENCRYPTED);
                sent += 1;
                nonces.insert(f[5..17].to_vec());
            }
        }
    }
    assert_eq!(sent, 100, "each core sends one Syn per round");
    assert_eq!(
        nonces.len(),
        sent,
        "a nonce repeated across identically seeded cores"
    );
}

#[test]
fn a_frame_sealed_with_a_secondary_key_is_opened() {
    let old = Keyring::new(key(1));
    let mut both = Keyring::new(key(2));
    both.add(key(1)).unwrap();
    let plain = syn(vec![entry(&id("a", 1), 1, 1, 0)]);
    let frame = old.seal(&plain, CLUSTER);
    assert_eq!(both.open(&frame, CLUSTER).unwrap(), plain);
    // A keyring without key 1 has no key for it.
    assert_eq!(
        Keyring::new(key(2)).open(&frame, CLUSTER),
        Err(DatagramError::NoKey)
    );
}

#[test]
fn every_tampered_byte_of_a_frame_is_rejected_counted_and_changes_nothing() {
    let (mut a, mut b) = a_and_b();
    let frame = genuine_frame(&mut a, &b);
    for i in 0..frame.len() {
        for flip in [0x01u8, 0x80] {
            let mut t = frame.clone();
            t[i] ^= flip;
            let reason = match i {
                // a first byte of 0x82: not a frame type
                0 if t[0] == 0x82 => RejectReason::UnknownVersion,
                // 0x02 ^ 0x01 = 0x03: an unsealed compressed frame (wire.md), refused like a
                // plaintext datagram
                0 => RejectReason::Unencrypted,
                1..=4 => RejectReason::NoKey,
                _ => RejectReason::DecryptFailed,
            };
            assert_dropped(&mut b, &t, reason);
        }
    }
    // Every truncation too.
    for len in 0..frame.len() {
        let reason = match len {
            0..=33 => RejectReason::Truncated,
            _ => RejectReason::DecryptFailed,
        };
        assert_dropped(&mut b, &frame[..len], reason);
    }
    // The untampered frame is accepted and brings a's writes: the drops above were not
    // caused by a broken setup.
    b.handle_datagram(addr(1), &frame, secs(2)).unwrap();
    assert_eq!(b.get(a.id(), "k").unwrap().value, Some(&b"v1"[..]));
}

#[test]
fn plaintext_datagrams_are_dropped_by_an_encrypting_node_and_frames_by_a_plaintext_node() {
    let (_, mut b) = a_and_b();
    assert_dropped(
        &mut b,
        &syn(vec![entry(&id("a", 1), 1, 1, 0)]),
        RejectReason::Unencrypted,
    );
    let mut plain = core_a();
    let frame = Keyring::new(key(1)).seal(&syn(vec![]), CLUSTER);
    assert_dropped(&mut plain, &frame, RejectReason::NoKey);
}

#[test]
fn a_frame_under_a_key_with_the_same_key_id_but_other_bytes_fails_to_decrypt() {
    // Forge the key id of key 1 on a frame sealed with key 2.
    let (_, mut b) = a_and_b();
    let mut frame = Keyring::new(key(2)).seal(&syn(vec![]), CLUSTER);
    frame[1..5].copy_from_slice(&key(1).key_id());
    assert_dropped(&mut b, &frame, RejectReason::DecryptFailed);
}

// ---------------------------------------------------------------------------------------------
// signatures: a malicious member holding the cluster key

#[test]
fn a_member_cannot_forge_another_nodes_update_heartbeat_generation_or_watermark() {
    let (mut a, mut b) = a_and_b();
    let k = key(1);
    let frame = genuine_frame(&mut a, &b);
    let genuine = delta_of(&open(&frame, &k));
    let about_a = genuine
        .iter()
        .find(|nd| nd.node == *a.id())
        .unwrap()
        .clone();
    assert!(about_a.attestation.is_some() && about_a.updates.iter().all(|u| u.sig.is_some()));
    let m_key = signing_key("m");

    let forge = |f: &dyn Fn(&mut NodeDelta)| {
        let mut nd = about_a.clone();
        f(&mut nd);
        seal(&with_delta(vec![nd]), &k)
    };
    let evil = |nd: &mut NodeDelta| {
        if let Change::Set { value, .. } = &mut nd.updates[0].change {
            *value = b"evil".to_vec();
        }
    };
    // A value a never wrote, keeping a's signature.
    assert_dropped(&mut b, &forge(&evil), RejectReason::BadSignature);
    // ... or signed by the member's own key.
    assert_dropped(
        &mut b,
        &forge(&|nd| {
            evil(nd);
            let msg =
                security::update_signed_bytes(CLUSTER, &nd.node, nd.generation, &nd.updates[0]);
            nd.updates[0].sig = Some(security::sign(&m_key, &msg));
        }),
        RejectReason::BadSignature,
    );
    // ... or without signature.
    assert_dropped(
        &mut b,
        &forge(&|nd| {
            evil(nd);
            nd.updates[0].sig = None;
        }),
        RejectReason::Unsigned,
    );
    // Another version for a's genuine change.
    assert_dropped(
        &mut b,
        &forge(&|nd| {
            nd.updates[1].version += 1;
            nd.watermark_after += 1;
        }),
        RejectReason::BadSignature,
    );
    // A heartbeat a never signed (would keep a crashed a alive).
    assert_dropped(
        &mut b,
        &forge(&|nd| nd.heartbeat += 100),
        RejectReason::BadSignature,
    );
    // A new generation of a.
    assert_dropped(
        &mut b,
        &forge(&|nd| nd.generation += 1),
        RejectReason::BadSignature,
    );
    // A watermark beyond the attested one (would freeze b's copy of a), with or without a
    // forged attestation.
    assert_dropped(
        &mut b,
        &forge(&|nd| nd.watermark_after = u64::MAX),
        RejectReason::BadSignature,
    );
    assert_dropped(
        &mut b,
        &forge(&|nd| {
            nd.watermark_after = u64::MAX;
            nd.attestation.as_mut().unwrap().watermark = u64::MAX;
        }),
        RejectReason::BadSignature,
    );
    // A forged reset: a's genuine updates, but a version a never made and a huge gc_floor.
    assert_dropped(
        &mut b,
        &forge(&|nd| {
            nd.kind = DeltaKind::Reset { gc_floor: 1 << 40 };
            evil(nd);
        }),
        RejectReason::BadSignature,
    );
    // A node the roster does not know, signed by the member.
    assert_dropped(
        &mut b,
        &forge(&|nd| nd.node = id("z", 9)),
        RejectReason::UnknownSigner,
    );
    // One bad node delta among good ones drops the whole datagram.
    let mut bad = about_a.clone();
    bad.heartbeat += 1;
    assert_dropped(
        &mut b,
        &seal(&with_delta(vec![about_a.clone(), bad]), &k),
        RejectReason::BadSignature,
    );
    // The genuine node delta is accepted: the drops above come from the checks, not the setup.
    b.handle_datagram(addr(3), &seal(&with_delta(vec![about_a]), &k), secs(2))
        .unwrap();
    assert_eq!(b.get(a.id(), "k").unwrap().value, Some(&b"v1"[..]));
    assert_eq!(b.stats().rejected.bad_signature, 9);
}

#[test]
fn a_member_can_suppress_updates_at_a_lagging_node_but_never_make_it_hold_a_foreign_value() {
    // The documented limit (docs/spec/security.md §6): with a genuine attestation, a member can
    // send a reset that omits entries to a node that lags behind; the node then holds fewer
    // values of a, never a value a did not write.
    let (mut a, b) = a_and_b();
    let k = key(1);
    let about_a = delta_of(&open(&genuine_frame(&mut a, &b), &k))
        .into_iter()
        .find(|nd| nd.node == *a.id())
        .unwrap();
    let mut c = secure_core(config("c", 4), std::slice::from_ref(&k), &NAMES);
    let mut omitting = about_a.clone();
    omitting.kind = DeltaKind::Reset { gc_floor: 0 };
    omitting
        .updates
        .retain(|u| matches!(&u.change, Change::Set { key, .. } if key == "x"));
    c.handle_datagram(addr(3), &seal(&with_delta(vec![omitting]), &k), secs(2))
        .unwrap();
    assert!(c.get(a.id(), "k").is_none(), "k was suppressed");
    assert_eq!(c.get(a.id(), "x").unwrap().value, Some(&b"y"[..]));
    assert_eq!(
        c.summary(a.id()).unwrap().watermark,
        about_a.watermark_after
    );
}

#[test]
fn without_signatures_a_member_can_forge_another_nodes_value() {
    // The broken variant of the test above: with the signature layer off, the same forgery is
    // accepted, so the check is what stops it.
    let mut ca = config("a", 1);
    ca.mode = GossipMode::Push;
    let sec = || Security {
        keyring: Some(Keyring::new(key(1))),
        signing: None,
    };
    let mut a = Core::with_security(ca, sec(), ChaCha8Rng::seed_from_u64(1), secs(0)).unwrap();
    let mut b =
        Core::with_security(config("b", 2), sec(), ChaCha8Rng::seed_from_u64(2), secs(0)).unwrap();
    let frame = genuine_frame(&mut a, &b);
    let mut nd = delta_of(&open(&frame, &key(1)))
        .into_iter()
        .find(|nd| nd.node == *a.id())
        .unwrap();
    assert!(nd.attestation.is_none());
    if let Change::Set { value, .. } = &mut nd.updates[0].change {
        *value = b"evil".to_vec();
    }
    b.handle_datagram(addr(3), &seal(&with_delta(vec![nd]), &key(1)), secs(2))
        .unwrap();
    assert_eq!(b.get(a.id(), "k").unwrap().value, Some(&b"evil"[..]));
}

// ---------------------------------------------------------------------------------------------
// replay

#[test]
fn replaying_old_datagrams_changes_nothing_about_their_owner() {
    let (mut a, mut b) = a_and_b();
    let mut recorded = Vec::new();
    let b_addr = b.config().gossip_addr;
    for t in 0..5u64 {
        a.set(&format!("k{t}"), &t.to_be_bytes(), secs(t)).unwrap();
        a.set("k0", &[t as u8], secs(t)).unwrap();
        a.start_round_with(b_addr, secs(t));
        for f in frames(&mut a) {
            b.handle_datagram(a.config().gossip_addr, &f, secs(t))
                .unwrap();
            recorded.push(f);
        }
        while b.poll_transmit().is_some() {}
        while b.poll_event().is_some() {}
    }
    let before = b.node(a.id()).unwrap();
    for f in &recorded {
        // Accepted (genuine), and ignored: older heartbeats, versions at or below the watermark.
        b.handle_datagram(addr(3), f, secs(10)).unwrap();
    }
    assert_eq!(b.node(a.id()).unwrap(), before);
    assert!(b.poll_event().is_none(), "a replay produced an event");
    // A push Syn draws no answer.
    assert!(b.poll_transmit().is_none());
}

#[test]
fn a_datagram_sealed_under_a_removed_key_is_no_longer_accepted() {
    let (mut a, mut b) = a_and_b();
    let frame = genuine_frame(&mut a, &b);
    let ring = b.keyring_mut().unwrap();
    ring.add(key(2)).unwrap();
    ring.set_primary(&key(2).fingerprint()).unwrap();
    ring.remove(&key(1).fingerprint()).unwrap();
    assert_dropped(&mut b, &frame, RejectReason::NoKey);
}

// ---------------------------------------------------------------------------------------------
// rotation across a running cluster (virtual time)

const N: usize = 6;

fn secure_sim(seed: u64) -> Sim {
    let names: Vec<String> = (0..N).map(|i| format!("n{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut sim = Sim::new(NetModel::default(), seed);
    for i in 0..N {
        let c = Sim::config(i, &[0, 1]);
        let name = c.name.clone();
        sim.add_secure_node(c, security(&name, &[key(1)], &names));
    }
    sim.run_for(Duration::from_secs(1));
    sim
}

fn suspicions(sim: &Sim) -> usize {
    sim.nodes
        .iter()
        .flat_map(|n| &n.events)
        .filter(|e| matches!(e, Event::NodeSuspected { .. } | Event::NodeDead { .. }))
        .count()
}

/// Runs `secs` seconds in which node `t % N` writes `w{t}` every second; returns the writes.
fn write_for(sim: &mut Sim, from: u64, secs: u64, writes: &mut BTreeMap<(usize, String), Vec<u8>>) {
    for t in from..from + secs {
        let i = (t as usize) % N;
        let k = format!("w{}", t % 7);
        let v = t.to_be_bytes().to_vec();
        sim.set(i, &k, &v);
        writes.insert((i, k), v);
        sim.run_for(Duration::from_secs(1));
    }
}

/// Applies `op` to each node's keyring in turn, one node every 300 ms of virtual time, while
/// writing.
fn on_each_node(sim: &mut Sim, op: impl Fn(&mut Keyring)) {
    for i in 0..N {
        sim.with_core(i, |c, _| op(c.keyring_mut().unwrap()));
        sim.run_for(Duration::from_millis(300));
    }
}

fn all_writes_everywhere(sim: &Sim, writes: &BTreeMap<(usize, String), Vec<u8>>) -> bool {
    writes.iter().all(|((o, k), v)| {
        (0..N).all(|i| sim.core(i).get(&Sim::id(*o), k).and_then(|e| e.value) == Some(&v[..]))
    })
}

#[test]
fn rotating_the_cluster_key_on_a_running_cluster_suspects_no_node_and_loses_no_write() {
    let mut sim = secure_sim(11);
    let mut writes = BTreeMap::new();
    write_for(&mut sim, 0, 15, &mut writes);
    assert!(
        sim.run_until(Duration::from_secs(20), |s| all_writes_everywhere(
            s, &writes
        ))
    );
    // 1. add the new key everywhere
    on_each_node(&mut sim, |r| {
        r.add(key(2)).unwrap();
    });
    write_for(&mut sim, 15, 5, &mut writes);
    // 2. switch the primary everywhere
    on_each_node(&mut sim, |r| r.set_primary(&key(2).fingerprint()).unwrap());
    write_for(&mut sim, 20, 5, &mut writes);
    // 3. remove the old key everywhere
    on_each_node(&mut sim, |r| r.remove(&key(1).fingerprint()).unwrap());
    write_for(&mut sim, 25, 15, &mut writes);
    assert!(
        sim.run_until(Duration::from_secs(30), |s| all_writes_everywhere(
            s, &writes
        ))
    );
    assert_eq!(
        suspicions(&sim),
        0,
        "a node was suspected during the rotation"
    );
    for i in 0..N {
        let c = sim.core(i);
        assert_eq!(
            c.stats().rejected.total(),
            0,
            "n{i}: {:?}",
            c.stats().rejected
        );
        assert_eq!(c.keyring().unwrap().primary(), key(2).fingerprint());
        assert_eq!(c.keyring().unwrap().list().len(), 1);
    }
}

#[test]
fn switching_the_primary_before_every_node_holds_the_key_gets_datagrams_dropped_and_the_node_suspected()
 {
    // The broken variant of the rotation procedure: the checks of the test above catch it.
    let mut sim = secure_sim(11);
    let mut writes = BTreeMap::new();
    write_for(&mut sim, 0, 15, &mut writes);
    sim.with_core(0, |c, _| {
        let r = c.keyring_mut().unwrap();
        r.add(key(2)).unwrap();
        r.set_primary(&key(2).fingerprint()).unwrap();
    });
    write_for(&mut sim, 15, 40, &mut writes);
    let no_key: u64 = (1..N).map(|i| sim.core(i).stats().rejected.no_key).sum();
    assert!(no_key > 0);
    assert!(suspicions(&sim) > 0);
    assert!(!all_writes_everywhere(&sim, &writes));
}

#[test]
fn signed_and_sealed_datagrams_stay_within_the_mtu_and_large_states_still_converge() {
    // Values near the limit and many keys: deltas are cut with the signatures and the frame
    // overhead accounted (a datagram above the MTU would trip the core's debug assertion and be
    // rejected as oversize by its receiver).
    let mut sim = secure_sim(3);
    let mut writes = BTreeMap::new();
    for round in 0..6usize {
        for i in 0..N {
            for k in 0..12usize {
                // Sizes spread over 1..=500 bytes, so that fills land close to the MTU.
                let key = format!("key-{round}-{k}");
                let v = vec![k as u8; 1 + (round * 97 + k * 41 + i * 13) % 500];
                sim.set(i, &key, &v);
                writes.insert((i, key), v);
            }
        }
        sim.run_for(Duration::from_millis(500));
    }
    assert!(
        sim.run_until(Duration::from_secs(120), |s| all_writes_everywhere(
            s, &writes
        ))
    );
    assert!(
        sim.stats.max_datagram <= 1_400,
        "{}",
        sim.stats.max_datagram
    );
    // Within the frame overhead of the MTU: a core that forgot the 33 bytes would exceed it.
    assert!(
        sim.stats.max_datagram > 1_400 - 33,
        "{}",
        sim.stats.max_datagram
    );
    for i in 0..N {
        assert_eq!(sim.core(i).stats().rejected.total(), 0);
        assert!(sim.core(i).stats().deltas_cut > 0);
    }
}

#[test]
fn the_security_accessors_report_the_layers_keys_and_roster_the_core_was_built_with() {
    let plain = core_a();
    assert_eq!(
        plain.security_layers(),
        gossip_core::SecurityLayers::default()
    );
    assert!(plain.keyring().is_none() && plain.roster().is_none());
    assert!(plain.public_key().is_none());

    let mut a = secure_core(config("a", 1), &[key(1)], &NAMES);
    assert_eq!(
        a.security_layers(),
        gossip_core::SecurityLayers {
            encrypted: true,
            signed: true
        }
    );
    assert_eq!(a.public_key(), Some(signing_key("a").verifying_key()));
    assert_eq!(a.keyring().unwrap().primary(), key(1).fingerprint());
    let roster = a.roster().unwrap();
    assert_eq!(roster.len(), NAMES.len());
    assert_eq!(roster.get("b"), Some(&signing_key("b").verifying_key()));
    // The mutable accessors reach the core's own keyring and roster.
    assert!(a.roster_mut().unwrap().remove("m"));
    assert_eq!(a.roster().unwrap().len(), NAMES.len() - 1);
    assert_eq!(a.roster().unwrap().get("m"), None);
    assert_eq!(a.keyring_mut().unwrap().add(key(2)), Ok(true));
    assert_eq!(a.keyring().unwrap().list().len(), 2);
    assert_eq!(a.keyring().unwrap().primary(), key(1).fingerprint());
}

#[test]
fn in_a_signed_cluster_digest_heartbeats_are_ignored_and_heartbeats_travel_in_attested_node_deltas()
{
    let (mut a, mut b) = a_and_b();
    let k = key(1);
    let frame = genuine_frame(&mut a, &b);
    b.handle_datagram(a.config().gossip_addr, &frame, secs(1))
        .unwrap();
    frames(&mut b);
    let own = b.summary(a.id()).unwrap();
    let (g, h, w) = (own.generation, own.heartbeat, own.watermark);
    assert!(h > 0, "a's first round bumped its heartbeat");
    // A member's Syn whose digest holds `heartbeat` for a.
    let syn = |heartbeat| {
        let env = Envelope {
            cluster_id: CLUSTER.into(),
            message: Message::Syn {
                mode: GossipMode::PushPull,
                digest: Some(full_digest(vec![entry(a.id(), g, heartbeat, w)])),
                delta: vec![],
            },
        };
        seal(&env, &k)
    };
    // Digests are not signed: a fresher heartbeat there is not evidence that a is alive.
    b.handle_datagram(addr(3), &syn(h + 100), secs(2)).unwrap();
    assert_eq!(b.summary(a.id()), Some(own));
    frames(&mut b);
    // An older one: the SynAck carries a's attested heartbeat in a heartbeat-only node delta.
    b.handle_datagram(addr(3), &syn(h - 1), secs(3)).unwrap();
    let out = frames(&mut b);
    assert_eq!(out.len(), 1);
    let delta = delta_of(&open(&out[0], &k));
    let about_a = delta
        .iter()
        .find(|nd| nd.node == *a.id())
        .expect("a heartbeat-only node delta about a");
    assert!(about_a.updates.is_empty() && about_a.attestation.is_some());
    assert_eq!(about_a.heartbeat, h);
}
