//! Algebraic laws of the implementation's merge (quickcheck, on `gossip-core`'s own types and
//! functions: deltas are built by a real owner core answering a digest, and applied by real
//! receiver cores through `handle_datagram`, which is the core's one application function).
//!
//! **Equivalence** (documented, as the model's `agree`): two views of a node are equivalent
//! when they have the same generation, heartbeat, watermark, leave marker and live
//! (non-tombstone) entries; tombstones and gc floors are local bookkeeping and statuses local
//! verdicts.

use std::net::SocketAddr;
use std::time::Duration;

use gossip_core::wire::{self, Digest, DigestEntry, Envelope, Message, NodeDelta};
use gossip_core::{Config, Core, GossipMode, NodeId, NodeSummary};
use quickcheck::{Arbitrary, Gen, QuickCheck};
use rand::rngs::mock::StepRng;

const MTU: usize = 60_000;
const CLUSTER: &str = "laws";

fn config(name: &str, port: u16, generation: u64) -> Config {
    let mut c = Config::new(name, addr(port));
    c.cluster_id = CLUSTER.into();
    c.generation = generation;
    c.mtu = MTU;
    c.max_digest_len = MTU;
    c.rotate_delta_start = false;
    c
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn owner_id() -> NodeId {
    NodeId::new("o", addr(1))
}

fn core(name: &str, port: u16, generation: u64) -> Core<StepRng> {
    Core::new(
        config(name, port, generation),
        StepRng::new(0, 1),
        Duration::ZERO,
    )
    .expect("valid")
}

/// One change of the owner's life.
#[derive(Clone, Debug)]
enum Op {
    Set(u8, u8),
    Delete(u8),
    /// A gossip round (the heartbeat grows).
    Bump,
    /// The owner collects its own tombstones.
    Collect,
    /// The owner restarts with a higher generation.
    Restart,
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        let k = u8::arbitrary(g) % 3;
        match u8::arbitrary(g) % 10 {
            0..=3 => Op::Set(k, u8::arbitrary(g) % 3),
            4 | 5 => Op::Delete(k),
            6 | 7 => Op::Bump,
            8 => Op::Collect,
            _ => Op::Restart,
        }
    }
}

/// The owner's history and the points (prefix lengths) at which deltas are taken.
#[derive(Clone, Debug)]
struct History {
    ops: Vec<Op>,
    points: Vec<u8>,
}

impl Arbitrary for History {
    fn arbitrary(g: &mut Gen) -> History {
        let n = usize::arbitrary(g) % 14;
        History {
            ops: (0..n).map(|_| Op::arbitrary(g)).collect(),
            points: (0..4).map(|_| u8::arbitrary(g)).collect(),
        }
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = History>> {
        let points = self.points.clone();
        Box::new(self.ops.shrink().map(move |ops| History {
            ops,
            points: points.clone(),
        }))
    }
}

/// The owner replayed up to every prefix: `states[p]` answers digests at prefix `p`.
struct Owner {
    states: Vec<Core<StepRng>>,
}

fn owner_after(ops: &[Op]) -> Core<StepRng> {
    let mut generation = 1;
    let mut o = core("o", 1, generation);
    let t = Duration::from_millis(1);
    for op in ops {
        match op {
            Op::Set(k, v) => {
                let _ = o.set(&format!("k{k}"), &[b'a' + v], t);
            }
            Op::Delete(k) => {
                let _ = o.delete(&format!("k{k}"), t);
            }
            Op::Bump => {
                o.start_round_with(addr(9), t);
                while o.poll_transmit().is_some() {}
            }
            Op::Collect => {
                o.collect_tombstones(&owner_id(), t);
            }
            Op::Restart => {
                generation += 1;
                o = core("o", 1, generation);
            }
        }
    }
    o
}

impl Owner {
    fn new(h: &History) -> Owner {
        Owner {
            states: (0..=h.ops.len())
                .map(|p| owner_after(&h.ops[..p]))
                .collect(),
        }
    }

    /// The owner of `h` and the history's first two points as prefixes.
    fn with_two_points(h: &History) -> (Owner, usize, usize) {
        let o = Owner::new(h);
        let (p, q) = (o.point(h.points[0]), o.point(h.points[1]));
        (o, p, q)
    }

    fn point(&self, x: u8) -> usize {
        x as usize % self.states.len()
    }

