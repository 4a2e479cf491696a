//! `gossip-compare`: runs ours, chitchat 0.13 and foca 2 side by side on loopback UDP and
//! prints markdown tables (see docs/results/README.md for the command and the results).

use std::time::Duration;

use anyhow::bail;
use clap::Parser;
use gossip_compare::bench::{
    Impl, LossImpl, Params, convergence_phase, convergence_report, loss_phase, loss_report,
};
use gossip_compare::cpu::load_average;

/// Side-by-side benchmark: ours vs chitchat 0.13 (convergence, bytes, CPU) and ours vs foca 2
/// (delivery under loss).
#[derive(Parser, Debug)]
#[command(name = "gossip-compare")]
struct Args {
    /// Cluster sizes of the convergence experiment.
    #[arg(long, value_delimiter = ',', default_value = "10,50,100")]
    nodes: Vec<usize>,
    /// Gossip interval of every implementation, in milliseconds.
    #[arg(long, default_value_t = 100)]
    interval_ms: u64,
    /// Peers per round for ours and foca's periodic gossip (chitchat's is fixed at 3).
    #[arg(long, default_value_t = 3)]
    fanout: usize,
    /// Repetitions of every phase (fresh clusters each time).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Keys each node owns from the start (convergence experiment).
    #[arg(long, default_value_t = 2)]
    keys_per_node: usize,
    /// Writes timed per convergence phase.
    #[arg(long, default_value_t = 5)]
    writes: usize,
    /// Steady-state window, seconds.
    #[arg(long, default_value_t = 5.0)]
    window_s: f64,
    /// Wait after membership converged, before the window, seconds.
    #[arg(long, default_value_t = 2.0)]
    settle_s: f64,
    /// Longest wait for membership to converge, seconds.
    #[arg(long, default_value_t = 30.0)]
    join_timeout_s: f64,
    /// Longest wait for one write to reach every node, seconds.
    #[arg(long, default_value_t = 10.0)]
    write_timeout_s: f64,
    /// Cluster size of the loss experiment (ours vs foca).
    #[arg(long, default_value_t = 50)]
    loss_nodes: usize,
    /// Loss probabilities of the loss experiment.
    #[arg(long, value_delimiter = ',', default_value = "0,0.05,0.2")]
    loss: Vec<f64>,
    /// Writes per loss phase.
    #[arg(long, default_value_t = 40)]
    loss_writes: usize,
    /// Wall-clock budget after the last write of a loss phase, seconds.
    #[arg(long, default_value_t = 10.0)]
    budget_s: f64,
    /// Implementations of the convergence experiment: any of ours, oursz (ours with
    /// compressed frames), v0, v1.
    #[arg(long, value_delimiter = ',', default_value = "ours,oursz,v0,v1")]
    impls: Vec<String>,
    /// Ours: `Config::max_digest_len` in bytes (default: the core's default).
    #[arg(long)]
    max_digest_len: Option<usize>,
    /// Skip the convergence experiment (ours vs chitchat).
    #[arg(long)]
    skip_convergence: bool,
    /// Skip the loss experiment (ours vs foca).
    #[arg(long)]
    skip_loss: bool,
}

fn secs(s: f64, what: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).map_err(|e| anyhow::anyhow!("--{what}: {e}"))
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let a = Args::parse();
    if a.nodes.iter().any(|&n| n < 2) || a.loss_nodes < 2 {
        bail!("cluster sizes must be at least 2");
    }
    if a.fanout == 0 || a.interval_ms == 0 || a.runs == 0 {
        bail!("--fanout, --interval-ms and --runs must be positive");
    }
    if a.loss.iter().any(|l| !(0.0..=1.0).contains(l)) {
        bail!("--loss values must be between 0 and 1");
    }
    let p = Params {
        interval: Duration::from_millis(a.interval_ms),
        fanout: a.fanout,
        keys_per_node: a.keys_per_node,
        join_timeout: secs(a.join_timeout_s, "join-timeout-s")?,
        settle: secs(a.settle_s, "settle-s")?,
        window: secs(a.window_s, "window-s")?,
        writes: a.writes,
        write_timeout: secs(a.write_timeout_s, "write-timeout-s")?,
        loss_writes: a.loss_writes,
        budget: secs(a.budget_s, "budget-s")?,
        max_digest_len: a.max_digest_len,
    };
    let mut impls = Vec::new();
    for name in &a.impls {
        impls.push(match name.as_str() {
            "ours" => Impl::Ours,
            "oursz" => Impl::OursCompressed,
            "v0" => Impl::ChitchatV0,
            "v1" => Impl::ChitchatV1,
            other => bail!("--impls: unknown implementation {other:?} (ours, oursz, v0, v1)"),
        });
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = std::time::Instant::now();
    let load_before = load_average();
    let mut conv = Vec::new();
    let mut loss = Vec::new();
    rt.block_on(async {
        for run in 0..a.runs {
            if !a.skip_convergence {
                for &n in &a.nodes {
                    for imp in Impl::ALL {
                        if !impls.contains(&imp) {
                            continue;
                        }
                        let r = convergence_phase(imp, n, run, &p).await?;
                        eprintln!(
                            "run {run} N={n} {}: join {:?}, {:.0} B/node/s, {:.1} dgrams/node/s, max {} B, cpu {:?}%/node, {:.1} rounds/node/s, latencies {:?}, partial {:?}",
                            imp.label(),
                            r.join,
                            r.bytes_per_node_s(),
                            r.datagrams_per_node_s(),
                            r.max_datagram_phase,
                            r.cpu_percent_per_node(),
                            r.rounds_per_node_s,
                            r.latencies,
                            r.partial
                        );
                        conv.push(r);
                    }
                }
            }
            if !a.skip_loss {
                for &l in &a.loss {
                    for imp in [LossImpl::Ours, LossImpl::Foca] {
                        let r = loss_phase(imp, a.loss_nodes, l, run, &p).await?;
                        eprintln!(
                            "run {run} loss N={} p={l} {}: join {:?}, {}/{} at every node, {:.0} B/node/s",
                            a.loss_nodes,
                            imp.label(),
                            r.join,
                            r.delivered,
                            r.writes,
                            r.bytes_per_node_s()
                        );
                        loss.push(r);
                    }
                }
            }
        }
        anyhow::Ok(())
    })?;
    println!(
        "gossip-compare: interval {} ms, fanout {} (chitchat: 3), {} run(s), {} key(s)/node, ours' max_digest_len {}; load average before: {load_before}; after: {}; wall time {:.0} s",
        a.interval_ms,
        a.fanout,
        a.runs,
        a.keys_per_node,
        a.max_digest_len
            .map_or_else(|| "default".to_owned(), |l| l.to_string()),
        load_average(),
        started.elapsed().as_secs_f64()
    );
    println!();
    if !conv.is_empty() {
        let (table, verdicts) = convergence_report(&conv, &p);
        println!("{table}");
        for v in verdicts {
            println!(
                "- {}: {} ({})",
                v.target,
                if v.met { "met" } else { "MISSED" },
                v.detail
            );
        }
        println!();
    }
    if !loss.is_empty() {
        println!("{}", loss_report(&loss, &p));
    }
    Ok(())
}
