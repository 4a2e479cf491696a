//! The wire and delta test vectors (`tests/vectors/`, docs/spec/test-vectors.md) hold for
//! gossip-core (in process and through its conformance kit adapter), are what the generator
//! writes, catch a broken adapter, and, when present, hold for the Python implementation.

use std::path::PathBuf;

use gossip_conformance::kit::{Fault, KitNode};
use gossip_conformance::vectors::{
    DeltaVectors, Endpoint, WireVectors, adapter, check_deltas, check_encoding, check_receive,
    generate, in_process,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

fn load() -> (WireVectors, DeltaVectors) {
    let read = |f: &str| std::fs::read_to_string(dir().join(f)).expect("vector file");
    (
        serde_json::from_str(&read("wire.json")).expect("wire.json parses"),
        serde_json::from_str(&read("deltas.json")).expect("deltas.json parses"),
    )
}

fn check_all(
    w: &WireVectors,
    d: &DeltaVectors,
    fresh: &mut dyn FnMut() -> Result<Box<dyn Endpoint>, String>,
) -> Vec<String> {
    let mut bad = check_receive(w, fresh);
    bad.extend(check_deltas(d, fresh));
    bad
}

#[test]
fn every_wire_and_delta_vector_holds_for_gossip_core() {
    let (w, d) = load();
    assert!(w.encode.len() >= 16 && w.receive.len() >= 25 && d.vectors.len() >= 20);
    let mut bad = check_encoding(&w);
    bad.extend(check_all(&w, &d, &mut in_process));
    assert!(bad.is_empty(), "failing vectors:\n{}", bad.join("\n"));
}

#[test]
fn the_vector_files_are_what_the_generator_writes() {
    let (w, d) = load();
    let (gw, gd) = generate().expect("generates");
    assert!(
        w == gw && d == gd,
        "tests/vectors/*.json are stale: regenerate with \
         `cargo run -p gossip-conformance --bin gossip-vectors -- generate tests/vectors` \
         (and review the diff: it is a wire or behaviour change)"
    );
}

#[test]
fn every_vector_holds_through_the_rust_adapter_process() {
    let (w, d) = load();
    let bin = env!("CARGO_BIN_EXE_gossip-kit-node");
    let bad = check_all(&w, &d, &mut || adapter(&format!("'{bin}'"), &[]));
    assert!(bad.is_empty(), "failing vectors:\n{}", bad.join("\n"));
}

#[test]
fn the_delta_vectors_catch_each_broken_mode_of_the_adapter() {
    let (w, d) = load();
    for (name, fault) in Fault::ALL {
        let bad = check_all(&w, &d, &mut || Ok(Box::new(KitNode::new(Some(fault)))));
        assert!(
            !bad.is_empty(),
            "no vector catches the broken adapter {name}"
        );
        println!(
            "{name}: {} vectors fail, e.g. {}",
            bad.len(),
            bad[0].lines().next().unwrap_or("")
        );
    }
}

#[test]
fn the_python_implementation_passes_every_vector_when_present() {
    let path = std::env::var_os("GOSSIP_KIT_PYTHON_ADAPTER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/kit_node.py"));
    let python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !python || !path.is_file() {
        eprintln!("skipped: python3 or the Python adapter (tests/python/kit_node.py) is absent");
        return;
    }
    let (w, d) = load();
    let env = [("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned())];
    let cmd = format!("python3 '{}'", path.display());
    let bad = check_all(&w, &d, &mut || adapter(&cmd, &env));
    assert!(bad.is_empty(), "failing vectors:\n{}", bad.join("\n"));
}
