//! The fair engine's safety-only mode (`FairChecker::run_safety`, `gossip-check --checker fair
//! --safety-only`): it explores exactly the states stateright's BFS and the full fair engine
//! explore, catches every seeded safety bug with a counterexample as short as the pinned
//! shortest one, and stops gracefully at its memory and time limits.

mod common;

use gossip_model::{GossipConfig, GossipModel, Variant};
use gossip_proofs::gossip::FairGossip;
use stateright::{Checker, Model};
use stateright_fair::{FairChecker, PropertyKind, Status, StopReason};
use std::time::Duration;

/// (seeded bug, shortest counterexample length of the property it breaks,
/// `Variant::expected_violation`), as pinned by `model/tests/seeded_bugs.rs` with stateright's
/// single-threaded BFS.
const SHORTEST: &[(&str, usize)] = &[
    ("apply-past-gap", 11),
    ("cut-not-prefix", 5),
    ("accept-older-generation", 8),
    ("equal-generation-wins", 7),
    ("gc-without-reset", 9),
    ("resurrect-after-gc", 9),
    ("no-heartbeat-bump", 5),
    ("bump-on-receive", 2),
    ("revive-on-stale-gossip", 8),
    ("forget-without-record", 9),
    ("reuse-generation-on-restart", 7),
    ("delete-reuses-version", 2),
    ("leave-without-version", 5),
    ("delta-from-digest-only", 6),
    ("push-once", 8),
    ("rotation-never-advances", 15),
    ("partial-digest-listed-only", 10),
    ("expire-early", 10),
    ("digest-heartbeat-any-generation", 8),
];

fn bfs_unique(model: &GossipModel) -> usize {
    let c = model.clone().checker().threads(1).spawn_bfs().join();
    assert!(c.is_done());
    c.unique_state_count()
}

/// Small configurations covering loss, duplication, reordering, a FIFO network, a crash and
/// the optional steps (a restart is covered by the seeded-bug test: `apply-past-gap`).
fn small_configs() -> Vec<GossipConfig> {
    let two = GossipConfig {
        nodes: 2,
        ..GossipConfig::default()
    };
    let mut dup = two.clone();
    dup.network.duplicating = true;
    dup.network.max_in_flight = 2;
    let mut ordered = two.clone();
    ordered.network.ordered = true;
    ordered.network.max_in_flight = 2;
    let mut features = two.clone();
    features.forget = true;
    features.leave = true;
    let mut three = GossipConfig {
        crashes: 0,
        convict: false,
        ..GossipConfig::default()
    };
    three.network.lossy = false;
    vec![two, dup, ordered, features, three]
}

#[test]
fn safety_only_mode_explores_exactly_the_states_of_bfs_and_of_the_full_fair_engine() {
    for cfg in small_configs() {
        let model = cfg.clone().into_model();
        let bfs = bfs_unique(&model);
        let fair = FairGossip::new(model);
        for threads in [1, 2] {
            let safety = FairChecker::new(&fair)
                .threads(threads)
                .run_safety()
                .expect("safety run");
            assert!(safety.complete, "{cfg:?}");
            assert_eq!(
                safety.unique_states as usize, bfs,
                "{cfg:?}, {threads} threads"
            );
            let stats = safety.safety.as_ref().expect("safety stats");
            assert_eq!(stats.stop, None);
            assert!(stats.compressed_bytes > 0 && stats.compressed_bytes < stats.encoded_bytes);
            // Every always property holds and no liveness verdict is claimed.
            for p in &safety.properties {
                assert_ne!(p.status, Status::Violated, "{}: {cfg:?}", p.name);
            }
            assert!(!safety.liveness_checked);
        }
        let full = FairChecker::new(&fair).threads(2).run().expect("full run");
        assert_eq!(full.unique_states as usize, bfs, "{cfg:?}");
    }
}

#[test]
fn safety_only_mode_stores_at_most_64_bytes_per_state() {
    let fair = FairGossip::new(small_configs().remove(1).into_model());
    let r = FairChecker::new(&fair).threads(2).run_safety().unwrap();
    assert!(r.unique_states > 1_000);
    assert!(r.bytes_per_state <= 64.0, "{} B/state", r.bytes_per_state);
    assert_eq!(r.edge_bytes, 0);
}

