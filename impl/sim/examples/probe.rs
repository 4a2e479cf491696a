//! Prints convergence progress of a large simulated cluster (diagnostics).
//!
//! `cargo run --release -p gossip-sim --example probe -- 1000`
use std::time::{Duration, Instant};

use gossip_sim::{NetModel, Sim};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let mut sim = Sim::cluster(n, NetModel::default(), 1, |_| {});
    let wall = Instant::now();
    for _ in 0..60 {
        sim.run_for(Duration::from_secs(5));
        let ids: Vec<_> = (0..n).map(Sim::id).collect();
        let mut known = 0usize;
        let mut exact = 0usize;
        for i in 0..n {
            let c = sim.core(i);
            for (j, id) in ids.iter().enumerate() {
                if let Some(s) = c.summary(id) {
                    known += 1;
                    if sim
                        .core(j)
                        .summary(id)
                        .is_some_and(|o| o.generation == s.generation && o.watermark == s.watermark)
                    {
                        exact += 1;
                    }
                }
            }
        }
        println!(
            "t={:?} wall={:?} known={:.3} exact={:.3} sent={} max={} converged={}",
            sim.now(),
            wall.elapsed(),
            known as f64 / (n * n) as f64,
            exact as f64 / (n * n) as f64,
            sim.stats.sent,
            sim.stats.max_datagram,
            sim.converged()
        );
        if sim.converged() {
            break;
        }
    }
}