    /// (generation, heartbeat, watermark) of the owner at prefix `p`.
    fn summary(&self, p: usize) -> (u64, u64, u64) {
        let v = self.states[p].node(&owner_id()).expect("itself");
        (v.generation, v.heartbeat, v.watermark)
    }

    /// The Ack datagram carrying what the owner at prefix `p` sends to a peer whose digest
    /// entry for it is `peer` (`None`: the peer does not know it).
    fn delta(&mut self, p: usize, peer: Option<(u64, u64, u64)>) -> Vec<u8> {
        let entries = peer
            .map(|(generation, heartbeat, watermark)| DigestEntry {
                node: owner_id(),
                generation,
                heartbeat,
                watermark,
            })
            .into_iter()
            .collect();
        // A pull Syn: its SynAck carries every node delta, heartbeat-only ones included (a
        // push-pull SynAck leaves heartbeat-only news to its own digest, protocol.md §4).
        let syn = Envelope {
            cluster_id: CLUSTER.into(),
            message: Message::Syn {
                mode: GossipMode::Pull,
                digest: Some(Digest {
                    range: None,
                    entries,
                }),
                delta: vec![],
            },
        };
        let o = &mut self.states[p];
        o.handle_datagram(addr(9), &wire::encode(&syn), Duration::from_millis(2))
            .expect("a valid syn");
        let t = o.poll_transmit().expect("a synack");
        let delta: Vec<NodeDelta> = match wire::decode(&t.payload, MTU).expect("decodable").message
        {
            Message::SynAck { delta, .. } => delta,
            m => panic!("not a synack: {m:?}"),
        };
        while o.poll_transmit().is_some() {}
        wire::encode(&Envelope {
            cluster_id: CLUSTER.into(),
            message: Message::Ack { delta },
        })
    }

