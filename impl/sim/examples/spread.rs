//! Measures, in virtual time, how many gossip rounds a write needs to reach every node, and the
//! bytes each node sends per round at steady state. Prints Markdown tables.
//!
//! ```text
//! cargo run --release -p gossip-sim --example spread            # all tables
//! cargo run --release -p gossip-sim --example spread -- quick   # N ≤ 100 only
//! ```

use std::time::Duration;

use gossip_core::GossipMode;
use gossip_sim::{NetModel, Sim};

fn net() -> NetModel {
    NetModel::default()
}

/// Rounds (gossip intervals) from a write at node 0 until every node holds it.
fn rounds_to_spread(n: usize, fanout: usize, seed: u64) -> Option<f64> {
    let mut sim = Sim::cluster(n, net(), seed, |c| c.fanout = fanout);
    sim.run_for(Duration::from_secs(1));
    let check = if n >= 1000 { 5_000 } else { 100 };
    let every = Duration::from_millis(check);
    // Warm up until the cluster has converged (at N = 1,000: at most 600 s).
    if !sim.run_until_every(Duration::from_secs(600), every, |s| s.converged()) {
        return None;
    }
    let writer = n / 2;
    sim.set(writer, "probe", b"x");
    let t0 = sim.now();
    let every = Duration::from_millis(100);
    if !sim.run_until_every(Duration::from_secs(900), every, |s| {
        s.all_hold(writer, "probe")
    }) {
        return None;
    }
    Some((sim.now() - t0).as_secs_f64())
}

struct Steady {
    bytes_per_node_round: f64,
    datagrams_per_node_round: f64,
    max_datagram: usize,
}

fn steady_state(n: usize, fanout: usize, mode: GossipMode, seed: u64) -> Option<Steady> {
    let mut sim = Sim::cluster(n, net(), seed, |c| {
        c.fanout = fanout;
        c.mode = mode;
    });
    sim.run_for(Duration::from_secs(1));
    for i in 0..n {
        sim.set(i, "role", b"worker");
        sim.set(i, "load", b"0.42");
    }
    if !sim.run_until(Duration::from_secs(600), |s| s.converged()) {
        return None;
    }
    sim.run_for(Duration::from_secs(30));
    let (b0, d0) = (sim.stats.bytes, sim.stats.sent);
    sim.stats.max_datagram = 0;
    let secs = 60u64;
    sim.run_for(Duration::from_secs(secs));
    let rounds = (n as u64 * secs) as f64;
    Some(Steady {
        bytes_per_node_round: (sim.stats.bytes - b0) as f64 / rounds,
        datagrams_per_node_round: (sim.stats.sent - d0) as f64 / rounds,
        max_datagram: sim.stats.max_datagram,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let sizes: &[usize] = if quick { &[10, 100] } else { &[10, 100, 1000] };
    println!(
        "## Rounds until a write reaches every node (gossip interval 1 s, lossless, 1–10 ms delay)\n"
    );
    println!("| N | fanout | rounds (median) | min | max | runs |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        for fanout in [1usize, 3] {
            let seeds: Vec<u64> = if n >= 1000 {
                vec![1]
            } else {
                (1..=5).collect()
            };
            let runs: Vec<f64> = seeds
                .iter()
                .filter_map(|&s| rounds_to_spread(n, fanout, s))
                .collect();
            if runs.is_empty() {
                println!("| {n} | {fanout} | did not converge | | | 0 |");
                continue;
            }
            let min = runs.iter().copied().fold(f64::INFINITY, f64::min);
            let max = runs.iter().copied().fold(0.0, f64::max);
            println!(
                "| {n} | {fanout} | {:.1} | {min:.1} | {max:.1} | {} |",
                median(runs.clone()),
                runs.len()
            );
        }
    }
    println!(
        "\n## Steady state, N = 100, 2 keys per node (bytes sent per node per gossip round)\n"
    );
    println!(
        "| mode | fanout | bytes / node / round | datagrams / node / round | largest datagram |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (mode, fanout) in [
        (GossipMode::PushPull, 1),
        (GossipMode::PushPull, 3),
        (GossipMode::Pull, 1),
        (GossipMode::Push, 1),
    ] {
        match steady_state(100, fanout, mode, 7) {
            Some(s) => println!(
                "| {mode:?} | {fanout} | {:.0} | {:.2} | {} |",
                s.bytes_per_node_round, s.datagrams_per_node_round, s.max_datagram
            ),
            None => println!("| {mode:?} | {fanout} | did not converge | | |"),
        }
    }
}
