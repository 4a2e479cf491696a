//! Starts an N-node cluster on loopback UDP in one process and measures how long membership
//! takes to converge and how long a write takes to reach every node.
//!
//! ```text
//! cargo run --release -p gossip-node --example cluster -- --nodes 20
//! ```
//!
//! A write's time to reach a node is measured with an event subscription on that node (the
//! `KeySet` event is delivered right after the snapshot that contains the write is
//! published), from just before `set` was called on the writer.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use gossip_node::{Config, Delivery, Event, Node, NodeConfig, NodeHandle, Status};

#[derive(Parser, Debug)]
#[command(about = "Measures convergence and write propagation of an in-process loopback cluster.")]
struct Args {
    /// Number of nodes.
    #[arg(long, default_value_t = 10)]
    nodes: usize,
    /// Gossip interval in milliseconds.
    #[arg(long, default_value_t = 200)]
    interval_ms: u64,
    /// Peers per gossip round.
    #[arg(long, default_value_t = 1)]
    fanout: usize,
    /// Number of measured writes (each on a different node, one at a time).
    #[arg(long, default_value_t = 10)]
    writes: usize,
}

async fn start(name: String, seeds: Vec<SocketAddr>, a: &Args) -> anyhow::Result<NodeHandle> {
    let mut core = Config::new(name, "127.0.0.1:0".parse()?);
    core.gossip_interval = Duration::from_millis(a.interval_ms);
    core.fanout = a.fanout;
    core.cluster_id = "cluster-example".into();
    core.seeds = seeds;
    Ok(Node::start(NodeConfig::new(core)).await?)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.nodes >= 2, "--nodes must be at least 2");
    let interval = Duration::from_millis(args.interval_ms);

    let t0 = Instant::now();
    let first = start("c0".into(), vec![], &args).await?;
    let seed = first.id().addr;
    let mut nodes = vec![first];
    for i in 1..args.nodes {
        nodes.push(
            start(format!("c{i}"), vec![seed], &args)
                .await
                .context("start")?,
        );
    }
    let n = args.nodes;
    while !nodes.iter().all(|h| {
        let s = h.snapshot();
        s.view.nodes.len() == n && s.view.nodes.iter().all(|m| m.status == Status::Alive)
    }) {
        anyhow::ensure!(
            t0.elapsed() < Duration::from_secs(120),
            "no convergence in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let conv = t0.elapsed();
    println!(
        "{n} nodes, gossip interval {interval:?}, fanout {}: every node sees {n} alive members {:.3} s after the first start ({:.1} intervals)",
        args.fanout,
        conv.as_secs_f64(),
        conv.as_secs_f64() / interval.as_secs_f64()
    );

    let mut lat = Vec::new();
    for w in 0..args.writes {
        let writer = &nodes[(w * 7 + 1) % n];
        let key = format!("probe-{w}");
        let writer_name = writer.id().name.clone();
        let mut waits = Vec::new();
        for h in nodes.iter().filter(|h| h.id() != writer.id()) {
            let mut sub = h.subscribe();
            let (key, writer_name) = (key.clone(), writer_name.clone());
            waits.push(tokio::spawn(async move {
                while let Some(d) = sub.recv().await {
                    if let Delivery::Event(Event::KeySet { node, key: k, .. }) = d
                        && node.name == writer_name
                        && k == key
                    {
                        return Some(Instant::now());
                    }
                }
                None
            }));
        }
        let start = Instant::now();
        writer.set(key.clone(), "x").await?;
        let mut last = start;
        for wt in waits {
            let at = tokio::time::timeout(Duration::from_secs(60), wt)
                .await
                .context("a write did not reach every node in 60 s")??
                .context("a node stopped")?;
            last = last.max(at);
        }
        let took = last - start;
        println!(
            "write {w} on {writer_name}: reached all {n} nodes in {:.1} ms ({:.1} intervals)",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() / interval.as_secs_f64()
        );
        lat.push(took);
    }
    lat.sort();
    if !lat.is_empty() {
        println!(
            "write propagation to all {n} nodes over {} writes: min {:.1} ms, median {:.1} ms, max {:.1} ms",
            lat.len(),
            lat[0].as_secs_f64() * 1e3,
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            lat[lat.len() - 1].as_secs_f64() * 1e3
        );
    }
    let s = nodes[0].snapshot();
    println!(
        "node c0: {} datagrams in ({} bytes), {} out ({} bytes), {} rounds, {} rejected",
        s.stats.datagrams_in,
        s.stats.bytes_in,
        s.stats.datagrams_out,
        s.stats.bytes_out,
        s.stats.rounds,
        s.stats.rejected.total()
    );
    for h in &nodes {
        h.shutdown().await;
    }
    Ok(())
}