    fn full(&mut self, p: usize) -> Vec<u8> {
        self.delta(p, None)
    }
}

/// A receiver's view of the owner, up to the documented equivalence.
type Equiv = Option<(u64, u64, u64, Option<u64>, Vec<(String, u64, Vec<u8>)>)>;

fn equiv(r: &Core<StepRng>) -> Equiv {
    r.node(&owner_id()).map(|v| {
        let live = v
            .entries
            .iter()
            .filter_map(|(k, e)| e.value.clone().map(|x| (k.clone(), e.version, x)))
            .collect();
        (v.generation, v.heartbeat, v.watermark, v.left, live)
    })
}

fn receiver(port: u16) -> Core<StepRng> {
    core(&format!("r{port}"), port, 1)
}

fn apply(r: &mut Core<StepRng>, ack: &[u8]) {
    r.handle_datagram(addr(1), ack, Duration::from_millis(3))
        .expect("a valid ack");
    while r.poll_transmit().is_some() {}
}

/// `a` merges `b`'s view: `a` sends `b` a Syn, `b` answers with the delta `a` lacks, `a`
/// applies it (the Ack back to `b` is discarded).
fn merge(a: &mut Core<StepRng>, b: &mut Core<StepRng>) {
    let t = Duration::from_millis(4);
    a.start_round_with(b.config().gossip_addr, t);
    let syn = a.poll_transmit().expect("a syn");
    b.handle_datagram(a.config().gossip_addr, &syn.payload, t)
        .expect("valid");
    let synack = b.poll_transmit().expect("a synack");
    a.handle_datagram(b.config().gossip_addr, &synack.payload, t)
        .expect("valid");
    while a.poll_transmit().is_some() {}
}

fn qc() -> QuickCheck {
    QuickCheck::new().tests(300)
}

#[test]
fn applying_a_delta_twice_equals_applying_it_once() {
    fn law(h: History) -> bool {
        let (mut o, p, q) = Owner::with_two_points(&h);
        let (p, q) = (p.min(q), p.max(q));
        let base = o.summary(p);
        for ack in [o.full(q), o.delta(q, Some(base))] {
            let mut r = receiver(10);
            apply(&mut r, &o.full(p));
            apply(&mut r, &ack);
            let once = equiv(&r);
            apply(&mut r, &ack);
            if equiv(&r) != once {
                return false;
            }
        }
        true
    }
    qc().quickcheck(law as fn(History) -> bool);
}

#[test]
fn applying_two_whole_views_commutes() {
    fn law(h: History) -> bool {
        let (mut o, p, q) = Owner::with_two_points(&h);
        let (dp, dq) = (o.full(p), o.full(q));
        let mut r1 = receiver(10);
        apply(&mut r1, &dp);
        apply(&mut r1, &dq);
        let mut r2 = receiver(11);
        apply(&mut r2, &dq);
        apply(&mut r2, &dp);
        equiv(&r1) == equiv(&r2)
    }
    qc().quickcheck(law as fn(History) -> bool);
}

#[test]
fn merging_views_is_associative() {
    fn law(h: History) -> bool {
        let mut o = Owner::new(&h);
        let ps: Vec<usize> = h.points[..3].iter().map(|&x| o.point(x)).collect();
        let ds: Vec<Vec<u8>> = ps.iter().map(|&p| o.full(p)).collect();
        let fresh = |o: u16, ds: &[Vec<u8>]| -> Vec<Core<StepRng>> {
            (0..3)
                .map(|i| {
                    let mut r = receiver(o + i as u16);
                    apply(&mut r, &ds[i]);
                    r
                })
                .collect()
        };
        // (a ⊔ b) ⊔ c
        let mut l = fresh(10, &ds);
        let (a, rest) = l.split_at_mut(1);
        merge(&mut a[0], &mut rest[0]);
        merge(&mut a[0], &mut rest[1]);
        // a ⊔ (b ⊔ c)
        let mut r = fresh(20, &ds);
        let (a2, rest2) = r.split_at_mut(1);
        let (b2, c2) = rest2.split_at_mut(1);
        merge(&mut b2[0], &mut c2[0]);
        merge(&mut a2[0], &mut b2[0]);
        equiv(&l[0]) == equiv(&r[0])
    }
    qc().quickcheck(law as fn(History) -> bool);
}

#[test]
fn deltas_applied_in_any_order_with_retries_give_the_owners_state() {
    fn law(h: History, order: Vec<u8>) -> bool {
        let mut o = Owner::new(&h);
        let mut cuts: Vec<usize> = h.points.iter().map(|&x| o.point(x)).collect();
        cuts.push(0);
        cuts.push(o.states.len() - 1);
        cuts.sort();
        cuts.dedup();
        // d_i: what the owner at cut i sends to a peer holding its state at cut i-1.
        let mut deltas = Vec::new();
        for w in cuts.windows(2) {
            let peer = (w[0] > 0).then(|| o.summary(w[0]));
            deltas.push(o.delta(w[1], peer));
        }
        let last = *cuts.last().expect("non-empty");
        if deltas.is_empty() {
            return true; // an owner that never changed: nothing to order
        }
        // In order.
        let mut r1 = receiver(10);
        for d in &deltas {
            apply(&mut r1, d);
        }
        // In a permuted order, retried until nothing changes (gaps are ignored, not applied).
        let mut idx: Vec<usize> = (0..deltas.len()).collect();
        for (i, x) in order.iter().enumerate() {
            let n = idx.len();
            idx.swap(i % n, *x as usize % n);
        }
        let mut r2 = receiver(11);
        for _ in 0..=deltas.len() {
            for &i in &idx {
                apply(&mut r2, &deltas[i]);
            }
        }
        // The whole state at once.
        let mut r3 = receiver(12);
        apply(&mut r3, &o.full(last));
        equiv(&r1) == equiv(&r2) && equiv(&r2) == equiv(&r3)
    }
    qc().quickcheck(law as fn(History, Vec<u8>) -> bool);
}

#[test]
fn the_digest_after_a_merge_dominates_both_inputs_digests() {
    fn law(h: History) -> bool {
        let (mut o, p, q) = Owner::with_two_points(&h);
        let mut a = receiver(10);
        apply(&mut a, &o.full(p));
        let mut b = receiver(11);
        apply(&mut b, &o.full(q));
        let before = |c: &Core<StepRng>, id: &NodeId| c.summary(id);
        let ids = [owner_id(), a.id().clone(), b.id().clone()];
        let da: Vec<_> = ids.iter().map(|id| before(&a, id)).collect();
        let db: Vec<_> = ids.iter().map(|id| before(&b, id)).collect();
        merge(&mut a, &mut b);
        ids.iter().enumerate().all(|(i, id)| {
            let m = a.summary(id);
            let dominates = |x: Option<NodeSummary>| match (x, m) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(x), Some(m)) => {
                    m.generation > x.generation
                        || (m.generation == x.generation
                            && m.heartbeat >= x.heartbeat
                            && m.watermark >= x.watermark)
                }
            };
            dominates(da[i]) && dominates(db[i])
        })
    }
    qc().quickcheck(law as fn(History) -> bool);
}
