//! The wire and delta test vectors (`tests/vectors/`, docs/spec/test-vectors.md) hold for
//! gossip-core in process, are what the generator writes, catch a broken adapter, and, when
//! present, hold for the Python implementation. (Through the Rust adapter process: the tests
//! of `gossip-tools`, which builds it.)

use gossip_conformance::driver::{Backend, python_adapter};
use gossip_conformance::kit::{Fault, KitNode};
use gossip_conformance::vectors::{
    DeltaVectors, WireVectors, check_adapter, check_encoding, endpoint, generate, in_process, load,
    repository_dir,
};

fn vectors() -> (WireVectors, DeltaVectors) {
    load(&repository_dir()).expect("the vector files")
}

#[test]
fn every_wire_and_delta_vector_holds_for_gossip_core() {
    let (w, d) = vectors();
    assert!(w.encode.len() >= 16 && w.receive.len() >= 25 && d.vectors.len() >= 20);
    let mut bad = check_encoding(&w);
    bad.extend(check_adapter(&w, &d, &mut in_process));
    assert!(bad.is_empty(), "failing vectors:\n{}", bad.join("\n"));
}

#[test]
fn the_vector_files_are_what_the_generator_writes() {
    let (w, d) = vectors();
    let (gw, gd) = generate().expect("generates");
    assert!(
        w == gw && d == gd,
        "tests/vectors/*.json are stale: regenerate with \
         `cargo run -p gossip-tools --bin gossip-vectors -- generate tests/vectors` \
         (and review the diff: it is a wire or behaviour change)"
    );
}

#[test]
fn the_delta_vectors_catch_each_broken_mode_of_the_adapter() {
    let (w, d) = vectors();
    for (name, fault) in Fault::ALL {
        let bad = check_adapter(&w, &d, &mut || Ok(Box::new(KitNode::new(Some(fault)))));
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
    let Some(path) = python_adapter() else {
        eprintln!("skipped: python3 or the Python adapter (tests/python/kit_node.py) is absent");
        return;
    };
    let python = Backend::python(&path, None);
    let (w, d) = vectors();
    let bad = check_adapter(&w, &d, &mut || endpoint(&python));
    assert!(bad.is_empty(), "failing vectors:\n{}", bad.join("\n"));
}
