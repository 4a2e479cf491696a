//! A cluster of chitchat 0.13 nodes over counting UDP sockets on loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chitchat::transport::Transport;
use chitchat::{
    ChitchatConfig, ChitchatHandle, ChitchatId, FailureDetectorConfig, ProtocolVersion,
    spawn_chitchat,
};

use crate::counters::{Counters, CountingChitchatTransport};

/// N running chitchat servers named `n0`..`n{N-1}`; node 0 is every node's seed.
///
/// chitchat gossips with `GOSSIP_COUNT = 3` random live peers per round (a constant of the
/// crate), plus sometimes a dead node and sometimes a seed.
pub struct ChitchatCluster {
    nodes: Vec<ChitchatHandle>,
    ids: Vec<ChitchatId>,
    /// The counters of all their sockets.
    pub counters: Arc<Counters>,
}

/// Reserves `n` distinct free loopback UDP ports (chitchat needs its advertised address before
/// it binds). The sockets are closed before returning, so another process could in principle
/// take a port in between; the benchmark then fails to start that node and says so.
fn free_ports(n: usize) -> std::io::Result<Vec<SocketAddr>> {
    let socks = (0..n)
        .map(|_| std::net::UdpSocket::bind(("127.0.0.1", 0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    socks.iter().map(|s| s.local_addr()).collect()
}

impl ChitchatCluster {
    /// Starts `n` chitchat servers with the given gossip interval and wire version (`V0`:
    /// plain digest; `V1`: zstd-compressed digest), each owning `keys_per_node` keys from the
    /// start. Failure detector at chitchat's defaults.
    pub async fn start(
        n: usize,
        interval: Duration,
        version: ProtocolVersion,
        keys_per_node: usize,
        counters: Arc<Counters>,
    ) -> anyhow::Result<Self> {
        let addrs = free_ports(n)?;
        let transport = CountingChitchatTransport::new(counters.clone());
        let mut nodes = Vec::with_capacity(n);
        let mut ids = Vec::with_capacity(n);
        for (i, addr) in addrs.iter().enumerate() {
            let id = ChitchatId::new(format!("n{i}"), 1, *addr);
            let config = ChitchatConfig {
                chitchat_id: id.clone(),
                cluster_id: "compare".to_owned(),
                gossip_interval: interval,
                listen_addr: *addr,
                seed_nodes: vec![addrs[0].to_string()],
                failure_detector_config: FailureDetectorConfig::default(),
                marked_for_deletion_grace_period: Duration::from_secs(3_600),
                catchup_callback: None,
                extra_liveness_predicate: None,
                protocol_version: version,
            };
            let kvs = (0..keys_per_node)
                .map(|k| (format!("key-{k}"), format!("value-{i}-{k}")))
                .collect();
            let t: &dyn Transport = &transport;
            nodes.push(spawn_chitchat(config, kvs, t).await?);
            ids.push(id);
        }
        Ok(Self {
            nodes,
            ids,
            counters,
        })
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false (a cluster has at least one node).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// How many nodes see every node (themselves included) as live.
    pub async fn members_converged(&self) -> usize {
        let n = self.nodes.len();
        let mut count = 0;
        for h in &self.nodes {
            if h.with_chitchat(|c| c.live_nodes().count()).await == n {
                count += 1;
            }
        }
        count
    }

    /// Smallest and largest number of nodes known (live or not), and smallest and largest
    /// number of live nodes, over all nodes: a diagnostic for a join that did not converge.
    pub async fn membership_spread(&self) -> (usize, usize, usize, usize) {
        let mut known = Vec::new();
        let mut live = Vec::new();
        for h in &self.nodes {
            let (k, l) = h
                .with_chitchat(|c| (c.node_states().len(), c.live_nodes().count()))
                .await;
            known.push(k);
            live.push(l);
        }
        let mm = |v: &[usize]| {
            (
                v.iter().copied().min().unwrap_or(0),
                v.iter().copied().max().unwrap_or(0),
            )
        };
        let ((k0, k1), (l0, l1)) = (mm(&known), mm(&live));
        (k0, k1, l0, l1)
    }

    /// Sets `key = value` on node `writer`.
    pub async fn set(&self, writer: usize, key: &str, value: &str) {
        self.nodes[writer]
            .with_chitchat(|c| c.self_node_state().set(key, value))
            .await;
    }

    /// How many nodes see `writer`'s `key` with exactly `value`.
    pub async fn visible(&self, writer: usize, key: &str, value: &str) -> usize {
        let id = &self.ids[writer];
        let mut count = 0;
        for h in &self.nodes {
            let seen = h
                .with_chitchat(|c| c.node_state(id).and_then(|s| s.get(key)) == Some(value))
                .await;
            count += usize::from(seen);
        }
        count
    }

    /// Stops every server.
    pub async fn shutdown(self) {
        for h in self.nodes {
            let _ = h.shutdown().await;
        }
    }
}
