//! The averaged experiments behind the tables and plots of `docs/results/`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::core_sim::{Action, CoreReport, CoreSim, Scenario, TimedAction};
use crate::engine::NetModel;
use crate::error::SimError;
use crate::phi::{self, DetectionRow, FalsePositiveRow};
use crate::textbook::{self, Variant};

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Anti-entropy averages for one variant and size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AeRow {
    /// Variant.
    pub variant: Variant,
    /// Nodes.
    pub n: usize,
    /// Seeds averaged.
    pub seeds: usize,
    /// Mean rounds to 50%.
    pub rounds_50: f64,
    /// Mean rounds to 99%.
    pub rounds_99: f64,
    /// Mean rounds to 100%.
    pub rounds_100: f64,
    /// The paper's prediction for rounds to 100%, where there is one.
    pub predicted_100: Option<f64>,
    /// Messages per node until everyone knew.
    pub msgs_per_node: f64,
    /// Rumor-carrying messages per node until everyone knew.
    pub rumor_msgs_per_node: f64,
    /// Mean informed fraction after each round (for plots).
    pub curve: Vec<f64>,
}

/// Averages [`textbook::anti_entropy`] over seeds `1..=seeds`.
pub fn anti_entropy_row(variant: Variant, n: usize, seeds: u64) -> AeRow {
    let runs: Vec<_> = (1..=seeds)
        .map(|s| textbook::anti_entropy(variant, n, s, &NetModel::default(), 10_000))
        .collect();
    let f = |g: &dyn Fn(&textbook::AntiEntropyReport) -> f64| {
        mean(&runs.iter().map(g).collect::<Vec<_>>())
    };
    let len = runs.iter().map(|r| r.curve.len()).max().unwrap_or(0);
    let curve = (0..len)
        .map(|i| {
            mean(
                &runs
                    .iter()
                    .map(|r| *r.curve.get(i).or(r.curve.last()).unwrap_or(&0) as f64 / n as f64)
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    AeRow {
        variant,
        n,
        seeds: runs.len(),
        rounds_50: f(&|r| r.rounds_50.map_or(f64::NAN, f64::from)),
        rounds_99: f(&|r| r.rounds_99.map_or(f64::NAN, f64::from)),
        rounds_100: f(&|r| r.rounds_100.map_or(f64::NAN, f64::from)),
        predicted_100: match variant {
            Variant::Push => Some(textbook::pittel_push_rounds(n)),
            Variant::PushPull => Some(textbook::karp_push_pull_rounds(n)),
            Variant::Pull => None,
        },
        msgs_per_node: f(&|r| r.messages as f64 / n as f64),
        rumor_msgs_per_node: f(&|r| r.rumor_messages as f64 / n as f64),
        curve,
    }
}

/// Rumor-mongering averages for one k.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RmRow {
    /// Nodes.
    pub n: usize,
    /// k.
    pub k: u32,
    /// Seeds averaged.
    pub seeds: usize,
    /// Mean residue.
    pub residue: f64,
    /// Demers' `s = exp(-(k+1)(1-s))`.
    pub predicted: f64,
    /// Mean traffic (pushes per node).
    pub traffic: f64,
    /// Mean rounds until no node was infective.
    pub rounds: f64,
}

/// Averages [`textbook::rumor_mongering`] over seeds `1..=seeds`.
pub fn rumor_row(n: usize, k: u32, seeds: u64) -> RmRow {
    let runs: Vec<_> = (1..=seeds)
        .map(|s| textbook::rumor_mongering(n, k, s, &NetModel::default()))
        .collect();
    // Runs in which the rumor died at the first node are not epidemics; they are kept (they
    // are part of the process), which is what Demers' simulations average too.
    RmRow {
        n,
        k,
        seeds: runs.len(),
        residue: mean(&runs.iter().map(|r| r.residue).collect::<Vec<_>>()),
        predicted: textbook::demers_residue(k),
        traffic: mean(&runs.iter().map(|r| r.traffic).collect::<Vec<_>>()),
        rounds: mean(&runs.iter().map(|r| r.rounds as f64).collect::<Vec<_>>()),
    }
}

/// The real-core scenario used for the spread table: `n` nodes, 1–10 ms uniform latency, no
/// loss, one crash of node 1 ten seconds after convergence (for detection latency).
pub fn core_scenario(n: usize, seed: u64) -> Scenario {
    Scenario {
        nodes: n,
        seed,
        measure_s: 60.0,
        actions: vec![TimedAction {
            at_s: 10.0,
            action: Action::Crash { nodes: vec![1] },
        }],
        ..Scenario::default()
    }
}

/// Runs [`core_scenario`] for seeds `1..=seeds`.
pub fn core_runs(n: usize, seeds: u64) -> Result<Vec<CoreReport>, SimError> {
    (1..=seeds)
        .map(|s| CoreSim::new(core_scenario(n, s))?.run())
        .collect()
}

fn opt(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{x:.1}"))
}

/// A Markdown table: the header, its alignment line (numbers right-aligned; the first column
/// left-aligned when `text_first`), then one line per row of cells.
fn table(header: &[&str], text_first: bool, rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut s = format!("| {} |\n", header.join(" | "));
    let align: Vec<&str> = (0..header.len())
        .map(|i| if i == 0 && text_first { "---" } else { "---:" })
        .collect();
    let _ = writeln!(s, "|{}|", align.join("|"));
    for cells in rows {
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
    s
}

/// Markdown table of anti-entropy rows.
pub fn ae_markdown(rows: &[AeRow]) -> String {
    let header = [
        "variant",
        "N",
        "seeds",
        "rounds 50%",
        "rounds 99%",
        "rounds 100%",
        "paper",
        "msgs/node",
        "rumor msgs/node",
        "rumor msgs/(N ln ln N)",
    ];
    table(
        &header,
        true,
        rows.iter().map(|r| {
            let lnln = (r.n as f64).ln().ln();
            vec![
                r.variant.name().to_string(),
                r.n.to_string(),
                r.seeds.to_string(),
                format!("{:.2}", r.rounds_50),
                format!("{:.2}", r.rounds_99),
                format!("{:.2}", r.rounds_100),
                r.predicted_100.map_or("–".into(), |p| format!("{p:.2}")),
                format!("{:.1}", r.msgs_per_node),
                format!("{:.1}", r.rumor_msgs_per_node),
                format!("{:.2}", r.rumor_msgs_per_node / lnln),
            ]
        }),
    )
}

/// Markdown table of rumor-mongering rows.
pub fn rm_markdown(rows: &[RmRow]) -> String {
    let header = [
        "N",
        "k",
        "seeds",
        "residue s",
        "Demers s = e^-(k+1)(1-s)",
        "traffic m (pushes/node)",
        "(k+1)(1-s)",
        "rounds",
    ];
    table(
        &header,
        false,
        rows.iter().map(|r| {
            vec![
                r.n.to_string(),
                r.k.to_string(),
                r.seeds.to_string(),
                format!("{:.4}", r.residue),
                format!("{:.4}", r.predicted),
                format!("{:.2}", r.traffic),
                format!("{:.2}", (r.k as f64 + 1.0) * (1.0 - r.predicted)),
                format!("{:.1}", r.rounds),
            ]
        }),
    )
}

/// Markdown table of real-core runs (one row per size, averaged over the runs given).
pub fn core_markdown(runs: &[(usize, Vec<CoreReport>)]) -> String {
    let header = [
        "N",
        "seeds",
        "converged after (s)",
        "rounds 50%",
        "rounds 99%",
        "rounds 100%",
        "msgs/node/round",
        "bytes/node/round",
        "largest datagram",
        "detection latency mean / max (s)",
        "undetected pairs",
        "false positives",
        "peak RSS (MiB)",
    ];
    table(
        &header,
        false,
        runs.iter().map(|(n, reps)| {
            let m = |g: &dyn Fn(&CoreReport) -> Option<f64>| {
                let v: Vec<f64> = reps.iter().filter_map(g).collect();
                (v.len() == reps.len() && !v.is_empty()).then(|| mean(&v))
            };
            vec![
                n.to_string(),
                reps.len().to_string(),
                opt(m(&|r| Some(r.converged_after_s))),
                opt(m(&|r| r.spread.rounds_50)),
                opt(m(&|r| r.spread.rounds_99)),
                opt(m(&|r| r.spread.rounds_100)),
                format!(
                    "{:.2}",
                    m(&|r| Some(r.msgs_per_node_round)).unwrap_or(f64::NAN)
                ),
                format!(
                    "{:.0}",
                    m(&|r| Some(r.bytes_per_node_round)).unwrap_or(f64::NAN)
                ),
                reps.iter()
                    .map(|r| r.max_datagram)
                    .max()
                    .unwrap_or(0)
                    .to_string(),
                format!(
                    "{} / {}",
                    opt(m(&|r| r.fd.mean_latency_s)),
                    opt(m(&|r| r.fd.max_latency_s))
                ),
                reps.iter()
                    .map(|r| r.fd.undetected)
                    .sum::<usize>()
                    .to_string(),
                reps.iter()
                    .map(|r| r.fd.false_positives)
                    .sum::<usize>()
                    .to_string(),
                reps.iter()
                    .filter_map(|r| r.vmhwm_kib)
                    .max()
                    .map_or("–".into(), |k| format!("{:.0}", k as f64 / 1024.0)),
            ]
        }),
    )
}

/// Markdown table of detection rows.
pub fn detection_markdown(rows: &[DetectionRow]) -> String {
    let header = [
        "φ threshold",
        "loss",
        "observers",
        "mean interval (s)",
        "σ used (s)",
        "measured: last heartbeat → suspicion (s)",
        "formula (s)",
        "at the predicted tick",
    ];
    table(
        &header,
        false,
        rows.iter().map(|r| {
            vec![
                r.threshold.to_string(),
                r.loss.to_string(),
                r.observers.to_string(),
                format!("{:.2}", r.mean_interval_s),
                format!("{:.2}", r.std_s),
                format!("{:.2}", r.measured_s),
                format!("{:.2}", r.predicted_s),
                format!("{}/{}", r.exact, r.observers),
            ]
        }),
    )
}

/// Markdown table of false-positive rows.
pub fn fp_markdown(rows: &[FalsePositiveRow], n: usize, secs: u64) -> String {
    let header = [
        "φ threshold",
        "loss",
        "heartbeat intervals observed",
        "false suspicions measured",
        "formula (normal arrivals): intervals · 10^-φ",
    ];
    let rows = rows.iter().map(|r| {
        vec![
            r.threshold.to_string(),
            r.loss.to_string(),
            format!("{:.0}", r.intervals),
            r.measured.to_string(),
            format!("{:.3}", r.predicted),
        ]
    });
    format!(
        "N = {n}, {secs} s of virtual time after a 30 s warm-up, no crashes.\n\n{}",
        table(&header, false, rows)
    )
}

/// Detection rows for thresholds × loss rates.
pub fn detection_rows(
    n: usize,
    thresholds: &[f64],
    losses: &[f64],
    seed: u64,
) -> Result<Vec<DetectionRow>, SimError> {
    let mut out = Vec::new();
    for &l in losses {
        for &t in thresholds {
            out.push(phi::detection(n, t, l, seed, 60)?);
        }
    }
    Ok(out)
}

/// False-positive rows for thresholds × loss rates.
pub fn fp_rows(
    n: usize,
    thresholds: &[f64],
    losses: &[f64],
    seed: u64,
    secs: u64,
) -> Result<Vec<FalsePositiveRow>, SimError> {
    let mut out = Vec::new();
    for &l in losses {
        for &t in thresholds {
            out.push(phi::false_positives(n, t, l, seed, secs)?);
        }
    }
    Ok(out)
}
