//! Per-message costs: encode, decode, and apply (`handle_datagram`, which decodes, validates,
//! applies and answers). Run: `cargo bench -p gossip-core --bench codec`.
#![allow(missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use gossip_core::wire::{
    self, Change, DeltaKind, Digest, DigestEntry, DigestRange, Envelope, Message, NodeDelta, Update,
};
use gossip_core::{Config, Core, GossipMode, NodeId};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn id(i: u32) -> NodeId {
    NodeId::new(
        format!("node-{i:04}"),
        SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 7000)),
    )
}

/// A Syn whose partial digest of `entries` covers the ids from 0 to `end`.
fn partial_syn(entries: Vec<DigestEntry>, end: u32) -> Envelope {
    Envelope {
        cluster_id: "bench".into(),
        message: Message::Syn {
            mode: GossipMode::PushPull,
            digest: Some(Digest {
                range: Some(DigestRange {
                    start: id(0),
                    end: id(end),
                }),
                entries,
            }),
            delta: vec![],
        },
    }
}

/// A Syn whose partial digest fills the MTU (as at N = 1,000).
fn full_syn() -> Envelope {
    let mut entries = Vec::new();
    let mut i = 0;
    loop {
        let e = DigestEntry {
            node: id(i),
            generation: 1_700_000_000_000,
            heartbeat: 1_000 + i as u64,
            watermark: 20,
        };
        let with_e = entries.iter().cloned().chain([e.clone()]).collect();
        if partial_syn(with_e, i + 1).encoded_len() > 1400 {
            break;
        }
        entries.push(e);
        i += 1;
    }
    partial_syn(entries, i)
}

/// An Ack carrying 10 node deltas of 3 updates each (~1.2 KB).
fn full_ack() -> Envelope {
    let delta = (0..10)
        .map(|i| NodeDelta {
            node: id(i),
            generation: 1_700_000_000_000,
            heartbeat: 500,
            kind: DeltaKind::Incremental { from: 0 },
            updates: (1..=3)
                .map(|v| Update {
                    version: v,
                    change: Change::Set {
                        key: format!("key-{v}"),
                        value: vec![7; 20],
                    },
                    sig: None,
                })
                .collect(),
            watermark_after: 3,
            attestation: None,
        })
        .collect();
    Envelope {
        cluster_id: "bench".into(),
        message: Message::Ack { delta },
    }
}

fn core() -> Core<ChaCha8Rng> {
    let mut c = Config::new("me", SocketAddr::from(([10, 9, 9, 9], 7000)));
    c.cluster_id = "bench".into();
    Core::new(c, ChaCha8Rng::seed_from_u64(1), Duration::ZERO).unwrap()
}

fn bench(c: &mut Criterion) {
    let syn = full_syn();
    let ack = full_ack();
    let syn_bytes = wire::encode(&syn);
    let ack_bytes = wire::encode(&ack);
    println!(
        "syn: {} bytes, {} digest entries; ack: {} bytes",
        syn_bytes.len(),
        match &syn.message {
            Message::Syn {
                digest: Some(d), ..
            } => d.entries.len(),
            _ => 0,
        },
        ack_bytes.len()
    );
    c.bench_function("encode syn (full partial digest)", |b| {
        b.iter(|| wire::encode(std::hint::black_box(&syn)))
    });
    c.bench_function("decode syn (full partial digest)", |b| {
        b.iter(|| wire::decode(std::hint::black_box(&syn_bytes), 1400).unwrap())
    });
    c.bench_function("encode ack (10 node deltas x 3 updates)", |b| {
        b.iter(|| wire::encode(std::hint::black_box(&ack)))
    });
    c.bench_function("decode ack (10 node deltas x 3 updates)", |b| {
        b.iter(|| wire::decode(std::hint::black_box(&ack_bytes), 1400).unwrap())
    });
    c.bench_function("apply ack to an empty view (handle_datagram)", |b| {
        b.iter_batched(
            core,
            |mut k| {
                k.handle_datagram(
                    SocketAddr::from(([10, 0, 0, 1], 7000)),
                    &ack_bytes,
                    Duration::ZERO,
                )
                .unwrap();
                k
            },
            criterion::BatchSize::SmallInput,
        )
    });
    // A node that knows the 1,000 nodes answers a Syn (decode, build delta + digest, encode).
    let mut big = core();
    for chunk in (0..1000u32).collect::<Vec<_>>().chunks(10) {
        let delta = chunk
            .iter()
            .map(|&i| NodeDelta {
                node: id(i),
                generation: 1_700_000_000_000,
                heartbeat: 2_000,
                kind: DeltaKind::Incremental { from: 0 },
                updates: vec![],
                watermark_after: 0,
                attestation: None,
            })
            .collect();
        let bytes = wire::encode(&Envelope {
            cluster_id: "bench".into(),
            message: Message::Ack { delta },
        });
        big.handle_datagram(
            SocketAddr::from(([10, 0, 0, 1], 7000)),
            &bytes,
            Duration::ZERO,
        )
        .unwrap();
    }
    while big.poll_event().is_some() {}
    c.bench_function(
        "answer a syn at N = 1000 (handle_datagram + poll_transmit)",
        |b| {
            b.iter(|| {
                big.handle_datagram(
                    SocketAddr::from(([10, 0, 0, 1], 7000)),
                    &syn_bytes,
                    Duration::ZERO,
                )
                .unwrap();
                big.poll_transmit().unwrap()
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
