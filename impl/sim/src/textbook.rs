//! Textbook gossip of a single rumor, as small protocols over the same event engine, for
//! comparison with the real core: push, pull and push-pull anti-entropy, and rumor mongering
//! with feedback and a coin (lose interest with probability 1/k after telling a node that
//! already knew).
//!
//! Rounds are synchronous as in the papers: every node's round-`r` tick is at `r · T`, and
//! messages take a latency drawn from the network model (which must stay below `T / 2`, so a
//! request and its reply land within the round). A node informed during round `r` acts on it
//! from round `r + 1` on.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::engine::{Nanos, NetModel, Network, Queue, SEC};

/// Round length used by the textbook protocols.
pub const ROUND: Nanos = SEC;

/// Anti-entropy variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Every node calls a random node each round; informed callers send the rumor.
    Push,
    /// Every node calls a random node each round; informed callees answer with the rumor.
    Pull,
    /// Both: the rumor crosses each call in whichever direction it is news.
    PushPull,
}

impl Variant {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Push => "push",
            Variant::Pull => "pull",
            Variant::PushPull => "push-pull",
        }
    }
}

/// Result of one anti-entropy run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AntiEntropyReport {
    /// Variant.
    pub variant: Variant,
    /// Nodes.
    pub n: usize,
    /// Seed.
    pub seed: u64,
    /// Rounds until half the nodes knew the rumor.
    pub rounds_50: Option<u32>,
    /// Rounds until 99%.
    pub rounds_99: Option<u32>,
    /// Rounds until everyone.
    pub rounds_100: Option<u32>,
    /// Messages (calls and replies) sent until everyone knew.
    pub messages: u64,
    /// Messages that carried the rumor, until everyone knew (the count of Karp et al.).
    pub rumor_messages: u64,
    /// Bytes, counting 1 byte per call and reply plus 64 per rumor.
    pub bytes: u64,
    /// Informed nodes at the end of each round.
    pub curve: Vec<usize>,
}

#[derive(Clone, Copy)]
enum AeEv {
    Tick(u32),
    /// `(from, to, carries rumor, is a call that wants a reply)`.
    Msg(u32, u32, bool, bool),
}

fn peer(rng: &mut ChaCha8Rng, n: usize, me: usize) -> usize {
    let p = rng.gen_range(0..n - 1);
    if p >= me { p + 1 } else { p }
}

/// Runs one anti-entropy spread of a rumor started at node 0, until everyone knows it (or
/// `max_rounds`).
pub fn anti_entropy(
    variant: Variant,
    n: usize,
    seed: u64,
    net: &NetModel,
    max_rounds: u32,
) -> AntiEntropyReport {
    assert!(n >= 2, "at least 2 nodes");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let network = Network::new(net.clone(), n);
    let mut q: Queue<AeEv> = Queue::default();
    let mut informed = vec![false; n];
    informed[0] = true;
    let mut count = 1usize;
    let mut curve = vec![1usize];
    let (mut msgs, mut rumor_msgs, mut bytes) = (0u64, 0u64, 0u64);
    let mut reached: [Option<u32>; 3] = [None; 3];
    let need = |f: f64| ((n as f64) * f).ceil() as usize;
    for round in 0..max_rounds {
        let start = round as Nanos * ROUND;
        for i in 0..n {
            q.schedule(start, AeEv::Tick(i as u32));
        }
        // Everything of this round happens before the next round's ticks.
        while let Some((now, ev)) = q.pop_until(start + ROUND - 1) {
            let mut send = |q: &mut Queue<AeEv>, rng: &mut ChaCha8Rng, m: AeEv| {
                let AeEv::Msg(from, to, rumor, _) = m else {
                    return;
                };
                msgs += 1;
                bytes += 1 + if rumor { 64 } else { 0 };
                rumor_msgs += rumor as u64;
                for d in network.route(rng, from as usize, to as usize).delays() {
                    q.schedule(now + d, m);
                }
            };
            match ev {
                AeEv::Tick(i) => {
                    let i = i as usize;
                    let p = peer(&mut rng, n, i) as u32;
                    let me = i as u32;
                    match variant {
                        // Uninformed nodes call too (anti-entropy: every node, every round),
                        // but their call carries nothing.
                        Variant::Push => {
                            send(&mut q, &mut rng, AeEv::Msg(me, p, informed[i], false))
                        }
                        Variant::Pull => send(&mut q, &mut rng, AeEv::Msg(me, p, false, true)),
                        Variant::PushPull => {
                            send(&mut q, &mut rng, AeEv::Msg(me, p, informed[i], true))
                        }
                    }
                }
                AeEv::Msg(from, to, rumor, call) => {
                    let to_us = to as usize;
                    let knew = informed[to_us];
                    if rumor && !knew {
                        informed[to_us] = true;
                        count += 1;
                    }
                    if call {
                        // Pull: answer with the rumor if known. Push-pull: answer with it if the
                        // caller did not show it (the digest comparison of a real exchange).
                        let answer = knew && !rumor;
                        send(&mut q, &mut rng, AeEv::Msg(to, from, answer, false));
                    }
                }
            }
        }
        curve.push(count);
        for (k, f) in [0.5, 0.99, 1.0].into_iter().enumerate() {
            if reached[k].is_none() && count >= need(f) {
                reached[k] = Some(round + 1);
            }
        }
        if count == n {
            break;
        }
    }
    AntiEntropyReport {
        variant,
        n,
        seed,
        rounds_50: reached[0],
        rounds_99: reached[1],
        rounds_100: reached[2],
        messages: msgs,
        rumor_messages: rumor_msgs,
        bytes,
        curve,
    }
}

