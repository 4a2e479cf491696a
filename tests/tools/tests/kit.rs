//! The conformance kit (docs/spec/conformance-kit.md) proven on real adapters: the Rust
//! implementation passes through its adapter process (`gossip-kit-node`), as do the test
//! vectors, each deliberately broken mode of that adapter is caught with a short shrunk trace,
//! and, when present, the independent Python implementation (`tests/python/kit_node.py`)
//! passes and its broken variants are caught.

use gossip_conformance::driver::{Backend, python_adapter};
use gossip_conformance::harness::{RunResult, run_cases};
use gossip_conformance::kit::Fault;
use gossip_conformance::vectors::{check_adapter, endpoint, load, repository_dir};

fn rust_adapter(fault: Option<&str>) -> Backend {
    let bin = env!("CARGO_BIN_EXE_gossip-kit-node");
    Backend::Command {
        cmd: match fault {
            Some(f) => format!("'{bin}' --break {f}"),
            None => format!("'{bin}'"),
        },
        env: Vec::new(),
    }
}

#[test]
fn the_rust_implementation_passes_the_kit_through_its_adapter_process() {
    match run_cases(rust_adapter(None), 48, 1, 50, 1_000, true) {
        RunResult::Pass { cases, steps } => {
            assert_eq!(cases, 48);
            assert!(steps > 500, "only {steps} steps checked");
        }
        RunResult::Fail(f) => panic!(
            "the Rust adapter diverges after {} steps: {}",
            f.actions.len(),
            f.reason
        ),
    }
}

#[test]
fn every_vector_holds_through_the_rust_adapter_process() {
    let (w, d) = load(&repository_dir()).expect("the vector files");
    let bad = check_adapter(&w, &d, &mut || endpoint(&rust_adapter(None)));
    assert!(bad.is_empty(), "failing vectors:\n{}", bad.join("\n"));
}

#[test]
fn the_kit_catches_every_broken_mode_of_the_rust_adapter_with_a_short_trace() {
    for (name, _) in Fault::ALL {
        match run_cases(rust_adapter(Some(name)), 256, 1, 50, 2_000, true) {
            RunResult::Pass { steps, .. } => {
                panic!("the kit misses the broken adapter {name} ({steps} steps checked)")
            }
            RunResult::Fail(f) => {
                assert!(
                    !f.actions.is_empty(),
                    "{name}: the adapter did not even start: {}",
                    f.reason
                );
                assert!(
                    f.actions.len() <= 20,
                    "{name}: the shrunk trace has {} steps",
                    f.actions.len()
                );
                println!(
                    "{name}: caught, shrunk to {} steps: {}",
                    f.actions.len(),
                    f.reason.lines().next().unwrap_or("")
                );
            }
        }
    }
}

/// Runs the Python implementation's broken variants through the kit; each must be caught.
fn python_variants_are_caught(path: &std::path::Path, bugs: &[&str]) {
    for bug in bugs {
        match run_cases(Backend::python(path, Some(bug)), 300, 7, 50, 300, true) {
            RunResult::Pass { steps, .. } => {
                panic!("the kit misses the Python variant {bug} ({steps} steps)")
            }
            RunResult::Fail(f) => {
                assert!(!f.actions.is_empty(), "{bug}: {}", f.reason);
                println!("{bug}: caught, shrunk to {} steps", f.actions.len());
            }
        }
    }
}

#[test]
fn the_python_implementation_passes_the_kit_and_its_broken_variants_are_caught() {
    let Some(path) = python_adapter() else {
        eprintln!("skipped: python3 or the Python adapter (tests/python/kit_node.py) is absent");
        return;
    };
    match run_cases(Backend::python(&path, None), 32, 1, 50, 1_000, true) {
        RunResult::Pass { .. } => {}
        RunResult::Fail(f) => panic!(
            "the Python implementation diverges after {} steps: {}",
            f.actions.len(),
            f.reason
        ),
    }
    // The two the kit finds fastest (about 4 s together); the others: the ignored test below.
    python_variants_are_caught(&path, &["no-heartbeat-bump", "gc-without-reset"]);
}

/// `cargo test --release -p gossip-tools --test kit -- --ignored` (about 15 s). The
/// Python variant `apply-past-gap` is not listed: random traces do not reach a gap within a
/// generation for a node the receiver still knows (docs/spec/conformance-kit.md §8).
#[test]
#[ignore = "slow (about 15 s): the Python variants the kit needs more cases to find"]
fn the_kit_catches_the_slower_python_variants() {
    let Some(path) = python_adapter() else {
        eprintln!("skipped: python3 or the Python adapter (tests/python/kit_node.py) is absent");
        return;
    };
    python_variants_are_caught(
        &path,
        &["accept-older-generation", "revive-on-stale-gossip"],
    );
}
