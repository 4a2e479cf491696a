//! Swarm verification end to end (`gossip-swarm plan`, `run` in two concurrent processes,
//! `merge`) on configurations small enough for seconds: the union of the shards covers exactly
//! the states an exhaustive search reaches, and a seeded bug is found by the randomised
//! searches alone.

use gossip_model::properties::names::NO_OLDER_GENERATION;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_gossip-swarm");

fn tmp(name: &str) -> PathBuf {
    let p =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn swarm(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("gossip-swarm runs")
}

fn expect(out: &Output, code: i32) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs the shards `0..n` of `plan` as two concurrent processes (as `xargs -P 2` would).
fn run_two_processes(plan: &Path, n: usize, out: &Path) {
    let half = n / 2;
    let children: Vec<_> = [format!("0..{half}"), format!("{half}..{n}")]
        .iter()
        .map(|range| {
            Command::new(BIN)
                .args(["run", "--quiet", "--shard-list"])
                .arg(plan)
                .args(["--shard", range, "--out"])
                .arg(out)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("gossip-swarm run starts")
        })
        .collect();
    for c in children {
        expect(&c.wait_with_output().expect("gossip-swarm run"), 0);
    }
}

#[test]
fn a_swarm_of_a_tiny_configuration_covers_exactly_the_exhaustively_reachable_states() {
    let dir = tmp("swarm-tiny");
    let plan = dir.join("plan.jsonl");
    let results = dir.join("results");
    let stdout = expect(
        &swarm(&[
            "plan",
            "--nodes",
            "2",
            "--shards",
            "6",
            "--depths",
            "0,8",
            "--max-states",
            "5000",
            "--out",
            plan.to_str().unwrap(),
        ]),
        0,
    );
    assert!(stdout.contains("6 shards"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&plan).unwrap().lines().count(), 6);
    run_two_processes(&plan, 6, &results);
    let merged_json = dir.join("merged.json");
    let stdout = expect(
        &swarm(&[
            "merge",
            results.to_str().unwrap(),
            "--json",
            merged_json.to_str().unwrap(),
        ]),
        0,
    );
    assert!(stdout.contains("result: no violation found"), "{stdout}");
    let merged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&merged_json).unwrap()).unwrap();
    assert_eq!(merged["shards"], 6);
    assert_eq!(merged["alarm"], false);
    // Shard 0 is the BFS; its budget (5,000 generated states) is above the 3,770 it generates,
    // so it is exhaustive, and its own count is every
    // reachable state: the union of all shards' fingerprints is exactly that set.
    let bfs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("shard-0.json")).unwrap())
            .unwrap();
    assert_eq!(bfs["shard"]["search"], "bfs");
    assert_eq!(bfs["exhaustive"], true);
    let reachable = bfs["states"]["unique"].as_u64().unwrap();
    assert!(reachable > 100, "{reachable}");
    assert_eq!(merged["distinct_estimate"].as_u64(), Some(reachable));
    assert!(merged["expanded_sum"].as_u64().unwrap() > reachable);
    // Every always property holds (the BFS shard was exhaustive), and the reachable examples
    // were found.
    for p in merged["properties"].as_array().unwrap() {
        assert_ne!(p["verdict"], "failed", "{p}");
        if p["kind"] == "always" {
            assert_eq!(p["status"], "holds", "{p}");
        }
    }
    // The walks and the depth-bounded DFS are never exhaustive; the shards differ.
    let seeds: std::collections::BTreeSet<u64> = (0..6)
        .map(|i| {
            let r: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(results.join(format!("shard-{i}.json"))).unwrap(),
            )
            .unwrap();
            r["shard"]["seed"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(seeds.len(), 6);
}

#[test]
fn a_swarm_without_bfs_finds_a_seeded_bug_and_merge_exits_one() {
    let dir = tmp("swarm-bug");
    let plan = dir.join("plan.jsonl");
    let results = dir.join("results");
    expect(
        &swarm(&[
            "plan",
            "--variant",
            "accept-older-generation",
            "--searches",
            "dfs,walk",
            "--shards",
            "4",
            "--max-states",
            "100000",
            "--out",
            plan.to_str().unwrap(),
        ]),
        0,
    );
    run_two_processes(&plan, 4, &results);
    let stdout = expect(&swarm(&["merge", results.to_str().unwrap()]), 1);
    assert!(
        stdout.contains(&format!("{NO_OLDER_GENERATION:?}: violated by")),
        "{stdout}"
    );
    assert!(stdout.contains("shortest trace"), "{stdout}");
    assert!(stdout.contains("result: FAILED"), "{stdout}");
}

#[test]
fn run_refuses_a_shard_outside_the_list() {
    let dir = tmp("swarm-usage");
    let plan = dir.join("plan.jsonl");
    expect(
        &swarm(&[
            "plan",
            "--nodes",
            "2",
            "--shards",
            "2",
            "--out",
            plan.to_str().unwrap(),
        ]),
        0,
    );
    let out = swarm(&[
        "run",
        "--shard-list",
        plan.to_str().unwrap(),
        "--shard",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("0..2"), "{stderr}");
}
