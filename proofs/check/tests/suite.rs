//! The suites' coverage claims (issue #20 item 1), checked without running a whole suite:
//! every pair of features meets in a 3-node configuration of the default suite (statically,
//! from the table's configurations); every `sometimes` property is found, and every seeded bug
//! caught, by the configuration pinned for it here, each verified by running only that
//! configuration until the first discovery. A new property or variant of the model fails
//! these tests until it is pinned to a configuration that finds or catches it.
//!
//! The heavier checks run whole suites and are ignored by default:
//!
//! ```sh
//! cargo test --release -p gossip-proofs --test suite -- --ignored --nocapture
//! ```

use gossip_model::properties::names::*;
use gossip_model::{GossipConfig, Variant};
use gossip_proofs::report::Status;
use gossip_proofs::suite::{self, Feature, Limits, NamedConfig, Suite};
use stateright::{Expectation, Model as _};
use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

/// The configuration of the default suite that finds each `sometimes` property (its shortest
/// example is found there, and the run stops at it).
const FINDERS: &[(&str, &str)] = &[
    (R_WRITE_SPREADS, "data-cuts"),
    (R_CONVERGED_AFTER_WRITE, "data-cuts"),
    (R_DELETE_SPREADS, "data-cuts"),
    (R_TOMBSTONE_COLLECTED, "data-cuts"),
    (R_RESET_SENT, "data-reorder"),
    (R_RESET_APPLIED, "data-reorder"),
    (R_CUT, "data-cuts"),
    (R_CONVICTED, "data-convict"),
    (R_FALSELY_CONVICTED, "data-convict"),
    (R_CRASH_DETECTED, "membership-faults"),
    (R_FORGOTTEN, "data-convict"),
    (R_RESTART_SEEN, "faults-reorder"),
    (R_LEAVE_SEEN, "data-leave"),
    (R_DUPLICATE, "faults-reorder"),
    (R_JOINED, "data-cuts"),
];

/// The configuration of the default suite that catches each seeded bug, and the property it
/// violates there.
const CATCHERS: &[(&str, &str, &str)] = &[
    ("apply-past-gap", "data-restart", WATERMARK_RULE),
    ("cut-not-prefix", "data-cuts", WATERMARK_RULE),
    (
        "accept-older-generation",
        "faults-reorder",
        NO_OLDER_GENERATION,
    ),
    ("equal-generation-wins", "data-reorder", MONOTONIC),
    ("gc-without-reset", "data-reorder", WATERMARK_RULE),
    ("resurrect-after-gc", "data-reorder", NO_RESURRECTION),
    ("no-heartbeat-bump", "data-convict", ALIVE_SEEN),
    ("bump-on-receive", "data-convict", OWN_STATE),
    ("revive-on-stale-gossip", "data-convict", REVIVAL),
    ("forget-without-record", "membership-faults", NO_ZOMBIE),
    ("reuse-generation-on-restart", "data-restart", SAME_VALUE),
    ("delete-reuses-version", "data-cuts", NO_INVENTED_VALUE),
    ("leave-without-version", "data-leave", LEAVE_SEEN),
    ("delta-from-digest-only", "data-cuts", JOIN),
    ("push-once", "data-faults", CONVERGENCE),
    ("rotation-never-advances", "partial-digests", CONVERGENCE),
    ("partial-digest-listed-only", "one-entry-digests", JOIN),
    ("expire-early", "expire-faults", NO_ZOMBIE),
    (
        "digest-heartbeat-any-generation",
        "membership-faults",
        HEARTBEAT_PROVENANCE,
    ),
];

fn default_suite() -> Vec<NamedConfig> {
    Suite::Default.configurations()
}

fn named(name: &str) -> NamedConfig {
    let c = suite::find(name).unwrap_or_else(|| panic!("no configuration named {name:?}"));
    assert!(
        c.suites.contains(&Suite::Default),
        "{name} is not in the default suite"
    );
    c
}

/// Runs `config` (with `variant`) checking only `property`, which stops at its first
/// discovery; returns the status.
fn first_discovery(config: &NamedConfig, variant: Variant, property: &str) -> Status {
    let cfg = GossipConfig {
        variant,
        ..config.config.clone()
    };
    let limits = Limits {
        quiet: true,
        property: Some(property.to_string()),
        ..Limits::default()
    };
    let started = Instant::now();
    let report = suite::check_config(&cfg, &config.plan, &limits).expect("the run works");
    eprintln!(
        "{} / {}: {:?}: {:?} after {} states, {:.2} s",
        config.name,
        variant.name(),
        property,
        report.properties[0].status,
        report.states.unique,
        started.elapsed().as_secs_f64()
    );
    report.properties[0].status
}

fn sometimes_properties() -> Vec<&'static str> {
    GossipConfig::default()
        .into_model()
        .properties()
        .into_iter()
        .filter(|p| p.expectation == Expectation::Sometimes)
        .map(|p| p.name)
        .collect()
}

#[test]
fn the_table_names_are_unique_and_every_configuration_is_valid_and_soundly_reduced() {
    let table = suite::table();
    let names: BTreeSet<_> = table.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), table.len(), "duplicate names");
    for c in &table {
        c.config
            .validate()
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        if c.plan.symmetry {
            assert!(
                c.config.clone().into_model().symmetric_nodes() >= 2,
                "{}: node symmetry is unsound here",
                c.name
            );
        }
        assert!(!c.purpose.is_empty(), "{}", c.name);
        if c.suites.contains(&Suite::Default) {
            assert!(
                c.suites.contains(&Suite::Thorough),
                "{}: the thorough suite includes the default suite",
                c.name
            );
        }
    }
}

