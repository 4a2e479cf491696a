//! Throughput of the engine versus stateright's `spawn_bfs` on the textbook rumour model
//! (`tests/models`), measured in the same process; prints the comparison. `cargo test` runs it
//! once on the default instance (quick); measure with
//! `cargo bench -p stateright-fair --bench rumor`.
//! `FAIR_BENCH=n,cap[,lossy]` picks the instance (default `3,3`; the documented measurements
//! use `4,2` and `4,3`); `FAIR_BENCH_THREADS=k` sets the thread count of both checkers
//! (default: all cores). `FAIR_BENCH_ONLY=ours|stateright` runs just one checker, so that the
//! process's peak RSS (printed) belongs to it alone.

#[path = "../tests/models/mod.rs"]
#[allow(dead_code)]
mod models;

use models::Rumor;
use stateright_fair::compare::peak_rss_bytes;
use stateright_fair::{FairChecker, Status, compare_with_stateright};

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

/// The engine explores the same states as stateright and reports its speed.
fn main() {
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
        let hwm = peak_rss_bytes().map_or("n/a".to_string(), |b| format!("{} kB", b >> 10));
        println!(
            "{only} alone: {states} states in {:.3} s, VmHWM: {hwm}",
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
