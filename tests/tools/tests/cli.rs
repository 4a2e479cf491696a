//! The binaries as a user runs them: every one answers `--help` with its usage and exit 0, and
//! `gossip-kit --replay` (the one way to replay a trace file) runs a trace strictly and with
//! `--properties`.

use std::process::{Command, Output};

use gossip_conformance::harness::{conformance_config, fixed_walk};
use gossip_conformance::trace::from_actions;

const BINARIES: [(&str, &str); 3] = [
    ("gossip-kit", env!("CARGO_BIN_EXE_gossip-kit")),
    ("gossip-kit-node", env!("CARGO_BIN_EXE_gossip-kit-node")),
    ("gossip-vectors", env!("CARGO_BIN_EXE_gossip-vectors")),
];

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{bin} does not start: {e}"))
}

#[test]
fn every_binary_prints_its_usage_for_help_and_exits_0() {
    for (name, bin) in BINARIES {
        let out = run(bin, &["--help"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{name} --help: {out:?}");
        assert!(
            stdout.contains(&format!("Usage: {name}")),
            "{name} --help prints no usage:\n{stdout}"
        );
    }
}

#[test]
fn an_unknown_option_is_a_usage_error_with_exit_2() {
    for (name, bin) in BINARIES {
        let out = run(bin, &["--no-such-option"]);
        assert_eq!(out.status.code(), Some(2), "{name}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Usage:"),
            "{name}: {out:?}"
        );
    }
}

#[test]
fn gossip_kit_replays_a_conforming_trace_strictly_and_with_properties() {
    let model = conformance_config(3, 2, 3, false).into_model();
    let trace = from_actions(&model, &fixed_walk(&model, 40), true, None);
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("gossip-kit-replay.json");
    std::fs::write(&file, serde_json::to_string(&trace).expect("serialisable")).expect("written");
    let file = file.to_str().expect("a UTF-8 path");
    let kit = env!("CARGO_BIN_EXE_gossip-kit");

    let strict = run(kit, &["--replay", file]);
    let stdout = String::from_utf8_lossy(&strict.stdout);
    assert_eq!(strict.status.code(), Some(0), "{strict:?}");
    assert!(stdout.contains("conforms (40 steps)"), "{stdout}");

    let props = run(kit, &["--replay", file, "--properties"]);
    let stdout = String::from_utf8_lossy(&props.stdout);
    assert_eq!(props.status.code(), Some(0), "{props:?}");
    assert!(stdout.contains("every safety property holds"), "{stdout}");

    let missing = run(kit, &["--replay", "no/such/trace.json"]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
}