#[test]
fn every_pair_of_features_meets_in_a_three_node_configuration_of_the_default_suite() {
    let features: Vec<(String, Vec<Feature>)> = default_suite()
        .iter()
        .filter(|c| c.config.nodes == 3)
        .map(|c| (c.name.to_string(), suite::features(&c.config)))
        .collect();
    let mut missing = Vec::new();
    for (i, a) in Feature::PAIRWISE.iter().enumerate() {
        for b in &Feature::PAIRWISE[i + 1..] {
            if !features.iter().any(|(_, f)| f.contains(a) && f.contains(b)) {
                missing.push(format!("{} + {}", a.name(), b.name()));
            }
        }
    }
    assert!(missing.is_empty(), "pairs that never meet: {missing:?}");
}

#[test]
fn every_sometimes_property_is_pinned_to_a_configuration_that_expects_to_find_it() {
    for p in sometimes_properties() {
        let (_, config) = FINDERS
            .iter()
            .find(|(name, _)| *name == p)
            .unwrap_or_else(|| panic!("{p:?} has no pinned configuration in FINDERS"));
        let c = named(config);
        assert_eq!(
            c.config.into_model().expected(p),
            gossip_model::Expected::Found,
            "{p:?} is not expected to be found in {config}"
        );
    }
}

#[test]
fn every_sometimes_property_is_found_by_its_pinned_configuration() {
    for p in sometimes_properties() {
        let (_, config) = FINDERS
            .iter()
            .find(|(name, _)| *name == p)
            .unwrap_or_else(|| panic!("{p:?} has no pinned configuration in FINDERS"));
        assert_eq!(
            first_discovery(&named(config), Variant::Correct, p),
            Status::Found,
            "{p:?} in {config}"
        );
    }
}

#[test]
fn every_seeded_bug_is_caught_by_its_pinned_configuration() {
    for v in Variant::all().iter().filter(|v| v.is_seeded_bug()) {
        let (_, config, property) = CATCHERS
            .iter()
            .find(|(name, _, _)| *name == v.name())
            .unwrap_or_else(|| panic!("{} has no pinned configuration in CATCHERS", v.name()));
        assert_eq!(
            first_discovery(&named(config), *v, property),
            Status::Violated,
            "{} in {config}: {property:?}",
            v.name()
        );
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_gossip-check");

/// The whole default suite through the binary, as `gossip-check` runs it without options:
/// every expectation met, every configuration complete, every `sometimes` property found in
/// some configuration, and within the 90 s budget (on an idle 2-core machine; set
/// `GOSSIP_SUITE_BUDGET` to a number of seconds to allow more on a loaded one).
#[test]
#[ignore = "runs the whole default suite (about a minute on 2 idle cores)"]
fn the_default_suite_meets_every_expectation_within_its_budget() {
    let json = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("suite-default-{}.json", std::process::id()));
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["--quiet", "--no-demo", "--json", json.to_str().unwrap()])
        .output()
        .expect("gossip-check runs");
    let wall = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("matrix ("), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let configs = report["configurations"].as_array().expect("configurations");
    assert_eq!(configs.len(), default_suite().len());
    for c in configs {
        assert_eq!(c["complete"], true, "{}", c["name"]);
    }
    for p in sometimes_properties() {
        assert!(
            configs.iter().any(|c| c["properties"]
                .as_array()
                .unwrap()
                .iter()
                .any(|q| q["name"] == p && q["status"] == "found")),
            "{p:?} is found nowhere"
        );
    }
    let budget = std::env::var("GOSSIP_SUITE_BUDGET")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(90);
    eprintln!(
        "default suite: {wall:?} wall, {} s reported",
        report["seconds"]
    );
    assert!(
        wall <= Duration::from_secs(budget),
        "the default suite took {wall:?}, over {budget} s"
    );
}

/// `gossip-check --suite default --variant V --expect-correct` exits 1 for every seeded bug.
#[test]
#[ignore = "runs the default suite once per seeded bug (several minutes)"]
fn the_default_suite_catches_every_seeded_bug() {
    for v in Variant::all().iter().filter(|v| v.is_seeded_bug()) {
        let out = Command::new(BIN)
            .args([
                "--suite",
                "default",
                "--variant",
                v.name(),
                "--expect-correct",
                "--quiet",
                "--no-demo",
            ])
            .output()
            .expect("gossip-check runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{}: {stdout}", v.name());
        assert!(stdout.contains("caught in"), "{}: {stdout}", v.name());
    }
}

/// `GossipConfig::writers`: the expectations (cuts) and node symmetry know which nodes write,
/// and an exhaustive run agrees with the expectations.
#[test]
fn the_expectations_and_symmetry_know_which_nodes_write() {
    let one_writer = GossipConfig {
        writers: Some(1),
        writes_per_node: 1,
        max_delta: 1,
        ..suite::base()
    };
    let model = one_writer.clone().into_model();
    // One change per owner and only n0 has one: a delta never needs more than one update.
    assert_eq!(model.expected(R_CUT), gossip_model::Expected::NotFound);
    // n1 and n2 neither write: still interchangeable.
    assert_eq!(model.symmetric_nodes(), 2);
    let two_writers = GossipConfig {
        writers: Some(2),
        max_delta: 6,
        ..one_writer.clone()
    };
    // n1 writes, n2 does not: not interchangeable.
    assert_eq!(two_writers.into_model().symmetric_nodes(), 1);
    let limits = Limits {
        quiet: true,
        ..Limits::default()
    };
    for cfg in [
        one_writer.clone(),
        GossipConfig {
            keys: 2,
            writes_per_node: 2,
            ..one_writer
        },
    ] {
        let report = suite::check_config(&cfg, &suite::Plan::BFS, &limits).expect("runs");
        assert!(report.complete && report.expectations_met(), "{report:?}");
    }
}
