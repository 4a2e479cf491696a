//! What compressed frames (`Config::compression`, docs/spec/wire.md "Compressed frame") save
//! at steady state, measured exactly in the simulator, and what DEFLATE costs in CPU.
//!
//! `cargo run --release -p gossip-sim --example compression -- 10 50 100`
//!
//! For each N: two simulated clusters with the same seed, fanout 3 and two keys per node
//! (as `gossip-compare`), one plain and one compressed, each run 30 s of virtual time
//! (join), then measured over 30 s more: bytes per node-round (exact, independent of load)
//! and the largest datagram. Compression does not touch the core's RNG or the content of any
//! datagram, so both runs make the same exchanges (checked: same rounds and datagram
//! counts). Then every datagram the plain run sent during the window is compressed at a few
//! DEFLATE levels and inflated again, timed (wall clock: depends on the machine's load).
use std::time::{Duration, Instant};

use gossip_core::wire;
use gossip_sim::{NetModel, Sim};

struct Run {
    rounds: u64,
    datagrams: u64,
    bytes: u64,
    max: usize,
    payloads: Vec<Vec<u8>>,
}

fn run(n: usize, compression: bool) -> Run {
    let mut sim = Sim::cluster(n, NetModel::default(), 7, |c| {
        c.fanout = 3;
        c.compression = compression;
    });
    // Every node starts within the first gossip interval.
    sim.run_for(Duration::from_secs(1));
    for i in 0..n {
        for k in 0..2 {
            sim.set(i, &format!("key-{k}"), format!("value-{i}-{k}").as_bytes());
        }
    }
    sim.run_for(Duration::from_secs(30));
    let rounds0: u64 = (0..n).map(|i| sim.core(i).stats().rounds).sum();
    let (sent0, bytes0) = (sim.stats.sent, sim.stats.bytes);
    let captured = std::rc::Rc::new(std::cell::RefCell::new((Vec::new(), 0usize)));
    let c2 = captured.clone();
    sim.tap = Some(Box::new(move |_, _, p: &[u8]| {
        let mut c = c2.borrow_mut();
        c.1 = c.1.max(p.len());
        c.0.push(p.to_vec());
    }));
    sim.run_for(Duration::from_secs(30));
    sim.tap = None;
    let rounds: u64 = (0..n).map(|i| sim.core(i).stats().rounds).sum::<u64>() - rounds0;
    let (payloads, max) = std::mem::take(&mut *captured.borrow_mut());
    Run {
        rounds,
        datagrams: sim.stats.sent - sent0,
        bytes: sim.stats.bytes - bytes0,
        max,
        payloads,
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10, 50, 100]
    } else {
        sizes
    };
    println!(
        "| N | rounds | datagrams | bytes per node-round, plain | compressed | ratio | largest datagram, plain / compressed |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut sample = Vec::new();
    for &n in &sizes {
        let plain = run(n, false);
        let comp = run(n, true);
        assert_eq!(
            (plain.rounds, plain.datagrams),
            (comp.rounds, comp.datagrams),
            "compression changed the exchanges"
        );
        let bpr = |r: &Run| r.bytes as f64 / r.rounds as f64;
        println!(
            "| {n} | {} | {} | {:.0} | {:.0} | {:.3} | {} / {} |",
            plain.rounds,
            plain.datagrams,
            bpr(&plain),
            bpr(&comp),
            bpr(&comp) / bpr(&plain),
            plain.max,
            comp.max
        );
        sample = plain.payloads;
    }
    // CPU: compress and inflate the last plain run's datagrams.
    let total: usize = sample.iter().map(Vec::len).sum();
    println!();
    println!(
        "CPU, {} datagrams of the N = {} run ({} bytes):",
        sample.len(),
        sizes.last().unwrap_or(&0),
        total
    );
    println!(
        "| level | compressed / plain | µs per datagram, compress | µs per datagram, inflate |"
    );
    println!("|---:|---:|---:|---:|");
    for level in [1u8, 6, 9] {
        let mut c = wire::Compressor::new(level);
        let t = Instant::now();
        let frames: Vec<Vec<u8>> = sample.iter().map(|p| c.frame(p)).collect();
        let c_us = t.elapsed().as_secs_f64() * 1e6 / sample.len() as f64;
        let t = Instant::now();
        for f in &frames {
            let back = wire::inflate(&f[1..], 1400).expect("round trip");
            std::hint::black_box(back);
        }
        let i_us = t.elapsed().as_secs_f64() * 1e6 / sample.len() as f64;
        let clen: usize = frames.iter().map(Vec::len).sum();
        println!(
            "| {level} | {:.3} | {c_us:.1} | {i_us:.1} |",
            clen as f64 / total as f64
        );
    }
}
