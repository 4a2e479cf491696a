//! `gossip-swarm`: swarm verification of the gossip model: many diversified, bounded searches as
//! independent processes (`plan`, `run`, `merge`). See `docs/checking.md`, "Swarm
//! verification". Exit codes: 0 done (merge: nothing alarming), 1 merge: a shard found a
//! violation or a failed expectation, 2 bad arguments, 3 internal error.

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use gossip_model::{GossipConfig, Variant};
use gossip_proofs::check::Progress;
use gossip_proofs::gossip as adapter;
use gossip_proofs::report::{self, Expected, Status, Verdict};
use gossip_proofs::swarm::{self, PlanOptions, Search};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Swarm verification of the gossip model: plan diversified bounded searches, run them as
/// independent processes (on one machine or many), merge their results.
#[derive(Parser, Debug)]
#[command(name = "gossip-swarm", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a shard list (JSON lines, one shard per line) for a configuration.
    Plan {
        /// The shard list to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Number of shards.
        #[arg(long, default_value_t = 8)]
        shards: usize,
        /// Searches to mix, comma-separated: dfs (random successor order), walk (random
        /// walks), bfs (at most one shard, shard 0).
        #[arg(long, value_delimiter = ',', default_value = "bfs,dfs,walk")]
        searches: Vec<Search>,
        /// Depth bounds to cycle through, comma-separated (0: unbounded).
        #[arg(long, value_delimiter = ',', default_value = "0,40,20")]
        depths: Vec<usize>,
        /// State budget of each shard (generated states).
        #[arg(long, default_value_t = 200_000)]
        max_states: usize,
        /// Base seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Record 1 in 2^N expanded states' fingerprints for the coverage estimate (0: all).
        #[arg(long, default_value_t = 0)]
        sample_bits: u32,
        /// Check only this property (each search stops when it finds it).
        #[arg(long, value_name = "NAME")]
        property: Option<String>,
        /// Judge a seeded-bug variant against the correct protocol's expectations.
        #[arg(long)]
        expect_correct: bool,
        #[command(flatten)]
        model: Box<ModelArgs>,
    },
    /// Run shards of a shard list, writing one JSON result per shard.
    Run {
        /// The shard list.
        #[arg(long, value_name = "FILE")]
        shard_list: PathBuf,
        /// The shards to run: one number, or a range A..B (B excluded) or A..=B.
        #[arg(long, value_name = "I|A..B")]
        shard: String,
        /// The directory of the results (`shard-<id>.json`), created if needed.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// No progress output on stderr.
        #[arg(long)]
        quiet: bool,
    },
    /// Merge the results in a directory: union of discoveries, coverage, exit 1 on a violation
    /// or a failed expectation.
    Merge {
        /// The results' directory.
        dir: PathBuf,
        /// Also write the merged result as JSON.
        #[arg(long, value_name = "PATH")]
        json: Option<PathBuf>,
        /// Print every discovery's shortest trace, not only the violations'.
        #[arg(long)]
        show_examples: bool,
    },
}

/// The model configuration of a plan (the options of `gossip-check`).
#[derive(Args, Debug)]
struct ModelArgs {
    /// Start from this JSON GossipConfig instead of the built-in default.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Options that override fields of the configuration.
    #[command(flatten)]
    overrides: adapter::ConfigOverrides,
    /// A protocol variant (`gossip-check --list-variants`); without --config a seeded bug starts
    /// from its witness configuration.
    #[arg(long, value_name = "NAME")]
    variant: Option<String>,
}

/// An error caused by the command line (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("gossip-swarm: error: {err:#}");
            let usage = err.chain().any(|e| {
                e.is::<Usage>()
                    || matches!(
                        e.downcast_ref::<swarm::SwarmError>(),
                        Some(swarm::SwarmError::Plan(_) | swarm::SwarmError::File { .. })
                    )
            });
            ExitCode::from(if usage { 2 } else { 3 })
        }
    }
}