/// Result of one rumor-mongering run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RumorReport {
    /// Nodes.
    pub n: usize,
    /// Loss-of-interest parameter: stop with probability 1/k after a useless push.
    pub k: u32,
    /// Seed.
    pub seed: u64,
    /// Fraction of nodes that never heard the rumor.
    pub residue: f64,
    /// Pushes per node (Demers' traffic `m`).
    pub traffic: f64,
    /// Rounds until no node was infective.
    pub rounds: u32,
}

#[derive(Clone, Copy)]
enum RmEv {
    Tick(u32),
    Push(u32, u32),
    Feedback(u32, bool),
}

/// Rumor mongering with feedback and coin (Demers et al. 1987): each infective node pushes the
/// rumor to a random node each round; the receiver answers whether it already knew; on "knew"
/// the sender loses interest with probability `1/k`.
pub fn rumor_mongering(n: usize, k: u32, seed: u64, net: &NetModel) -> RumorReport {
    assert!(n >= 2 && k >= 1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let network = Network::new(net.clone(), n);
    let mut q: Queue<RmEv> = Queue::default();
    // 0 susceptible, 1 infective, 2 removed
    let mut state = vec![0u8; n];
    state[0] = 1;
    let mut infective = vec![0usize];
    let mut pushes = 0u64;
    let mut round = 0u32;
    while !infective.is_empty() && round < 100_000 {
        let start = round as Nanos * ROUND;
        for &i in &infective {
            q.schedule(start, RmEv::Tick(i as u32));
        }
        while let Some((now, ev)) = q.pop_until(start + ROUND - 1) {
            match ev {
                RmEv::Tick(i) => {
                    if state[i as usize] != 1 {
                        continue;
                    }
                    let p = peer(&mut rng, n, i as usize);
                    pushes += 1;
                    for d in network.route(&mut rng, i as usize, p).delays() {
                        q.schedule(now + d, RmEv::Push(i, p as u32));
                    }
                }
                RmEv::Push(from, to) => {
                    let knew = state[to as usize] != 0;
                    if !knew {
                        state[to as usize] = 1;
                    }
                    for d in network.route(&mut rng, to as usize, from as usize).delays() {
                        q.schedule(now + d, RmEv::Feedback(from, knew));
                    }
                }
                RmEv::Feedback(to, knew) => {
                    if knew && state[to as usize] == 1 && rng.gen_range(0..k) == 0 {
                        state[to as usize] = 2;
                    }
                }
            }
        }
        infective = (0..n).filter(|&i| state[i] == 1).collect();
        round += 1;
    }
    let susceptible = state.iter().filter(|&&s| s == 0).count();
    RumorReport {
        n,
        k,
        seed,
        residue: susceptible as f64 / n as f64,
        traffic: pushes as f64 / n as f64,
        rounds: round,
    }
}

/// Demers et al.'s prediction for feedback + coin: the solution `s ∈ (0, 1)` of
/// `s = exp(-(k + 1)(1 - s))` (by fixed-point iteration from 0).
pub fn demers_residue(k: u32) -> f64 {
    let mut s = 0.0f64;
    for _ in 0..10_000 {
        s = (-(k as f64 + 1.0) * (1.0 - s)).exp();
    }
    s
}

/// Pittel (1987): rounds for push to reach everyone, `log2 N + ln N` (plus O(1)).
pub fn pittel_push_rounds(n: usize) -> f64 {
    let n = n as f64;
    n.log2() + n.ln()
}

/// Karp et al. (2000): push-pull rounds, `log3 N + ln ln N` (the O(ln ln N) term with
/// constant 1).
pub fn karp_push_pull_rounds(n: usize) -> f64 {
    let n = n as f64;
    n.ln() / 3f64.ln() + n.ln().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demers_residue_solves_its_equation() {
        for k in 1..=4 {
            let s = demers_residue(k);
            assert!((s - (-(k as f64 + 1.0) * (1.0 - s)).exp()).abs() < 1e-12);
            assert!(s > 0.0 && s < 0.25);
        }
        assert!((demers_residue(1) - 0.2032).abs() < 1e-3);
    }

    #[test]
    fn every_variant_informs_every_node_on_a_lossless_network() {
        for v in [Variant::Push, Variant::Pull, Variant::PushPull] {
            let r = anti_entropy(v, 200, 3, &NetModel::default(), 200);
            assert_eq!(r.curve.last(), Some(&200), "{v:?}");
            assert!(r.rounds_100.is_some());
        }
    }
}
