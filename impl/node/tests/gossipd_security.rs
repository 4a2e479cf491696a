//! `gossipd` with the security layers (docs/spec/security.md) over UDP loopback: key rotation
//! across running daemons through the `gossipd keys` CLI, with signatures on.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{BIN, Daemon, eventually, http, json, until_all_see_alive};
use gossip_core::security::{self, ClusterKey, SigningKey};

/// A `gossipd` of this file's cluster (see [`common::spawn_in`]).
fn spawn(name: &str, seeds: &[SocketAddr], extra: &[&str]) -> Daemon {
    common::spawn_in("sec-test", name, seeds, extra)
}

async fn cli(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run gossipd")
    })
    .await
    .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

/// Every node lists every node as alive, and no node rejected any datagram.
async fn all_alive_and_nothing_rejected(ds: &[Daemon]) {
    for d in ds {
        let m = json(d.admin, "/members").await;
        let m = m.as_array().unwrap();
        assert!(
            m.iter().all(|n| n["status"] == "alive"),
            "a node is not alive: {m:?}"
        );
        let stats = json(d.admin, "/stats").await;
        let rejected = stats["rejected"].as_object().unwrap();
        assert!(
            rejected.values().all(|v| v.as_u64() == Some(0)),
            "{rejected:?}"
        );
    }
}