fn real_main(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Plan {
            out,
            shards,
            searches,
            depths,
            max_states,
            seed,
            sample_bits,
            property,
            expect_correct,
            model,
        } => {
            let cfg = build_config(&model)?;
            if let Some(name) = &property {
                let m = cfg.clone().into_model();
                let known: Vec<&str> = stateright::Model::properties(&m)
                    .iter()
                    .map(|p| p.name)
                    .collect();
                if !known.contains(&name.as_str()) {
                    return Err(Usage(format!(
                        "unknown property {name:?}; the properties are: {known:?}"
                    ))
                    .into());
                }
            }
            let opts = PlanOptions {
                shards,
                searches,
                depths,
                max_states,
                seed,
                sample_bits,
                property,
                expect_correct,
            };
            let plan = swarm::plan(&cfg, &opts)?;
            std::fs::write(&out, swarm::write_plan(&plan))
                .map_err(|e| Usage(format!("--out {}: {e}", out.display())))?;
            println!(
                "gossip-swarm: {} shards for {} (configuration {}) written to {}",
                plan.len(),
                adapter::summarize(&cfg),
                swarm::config_hash(&cfg),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            shard_list,
            shard,
            out,
            quiet,
        } => {
            let plan = swarm::read_plan(&shard_list)?;
            let ids = parse_range(&shard, plan.len())?;
            std::fs::create_dir_all(&out)
                .map_err(|e| Usage(format!("--out {}: {e}", out.display())))?;
            for id in ids {
                let s = &plan[id];
                let progress = if quiet { Progress::Off } else { Progress::Auto };
                let result = swarm::run_shard(s, progress)?;
                let path = out.join(format!("shard-{id}.json"));
                let text = serde_json::to_string(&result).context("serialising a result")?;
                std::fs::write(&path, text + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
                let found: Vec<String> = result
                    .properties
                    .iter()
                    .filter(|p| matches!(p.status, Status::Violated))
                    .map(|p| format!("{:?}", p.name))
                    .collect();
                println!(
                    "shard {id}: {} seed {} depth bound {}: {} distinct states expanded, depth {}, \
                     {:.1} s{}{}",
                    s.search.as_str(),
                    s.seed,
                    s.max_depth.map_or("none".to_string(), |d| d.to_string()),
                    report::group(result.expanded),
                    result.states.max_depth,
                    result.seconds,
                    if result.exhaustive {
                        ", exhaustive"
                    } else {
                        ""
                    },
                    if found.is_empty() {
                        String::new()
                    } else {
                        format!(", VIOLATED: {}", found.join(", "))
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Merge {
            dir,
            json,
            show_examples,
        } => merge(&dir, json.as_deref(), show_examples),
    }
}

fn parse_range(text: &str, len: usize) -> Result<std::ops::Range<usize>> {
    let bad = || Usage(format!("--shard {text:?}: expected I, A..B or A..=B"));
    let range = if let Some((a, b)) = text.split_once("..=") {
        let a: usize = a.parse().map_err(|_| bad())?;
        let b: usize = b.parse().map_err(|_| bad())?;
        a..b + 1
    } else if let Some((a, b)) = text.split_once("..") {
        a.parse().map_err(|_| bad())?..b.parse().map_err(|_| bad())?
    } else {
        let i: usize = text.parse().map_err(|_| bad())?;
        i..i + 1
    };
    if range.start >= range.end || range.end > len {
        return Err(Usage(format!(
            "--shard {text:?}: the shard list has shards 0..{len} (0..={})",
            len.saturating_sub(1)
        ))
        .into());
    }
    Ok(range)
}

fn merge(dir: &Path, json: Option<&Path>, show_examples: bool) -> Result<ExitCode> {
    let results = swarm::read_results(dir)?;
    if results.is_empty() {
        return Err(Usage(format!("{}: no shard results (*.json)", dir.display())).into());
    }
    let merged = swarm::merge(&results);
    let cfg: &GossipConfig = &results[0].shard.config;
    println!(
        "gossip-swarm: {} shard results in {} for {}",
        merged.shards,
        dir.display(),
        adapter::summarize(cfg)
    );
    if merged.config_hashes.len() > 1 {
        println!(
            "warning: the results are of {} different configurations ({}); the coverage \
             below mixes them",
            merged.config_hashes.len(),
            merged.config_hashes.join(", ")
        );
    }
    println!();
    println!(
        "{:>5}  {:<6} {:>20}  {:>5}  {:>12}  {:>5}  {:>8}  found",
        "shard", "search", "seed", "bound", "states", "depth", "seconds"
    );
    for r in &results {
        let found = r
            .properties
            .iter()
            .filter(|p| matches!(p.status, Status::Violated | Status::Found))
            .count();
        println!(
            "{:>5}  {:<6} {:>20}  {:>5}  {:>12}  {:>5}  {:>8.1}  {found}{}",
            r.shard.id,
            r.shard.search.as_str(),
            r.shard.seed,
            r.shard.max_depth.map_or("-".to_string(), |d| d.to_string()),
            report::group(r.expanded),
            r.states.max_depth,
            r.seconds,
            if r.exhaustive { " (exhaustive)" } else { "" }
        );
    }
    println!();
    let overlap = if merged.expanded_sum > 0 {
        // The estimate is sampled, so it can exceed the sum by a little.
        (100.0 * (1.0 - merged.distinct_estimate as f64 / merged.expanded_sum as f64)).max(0.0)
    } else {
        0.0
    };
    println!(
        "coverage: {} distinct states across shards{} (the shards expanded {} in sum, so \
         {overlap:.0}% of the work revisited states another shard had); {:.1} s wall, {:.1} s \
         in shards",
        report::group(merged.distinct_estimate),
        if merged.sample_bits > 0 {
            format!(
                " (estimated: {} sampled fingerprints × 2^{})",
                report::group(merged.distinct_sampled),
                merged.sample_bits
            )
        } else {
            String::new()
        },
        report::group(merged.expanded_sum),
        merged.wall_seconds,
        merged.shard_seconds
    );
    if !merged.exhaustive_shards.is_empty() {
        println!(
            "exhaustive shards (their `holds` and `not found` are proofs): {:?}",
            merged.exhaustive_shards
        );
    }
    println!();
    for p in &merged.properties {
        let status = match p.status {
            Status::Violated | Status::Found => format!(
                "{} by {} shard{} {:?}{}",
                p.status.as_text(),
                p.found_by.len(),
                if p.found_by.len() == 1 { "" } else { "s" },
                p.found_by,
                p.first_after
                    .map(|t| format!(", first after {t:.2} s"))
                    .unwrap_or_default()
            ),
            Status::Unknown if p.expected == Expected::NotFound => {
                "unknown (expected: not reachable in this configuration)".to_string()
            }
            other => other.as_text().to_string(),
        };
        println!(
            "  {:<9} {:<8} {:?}: {status}",
            match p.verdict {
                Verdict::Met => "ok",
                Verdict::Failed => "FAILED",
                Verdict::Inconclusive => "??",
            },
            p.kind.as_str(),
            p.name
        );
        let show = p.status == Status::Violated || show_examples;
        if let (true, Some((shard, trace))) = (show, &p.shortest) {
            println!(
                "    shortest trace ({} steps, shard {shard}):",
                trace.len() - 1
            );
            let actions: Vec<gossip_model::GossipAction> = trace
                .iter()
                .filter_map(|s| s.action.clone())
                .filter_map(|a| serde_json::from_value(a).ok())
                .collect();
            let model = cfg.clone().into_model();
            for line in gossip_model::format::run(&model, &actions).lines() {
                println!("    {line}");
            }
        }
    }
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&merged).context("serialising the merge")?;
        std::fs::write(path, text + "\n")
            .map_err(|e| Usage(format!("--json {}: {e}", path.display())))?;
    }
    println!();
    if merged.alarm {
        println!("result: FAILED: a shard found a violation or a failed expectation");
        Ok(ExitCode::from(1))
    } else {
        println!("result: no violation found (a swarm is not exhaustive: unknown is not holds)");
        Ok(ExitCode::SUCCESS)
    }
}

/// The configuration from the options, as `gossip-check` builds it.
fn build_config(args: &ModelArgs) -> Result<GossipConfig> {
    let variant = match &args.variant {
        Some(name) => Some(Variant::from_name(name).ok_or_else(|| {
            let names: Vec<_> = Variant::all().iter().map(|v| v.name()).collect();
            Usage(format!(
                "unknown variant {name:?}; the variants are: {}",
                names.join(", ")
            ))
        })?),
        None => None,
    };
    let mut cfg = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Usage(format!("--config {}: {e}", path.display())))?;
            let mut cfg: GossipConfig = serde_json::from_str(&text)
                .map_err(|e| Usage(format!("--config {}: {e}", path.display())))?;
            if let Some(v) = variant {
                cfg.variant = v;
            }
            cfg
        }
        None => adapter::base_config(variant),
    };
    args.overrides.apply(&mut cfg).map_err(Usage)?;
    cfg.validate()
        .map_err(|e| Usage(format!("invalid configuration: {e}")))?;
    Ok(cfg)
}