#[test]
fn safety_only_mode_catches_every_seeded_bug_with_a_shortest_replayable_trace() {
    for &(name, len) in SHORTEST {
        let variant = Variant::from_name(name).unwrap();
        let property = variant.expected_violation().unwrap();
        let model = variant.witness_config().into_model();
        let fair = FairGossip::new(model.clone());
        for threads in [1, 2] {
            let r = FairChecker::new(&fair)
                .threads(threads)
                .only_property(property)
                .run_safety()
                .unwrap();
            let p = r.property(property).expect("property");
            assert_eq!(p.status, Status::Violated, "{name}, {threads} threads");
            let t = p.trace.as_ref().expect("trace");
            assert_eq!(
                t.steps.len(),
                len,
                "{name}: not the shortest counterexample"
            );
            // The trace replays and its last state violates the property.
            let mut s = model.init_states().remove(0);
            assert_eq!(&s, &t.steps[0].0, "{name}");
            for (from, a) in &t.steps {
                assert_eq!(&s, from, "{name}");
                s = model.next_state(&s, a.clone()).expect("a step");
            }
            assert_eq!(s, t.last);
            let prop = model.property(property);
            assert!(!(prop.condition)(&model, &t.last), "{name}");
        }
    }
}

#[test]
fn safety_only_mode_with_symmetry_matches_the_full_engine_with_symmetry() {
    let cfg = GossipConfig {
        crashes: 0,
        convict: false,
        max_delta: 3,
        ..GossipConfig::default()
    };
    let model = cfg.into_model();
    assert!(model.symmetric_nodes() >= 2);
    let fair = FairGossip::new(model);
    let rep = GossipModel::representative as fn(&_) -> _;
    let symmetric = || FairChecker::new(&fair).threads(2).symmetry(rep);
    let safety = symmetric().run_safety().unwrap();
    let full = symmetric().run().unwrap();
    let plain = FairChecker::new(&fair).threads(2).run_safety().unwrap();
    assert!(safety.complete && full.complete && plain.complete);
    assert_eq!(safety.unique_states, full.unique_states);
    assert!(safety.unique_states < plain.unique_states);
}

#[test]
fn the_memory_and_time_limits_stop_the_run_and_leave_properties_unknown() {
    let fair = FairGossip::new(GossipConfig::default().into_model());
    let r = FairChecker::new(&fair)
        .threads(2)
        .memory_limit(1)
        .run_safety()
        .unwrap();
    assert!(!r.complete);
    assert_eq!(
        r.safety.as_ref().unwrap().stop,
        Some(StopReason::MemoryLimit)
    );
    assert!(r.unique_states < 767_354);
    assert!(r.properties.iter().any(|p| p.status == Status::Unknown));
    let r = FairChecker::new(&fair)
        .threads(2)
        .time_limit(Duration::from_millis(300))
        .run_safety()
        .unwrap();
    assert!(!r.complete);
    assert_eq!(r.safety.as_ref().unwrap().stop, Some(StopReason::TimeLimit));
    assert!(r.seconds < 20.0, "stopped late: {} s", r.seconds);
}

#[test]
fn the_full_engine_stops_at_its_memory_and_time_limits_and_leaves_liveness_unknown() {
    let fair = FairGossip::new(GossipConfig::default().into_model());
    for (limit, note) in [(true, "memory limit"), (false, "time limit")] {
        let checker = FairChecker::new(&fair).threads(2);
        let checker = if limit {
            checker.memory_limit(1)
        } else {
            checker.time_limit(Duration::from_millis(300))
        };
        let r = checker.run().unwrap();
        assert!(!r.complete, "{note}");
        assert!(r.unique_states < 767_354, "{note}");
        assert!(r.seconds < 20.0, "{note}: stopped late: {} s", r.seconds);
        // No liveness verdict is claimed, and the reason is given.
        for p in &r.properties {
            if matches!(p.kind, PropertyKind::LeadsTo | PropertyKind::Eventually) {
                assert_eq!(p.status, Status::Unknown, "{note}: {}", p.name);
                assert!(
                    p.note.as_deref().is_some_and(|n| n.contains(note)),
                    "{note}: {:?}",
                    p.note
                );
            }
        }
    }
}

