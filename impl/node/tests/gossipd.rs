//! `gossipd` processes started by the test: the admin API, the CLI subcommands, bad
//! datagrams, configuration errors and the persisted generation.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

use common::{BIN, Daemon, eventually, http};
use gossip_node::admin::api::Members;

/// A `gossipd` of this file's cluster (see [`common::spawn_in`]).
fn spawn(name: &str, seeds: &[SocketAddr], extra: &[&str]) -> Daemon {
    common::spawn_in("proc-test", name, seeds, extra)
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no metric {name}"))
        .trim()
        .parse::<f64>()
        .unwrap() as u64
}

#[tokio::test]
async fn a_key_set_through_one_gossipds_admin_api_is_read_through_anothers() {
    let a = spawn("alpha", &[], &[]);
    let b = spawn("beta", &[a.gossip], &[]);
    let c = spawn("gamma", &[a.gossip], &[]);
    let r = http(a.admin, "PUT", "/kv/greeting", Some(b"hello world")).await;
    assert_eq!((r.status, r.text()), (200, r#"{"version":1}"#.to_owned()));
    for d in [&b, &c] {
        eventually(
            Duration::from_secs(20),
            "the key reaches the other node",
            async || http(d.admin, "GET", "/kv/alpha/greeting", None).await.body == b"hello world",
        )
        .await;
    }
    let all: serde_json::Value =
        serde_json::from_slice(&http(c.admin, "GET", "/kv", None).await.body).unwrap();
    assert_eq!(all["alpha"]["greeting"], "hello world");
    eventually(
        Duration::from_secs(20),
        "gamma lists three alive members",
        async || {
            let m: Vec<serde_json::Value> =
                serde_json::from_slice(&http(c.admin, "GET", "/members", None).await.body).unwrap();
            m.len() == 3
                && m.iter()
                    .all(|n| n["status"] == "alive" && n["generation"].as_u64() > Some(0))
        },
    )
    .await;
    let r = http(a.admin, "DELETE", "/kv/greeting", None).await;
    assert_eq!(r.status, 200);
    eventually(
        Duration::from_secs(20),
        "the delete reaches beta",
        async || {
            http(b.admin, "GET", "/kv/alpha/greeting", None)
                .await
                .status
                == 404
        },
    )
    .await;
    assert_eq!(http(b.admin, "GET", "/health", None).await.status, 200);
    assert_eq!(a.name, "alpha");
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run gossipd")
}

#[tokio::test]
async fn the_cli_sets_gets_deletes_and_lists_members_as_a_table_or_as_json() {
    let a = spawn("one", &[], &[]);
    let b = spawn("two", &[a.gossip], &[]);
    let (aa, ba) = (a.admin.to_string(), b.admin.to_string());
    // The CLI blocks; run it off the runtime.
    let run = async |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .await
        .unwrap()
    };
    let out = run(&["set", "--admin", &aa, "k", "v 1"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "version 1\n");
    eventually(Duration::from_secs(20), "two reads one/k", async || {
        let out = run(&["get", "--admin", &ba, "one", "k"]).await;
        out.status.success() && out.stdout == b"v 1\n"
    })
    .await;
    let out = run(&["members", "--admin", &ba]).await;
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(table.contains("one") && table.contains("two") && table.contains("(self)"));
    let out = run(&["members", "--admin", &ba, "--json"]).await;
    assert!(out.status.success());
    let mut members: Members = serde_json::from_slice(&out.stdout).expect("members --json");
    members.sort_by(|x, y| x.name.cmp(&y.name));
    let names: Vec<_> = members
        .iter()
        .map(|m| (m.name.as_str(), m.is_self))
        .collect();
    assert_eq!(names, [("one", false), ("two", true)]);
    assert_eq!(members[0].addr, a.gossip);
    assert_eq!(members[0].keys, 1);
    let out = run(&["delete", "--admin", &aa, "k"]).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "version 2\n");
    let out = run(&["get", "--admin", &aa, "one", "k"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}

#[test]
fn configuration_errors_exit_with_code_2_and_a_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["--bind", "not-an-address"], "--bind"),
        (&["--no-such-flag"], "--no-such-flag"),
        (&["--seed"], "--seed"),
        (&["--seed", "127.0.0.1:notaport"], "--seed"),
        (&["--gossip-interval", "0s"], "--gossip-interval"),
        (&["--gossip-interval", "fast"], "--gossip-interval"),
        (&["--admin", "192.0.2.1:80"], "loopback"),
        (&["--node-name", ""], "name"),
        (&["get", "--admin", "127.0.0.1:1"], "required"),
        // docs/spec/security.md: no key needs an explicit --insecure-plaintext
        (&[], "--insecure-plaintext"),
        (&["--key", "not-a-key"], "--key"),
        (
            &["--key", &"ab".repeat(32), "--insecure-plaintext"],
            "cannot be used with",
        ),
        (
            &["--insecure-plaintext", "--roster", "r.json"],
            "--signing-key-file",
        ),
        (&["--key-file", "/nonexistent/k"], "/nonexistent/k"),
    ];
    for (args, needle) in cases {
        let out = cli(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: {err:?} does not mention {needle}"
        );
    }
}

#[tokio::test]
async fn bad_datagrams_over_real_udp_are_dropped_counted_in_metrics_and_the_node_keeps_working() {
    let a = spawn("target", &[], &[]);
    let b = spawn("peer", &[a.gossip], &[]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let oversize = vec![0u8; 2_000];
    let garbage: &[&[u8]] = &[
        b"",
        b"\x00",
        b"\xff garbage",
        b"\x01\x93\xc1\xc1\xc1",
        &oversize,
    ];
    for _ in 0..3 {
        for g in garbage {
            sock.send_to(g, a.gossip).unwrap();
        }
    }
    let mut rejected = 0;
    eventually(
        Duration::from_secs(10),
        "the 15 datagrams are counted",
        async || {
            let m = http(a.admin, "GET", "/metrics", None).await.text();
            rejected = m
                .lines()
                .filter(|l| l.starts_with("gossip_datagrams_rejected_total{"))
                .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
                .sum();
            rejected >= 15
        },
    )
    .await;
    let m = http(a.admin, "GET", "/metrics", None).await.text();
    assert!(
        m.contains("gossip_datagrams_rejected_total{reason=\"oversize\"} 3"),
        "{m}"
    );
    assert!(metric(&m, "gossip_datagrams_in_total") >= 15);
    // Still working: a write on the target reaches the peer.
    assert_eq!(
        http(a.admin, "PUT", "/kv/after", Some(b"ok")).await.status,
        200
    );
    eventually(
        Duration::from_secs(20),
        "the peer reads target/after",
        async || http(b.admin, "GET", "/kv/target/after", None).await.body == b"ok",
    )
    .await;
    assert_eq!(http(a.admin, "GET", "/health", None).await.status, 200);
}

#[test]
fn a_restarted_gossipd_with_a_data_dir_gets_a_strictly_higher_generation() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().to_str().unwrap();
    let g1 = spawn("phoenix", &[], &["--data-dir", dir]).generation;
    let g2 = spawn("phoenix", &[], &["--data-dir", dir]).generation;
    assert!(g2 > g1, "{g2} > {g1}");
}
