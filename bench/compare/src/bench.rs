//! The benchmark phases and the report.
//!
//! Two experiments, each repeated `runs` times; every phase starts a fresh cluster in this
//! process, measures, and shuts it down before the next phase starts, so the implementations
//! never run at the same time but do run in the same process, on the same machine, minutes
//! apart, with the same gossip interval and fanout.
//!
//! 1. **Convergence and steady state** ([`convergence_phase`]) for ours, chitchat with its
//!    plain digest (`V0`) and chitchat with its zstd-compressed digest (`V1`): wait until every
//!    node sees every node alive, let it settle, measure bytes, datagrams and process CPU over
//!    a window with no writes, then time `writes` single-key writes from rotating nodes until
//!    every node sees each of them.
//! 2. **Delivery under loss** ([`loss_phase`]) for ours and foca: join losslessly, switch on
//!    per-datagram loss, make `writes` writes from node 0 (one per gossip interval), wait the
//!    budget, and count the writes every node has.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::chit::ChitchatCluster;
use crate::counters::{Counters, Counts, MTU};
use crate::cpu::{process_cpu_time, udp_rcvbuf_errors};
use crate::ours::OursCluster;
use crate::swim::SwimCluster;

/// An implementation in the convergence experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impl {
    /// This project's `gossip-node`.
    Ours,
    /// This project's `gossip-node` with `Config::compression` (DEFLATE compressed frames).
    OursCompressed,
    /// chitchat 0.13, `ProtocolVersion::V0` (uncompressed digest).
    ChitchatV0,
    /// chitchat 0.13, `ProtocolVersion::V1` (zstd-compressed digest).
    ChitchatV1,
}

impl Impl {
    /// Every implementation, in report order.
    pub const ALL: [Impl; 4] = [
        Impl::Ours,
        Impl::OursCompressed,
        Impl::ChitchatV0,
        Impl::ChitchatV1,
    ];

    /// Whether this is one of ours.
    pub fn is_ours(self) -> bool {
        matches!(self, Impl::Ours | Impl::OursCompressed)
    }

    /// Its name in the report.
    pub fn label(self) -> &'static str {
        match self {
            Impl::Ours => "ours",
            Impl::OursCompressed => "ours, compressed (DEFLATE frames)",
            Impl::ChitchatV0 => "chitchat V0 (plain)",
            Impl::ChitchatV1 => "chitchat V1 (zstd digest)",
        }
    }
}

/// An implementation in the loss experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LossImpl {
    /// This project's `gossip-node` (anti-entropy).
    Ours,
    /// foca 2 custom broadcasts (rumors piggybacked on SWIM messages).
    Foca,
}

impl LossImpl {
    /// Its name in the report.
    pub fn label(self) -> &'static str {
        match self {
            LossImpl::Ours => "ours",
            LossImpl::Foca => "foca",
        }
    }
}

/// Parameters shared by every phase.
#[derive(Debug, Clone)]
pub struct Params {
    /// Gossip interval of every implementation (foca: its periodic gossip).
    pub interval: Duration,
    /// Peers per gossip round (chitchat's is fixed at 3).
    pub fanout: usize,
    /// Keys each node owns from the start (ours and chitchat).
    pub keys_per_node: usize,
    /// Longest wait for membership to converge.
    pub join_timeout: Duration,
    /// Wait between membership convergence and the steady-state window.
    pub settle: Duration,
    /// Length of the steady-state window.
    pub window: Duration,
    /// Writes timed per convergence phase.
    pub writes: usize,
    /// Longest wait for one write to reach every node.
    pub write_timeout: Duration,
    /// Writes per loss phase.
    pub loss_writes: usize,
    /// Wall-clock budget after the last write of a loss phase.
    pub budget: Duration,
    /// Ours: `Config::max_digest_len` (`None`: the core's default).
    pub max_digest_len: Option<usize>,
}