#[test]
fn key_symmetry_explores_exactly_one_representative_per_orbit() {
    let mut cfg = GossipConfig {
        nodes: 2,
        keys: 2,
        writes_per_node: 2,
        max_delta: 2,
        crashes: 0,
        ..GossipConfig::default()
    };
    cfg.network.lossy = false;
    let model = cfg.into_model();
    let all = model.reachable_states();
    let reps: std::collections::HashSet<_> =
        all.iter().map(GossipModel::key_representative).collect();
    let properties = model.properties();
    for s in &all {
        let r = GossipModel::key_representative(s);
        assert_eq!(GossipModel::key_representative(&r), r, "not idempotent");
        // A renaming: nothing merged, and every property has the same value.
        assert_eq!(r.history.len(), s.history.len());
        for (a, b) in r.nodes.iter().zip(&s.nodes) {
            for ((o, va), (ob, vb)) in a.view.iter().zip(&b.view) {
                assert_eq!((o, va.entries.len()), (ob, vb.entries.len()));
            }
        }
        for p in &properties {
            assert_eq!(
                (p.condition)(&model, &r),
                (p.condition)(&model, s),
                "{}",
                p.name
            );
        }
    }
    let fair = FairGossip::new(model);
    let r = FairChecker::new(&fair)
        .threads(2)
        .symmetry(GossipModel::key_representative)
        .run_safety()
        .unwrap();
    assert!(r.complete);
    assert_eq!(r.unique_states as usize, reps.len());
    // Two owners with two keys each: close to the 2! × 2! bound.
    assert!(
        all.len() as f64 / reps.len() as f64 > 3.0,
        "{} states, {} representatives",
        all.len(),
        reps.len()
    );
}

#[test]
fn key_symmetry_keeps_every_seeded_bug_caught_with_two_keys_and_a_shortest_trace() {
    for &(name, _) in SHORTEST {
        let variant = Variant::from_name(name).unwrap();
        let property = variant.expected_violation().unwrap();
        let mut cfg = variant.witness_config();
        cfg.keys = 2;
        if cfg.writes_per_node < 2 {
            cfg.writes_per_node = 2;
            cfg.max_delta = cfg.max_delta.max(2);
        }
        let fair = FairGossip::new(cfg.into_model());
        let checker = || FairChecker::new(&fair).threads(2).only_property(property);
        let plain = checker().run_safety().unwrap();
        let reduced = checker()
            .symmetry(GossipModel::key_representative)
            .run_safety()
            .unwrap();
        let len = |r: &stateright_fair::FairReport<FairGossip>| {
            let p = r.property(property).unwrap();
            assert_eq!(p.status, Status::Violated, "{name}");
            p.trace.as_ref().unwrap().steps.len()
        };
        assert_eq!(len(&plain), len(&reduced), "{name}");
        assert!(reduced.unique_states <= plain.unique_states, "{name}");
    }
}

/// Measurement for docs/fair-checking.md ("Threads"): the safety-only mode with 1 and with 2
/// worker threads, and stateright's BFS (1 and 2 threads), on the same configuration in one
/// process; the state counts must agree (the level-synchronous expansion is deterministic in
/// what it stores), the speeds are printed. `GOSSIP_BENCH_CONFIG` may hold a `GossipConfig` as
/// JSON (default: the default configuration, 708,632 states, about 2 minutes on a loaded
/// machine). Run with
/// `cargo test --release -p gossip-proofs --test fair_safety -- --ignored --nocapture threads`.
#[test]
#[ignore = "measurement, minutes"]
fn threads_one_versus_two_and_versus_stateright_on_the_same_configuration() {
    let cfg: GossipConfig = common::bench_config();
    let model = cfg.clone().into_model();
    let fair = FairGossip::new(model.clone());
    let mut rows = Vec::new();
    for threads in [1, 2] {
        let t = std::time::Instant::now();
        let r = FairChecker::new(&fair)
            .threads(threads)
            .run_safety()
            .expect("run");
        let s = t.elapsed().as_secs_f64();
        assert!(r.complete);
        rows.push((
            format!("fair --safety-only, {threads} thread(s)"),
            r.unique_states,
            s,
        ));
    }
    for threads in [1, 2] {
        let t = std::time::Instant::now();
        let c = model.clone().checker().threads(threads).spawn_bfs().join();
        let s = t.elapsed().as_secs_f64();
        assert!(c.is_done());
        rows.push((
            format!("stateright spawn_bfs, {threads} thread(s)"),
            c.unique_state_count() as u64,
            s,
        ));
    }
    println!("config: {}", serde_json::to_string(&cfg).unwrap());
    for (name, states, s) in &rows {
        println!(
            "{name:<36} {states:>10} states {s:>8.2} s {:>10.0} states/s",
            *states as f64 / s
        );
    }
    let rate = |i: usize| rows[i].1 as f64 / rows[i].2;
    println!(
        "fair 2 threads / fair 1 thread: {:.2}x; fair 2 threads / stateright 2 threads: {:.2}x; \
         fair 1 thread / stateright 1 thread: {:.2}x",
        rate(1) / rate(0),
        rate(1) / rate(3),
        rate(0) / rate(2)
    );
    assert!(rows.iter().all(|r| r.1 == rows[0].1), "same state counts");
}
