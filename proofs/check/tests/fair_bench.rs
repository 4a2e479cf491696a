//! Throughput of the fair engine versus stateright's `spawn_bfs` on the gossip model, measured
//! in the same process (the engine's own benchmark on a textbook model is
//! `proofs/fair/benches/rumor.rs`).

#![cfg(target_os = "linux")]

mod common;

use stateright_fair::{FairChecker, PropertyKind};

/// Measurement for docs/fair-checking.md ("Speed on the gossip model"): on the GOSSIP model
/// (default configuration, or `GOSSIP_BENCH_CONFIG` as a `GossipConfig` in JSON), in one
/// process, for 1 and then 2 threads: stateright's `spawn_bfs`, the full fair engine (liveness
/// included) and the safety-only mode. All runs must find the same number of states; the
/// ratios are printed. `GOSSIP_BENCH_ROUNDS=k` repeats the whole set (default 1).
/// Run with
/// `cargo test --release -p gossip-proofs --test fair_bench -- --ignored --nocapture gossip`.
#[test]
#[ignore = "measurement, minutes"]
fn gossip_full_engine_versus_stateright_bfs_with_one_and_two_threads() {
    use gossip_model::GossipConfig;
    use gossip_proofs::gossip::FairGossip;
    use stateright::{Checker, Model};
    let cfg: GossipConfig = common::bench_config();
    let rounds: usize = std::env::var("GOSSIP_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let model = cfg.clone().into_model();
    let fair = FairGossip::new(model.clone());
    println!("config: {}", serde_json::to_string(&cfg).unwrap());
    // Process CPU seconds (user + system, all threads, finished ones included), through
    // `procfs` (the system's clock-tick rate, not an assumed 100 Hz); 0 where unavailable.
    let cpu = || -> f64 {
        procfs::process::Process::myself()
            .and_then(|p| p.stat())
            .map(|s| (s.utime + s.stime) as f64 / procfs::ticks_per_second() as f64)
            .unwrap_or(0.0)
    };
    let load = || {
        use procfs::Current as _;
        procfs::LoadAverage::current()
            .map(|l| format!("{:.2} {:.2} {:.2}", l.one, l.five, l.fifteen))
            .unwrap_or_else(|_| "unavailable".into())
    };
    let mut states = None;
    for round in 0..rounds {
        for threads in [1, 2] {
            println!("load average before: {}", load().trim());
            let (t, c0) = (std::time::Instant::now(), cpu());
            let c = model.clone().checker().threads(threads).spawn_bfs().join();
            let sr = t.elapsed().as_secs_f64();
            let sr_cpu = cpu() - c0;
            assert!(c.is_done());
            let sr_states = c.unique_state_count() as u64;
            drop(c);
            let (t, c0) = (std::time::Instant::now(), cpu());
            let full = FairChecker::new(&fair).threads(threads).run().expect("run");
            let fs = t.elapsed().as_secs_f64();
            let fs_cpu = cpu() - c0;
            assert!(full.complete);
            let (t, c0) = (std::time::Instant::now(), cpu());
            let safe = FairChecker::new(&fair)
                .threads(threads)
                .run_safety()
                .expect("run");
            let ss = t.elapsed().as_secs_f64();
            let ss_cpu = cpu() - c0;
            assert!(safe.complete);
            assert_eq!(sr_states, full.unique_states);
            assert_eq!(sr_states, safe.unique_states);
            assert_eq!(*states.get_or_insert(sr_states), sr_states);
            let rate = |s: f64| sr_states as f64 / s;
            println!(
                "round {round}, {threads} thread(s), {sr_states} states, {} edges: \
                 stateright spawn_bfs {sr:.2} s ({:.0}/s); fair full {fs:.2} s ({:.0}/s, \
                 explore {:.2} s) = {:.2}x; fair --safety-only {ss:.2} s ({:.0}/s) = {:.2}x",
                full.edges,
                rate(sr),
                rate(fs),
                full.explore_seconds,
                sr / fs,
                rate(ss),
                sr / ss
            );
            println!(
                "  CPU seconds: stateright {sr_cpu:.2}, fair full {fs_cpu:.2}, safety-only \
                 {ss_cpu:.2}; states per CPU second: fair full / stateright = {:.2}x, \
                 safety-only / stateright = {:.2}x",
                sr_cpu / fs_cpu,
                sr_cpu / ss_cpu
            );
            for p in &full.properties {
                if matches!(p.kind, PropertyKind::LeadsTo | PropertyKind::Eventually) {
                    println!("  {:<40} {:?}", p.name, p.status);
                }
            }
        }
    }
}