/// What one convergence phase measured.
#[derive(Debug, Clone)]
pub struct PhaseResult {
    /// Implementation.
    pub imp: Impl,
    /// Cluster size.
    pub n: usize,
    /// Run number.
    pub run: usize,
    /// Time until every node saw every node alive (`None`: not within the join timeout).
    pub join: Option<Duration>,
    /// Socket counts over the steady-state window (`max_ever` covers the whole phase so far).
    pub steady: Counts,
    /// Real length of the window.
    pub window: Duration,
    /// Process CPU time over the window (`None` if unavailable).
    pub cpu: Option<Duration>,
    /// Time for each timed write to be visible on every node (`None`: timed out).
    pub latencies: Vec<Option<Duration>>,
    /// Largest datagram of the whole phase (join and writes included).
    pub max_datagram_phase: u64,
    /// Gossip rounds actually started per node per second over the window (nominal:
    /// 1 / interval; less when the process is starved of CPU). chitchat: Syns sent / 3.
    pub rounds_per_node_s: f64,
    /// For each write that timed out: how many nodes had it at the timeout.
    pub partial: Vec<usize>,
    /// Kernel receive-buffer drops during the phase (system-wide `RcvbufErrors` delta).
    pub kernel_drops: Option<u64>,
    /// Datagrams sent during the whole phase.
    pub phase_datagrams: u64,
}

impl PhaseResult {
    /// Bytes sent per node per second over the window.
    pub fn bytes_per_node_s(&self) -> f64 {
        self.steady.bytes as f64 / self.n as f64 / self.window.as_secs_f64()
    }

    /// Datagrams sent per node per second over the window.
    pub fn datagrams_per_node_s(&self) -> f64 {
        self.steady.datagrams as f64 / self.n as f64 / self.window.as_secs_f64()
    }

    /// CPU per node over the window, in percent of one core.
    pub fn cpu_percent_per_node(&self) -> Option<f64> {
        self.cpu
            .map(|c| 100.0 * c.as_secs_f64() / self.window.as_secs_f64() / self.n as f64)
    }

    /// Write latencies in rounds actually run (latency × [`Self::rounds_per_node_s`]).
    pub fn achieved_rounds(&self) -> Vec<f64> {
        latency_secs(&self.latencies)
            .into_iter()
            .map(|l| l * self.rounds_per_node_s)
            .collect()
    }

    /// Bytes sent per node per gossip round actually run.
    pub fn bytes_per_round(&self) -> f64 {
        self.bytes_per_node_s() / self.rounds_per_node_s
    }

    /// Process CPU per node per gossip round actually run, in microseconds.
    pub fn cpu_us_per_round(&self) -> Option<f64> {
        self.cpu.map(|c| {
            c.as_secs_f64() * 1e6
                / (self.rounds_per_node_s * self.n as f64 * self.window.as_secs_f64())
        })
    }

    /// Median write latency in rounds actually run.
    pub fn median_achieved_rounds(&self) -> Option<f64> {
        median(&self.achieved_rounds())
    }

    /// Median write latency (a timeout counts as infinitely long).
    pub fn median_latency(&self) -> Option<f64> {
        median(&latency_secs(&self.latencies))
    }
}

fn latency_secs(l: &[Option<Duration>]) -> Vec<f64> {
    l.iter()
        .map(|d| d.map_or(f64::INFINITY, |d| d.as_secs_f64()))
        .collect()
}

enum AnyCluster {
    Ours(OursCluster),
    Chitchat(ChitchatCluster),
}

impl AnyCluster {
    async fn start(
        imp: Impl,
        n: usize,
        p: &Params,
        counters: Arc<Counters>,
    ) -> anyhow::Result<Self> {
        Ok(match imp {
            Impl::Ours | Impl::OursCompressed => AnyCluster::Ours(
                OursCluster::start(
                    n,
                    p.interval,
                    p.fanout,
                    p.keys_per_node,
                    imp == Impl::OursCompressed,
                    p.max_digest_len,
                    counters,
                )
                .await?,
            ),
            Impl::ChitchatV0 | Impl::ChitchatV1 => {
                let version = if imp == Impl::ChitchatV0 {
                    chitchat::ProtocolVersion::V0
                } else {
                    chitchat::ProtocolVersion::V1
                };
                AnyCluster::Chitchat(
                    ChitchatCluster::start(n, p.interval, version, p.keys_per_node, counters)
                        .await?,
                )
            }
        })
    }

