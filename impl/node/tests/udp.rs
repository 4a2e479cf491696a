//! Nodes over real UDP sockets on loopback.

use std::time::{Duration, Instant};

use gossip_node::{Config, Node, NodeConfig, NodeHandle, Status};

async fn start(name: &str, seeds: Vec<std::net::SocketAddr>) -> NodeHandle {
    let mut core = Config::new(name, "127.0.0.1:0".parse().unwrap());
    core.gossip_interval = Duration::from_millis(100);
    core.cluster_id = "udp-test".into();
    core.seeds = seeds;
    Node::start(NodeConfig::new(core)).await.unwrap()
}

async fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < limit, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    t0.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_nodes_on_real_udp_loopback_converge_and_spread_a_write() {
    const N: usize = 12;
    let seed = start("u0", vec![]).await;
    let seed_addr = seed.id().addr;
    let mut nodes = vec![seed];
    for i in 1..N {
        nodes.push(start(&format!("u{i}"), vec![seed_addr]).await);
    }
    let took = wait_until(Duration::from_secs(30), "every node sees 12 alive", || {
        nodes.iter().all(|h| {
            let s = h.snapshot();
            s.view.nodes.len() == N && s.view.nodes.iter().all(|n| n.status == Status::Alive)
        })
    })
    .await;
    eprintln!("membership converged in {took:?}");
    nodes[7].set("answer", "42").await.unwrap();
    let took = wait_until(
        Duration::from_secs(30),
        "every node holds u7/answer",
        || {
            nodes
                .iter()
                .all(|h| h.get("u7", "answer").as_deref() == Some(&b"42"[..]))
        },
    )
    .await;
    eprintln!("write reached all {N} nodes in {took:?}");
    let s = nodes[0].snapshot();
    assert!(s.stats.datagrams_in > 0 && s.stats.rejected.total() == 0);
    for h in &nodes {
        h.shutdown().await;
    }
}