#[tokio::test]
async fn rotating_the_cluster_key_across_running_daemons_suspects_no_node_and_loses_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let (k1, k2) = (
        ClusterKey::from_bytes([1; 32]),
        ClusterKey::from_bytes([2; 32]),
    );
    let k1_file = write(dir.path(), "k1", &security::hex(k1.as_bytes()));
    let k2_file = write(dir.path(), "k2", &security::hex(k2.as_bytes()));
    let names = ["a", "b", "c"];
    let mut roster = serde_json::Map::new();
    let mut sk_files = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let seed = [i as u8 + 10; 32];
        sk_files.push(write(dir.path(), &format!("{n}.sk"), &security::hex(&seed)));
        let pk = SigningKey::from_bytes(&seed).verifying_key();
        roster.insert(n.to_string(), security::hex(pk.as_bytes()).into());
    }
    let roster_file = write(
        dir.path(),
        "roster.json",
        &serde_json::Value::Object(roster).to_string(),
    );
    let args = |i: usize| {
        vec![
            "--key-file".to_owned(),
            k1_file.clone(),
            "--signing-key-file".to_owned(),
            sk_files[i].clone(),
            "--roster".to_owned(),
            roster_file.clone(),
        ]
    };
    let a0 = args(0);
    let a = spawn("a", &[], &a0.iter().map(String::as_str).collect::<Vec<_>>());
    let mut ds = vec![a];
    for (i, name) in names.iter().enumerate().skip(1) {
        let ai = args(i);
        ds.push(spawn(
            name,
            &[ds[0].gossip],
            &ai.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
    }
    until_all_see_alive(&ds.iter().collect::<Vec<_>>(), 3, Duration::from_secs(20)).await;
    let listed = cli(vec![
        "keys".into(),
        "list".into(),
        "--admin".into(),
        ds[0].admin.to_string(),
    ])
    .await;
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert_eq!(listed, format!("{}  primary\n", k1.fingerprint()));
    assert!(!listed.contains(&security::hex(k1.as_bytes())[..16]));

    let mut round = 0;
    let mut step = async |ds: &[Daemon], op: &[String]| {
        for d in ds {
            let mut a: Vec<String> = vec![
                "keys".into(),
                op[0].clone(),
                "--admin".into(),
                d.admin.to_string(),
            ];
            a.extend(op[1..].iter().cloned());
            let out = cli(a).await;
            assert!(
                out.status.success(),
                "{op:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // Keep writing during the procedure.
            round += 1;
            let r = http(d.admin, "PUT", "/kv/w", Some(format!("{round}").as_bytes())).await;
            assert_eq!(r.status, 200);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        // Wait a few gossip rounds before the next step (docs/spec/security.md §4).
        tokio::time::sleep(Duration::from_millis(500)).await;
        all_alive_and_nothing_rejected(ds).await;
    };
    step(&ds, &["add".into(), "--key-file".into(), k2_file.clone()]).await;
    step(&ds, &["use".into(), k2.fingerprint().to_string()]).await;
    step(&ds, &["remove".into(), k1.fingerprint().to_string()]).await;

    // The last write of every node reaches every node.
    for (i, owner) in names.iter().enumerate() {
        let want = format!("{}", 6 + i + 1);
        for d in &ds {
            eventually(
                Duration::from_secs(20),
                "the last writes spread",
                async || {
                    http(d.admin, "GET", &format!("/kv/{owner}/w"), None)
                        .await
                        .body
                        == want.as_bytes()
                },
            )
            .await;
        }
    }
    all_alive_and_nothing_rejected(&ds).await;
    for d in &ds {
        let keys = json(d.admin, "/keys").await;
        assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
        assert_eq!(keys["keys"][0]["fingerprint"], k2.fingerprint().to_string());
        assert_eq!(keys["roster"].as_object().unwrap().len(), 3);
    }
    // The primary cannot be removed; the refusal is reported, exit code 1.
    let out = cli(vec![
        "keys".into(),
        "remove".into(),
        "--admin".into(),
        ds[0].admin.to_string(),
        k2.fingerprint().to_string(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("primary"));
    let metrics = http(ds[0].admin, "GET", "/metrics", None).await.text();
    assert!(metrics.contains("gossip_datagrams_rejected_total{reason=\"bad_signature\"} 0"));
}

#[tokio::test]
async fn a_plaintext_daemon_and_an_encrypted_one_do_not_talk_and_count_why() {
    let dir = tempfile::tempdir().unwrap();
    let k = write(dir.path(), "k", &security::hex(&[7; 32]));
    let enc = spawn("enc", &[], &["--key-file", &k]);
    let plain = spawn("plain", &[enc.gossip], &["--insecure-plaintext"]);
    // A second encrypted node that seeds the plaintext one: its frames reach it.
    let _enc2 = spawn("enc2", &[plain.gossip], &["--key-file", &k]);
    eventually(
        Duration::from_secs(20),
        "both count the other's datagrams",
        async || {
            let e = json(enc.admin, "/stats").await;
            let p = json(plain.admin, "/stats").await;
            e["rejected"]["unencrypted"].as_u64() > Some(0)
                && p["rejected"]["no_key"].as_u64() > Some(0)
        },
    )
    .await;
    let m = json(enc.admin, "/members").await;
    assert_eq!(m.as_array().unwrap().len(), 1, "{m:?}");
}

#[tokio::test]
async fn a_node_outside_the_roster_is_dropped_as_unknown_signer_until_its_key_is_added_at_run_time()
{
    let dir = tempfile::tempdir().unwrap();
    let k = write(dir.path(), "k", &security::hex(&[9; 32]));
    let seeds: Vec<[u8; 32]> = (0..2).map(|i| [40 + i; 32]).collect();
    let pk = |s: &[u8; 32]| security::hex(SigningKey::from_bytes(s).verifying_key().as_bytes());
    // The roster knows "old" only; "new" is not in it.
    let roster = write(
        dir.path(),
        "roster.json",
        &serde_json::json!({ "old": pk(&seeds[0]) }).to_string(),
    );
    let sk0 = write(dir.path(), "old.sk", &security::hex(&seeds[0]));
    let sk1 = write(dir.path(), "new.sk", &security::hex(&seeds[1]));
    let old = spawn(
        "old",
        &[],
        &[
            "--key-file",
            &k,
            "--signing-key-file",
            &sk0,
            "--roster",
            &roster,
        ],
    );
    let new = spawn(
        "new",
        &[old.gossip],
        &[
            "--key-file",
            &k,
            "--signing-key-file",
            &sk1,
            "--roster",
            &roster,
        ],
    );
    eventually(
        Duration::from_secs(20),
        "old drops new's node deltas",
        async || json(old.admin, "/stats").await["rejected"]["unknown_signer"].as_u64() > Some(0),
    )
    .await;
    assert_eq!(
        json(old.admin, "/members").await.as_array().unwrap().len(),
        1
    );
    // Bind "new" on both nodes at run time: new joins.
    for d in [&old, &new] {
        let r = http(
            d.admin,
            "PUT",
            "/roster/new",
            Some(pk(&seeds[1]).as_bytes()),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let bad = http(old.admin, "PUT", "/roster/x", Some(b"not a key")).await;
    assert_eq!(bad.status, 400);
    until_all_see_alive(&[&old, &new], 2, Duration::from_secs(20)).await;
    let keys = json(old.admin, "/keys").await;
    assert_eq!(keys["roster"]["new"], pk(&seeds[1]));
    assert_eq!(keys["public_key"], pk(&seeds[0]));
}