    async fn members_converged(&self) -> usize {
        match self {
            AnyCluster::Ours(c) => c.members_converged(),
            AnyCluster::Chitchat(c) => c.members_converged().await,
        }
    }

    async fn set(&self, writer: usize, key: &str, value: &str) -> anyhow::Result<()> {
        match self {
            AnyCluster::Ours(c) => c.set(writer, key, value).await,
            AnyCluster::Chitchat(c) => {
                c.set(writer, key, value).await;
                Ok(())
            }
        }
    }

    async fn visible(&self, writer: usize, key: &str, value: &str) -> usize {
        match self {
            AnyCluster::Ours(c) => c.visible(writer, key, value),
            AnyCluster::Chitchat(c) => c.visible(writer, key, value).await,
        }
    }

    /// Rounds started so far, all nodes together (chitchat: Syns sent / 3, its fixed fanout).
    fn rounds(&self, counts: &Counts) -> f64 {
        match self {
            AnyCluster::Ours(c) => c.rounds() as f64,
            AnyCluster::Chitchat(_) => counts.syns as f64 / 3.0,
        }
    }

    async fn shutdown(self) {
        match self {
            AnyCluster::Ours(c) => c.shutdown().await,
            AnyCluster::Chitchat(c) => c.shutdown().await,
        }
    }
}

