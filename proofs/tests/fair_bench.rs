//! Throughput of the fair engine versus stateright's `spawn_bfs` on the same model, measured in
//! the same process. Prints the comparison; run with
//! `cargo test -p gossip-proofs --release --test fair_bench -- --nocapture`.
//! `FAIR_BENCH=n,cap[,lossy]` picks the instance (default `3,3`, quick enough for CI; the documented measurements use `4,2` and `4,3`);
//! `FAIR_BENCH_THREADS=k` sets the thread count of both checkers (default: all cores).
//! `FAIR_BENCH_ONLY=ours|stateright` runs just one checker, so that the process's peak RSS
//! (printed) belongs to it alone.

use gossip_proofs::fair::examples::Rumor;
use gossip_proofs::fair::{FairChecker, Status, compare_with_stateright};

fn instance() -> Rumor {
    let spec = std::env::var("FAIR_BENCH").unwrap_or_else(|_| "3,3".into());
    let f: Vec<&str> = spec.split(',').collect();
    Rumor {
        n: f[0].parse().expect("n"),
        cap: f.get(1).map_or(2, |c| c.parse().expect("cap")),
        lossy: f.get(2).is_some_and(|l| *l == "lossy"),
        strong: false,
    }
}

#[test]
fn the_engine_explores_the_same_states_as_stateright_and_reports_its_speed() {
    let m = instance();
    let threads = std::env::var("FAIR_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if let Ok(only) = std::env::var("FAIR_BENCH_ONLY") {
        let t = std::time::Instant::now();
        let states = if only == "stateright" {
            use stateright::{Checker, Model};
            m.clone()
                .checker()
                .threads(threads)
                .spawn_bfs()
                .join()
                .unique_state_count() as u64
        } else {
            FairChecker::new(&m)
                .threads(threads)
                .run()
                .expect("run")
                .unique_states
        };
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let hwm = status
            .lines()
            .find(|l| l.starts_with("VmHWM"))
            .unwrap_or("");
        println!(
            "{only} alone: {states} states in {:.3} s, {hwm}",
            t.elapsed().as_secs_f64()
        );
        return;
    }
    let c = compare_with_stateright(&m, threads).expect("comparison");
    println!("model: {m:?}\n{c}");
    assert_eq!(
        c.ours_states, c.stateright_states,
        "both explore the whole space"
    );
    assert!(c.ours_bytes_per_state <= 64.0, "{}", c.ours_bytes_per_state);
    let r = FairChecker::new(&m).threads(threads).run().expect("run");
    println!(
        "fair engine detail: {} states, {} edges, depth {}, {:.3} s ({:.3} s exploring), {:.0} states/s, \
         {:.1} B/state + {:.1} B/edge, analysis {:.1} B/state transient, peak RSS {} MiB, {} fair classes",
        r.unique_states,
        r.edges,
        r.max_depth,
        r.seconds,
        r.explore_seconds,
        r.states_per_sec,
        r.bytes_per_state,
        r.edge_bytes as f64 / r.edges.max(1) as f64,
        r.analysis_bytes_per_state,
        r.peak_rss_bytes.unwrap_or(0) >> 20,
        r.fair_classes
    );
    for p in &r.properties {
        println!("  {:<16} {:?} {:?}", p.name, p.kind, p.status);
    }
    assert_eq!(r.status("own rumour kept"), Some(Status::Holds));
}

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
    let cfg: GossipConfig = std::env::var("GOSSIP_BENCH_CONFIG")
        .ok()
        .map(|j| serde_json::from_str(&j).expect("GOSSIP_BENCH_CONFIG is a GossipConfig"))
        .unwrap_or_default();
    let rounds: usize = std::env::var("GOSSIP_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let model = cfg.clone().into_model();
    let fair = FairGossip::new(model.clone());
    println!("config: {}", serde_json::to_string(&cfg).unwrap());
    // Process CPU seconds (user + system, all threads, finished ones included).
    let cpu = || -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        let f: Vec<f64> = after
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0.0))
            .collect();
        // Fields 14 and 15 of stat(5) (utime, stime) are 11 and 12 after the ")".
        (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
    };
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
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
                if matches!(
                    p.kind,
                    gossip_proofs::fair::PropertyKind::LeadsTo
                        | gossip_proofs::fair::PropertyKind::Eventually
                ) {
                    println!("  {:<40} {:?}", p.name, p.status);
                }
            }
        }
    }
}
