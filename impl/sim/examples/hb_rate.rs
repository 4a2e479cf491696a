//! Measures how often a subject's heartbeat reaches an observer under partial digests
//! (docs/spec/node.md §7, docs/results/README.md §3), against the detector's heartbeat period
//! `P` and the own Syn rotation `P_syn`:
//! `cargo run --release -p gossip-sim --example hb_rate -- 300` (N nodes, the default core
//! scenario, seed 1: the gaps between arrivals of node 5's heartbeat at every observer, over
//! 40 s starting 10 s after membership convergence). With `-- 300 crash`: the core table's
//! crash (seed 1), split into the time until the crashed node's last heartbeat arrived and the
//! time from there to the suspicion.

use gossip_sim::core_sim::{CoreSim, Scenario};

const SEC: u64 = 1_000_000_000;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    if std::env::args().nth(2).as_deref() == Some("crash") {
        crash(n);
        return;
    }
    let sc = Scenario {
        nodes: n,
        seed: 1,
        ..Scenario::default()
    };
    let mut sim = CoreSim::new(sc).expect("valid scenario");
    let subject = 5;
    let t = trace_from_ten_seconds_after_convergence(&mut sim, subject);
    let trace = sim.trace.as_ref().expect("traced");
    let before: Vec<usize> = trace.arrivals.iter().map(Vec::len).collect();
    let rounds0: Vec<u64> = (0..n)
        .map(|i| sim.core(i).expect("up").stats().rounds)
        .collect();
    sim.run_until(t + 40 * SEC);
    let trace = sim.trace.as_ref().expect("traced");
    let (mut arrivals, mut rounds, mut p, mut p_syn) = (0usize, 0u64, 0u64, 0u64);
    let mut gaps = Vec::new();
    for i in 0..n {
        let c = sim.core(i).expect("up");
        rounds += c.stats().rounds - rounds0[i];
        p += u64::from(c.heartbeat_period_rounds());
        p_syn += u64::from(c.digest_rotation_rounds());
        if i == subject {
            continue;
        }
        let a = &trace.arrivals[i];
        arrivals += a.len() - before[i];
        for k in before[i].max(1)..a.len() {
            gaps.push((a[k] - a[k - 1]) as f64 / SEC as f64);
        }
    }
    gaps.sort_by(f64::total_cmp);
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let sd = (gaps.iter().map(|g| (g - mean) * (g - mean)).sum::<f64>() / gaps.len() as f64).sqrt();
    let q = |f: f64| gaps[((gaps.len() as f64 * f) as usize).min(gaps.len() - 1)];
    let rounds_per_node = rounds as f64 / n as f64;
    println!(
        "N={n}: subject n{subject}: {:.2} rounds between arrivals per observer; gaps (s) mean \
         {mean:.2} sd {sd:.2} p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}; mean P = {:.2}, mean P_syn \
         = {:.2}",
        (n - 1) as f64 * rounds_per_node / arrivals as f64,
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0),
        p as f64 / n as f64,
        p_syn as f64 / n as f64,
    );
}

/// The core table's crash (node 1, 10 s after convergence, seed 1): for each observer, when the
/// crashed node's last heartbeat arrived after the crash, and how long after that it was
/// suspected, with the detector's window mean and σ at the suspicion.
fn crash(n: usize) {
    let sc = gossip_sim::experiments::core_scenario(n, 1);
    let mut sim = CoreSim::new(sc).expect("valid scenario");
    let subject = 1;
    trace_from_ten_seconds_after_convergence(&mut sim, subject);
    let crash_at = sim.now();
    sim.apply(gossip_sim::core_sim::Action::Crash {
        nodes: vec![subject],
    });
    sim.run_until(crash_at + 51 * SEC);
    let trace = sim.trace.as_ref().expect("traced");
    let (mut tail, mut after, mut count, mut undetected) = (0.0, 0.0, 0, 0);
    let mut p = 0u64;
    for o in (0..n).filter(|&o| o != subject) {
        p += u64::from(sim.core(o).expect("up").heartbeat_period_rounds());
        let Some(&(t_sus, _, _)) = sim
            .suspicions()
            .iter()
            .find(|&&(ts, obs, s)| obs == o && s == subject && ts >= crash_at)
        else {
            undetected += 1;
            continue;
        };
        let last = trace.arrivals[o]
            .iter()
            .copied()
            .rfind(|&a| a < t_sus)
            .unwrap_or(crash_at)
            .max(crash_at);
        tail += (last - crash_at) as f64 / SEC as f64;
        after += (t_sus - last) as f64 / SEC as f64;
        count += 1;
    }
    let c = f64::from(count.max(1));
    println!(
        "N={n} crash: {count} detected, {undetected} undetected in 51 s; last arrival {:.1} s \
         after the crash, suspicion {:.1} s after that (mean); mean P at the end {:.2}",
        tail / c,
        after / c,
        p as f64 / (n - 1) as f64
    );
}

/// Traces `subject`'s heartbeat arrivals, runs until membership converged (checked each
/// virtual second) and 10 s more; returns that time.
fn trace_from_ten_seconds_after_convergence(sim: &mut CoreSim, subject: usize) -> u64 {
    sim.trace_heartbeats(subject);
    let mut t = 0;
    while !sim.membership_converged() {
        t += SEC;
        sim.run_until(t);
    }
    t += 10 * SEC;
    sim.run_until(t);
    t
}
