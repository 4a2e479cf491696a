//! Conformance steps per second: random walks of the model (uniform over `model.actions`),
//! each step run by the cores and checked exactly as the proptest harness does.
//! `cargo run --release -p gossip-conformance --example throughput [WALKS] [STEPS]`

use std::time::Instant;

use gossip_conformance::check::{Counters, StepFailure, check_step, correct_model};
use gossip_conformance::cluster::Cluster;
use gossip_conformance::harness::conformance_config;
use rand::{Rng, SeedableRng};
use stateright::Model;

fn main() {
    let mut args = std::env::args().skip(1);
    let walks: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let len: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut counters = Counters::default();
    let start = Instant::now();
    for w in 0..walks {
        let cfg = conformance_config(2 + w % 3, 1 + w % 3, 2 + (w / 3) % 3, w % 2 == 0);
        let model = cfg.into_model();
        let correct = correct_model(&model);
        let mut s = model.init_states().remove(0);
        let mut cluster = Cluster::new(&model.cfg);
        for _ in 0..len {
            let mut actions = Vec::new();
            model.actions(&s, &mut actions);
            let a = actions[rng.gen_range(0..actions.len())].clone();
            s = model.next_state(&s, a.clone()).expect("enabled");
            cluster
                .apply(&a, false)
                .map_err(StepFailure::from)
                .and_then(|_| check_step(&mut cluster, &correct, &s, &mut counters))
                .unwrap_or_else(|e| panic!("divergence: {e}"));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} walks, {} steps in {secs:.2} s: {:.0} conformance steps/s ({} messages exact, {} up to fillers, {} phantoms)",
        walks,
        counters.steps,
        counters.steps as f64 / secs,
        counters.exact,
        counters.refined,
        counters.phantoms
    );
}
