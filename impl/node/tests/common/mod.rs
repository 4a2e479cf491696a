//! Shared by the `gossipd_*` test binaries: starting `gossipd` processes on loopback and
//! talking to their admin API.

// Each test binary uses a different subset.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gossip_node::Status;
use gossip_node::admin::api::Members;
use gossip_node::admin::client::{Client, Response, request};

/// The daemon under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_gossipd");

/// A running `gossipd`, killed when dropped. Ports are chosen by the OS (port 0) and read
/// back from its readiness line, so tests never race for a port.
pub struct Daemon {
    pub child: Child,
    pub name: String,
    pub gossip: SocketAddr,
    pub admin: SocketAddr,
    pub generation: u64,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `gossipd` named `name` in cluster `cluster_id`, gossip interval 100 ms, seeded with
/// `seeds`, with `extra` arguments; unencrypted (`--insecure-plaintext`) unless `extra` gives
/// a key or says so itself. Waits (up to 20 s) for its readiness line.
pub fn spawn_in(cluster_id: &str, name: &str, seeds: &[SocketAddr], extra: &[&str]) -> Daemon {
    let mut cmd = Command::new(BIN);
    cmd.args(["--bind", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
        .args(["--node-name", name, "--gossip-interval", "100ms"])
        .args(["--cluster-id", cluster_id])
        .args(extra)
        .env("RUST_LOG", "warn");
    if !extra
        .iter()
        .any(|a| a.starts_with("--key") || *a == "--insecure-plaintext")
    {
        cmd.arg("--insecure-plaintext");
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for s in seeds {
        cmd.args(["--seed", &s.to_string()]);
    }
    let mut child = cmd.spawn().expect("spawn gossipd");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) else {
        let _ = child.kill();
        panic!("gossipd {name} printed no readiness line");
    };
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k}= in {line:?}"))
            .to_owned()
    };
    Daemon {
        name: field("name"),
        gossip: field("gossip").parse().unwrap(),
        admin: field("admin").parse().unwrap(),
        generation: field("generation").parse().unwrap(),
        child,
    }
}

/// One admin API request (5 s timeout); panics on a transport error.
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&[u8]>) -> Response {
    request(addr, method, path, body, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e:?}"))
}

/// `GET path` as JSON.
pub async fn json(addr: SocketAddr, path: &str) -> serde_json::Value {
    serde_json::from_slice(&http(addr, "GET", path, None).await.body).unwrap()
}

/// Polls `f` every 50 ms until it holds; panics after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut f: impl AsyncFnMut() -> bool) {
    let t0 = Instant::now();
    while !f().await {
        assert!(t0.elapsed() < limit, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The members the node with admin API `addr` lists; panics on an error.
pub async fn members(addr: SocketAddr) -> Members {
    Client::new(addr, Duration::from_secs(5))
        .members()
        .await
        .unwrap_or_else(|e| panic!("members of {addr}: {e:?}"))
}

/// Polls until each of `ds` lists exactly `n` members, all alive; panics after `limit`.
pub async fn until_all_see_alive(ds: &[&Daemon], n: usize, limit: Duration) {
    eventually(
        limit,
        &format!("every node sees {n} alive nodes"),
        async || {
            for d in ds {
                let m = members(d.admin).await;
                if m.len() != n || m.iter().any(|x| x.status != Status::Alive) {
                    return false;
                }
            }
            true
        },
    )
    .await;
}
