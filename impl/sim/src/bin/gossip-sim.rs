//! `gossip-sim`: runs scenarios of the real core, prints the comparison tables, renders the
//! plots of `docs/results/`.
//!
//! ```text
//! gossip-sim scenario > s.json                 # the default scenario, as JSON
//! gossip-sim run s.json                        # one run of the real core; JSON report
//! gossip-sim table                             # full tables (docs/results/README.md)
//! gossip-sim table --quick                     # small version
//! gossip-sim plot --out docs/results           # SVG plots
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use gossip_sim::core_sim::{CoreSim, Scenario};
use gossip_sim::engine::peak_memory_kib;
use gossip_sim::experiments::{self as ex};
use gossip_sim::svg::{Chart, Series};
use gossip_sim::textbook::{self, Variant};

#[derive(Parser)]
#[command(about = "Deterministic discrete-event simulator for the gossip protocol")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Prints the default scenario as JSON (a template for `run`).
    Scenario,
    /// Runs one scenario of the real core (JSON file, `-` for stdin) and prints its report.
    Run {
        /// Scenario file.
        scenario: PathBuf,
        /// Overrides the scenario's node count.
        #[arg(long)]
        nodes: Option<usize>,
        /// Overrides the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Prints the Markdown tables.
    Table {
        /// Small sizes and few seeds (about a minute).
        #[arg(long)]
        quick: bool,
        /// Sizes for the textbook variants.
        #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
        sizes: Vec<usize>,
        /// Seeds averaged for the textbook variants.
        #[arg(long, default_value_t = 20)]
        seeds: u64,
        /// Sizes for the real core.
        #[arg(long, value_delimiter = ',', default_value = "100,300,1000")]
        core_sizes: Vec<usize>,
        /// Seeds averaged for the real core.
        #[arg(long, default_value_t = 1)]
        core_seeds: u64,
        /// Only these sections (textbook, rumor, core, fd); all by default.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Renders the SVG plots into a directory.
    Plot {
        /// Output directory.
        #[arg(long, default_value = "docs/results")]
        out: PathBuf,
        /// Seeds averaged.
        #[arg(long, default_value_t = 20)]
        seeds: u64,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Scenario => {
            println!("{}", serde_json::to_string_pretty(&Scenario::default())?);
        }
        Cmd::Run {
            scenario,
            nodes,
            seed,
        } => {
            let text = if scenario.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&scenario)
                    .with_context(|| format!("reading {}", scenario.display()))?
            };
            let mut sc: Scenario = serde_json::from_str(&text).context("parsing the scenario")?;
            if let Some(n) = nodes {
                sc.nodes = n;
            }
            if let Some(s) = seed {
                sc.seed = s;
            }
            let t = Instant::now();
            let report = CoreSim::new(sc)?.run()?;
            eprintln!("wall time {:.1} s", t.elapsed().as_secs_f64());
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Cmd::Table {
            quick,
            mut sizes,
            mut seeds,
            mut core_sizes,
            mut core_seeds,
            only,
        } => {
            if quick {
                sizes = vec![1000];
                seeds = 5;
                core_sizes = vec![100];
                core_seeds = 1;
            }
            let want = |s: &str| only.is_empty() || only.iter().any(|o| o == s);
            if want("textbook") {
                println!("## Anti-entropy of one rumor (textbook variants, {seeds} seeds)\n");
                let mut rows = Vec::new();
                for &n in &sizes {
                    for v in [Variant::Push, Variant::Pull, Variant::PushPull] {
                        let t = Instant::now();
                        rows.push(ex::anti_entropy_row(v, n, seeds));
                        eprintln!("{} N={n}: {:.1} s", v.name(), t.elapsed().as_secs_f64());
                    }
                }
                println!("{}", ex::ae_markdown(&rows));
                println!(
                    "peak RSS of the process so far: {} MiB\n",
                    peak_memory_kib().map_or(0, |k| k / 1024)
                );
            }
            if want("rumor") {
                println!("## Rumor mongering, feedback + coin ({seeds} seeds)\n");
                let mut rows = Vec::new();
                for &n in sizes.iter().filter(|&&n| n <= 10_000) {
                    for k in 1..=4 {
                        rows.push(ex::rumor_row(n, k, seeds));
                    }
                }
                println!("{}", ex::rm_markdown(&rows));
            }
            if want("core") {
                println!(
                    "## The real core (push-pull, fanout 1, 1 s interval, 1–10 ms latency, no loss; node 1 crashes 10 s after convergence)\n"
                );
                let mut runs = Vec::new();
                for &n in &core_sizes {
                    let t = Instant::now();
                    runs.push((n, ex::core_runs(n, core_seeds)?));
                    eprintln!("core N={n}: {:.1} s", t.elapsed().as_secs_f64());
                }
                println!("{}", ex::core_markdown(&runs));
            }
            if want("fd") {
                let (n, secs) = if quick { (10, 300) } else { (20, 3_600) };
                let thresholds = [1.0, 2.0, 4.0, 8.0, 12.0];
                let losses = [0.0, 0.1, 0.3];
                println!("## Phi-accrual detection latency (N = {n}, node 0 crashes at 60 s)\n");
                println!(
                    "{}",
                    ex::detection_markdown(&ex::detection_rows(n, &thresholds, &losses, 1)?)
                );
                println!("## Phi-accrual false positives\n");
                println!(
                    "{}",
                    ex::fp_markdown(&ex::fp_rows(n, &thresholds, &losses, 1, secs)?, n, secs)
                );
            }
        }
        Cmd::Plot { out, seeds } => {
            std::fs::create_dir_all(&out)?;
            let cmd = format!(
                "cargo run --release -p gossip-sim --bin gossip-sim -- plot --out {} --seeds {seeds}",
                out.display()
            );
            // 1. informed fraction per round, N = 10,000.
            let n = 10_000;
            let series = [Variant::Push, Variant::Pull, Variant::PushPull]
                .into_iter()
                .map(|v| {
                    let row = ex::anti_entropy_row(v, n, seeds);
                    Series {
                        label: v.name().into(),
                        points: row
                            .curve
                            .iter()
                            .enumerate()
                            .map(|(i, &f)| (i as f64, f))
                            .collect(),
                        dashed: false,
                    }
                })
                .collect();
            let c = Chart {
                title: format!("Anti-entropy of one rumor, N = {n}, mean of {seeds} seeds"),
                x_label: "round".into(),
                y_label: "informed fraction".into(),
                series,
                log_y: false,
                caption: cmd.clone(),
            };
            std::fs::write(out.join("anti_entropy_curve.svg"), c.render())?;
            // 2. rounds to 100% vs N, with the papers' predictions.
            let sizes = [100usize, 300, 1000, 3000, 10_000, 30_000, 100_000];
            let mut series = Vec::new();
            for v in [Variant::Push, Variant::PushPull] {
                series.push(Series {
                    label: format!("{} measured", v.name()),
                    points: sizes
                        .iter()
                        .map(|&n| {
                            let s = if n > 10_000 { seeds.min(5) } else { seeds };
                            ((n as f64).log10(), ex::anti_entropy_row(v, n, s).rounds_100)
                        })
                        .collect(),
                    dashed: false,
                });
            }
            series.push(Series {
                label: "log2 N + ln N".into(),
                points: sizes
                    .iter()
                    .map(|&n| ((n as f64).log10(), textbook::pittel_push_rounds(n)))
                    .collect(),
                dashed: true,
            });
            series.push(Series {
                label: "log3 N + ln ln N".into(),
                points: sizes
                    .iter()
                    .map(|&n| ((n as f64).log10(), textbook::karp_push_pull_rounds(n)))
                    .collect(),
                dashed: true,
            });
            let c = Chart {
                title: "Rounds until everyone knows the rumor".into(),
                x_label: "log10 N".into(),
                y_label: "rounds".into(),
                series,
                log_y: false,
                caption: cmd.clone(),
            };
            std::fs::write(out.join("rounds_vs_n.svg"), c.render())?;
            // 3. rumor-mongering residue vs k.
            let mut series = Vec::new();
            for n in [1000usize, 10_000] {
                series.push(Series {
                    label: format!("measured, N = {n}"),
                    points: (1..=4)
                        .map(|k| (k as f64, ex::rumor_row(n, k, seeds).residue))
                        .collect(),
                    dashed: false,
                });
            }
            series.push(Series {
                label: "s = e^-(k+1)(1-s)".into(),
                points: (1..=4)
                    .map(|k| (k as f64, textbook::demers_residue(k)))
                    .collect(),
                dashed: true,
            });
            let c = Chart {
                title: "Rumor mongering (feedback + coin): residue".into(),
                x_label: "k".into(),
                y_label: "residue s (log scale)".into(),
                series,
                log_y: true,
                caption: cmd,
            };
            std::fs::write(out.join("rumor_residue.svg"), c.render())?;
            eprintln!("wrote 3 plots to {}", out.display());
        }
    }
    Ok(())
}
