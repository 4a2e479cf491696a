//! Structurally valid but hostile messages (built from the fuzzer's bytes with `arbitrary`):
//! ids from a small pool including the receiver itself, counters near `u64::MAX`, many keys,
//! values around the limit, many sources. After every datagram the core's footprint stays
//! within its limits and its own state is untouched.
#![no_main]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use arbitrary::{Arbitrary, Result, Unstructured};
use gossip_core::wire::{Change, DeltaKind, Digest, DigestEntry, Message, NodeDelta, Update};
use gossip_core::{GossipMode, NodeId};
use libfuzzer_sys::fuzz_target;

fn counter(u: &mut Unstructured<'_>) -> Result<u64> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => u.int_in_range(0..=4)?,
        1 => u64::MAX - u.int_in_range(0..=2)?,
        _ => u64::arbitrary(u)?,
    })
}

fn node(u: &mut Unstructured<'_>) -> Result<NodeId> {
    let i: u8 = u.int_in_range(0..=40)?;
    Ok(if i == 0 {
        common::id("a", 1)
    } else {
        common::id(&format!("n{i}"), i)
    })
}

fn node_delta(u: &mut Unstructured<'_>) -> Result<NodeDelta> {
    let from = u.int_in_range(0..=3u64)?;
    let mut v = from;
    let mut updates = Vec::new();
    for _ in 0..u.int_in_range(0..=10)? {
        v = v.saturating_add(u.int_in_range(1..=4)?);
        let key = format!("k{}", u.int_in_range(0..=12u8)?);
        let change = match u.int_in_range(0..=5u8)? {
            0 => Change::Delete { key },
            1 => Change::Leave,
            _ => Change::Set {
                key,
                value: vec![7; u.int_in_range(0..=70)?],
            },
        };
        updates.push(Update {
            version: v,
            change,
            sig: None,
        });
    }
    Ok(NodeDelta {
        node: node(u)?,
        generation: counter(u)?,
        heartbeat: counter(u)?,
        kind: if bool::arbitrary(u)? {
            DeltaKind::Reset { gc_floor: from }
        } else {
            DeltaKind::Incremental { from }
        },
        updates,
        watermark_after: v.saturating_add(u.int_in_range(0..=1)?),
        attestation: None,
    })
}

fn digest(u: &mut Unstructured<'_>) -> Result<Digest> {
    let mut entries = Vec::new();
    for _ in 0..u.int_in_range(0..=12)? {
        entries.push(DigestEntry {
            node: node(u)?,
            generation: counter(u)?,
            heartbeat: counter(u)?,
            watermark: counter(u)?,
        });
    }
    Ok(Digest {
        range: None,
        entries,
    })
}

fn message(u: &mut Unstructured<'_>) -> Result<Message> {
    let mut delta = Vec::new();
    for _ in 0..u.int_in_range(0..=5)? {
        delta.push(node_delta(u)?);
    }
    Ok(match u.int_in_range(0..=2u8)? {
        0 => Message::Syn {
            mode: GossipMode::PushPull,
            digest: Some(digest(u)?),
            delta,
        },
        1 => Message::SynAck {
            digest: Some(digest(u)?),
            delta,
        },
        _ => Message::Ack { delta },
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let mut a = common::core_with_state();
    let l = common::limits();
    let own = a.node(a.id()).map(|n| n.entries);
    let mut t = Duration::from_secs(2);
    while !u.is_empty() {
        let Ok(m) = message(&mut u) else { break };
        let src = SocketAddr::from(([10, 1, 0, u.int_in_range(0..=40u8).unwrap_or(0)], 7000));
        t += Duration::from_millis(u.int_in_range(0..=2_000u64).unwrap_or(0));
        let _ = a.handle_datagram(src, &common::encode(m), t);
        if bool::arbitrary(&mut u).unwrap_or(false) {
            a.handle_timeout(t);
        }
        while let Some(tx) = a.poll_transmit() {
            assert!(tx.payload.len() <= a.config().mtu);
        }
        while a.poll_event().is_some() {}
        let f = a.footprint();
        assert!(f.nodes + f.forgotten <= l.max_nodes, "{f:?}");
        assert!(f.max_entries_per_node <= l.max_keys_per_node, "{f:?}");
        assert!(f.tracked_peers <= l.max_tracked_peers, "{f:?}");
        assert_eq!(a.node(a.id()).map(|n| n.entries), own);
    }
});
