//! Integration tests of the simulator: determinism, scenarios as data, and the published
//! numbers at N = 1,000 with few seeds (the full table is `gossip-sim table`, see
//! docs/results/README.md).

use gossip_sim::core_sim::{Action, CoreReport, CoreSim, Scenario, TimedAction};
use gossip_sim::engine::NetModel;
use gossip_sim::experiments::{anti_entropy_row, rumor_row};
use gossip_sim::phi;
use gossip_sim::textbook::{self, Variant};

fn small(seed: u64) -> Scenario {
    Scenario {
        nodes: 30,
        seed,
        measure_s: 40.0,
        net: NetModel {
            loss: 0.05,
            duplicate: 0.05,
            ..NetModel::default()
        },
        actions: vec![
            TimedAction {
                at_s: 2.0,
                action: Action::Crash { nodes: vec![3] },
            },
            TimedAction {
                at_s: 25.0,
                action: Action::Restart { nodes: vec![3] },
            },
        ],
        ..Scenario::default()
    }
}

fn run(sc: Scenario) -> CoreReport {
    let mut r = CoreSim::new(sc).expect("valid").run().expect("converges");
    r.vmhwm_kib = None;
    r
}

#[test]
fn the_same_seed_gives_an_identical_report_and_another_seed_does_not() {
    let a = run(small(11));
    let b = run(small(11));
    assert_eq!(a, b);
    assert_ne!(a, run(small(12)));
    assert_eq!(a.spread.live_nodes, 30, "{a:?}");
    assert!(a.spread.rounds_100.is_some(), "{a:?}");
    assert!(a.fd.detections > 0, "{a:?}");
}

#[test]
fn the_example_scenario_file_loads_and_runs_its_faults() {
    let text = include_str!("../scenarios/faults.json");
    let sc: Scenario = serde_json::from_str(text).expect("parses");
    assert_eq!(sc.actions.len(), 5);
    let r = run(sc);
    // Node 40 stays crashed; node 41 restarted: 59 live nodes, all of them got the write.
    assert_eq!(r.spread.live_nodes, 59, "{r:?}");
    assert!(r.spread.rounds_100.is_some(), "{r:?}");
    assert!(r.fd.partition_suspicions > 0, "{r:?}");
}

#[test]
fn push_reaches_everyone_in_about_log2_n_plus_ln_n_rounds() {
    let n = 1000;
    // Pittel: log2 N + ln N + O(1); the measured O(1) is about +0.5 to +2 rounds.
    rounds_near(Variant::Push, n, textbook::pittel_push_rounds(n), 2.5);
}

/// The mean rounds to 100% of `variant` at `n` nodes (8 seeds) is within `tol` of `predicted`;
/// returns the row.
fn rounds_near(
    variant: Variant,
    n: usize,
    predicted: f64,
    tol: f64,
) -> gossip_sim::experiments::AeRow {
    let row = anti_entropy_row(variant, n, 8);
    assert!(
        (row.rounds_100 - predicted).abs() <= tol,
        "{} vs {predicted}",
        row.rounds_100
    );
    row
}

#[test]
fn push_pull_needs_about_log3_n_rounds_and_n_ln_ln_n_rumor_messages() {
    let n = 1000;
    let karp = textbook::karp_push_pull_rounds(n);
    let row = rounds_near(Variant::PushPull, n, karp, 1.5);
    let lnln = (n as f64).ln().ln();
    assert!(
        row.rumor_msgs_per_node / lnln < 2.5,
        "{} rumor messages per node",
        row.rumor_msgs_per_node
    );
    // And it is faster than push and than pull.
    assert!(row.rounds_100 < anti_entropy_row(Variant::Push, n, 4).rounds_100);
    assert!(row.rounds_100 < anti_entropy_row(Variant::Pull, n, 4).rounds_100);
}

#[test]
fn rumor_mongering_residue_matches_demers_equation_for_k_1_to_4() {
    for k in 1..=4 {
        let row = rumor_row(1000, k, 12);
        let tol = 0.25 * row.predicted + 0.002;
        assert!(
            (row.residue - row.predicted).abs() <= tol,
            "k={k}: {} vs {}",
            row.residue,
            row.predicted
        );
        let m = (k as f64 + 1.0) * (1.0 - row.predicted);
        assert!(
            (row.traffic - m).abs() <= 0.1 * m,
            "k={k}: traffic {} vs {m}",
            row.traffic
        );
    }
}

#[test]
fn the_core_suspects_a_crashed_node_at_the_tick_its_phi_formula_predicts() {
    for loss in [0.0, 0.1] {
        let row = phi::detection(10, 8.0, loss, 3, 60).expect("runs");
        assert_eq!(row.observers, 9, "{row:?}");
        assert_eq!(row.exact, row.observers, "{row:?}");
    }
}

#[test]
fn a_scenario_survives_a_json_round_trip() {
    let sc = small(5);
    let text = serde_json::to_string(&sc).expect("serializes");
    let back: Scenario = serde_json::from_str(&text).expect("parses");
    assert_eq!(sc, back);
    assert!(serde_json::from_str::<Scenario>(r#"{"nodes": 5, "no_such_field": 1}"#).is_err());
}
