//! A cluster of our nodes (`gossip-node` over counting UDP sockets on loopback).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gossip_node::{Config, Node, NodeConfig, NodeHandle, Status};

use crate::counters::{Counters, CountingUdp};

/// N running `gossip-node` nodes named `n0`..`n{N-1}`; node 0 is every other node's seed.
pub struct OursCluster {
    nodes: Vec<NodeHandle>,
    /// The counters of all their sockets.
    pub counters: Arc<Counters>,
}

impl OursCluster {
    /// Starts `n` nodes with the given gossip interval and fanout (everything else at the
    /// core's defaults: 1,400-byte MTU, push-pull; `compression` sets `Config::compression`,
    /// `max_digest_len` overrides `Config::max_digest_len`), each owning `keys_per_node` keys
    /// set before it starts gossiping.
    pub async fn start(
        n: usize,
        interval: Duration,
        fanout: usize,
        keys_per_node: usize,
        compression: bool,
        max_digest_len: Option<usize>,
        counters: Arc<Counters>,
    ) -> anyhow::Result<Self> {
        let mut nodes: Vec<NodeHandle> = Vec::with_capacity(n);
        let mut seed = None;
        for i in 0..n {
            let transport = CountingUdp::bind(counters.clone(), 0x5eed + i as u64)
                .await
                .context("binding a loopback UDP socket")?;
            let addr = gossip_node::Transport::local_addr(&transport);
            let mut core = Config::new(format!("n{i}"), addr);
            core.cluster_id = "compare".to_owned();
            core.gossip_interval = interval;
            core.fanout = fanout;
            core.compression = compression;
            if let Some(len) = max_digest_len {
                core.max_digest_len = len;
            }
            core.seeds = seed.into_iter().collect();
            let mut cfg = NodeConfig::new(core);
            cfg.generation = Some(1);
            cfg.rng_seed = Some(i as u64);
            let handle = Node::start_with_transport(cfg, transport)?;
            for k in 0..keys_per_node {
                handle
                    .set(format!("key-{k}"), format!("value-{i}-{k}").into_bytes())
                    .await?;
            }
            seed.get_or_insert(addr);
            nodes.push(handle);
        }
        Ok(Self { nodes, counters })
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false (a cluster has at least one node).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// How many nodes see every node (themselves included) as alive.
    pub fn members_converged(&self) -> usize {
        let n = self.nodes.len();
        self.nodes
            .iter()
            .filter(|h| {
                let snap = h.snapshot();
                snap.view.nodes.len() == n
                    && snap.view.nodes.iter().all(|v| v.status == Status::Alive)
            })
            .count()
    }

    /// Gossip rounds started so far, all nodes together (the cores' `Stats::rounds`).
    pub fn rounds(&self) -> u64 {
        self.nodes.iter().map(|h| h.snapshot().stats.rounds).sum()
    }

    /// Sets `key = value` on node `writer`.
    pub async fn set(&self, writer: usize, key: &str, value: &str) -> anyhow::Result<()> {
        self.nodes[writer].set(key, value.as_bytes()).await?;
        Ok(())
    }

    /// How many nodes see `writer`'s `key` with exactly `value`.
    pub fn visible(&self, writer: usize, key: &str, value: &str) -> usize {
        let name = format!("n{writer}");
        self.nodes
            .iter()
            .filter(|h| h.get(&name, key).as_deref() == Some(value.as_bytes()))
            .count()
    }

    /// Stops every node (without leaving).
    pub async fn shutdown(self) {
        for h in &self.nodes {
            h.shutdown().await;
        }
    }
}