/// Polls `converged` every 20 ms until it returns `n` or `timeout` passes.
async fn wait_until<F, Fut>(n: usize, timeout: Duration, mut converged: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let start = Instant::now();
    loop {
        if converged().await >= n {
            return Some(start.elapsed());
        }
        if start.elapsed() > timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One convergence phase: see the module documentation.
pub async fn convergence_phase(
    imp: Impl,
    n: usize,
    run: usize,
    p: &Params,
) -> anyhow::Result<PhaseResult> {
    let counters = Counters::new();
    let drops0 = udp_rcvbuf_errors();
    let cluster = AnyCluster::start(imp, n, p, counters.clone()).await?;
    let join = wait_until(n, p.join_timeout, || cluster.members_converged()).await;
    if let (None, AnyCluster::Chitchat(c)) = (join, &cluster) {
        let (k0, k1, l0, l1) = c.membership_spread().await;
        tracing::warn!(
            n,
            "chitchat did not converge: nodes known {k0}..={k1}, live {l0}..={l1}"
        );
    }
    tokio::time::sleep(p.settle).await;

    counters.reset_max();
    let c0 = counters.snapshot();
    let r0 = cluster.rounds(&c0);
    let cpu0 = process_cpu_time();
    let t0 = Instant::now();
    tokio::time::sleep(p.window).await;
    let c1 = counters.snapshot();
    let cpu1 = process_cpu_time();
    let window = t0.elapsed();
    let r1 = cluster.rounds(&c1);
    let rounds_per_node_s = (r1 - r0) / n as f64 / window.as_secs_f64();
    let mut partial = Vec::new();

    let mut latencies = Vec::with_capacity(p.writes);
    for j in 0..p.writes {
        let writer = (run * 7 + j * 13 + 1) % n;
        let key = format!("probe-{j}");
        let value = format!("run{run}-write{j}");
        let start = Instant::now();
        cluster.set(writer, &key, &value).await?;
        let seen = loop {
            let visible = cluster.visible(writer, &key, &value).await;
            if visible >= n {
                break Some(start.elapsed());
            }
            if start.elapsed() > p.write_timeout {
                partial.push(visible);
                break None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        latencies.push(seen);
        tokio::time::sleep(p.interval).await;
    }
    let end = counters.snapshot();
    let kernel_drops = drops0
        .zip(udp_rcvbuf_errors())
        .map(|(a, b)| b.saturating_sub(a));
    cluster.shutdown().await;
    Ok(PhaseResult {
        imp,
        n,
        run,
        join,
        steady: c1.since(&c0),
        window,
        cpu: cpu0.zip(cpu1).map(|(a, b)| b.saturating_sub(a)),
        latencies,
        max_datagram_phase: end.max_ever,
        rounds_per_node_s,
        partial,
        kernel_drops,
        phase_datagrams: end.datagrams,
    })
}

/// What one loss phase measured.
#[derive(Debug, Clone)]
pub struct LossResult {
    /// Implementation.
    pub imp: LossImpl,
    /// Cluster size.
    pub n: usize,
    /// Per-datagram loss probability.
    pub loss: f64,
    /// Run number.
    pub run: usize,
    /// Time until membership converged (`None`: not within the join timeout).
    pub join: Option<Duration>,
    /// Writes made.
    pub writes: usize,
    /// Writes that every node had when the budget ran out.
    pub delivered: usize,
    /// Socket counts from the first write to the end of the budget.
    pub counts: Counts,
    /// Length of that interval.
    pub elapsed: Duration,
    /// foca's `max_transmissions` (`None` for ours).
    pub max_transmissions: Option<u8>,
    /// Kernel receive-buffer drops from the first write to the end (system-wide).
    pub kernel_drops: Option<u64>,
}

impl LossResult {
    /// Share of the writes that reached every node, in percent.
    pub fn share(&self) -> f64 {
        100.0 * self.delivered as f64 / self.writes.max(1) as f64
    }

    /// Bytes sent per node per second (writes and budget).
    pub fn bytes_per_node_s(&self) -> f64 {
        self.counts.bytes as f64 / self.n as f64 / self.elapsed.as_secs_f64()
    }
}

/// A cluster of the loss phase: ours or foca.
enum LossCluster {
    Ours(OursCluster),
    Foca(SwimCluster),
}

impl LossCluster {
    async fn start(
        imp: LossImpl,
        n: usize,
        p: &Params,
        counters: Arc<Counters>,
    ) -> anyhow::Result<Self> {
        Ok(match imp {
            LossImpl::Ours => LossCluster::Ours(
                OursCluster::start(
                    n,
                    p.interval,
                    p.fanout,
                    0,
                    false,
                    p.max_digest_len,
                    counters,
                )
                .await?,
            ),
            LossImpl::Foca => {
                LossCluster::Foca(SwimCluster::start(n, p.interval, p.fanout, counters).await?)
            }
        })
    }

    fn members_converged(&self) -> usize {
        match self {
            LossCluster::Ours(c) => c.members_converged(),
            LossCluster::Foca(c) => c.members_converged(),
        }
    }

    /// Node 0 writes `id` (ours: key `w{id}` = `{id}`; foca: a custom broadcast).
    async fn write(&self, id: u64) -> anyhow::Result<()> {
        match self {
            LossCluster::Ours(c) => c.set(0, &format!("w{id}"), &id.to_string()).await,
            LossCluster::Foca(c) => {
                c.broadcast(0, id);
                Ok(())
            }
        }
    }

    /// How many of `ids` every one of the `n` nodes has.
    fn delivered_to_all(&self, ids: &[u64], n: usize) -> usize {
        match self {
            LossCluster::Ours(c) => ids
                .iter()
                .filter(|id| c.visible(0, &format!("w{id}"), &id.to_string()) == n)
                .count(),
            LossCluster::Foca(c) => c.delivered_to_all(ids),
        }
    }

    fn max_transmissions(&self) -> Option<u8> {
        match self {
            LossCluster::Ours(_) => None,
            LossCluster::Foca(c) => Some(c.max_transmissions),
        }
    }

    async fn shutdown(self) {
        match self {
            LossCluster::Ours(c) => c.shutdown().await,
            LossCluster::Foca(c) => c.shutdown().await,
        }
    }
}

/// One loss phase: see the module documentation.
pub async fn loss_phase(
    imp: LossImpl,
    n: usize,
    loss: f64,
    run: usize,
    p: &Params,
) -> anyhow::Result<LossResult> {
    let counters = Counters::new();
    let ids: Vec<u64> = (0..p.loss_writes as u64)
        .map(|j| (run as u64) << 32 | j)
        .collect();
    let cluster = LossCluster::start(imp, n, p, counters.clone()).await?;
    let join = wait_until(n, p.join_timeout, || async { cluster.members_converged() }).await;
    tokio::time::sleep(p.settle).await;
    counters.set_loss(loss);
    let drops0 = udp_rcvbuf_errors();
    let c0 = counters.snapshot();
    let t0 = Instant::now();
    for id in &ids {
        cluster.write(*id).await?;
        tokio::time::sleep(p.interval).await;
    }
    tokio::time::sleep(p.budget).await;
    let delivered = cluster.delivered_to_all(&ids, n);
    let counts = counters.snapshot().since(&c0);
    let elapsed = t0.elapsed();
    let max_tx = cluster.max_transmissions();
    cluster.shutdown().await;
    let kernel_drops = drops0
        .zip(udp_rcvbuf_errors())
        .map(|(a, b)| b.saturating_sub(a));
    Ok(LossResult {
        kernel_drops,
        imp,
        n,
        loss,
        run,
        join,
        writes: ids.len(),
        delivered,
        counts,
        elapsed,
        max_transmissions: max_tx,
    })
}

/// The median of `v` (`None` if empty); infinities sort last.
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    Some(if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    })
}

fn min_max(v: &[f64]) -> Option<(f64, f64)> {
    let min = v.iter().copied().min_by(f64::total_cmp)?;
    let max = v.iter().copied().max_by(f64::total_cmp)?;
    Some((min, max))
}

/// `median [min–max]` with `digits` decimals, or `–`.
fn spread(v: &[f64], digits: usize) -> String {
    match (median(v), min_max(v)) {
        (Some(m), Some((lo, hi))) if v.len() > 1 => {
            format!(
                "{} [{}–{}]",
                num(m, digits),
                num(lo, digits),
                num(hi, digits)
            )
        }
        (Some(m), _) => num(m, digits),
        _ => "–".to_owned(),
    }
}

fn num(x: f64, digits: usize) -> String {
    if x.is_infinite() {
        "timeout".to_owned()
    } else {
        format!("{x:.digits$}")
    }
}

/// A verdict on one of the targets.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// What was checked.
    pub target: String,
    /// Whether it was met.
    pub met: bool,
    /// The numbers behind it.
    pub detail: String,
}

/// The convergence results as markdown tables plus the verdicts on the targets.
pub fn convergence_report(results: &[PhaseResult], p: &Params) -> (String, Vec<Verdict>) {
    let mut out = String::new();
    let mut verdicts = Vec::new();
    let mut sizes: Vec<usize> = results.iter().map(|r| r.n).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let interval = p.interval.as_secs_f64();
    let _ = writeln!(
        out,
        "| N | implementation | runs | join s | time to all nodes, ms: median / max | nominal rounds (time / interval): median / max | rounds run per node per s | rounds actually run: median / max | bytes/node/s | datagrams/node/s | max datagram, steady / whole phase | datagrams > {MTU} B | CPU % of a core per node | bytes per node-round | CPU µs per node-round | kernel receive-buffer drops, % of datagrams sent (whole phase) |"
    );
    let _ = writeln!(
        out,
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for &n in &sizes {
        for imp in Impl::ALL {
            let rs: Vec<&PhaseResult> = results
                .iter()
                .filter(|r| r.n == n && r.imp == imp)
                .collect();
            if rs.is_empty() {
                continue;
            }
            let lat: Vec<f64> = rs.iter().flat_map(|r| latency_secs(&r.latencies)).collect();
            let lat_med = median(&lat).unwrap_or(f64::NAN);
            let lat_max = min_max(&lat).map_or(f64::NAN, |m| m.1);
            let join: Vec<f64> = rs
                .iter()
                .map(|r| r.join.map_or(f64::INFINITY, |d| d.as_secs_f64()))
                .collect();
            let bytes: Vec<f64> = rs.iter().map(|r| r.bytes_per_node_s()).collect();
            let dgrams: Vec<f64> = rs.iter().map(|r| r.datagrams_per_node_s()).collect();
            let cpu: Vec<f64> = rs.iter().filter_map(|r| r.cpu_percent_per_node()).collect();
            let bpr: Vec<f64> = rs.iter().map(|r| r.bytes_per_round()).collect();
            let kdrops: Vec<f64> = rs
                .iter()
                .filter_map(|r| {
                    r.kernel_drops
                        .map(|d| 100.0 * d as f64 / r.phase_datagrams.max(1) as f64)
                })
                .collect();
            let cpr: Vec<f64> = rs.iter().filter_map(|r| r.cpu_us_per_round()).collect();
            let max_steady = rs.iter().map(|r| r.steady.max_datagram).max().unwrap_or(0);
            let max_phase = rs.iter().map(|r| r.max_datagram_phase).max().unwrap_or(0);
            let over: u64 = rs.iter().map(|r| r.steady.over_mtu).sum();
            let rate: Vec<f64> = rs.iter().map(|r| r.rounds_per_node_s).collect();
            let run_rounds: Vec<f64> = rs.iter().flat_map(|r| r.achieved_rounds()).collect();
            let total: u64 = rs.iter().map(|r| r.steady.datagrams).sum();
            let _ = writeln!(
                out,
                "| {n} | {} | {} | {} | {} / {} | {} / {} | {} | {} / {} | {} | {} | {max_steady} / {max_phase} | {:.0}% | {} | {} | {} | {} |",
                imp.label(),
                rs.len(),
                spread(&join, 1),
                num(lat_med * 1e3, 0),
                num(lat_max * 1e3, 0),
                num(lat_med / interval, 1),
                num(lat_max / interval, 1),
                spread(&rate, 1),
                num(median(&run_rounds).unwrap_or(f64::NAN), 1),
                num(min_max(&run_rounds).map_or(f64::NAN, |m| m.1), 1),
                spread(&bytes, 0),
                spread(&dgrams, 1),
                100.0 * over as f64 / total.max(1) as f64,
                spread(&cpu, 2),
                spread(&bpr, 0),
                spread(&cpr, 0),
                spread(&kdrops, 1),
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Ratios ours / chitchat, computed within each run, then median [min–max] over runs:"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| N | ours | versus | time to all nodes (median) | rounds actually run (median) | bytes/node/s | datagrams/node/s | CPU per node | bytes per node-round | CPU per node-round |"
    );
    let _ = writeln!(out, "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        for (mine, other) in [Impl::Ours, Impl::OursCompressed]
            .into_iter()
            .flat_map(|m| [(m, Impl::ChitchatV0), (m, Impl::ChitchatV1)])
        {
            let mut lat = Vec::new();
            let mut rounds = Vec::new();
            let mut bpr = Vec::new();
            let mut cpr = Vec::new();
            let mut bytes = Vec::new();
            let mut dgrams = Vec::new();
            let mut cpu = Vec::new();
            for ours in results.iter().filter(|r| r.n == n && r.imp == mine) {
                let Some(theirs) = results
                    .iter()
                    .find(|r| r.n == n && r.imp == other && r.run == ours.run)
                else {
                    continue;
                };
                if let (Some(a), Some(b)) = (ours.median_latency(), theirs.median_latency()) {
                    lat.push(a / b);
                }
                if let (Some(a), Some(b)) = (
                    ours.median_achieved_rounds(),
                    theirs.median_achieved_rounds(),
                ) {
                    rounds.push(a / b);
                }
                bpr.push(ours.bytes_per_round() / theirs.bytes_per_round());
                if let (Some(a), Some(b)) = (ours.cpu_us_per_round(), theirs.cpu_us_per_round()) {
                    cpr.push(a / b);
                }
                bytes.push(ours.bytes_per_node_s() / theirs.bytes_per_node_s());
                dgrams.push(ours.datagrams_per_node_s() / theirs.datagrams_per_node_s());
                if let (Some(a), Some(b)) =
                    (ours.cpu_percent_per_node(), theirs.cpu_percent_per_node())
                {
                    cpu.push(a / b);
                }
            }
            if bytes.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "| {n} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                mine.label(),
                other.label(),
                spread(&lat, 2),
                spread(&rounds, 2),
                spread(&bytes, 2),
                spread(&dgrams, 2),
                spread(&cpu, 2),
                spread(&bpr, 2),
                spread(&cpr, 2)
            );
            let m = median(&lat).unwrap_or(f64::NAN);
            let r = median(&rounds).unwrap_or(f64::NAN);
            verdicts.push(Verdict {
                target: format!(
                    "N = {n}: {}: no more rounds than {} to reach all nodes",
                    mine.label(),
                    other.label()
                ),
                met: m <= 1.0 && r <= 1.0,
                detail: format!(
                    "median ratio ours/theirs: wall time {m:.2}, rounds actually run {r:.2}"
                ),
            });
            let b = median(&bytes).unwrap_or(f64::NAN);
            if n == *sizes.last().unwrap_or(&n) {
                let (limit, what) = if other == Impl::ChitchatV0 {
                    (0.5, "at most half of chitchat's uncompressed bytes/node/s")
                } else {
                    (1.0, "no more bytes/node/s than chitchat's compressed mode")
                };
                verdicts.push(Verdict {
                    target: format!("N = {n}: {}: {what}", mine.label()),
                    met: b <= limit,
                    detail: format!("median ratio = {b:.2} (limit {limit})"),
                });
            }
        }
    }
    for &n in &sizes {
        let ours_max = results
            .iter()
            .filter(|r| r.n == n && r.imp.is_ours())
            .map(|r| r.max_datagram_phase)
            .max()
            .unwrap_or(0);
        let chit_max = results
            .iter()
            .filter(|r| r.n == n && !r.imp.is_ours())
            .map(|r| r.max_datagram_phase)
            .max()
            .unwrap_or(0);
        verdicts.push(Verdict {
            target: format!("N = {n}: every datagram of ours within {MTU} bytes"),
            met: ours_max <= MTU as u64,
            detail: format!("largest: ours {ours_max} B, chitchat {chit_max} B"),
        });
    }
    (out, verdicts)
}

/// The loss results as a markdown table.
pub fn loss_report(results: &[LossResult], p: &Params) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} writes from node 0, one per {} ms, then a budget of {} s; a write counts if every node has it at the end. Loss is per datagram, on the sending side, switched on after the cluster joined.",
        p.loss_writes,
        p.interval.as_millis(),
        p.budget.as_secs_f64()
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| N | loss | implementation | runs | writes at every node, % (median [min–max]) | delivered / written (all runs) | bytes/node/s | notes |"
    );
    let _ = writeln!(out, "|---:|---:|---|---:|---:|---:|---:|---|");
    let mut keys: Vec<(usize, u64, LossImpl)> = results
        .iter()
        .map(|r| (r.n, (r.loss * 1e6) as u64, r.imp))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    for (n, loss_ppm, imp) in keys {
        let rs: Vec<&LossResult> = results
            .iter()
            .filter(|r| r.n == n && (r.loss * 1e6) as u64 == loss_ppm && r.imp == imp)
            .collect();
        let share: Vec<f64> = rs.iter().map(|r| r.share()).collect();
        let bytes: Vec<f64> = rs.iter().map(|r| r.bytes_per_node_s()).collect();
        let delivered: usize = rs.iter().map(|r| r.delivered).sum();
        let written: usize = rs.iter().map(|r| r.writes).sum();
        let joins_failed = rs.iter().filter(|r| r.join.is_none()).count();
        let mut notes = Vec::new();
        if let Some(tx) = rs.iter().find_map(|r| r.max_transmissions) {
            notes.push(format!("max_transmissions {tx}"));
        }
        let kd: u64 = rs.iter().filter_map(|r| r.kernel_drops).sum();
        let sent: u64 = rs.iter().map(|r| r.counts.datagrams).sum();
        notes.push(format!(
            "kernel receive-buffer drops {:.1}% of datagrams",
            100.0 * kd as f64 / sent.max(1) as f64
        ));
        if joins_failed > 0 {
            notes.push(format!("{joins_failed} run(s) had not fully joined"));
        }
        let _ = writeln!(
            out,
            "| {n} | {:.0}% | {} | {} | {} | {delivered} / {written} | {} | {} |",
            loss_ppm as f64 / 1e4,
            imp.label(),
            rs.len(),
            spread(&share, 1),
            spread(&bytes, 0),
            notes.join("; ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_sorts_timeouts_last_and_averages_the_middle_pair() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[f64::INFINITY, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[]), None);
    }
}
