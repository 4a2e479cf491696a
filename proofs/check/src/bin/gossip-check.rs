//! `gossip-check`: model-checks the gossip protocol's stateright model.
//!
//! See `docs/checking.md` for every option, the output format, the JSON schema and the exit codes
//! (0: every expectation met; 1: a property contradicts its expectation; 2: bad arguments;
//! 3: internal error).

use anyhow::{Result, anyhow};
use clap::{Args, Parser, Subcommand};
use gossip_model::{GossipAction, GossipConfig, Variant};
use gossip_proofs::check::{CheckError, Engine, Inspect, Only, Progress};
use gossip_proofs::fair_run;
use gossip_proofs::gossip as adapter;
use gossip_proofs::report::{RunReport, Status, Verdict};
use gossip_proofs::suite::{self, ConfigurationReport, Limits, Plan, RunError, Suite, SuiteReport};
use serde::Serialize;
use stateright::Checker;
use stateright::Model as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Model-checks the gossip protocol (and a linearizability demo model).
///
/// Without options: runs the default suite (the named configurations `--list-configs` marks
/// `d`, each exhaustively), then the linearizability demo. Model options (`--nodes`, `--faults`,
/// …), engine options (`--checker`, `--symmetry`, …) or `--variant` alone check one
/// configuration instead, as does `--config-name NAME`. Exit codes: 0 every expectation met, 1
/// a property contradicts its expectation, 2 bad arguments, 3 internal error.
#[derive(Parser, Debug)]
#[command(name = "gossip-check", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve stateright's Explorer web UI for the chosen configuration (runs until killed).
    Explore {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: String,
        /// Worker threads of the on-demand checker behind the UI.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        #[command(flatten)]
        model: ModelArgs,
    },
}

/// Options that choose the model configuration (shared by checking and `explore`).
#[derive(Args, Debug)]
struct ModelArgs {
    /// Start from this JSON GossipConfig (serde) instead of the built-in default; the options
    /// below override its fields.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Start from this named configuration (see --list-configs) instead of the built-in
    /// default, checked with its engine and reductions; the options below override its fields
    /// (and engine options its engine).
    #[arg(long, value_name = "NAME")]
    config_name: Option<String>,
    /// Options that override fields of the configuration.
    #[command(flatten)]
    overrides: adapter::ConfigOverrides,
    /// A protocol variant (see --list-variants); seeded-bug variants are expected to violate
    /// their named property.
    /// Without --config, --config-name or --suite, a seeded-bug variant starts from its
    /// witness configuration (a single run).
    #[arg(long, value_name = "NAME")]
    variant: Option<String>,
    /// Check only this property (its exact name); BFS then stops as soon as it is decided.
    #[arg(long, value_name = "NAME")]
    property: Option<String>,
}

/// Options of the checking run.
#[derive(Args, Debug)]
struct RunArgs {
    /// Search engine: bfs (exhaustive, shortest traces), dfs (exhaustive, symmetry, less
    /// memory), simulation (random walks; proves nothing), fair (fairness-aware liveness).
    /// Default: bfs, or dfs with --symmetry.
    #[arg(long, value_enum)]
    checker: Option<Engine>,
    /// Symmetry reduction over interchangeable nodes (DFS and simulation only).
    #[arg(long)]
    symmetry: bool,
    /// Symmetry reduction over each owner's keys (renamed in the order the owner first
    /// changed them; sound in every configuration). DFS, simulation and fair (safety) only;
    /// combines with --symmetry.
    #[arg(long)]
    key_symmetry: bool,
    /// Worker threads (BFS traces are shortest only with 1).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Stop after about this many generated states (the run is then reported incomplete).
    #[arg(long, value_name = "N")]
    max_states: Option<usize>,
    /// Do not explore beyond this depth (the run is then reported incomplete).
    #[arg(long, value_name = "N")]
    max_depth: Option<usize>,
    /// Seed of the simulation checker.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the results as one JSON object to this file.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write the first counterexample (or, if no property is violated, the first example found)
    /// as a `gossip-trace/1` JSON trace (docs/spec/traces.md), replayable against the
    /// implementation with `gossip-kit --replay`. Nothing is written if the run found no trace.
    #[arg(long, value_name = "PATH")]
    trace_out: Option<PathBuf>,
    /// Draw the same trace as --trace-out (the first counterexample, else the first example)
    /// as an SVG message sequence chart (docs/checking.md, "Pictures of counterexamples").
    #[arg(long, value_name = "PATH")]
    trace_svg: Option<PathBuf>,
    /// List the protocol variants and exit.
    #[arg(long)]
    list_variants: bool,
    /// Run this suite of named configurations (`default` is what runs without options;
    /// `thorough` adds larger ones). Contradicts model and engine options, which describe one
    /// configuration.
    #[arg(long, value_enum, value_name = "NAME")]
    suite: Option<Suite>,
    /// List the named configurations (what each enables, its suites, engine and reductions)
    /// and exit.
    #[arg(long)]
    list_configs: bool,
    /// Judge a seeded-bug variant against the correct protocol's expectations, so that catching
    /// its bug exits 1 instead of 0.
    #[arg(long)]
    expect_correct: bool,
    /// Do not run the linearizability demo model.
    #[arg(long)]
    no_demo: bool,
    /// Also print the traces of examples found for sometimes properties.
    #[arg(long)]
    show_examples: bool,
    /// No progress output on stderr.
    #[arg(long)]
    quiet: bool,
    /// With --checker fair: check always/sometimes properties only, with the compact
    /// safety-only store (no edges; the BFS frontier serialised and compressed). Leads-to
    /// properties are then unknown.
    #[arg(long)]
    safety_only: bool,
    /// With --checker fair: stop exploring (reported incomplete) when the process's
    /// resident set reaches this size, e.g. 8G.
    #[arg(long, value_name = "SIZE", value_parser = fair_run::parse_bytes)]
    memory_limit: Option<u64>,
    /// With --checker fair: stop exploring (reported incomplete) after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    time_limit: Option<u64>,
}

/// The `--json` file: the gossip run, flattened, plus the demo runs.
#[derive(Serialize)]
struct JsonOutput<'a> {
    config: &'a GossipConfig,
    #[serde(flatten)]
    run: &'a RunReport,
    /// The same run as the one entry of a suite's `configurations`.
    configurations: [ConfigurationReport; 1],
    demos: &'a [RunReport],
    expectations_met: bool,
}

/// The `--json` file of a suite run.
#[derive(Serialize)]
struct SuiteJson<'a> {
    #[serde(flatten)]
    suite: &'a SuiteReport,
    expect_correct: bool,
    demos: &'a [RunReport],
    expectations_met: bool,
}

/// An error caused by the command line (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

/// An internal failure after the arguments were accepted (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Internal(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("gossip-check: error: {err:#}");
            let internal = err.chain().any(|e| {
                e.is::<Internal>()
                    || matches!(e.downcast_ref::<CheckError>(), Some(c) if !c.is_usage())
            });
            ExitCode::from(if internal { 3 } else { 2 })
        }
    }
}

fn real_main(cli: Cli) -> Result<ExitCode> {
    if cli.run.list_variants {
        print!("{}", adapter::list_variants());
        return Ok(ExitCode::SUCCESS);
    }
    if cli.run.list_configs {
        print!("{}", suite::list_configs());
        return Ok(ExitCode::SUCCESS);
    }
    match cli.command {
        Some(Command::Explore {
            addr,
            threads,
            model,
        }) => explore(&model, &addr, threads),
        None => check_main(&cli.model, &cli.run),
    }
}

fn build_config(args: &ModelArgs) -> Result<GossipConfig> {
    let variant = match &args.variant {
        Some(name) => Some(Variant::from_name(name).ok_or_else(|| {
            let names: Vec<_> = Variant::all().iter().map(|v| v.name()).collect();
            Usage(format!(
                "unknown variant {name:?}; the variants are: {} (see --list-variants)",
                names.join(", ")
            ))
        })?),
        None => None,
    };
    let named = match &args.config_name {
        Some(name) => Some(named_config(name)?),
        None => None,
    };
    let mut cfg = match (&args.config, named) {
        (Some(_), Some(_)) => {
            return Err(Usage(
                "--config and --config-name both choose the configuration to start from; give one"
                    .into(),
            )
            .into());
        }
        (None, Some(named)) => GossipConfig {
            variant: variant.unwrap_or_default(),
            ..named.config
        },
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Usage(format!("--config {}: {e}", path.display())))?;
            let mut cfg: GossipConfig = serde_json::from_str(&text)
                .map_err(|e| Usage(format!("--config {}: {e}", path.display())))?;
            if let Some(v) = variant {
                cfg.variant = v;
            }
            cfg
        }
        (None, None) => adapter::base_config(variant),
    };
    args.overrides.apply(&mut cfg).map_err(Usage)?;
    cfg.validate()
        .map_err(|e| Usage(format!("invalid configuration: {e}")))?;
    Ok(cfg)
}

fn named_config(name: &str) -> Result<suite::NamedConfig> {
    suite::find(name).ok_or_else(|| {
        Usage(format!(
            "unknown configuration name {name:?}; the named configurations are: {} (see \
             --list-configs)",
            suite::names()
        ))
        .into()
    })
}

impl ModelArgs {
    /// The model options given that describe one configuration (all but --variant,
    /// --property and --config-name).
    fn configuration_options(&self) -> Vec<&'static str> {
        let mut given = Vec::new();
        if self.config.is_some() {
            given.push("--config");
        }
        given.extend(self.overrides.given());
        given
    }
}

impl RunArgs {
    /// The engine options given (a suite fixes each configuration's engine).
    fn engine_options(&self) -> Vec<&'static str> {
        [
            (self.checker.is_some(), "--checker"),
            (self.symmetry, "--symmetry"),
            (self.key_symmetry, "--key-symmetry"),
            (self.safety_only, "--safety-only"),
            (self.max_depth.is_some(), "--max-depth"),
        ]
        .into_iter()
        .filter_map(|(given, name)| given.then_some(name))
        .collect()
    }

    fn limits(&self, property: Option<&String>) -> Limits {
        Limits {
            max_states: self.max_states,
            max_depth: self.max_depth,
            seed: self.seed,
            memory_limit: self.memory_limit,
            time_limit: self.time_limit.map(std::time::Duration::from_secs),
            quiet: self.quiet,
            property: property.cloned(),
        }
    }
}

/// The suite to run, or `None` for one configuration. Without `--suite`: the default suite
/// when no option describes a configuration (model options, engine options, `--variant`,
/// `--config-name`), else one configuration. With `--suite`: options that describe one
/// configuration contradict it (exit 2).
fn chosen_suite(margs: &ModelArgs, rargs: &RunArgs) -> Result<Option<Suite>> {
    let model = margs.configuration_options();
    let engine = rargs.engine_options();
    let Some(suite) = rargs.suite else {
        let single = !model.is_empty()
            || !engine.is_empty()
            || margs.variant.is_some()
            || margs.config_name.is_some();
        return Ok((!single).then_some(Suite::Default));
    };
    let name = suite.name();
    if margs.config_name.is_some() {
        return Err(Usage(format!(
            "--suite {name} and --config-name both choose what to check; give one"
        ))
        .into());
    }
    if let Some(option) = model.first().or(engine.first()) {
        let all: Vec<_> = model.iter().chain(&engine).copied().collect();
        return Err(Usage(format!(
            "--suite {name} checks its own configurations, each with its own engine and \
             reductions (see --list-configs); {} describe{} one configuration: drop {}, or use \
             --config-name NAME with {} to change one named configuration",
            all.join(", "),
            if all.len() == 1 { "s" } else { "" },
            if all.len() == 1 { "it" } else { "them" },
            if all.len() == 1 { *option } else { "them" },
        ))
        .into());
    }
    Ok(Some(suite))
}

fn check_main(margs: &ModelArgs, rargs: &RunArgs) -> Result<ExitCode> {
    match chosen_suite(margs, rargs)? {
        Some(suite) => suite_main(suite, margs, rargs),
        None => single_main(margs, rargs),
    }
}

fn run_error(e: RunError) -> anyhow::Error {
    match e {
        RunError::Usage(m) => Usage(m).into(),
        RunError::Internal(m) => Internal(m).into(),
    }
}

fn create_json(rargs: &RunArgs) -> Result<Option<std::fs::File>> {
    // Open the JSON file first, so that a bad path fails before a long run.
    Ok(match &rargs.json {
        Some(path) => Some(
            std::fs::File::create(path)
                .map_err(|e| Usage(format!("--json {}: {e}", path.display())))?,
        ),
        None => None,
    })
}

fn write_json(file: Option<std::fs::File>, value: &impl Serialize) -> Result<()> {
    if let Some(mut file) = file {
        serde_json::to_writer_pretty(&mut file, value)
            .map_err(|e| Internal(format!("writing the --json file: {e}")))?;
        writeln!(file).map_err(|e| Internal(format!("writing the --json file: {e}")))?;
    }
    Ok(())
}

fn run_demo(margs: &ModelArgs, rargs: &RunArgs, progress: Progress) -> Result<Vec<RunReport>> {
    let mut demos = Vec::new();
    if !rargs.no_demo && margs.property.is_none() {
        println!();
        let demo = adapter::run_linearizability_demo(progress)?;
        print!("{}", demo.to_text(rargs.show_examples));
        demos.push(demo);
    }
    Ok(demos)
}

fn write_svg(rargs: &RunArgs, report: Option<(&RunReport, &GossipConfig)>) -> Result<()> {
    let Some(path) = &rargs.trace_svg else {
        return Ok(());
    };
    match report.and_then(|(report, cfg)| gossip_proofs::chart::draw_report(report, cfg)) {
        Some(chart) => {
            let chart = chart.map_err(|e| Internal(format!("--trace-svg: {e}")))?;
            std::fs::write(path, &chart.svg)
                .map_err(|e| Usage(format!("--trace-svg {}: {e}", path.display())))?;
            println!(
                "chart of the {} for {:?} written to {} ({} steps)",
                chart.kind,
                chart.property,
                path.display(),
                chart.steps
            );
        }
        None => println!("--trace-svg: no counterexample or example to draw"),
    }
    Ok(())
}

fn write_trace(rargs: &RunArgs, report: Option<(&RunReport, &GossipConfig)>) -> Result<()> {
    let Some(path) = &rargs.trace_out else {
        return Ok(());
    };
    let trace = match report {
        Some((report, cfg)) => export_trace(report, cfg)?,
        None => None,
    };
    match trace {
        Some(trace) => {
            let text = serde_json::to_string_pretty(&trace)
                .map_err(|e| Internal(format!("serialising the --trace-out trace: {e}")))?;
            std::fs::write(path, text + "\n")
                .map_err(|e| Usage(format!("--trace-out {}: {e}", path.display())))?;
            println!(
                "trace written to {} ({} steps)",
                path.display(),
                trace.steps.len()
            );
        }
        None => println!("--trace-out: no counterexample or example to write"),
    }
    Ok(())
}

/// The last line and the exit code: 0 if `met`, else 1 naming the failed properties.
fn finish(met: bool, inconclusive: usize, failed: Vec<String>) -> ExitCode {
    println!();
    if met {
        if inconclusive == 0 {
            println!("result: every expectation met");
        } else {
            println!(
                "result: no expectation contradicted, but {inconclusive} propert{} unknown \
                 (the run was not exhaustive)",
                if inconclusive == 1 { "y is" } else { "ies are" }
            );
        }
        ExitCode::SUCCESS
    } else {
        println!(
            "result: FAILED: {} contradict{} the expectation",
            failed.join(", "),
            if failed.len() == 1 { "s" } else { "" }
        );
        ExitCode::from(1)
    }
}

fn parse_variant(margs: &ModelArgs) -> Result<Variant> {
    match &margs.variant {
        Some(name) => Ok(Variant::from_name(name).ok_or_else(|| {
            let names: Vec<_> = Variant::all().iter().map(|v| v.name()).collect();
            Usage(format!(
                "unknown variant {name:?}; the variants are: {} (see --list-variants)",
                names.join(", ")
            ))
        })?),
        None => Ok(Variant::Correct),
    }
}

fn suite_main(suite: Suite, margs: &ModelArgs, rargs: &RunArgs) -> Result<ExitCode> {
    let variant = parse_variant(margs)?;
    let configs = suite.configurations();
    if let Some(name) = &margs.property {
        // Refuse an unknown name before running anything; a leads-to requirement needs the
        // full fair engine, which not every configuration of a suite runs.
        let model = GossipConfig::default().into_model();
        let known: Vec<_> = model.properties().iter().map(|p| p.name).collect();
        if !known.contains(&name.as_str()) {
            let liveness = model.liveness().iter().any(|l| l.name == name.as_str());
            return Err(Usage(if liveness {
                format!(
                    "--property {name:?} is a leads-to requirement; a suite checks it only in \
                     configurations run by the full fair engine: use --config-name NAME \
                     --checker fair --property ..."
                )
            } else {
                let known: Vec<_> = known.iter().map(|n| format!("{n:?}")).collect();
                format!(
                    "unknown property {name:?}; the properties are: {}",
                    known.join(", ")
                )
            })
            .into());
        }
    }
    let json_file = create_json(rargs)?;
    println!(
        "gossip-check: suite {}: {} configurations (--list-configs describes them), variant {}",
        suite.name(),
        configs.len(),
        variant.name()
    );
    let threads = (rargs.threads != 1).then_some(rargs.threads);
    let limits = rargs.limits(margs.property.as_ref());
    let count = configs.len();
    let report = suite::run_suite(suite.name(), &configs, variant, threads, &limits, |i, c| {
        if !rargs.quiet {
            eprintln!("[{}/{count}] {}: {}", i + 1, c.name, suite::run_line(c));
        }
    })
    .map_err(run_error)?;
    print!("{}", suite::suite_text(&report, rargs.show_examples));
    let demos = run_demo(
        margs,
        rargs,
        if rargs.quiet {
            Progress::Off
        } else {
            Progress::Auto
        },
    )?;
    let met = report.expectations_met(rargs.expect_correct)
        && demos.iter().all(RunReport::expectations_met);
    write_json(
        json_file,
        &SuiteJson {
            suite: &report,
            expect_correct: rargs.expect_correct,
            demos: &demos,
            expectations_met: met,
        },
    )?;
    let chosen = report
        .configurations
        .iter()
        .find(|c| {
            c.run
                .properties
                .iter()
                .any(|p| p.status == Status::Violated && p.trace.is_some())
        })
        .or_else(|| {
            report
                .configurations
                .iter()
                .find(|c| c.run.properties.iter().any(|p| p.trace.is_some()))
        });
    write_trace(rargs, chosen.map(|c| (&c.run, &c.config)))?;
    write_svg(rargs, chosen.map(|c| (&c.run, &c.config)))?;

    let demo_failed = demos
        .iter()
        .flat_map(|r| &r.properties)
        .filter(|p| p.verdict == Verdict::Failed)
        .map(|p| format!("{:?}", p.name));
    if variant.is_seeded_bug() {
        let catches: Vec<_> = report
            .caught_by
            .iter()
            .map(|c| {
                format!(
                    "{} ({:?}: {})",
                    c.configuration,
                    c.property,
                    c.status.as_text()
                )
            })
            .collect();
        let named = variant.expected_violation().unwrap_or_default();
        let by_named = report.caught_by.iter().any(|c| c.property == named);
        println!();
        if catches.is_empty() {
            println!(
                "variant {}: not caught by any configuration of suite {}",
                variant.name(),
                suite.name()
            );
        } else {
            println!(
                "variant {}: caught in {}{}",
                variant.name(),
                catches.join(", "),
                if by_named {
                    String::new()
                } else {
                    format!("; its named property {named:?} was not violated")
                }
            );
        }
        if !rargs.expect_correct {
            println!(
                "note: variant {} is a seeded bug; the suite is expected to catch it (some \
                 configuration contradicts the correct protocol's expectations), so catching it \
                 exits 0; add --expect-correct to judge it as the correct protocol",
                variant.name()
            );
            let mut failed: Vec<_> = demo_failed.collect();
            if catches.is_empty() {
                failed.insert(0, format!("variant {} (not caught)", variant.name()));
            }
            return Ok(finish(met, report.inconclusive(), failed));
        }
    }
    let failed: Vec<_> = report
        .configurations
        .iter()
        .flat_map(|c| {
            c.run
                .properties
                .iter()
                .filter(|p| p.verdict == Verdict::Failed)
                .map(move |p| format!("{:?} in {}", p.name, c.name))
        })
        .chain(demo_failed)
        .collect();
    let inconclusive = report.inconclusive()
        + demos
            .iter()
            .flat_map(|r| &r.properties)
            .filter(|p| p.verdict == Verdict::Inconclusive)
            .count();
    Ok(finish(met, inconclusive, failed))
}

fn single_main(margs: &ModelArgs, rargs: &RunArgs) -> Result<ExitCode> {
    let named = match &margs.config_name {
        Some(name) => Some(named_config(name)?),
        None => None,
    };
    let engine_given = !rargs.engine_options().is_empty();
    let plan = match &named {
        // A named configuration keeps its engine and reductions unless engine options are given.
        Some(named) if !engine_given => Plan {
            threads: if rargs.threads != 1 {
                rargs.threads
            } else {
                named.plan.threads
            },
            ..named.plan
        },
        _ => Plan {
            engine: match (rargs.checker, rargs.symmetry || rargs.key_symmetry) {
                (Some(engine), _) => engine,
                (None, true) => Engine::Dfs,
                (None, false) => Engine::Bfs,
            },
            safety_only: rargs.safety_only,
            symmetry: rargs.symmetry,
            key_symmetry: rargs.key_symmetry,
            threads: rargs.threads,
        },
    };
    let cfg = build_config(margs)?;
    let json_file = create_json(rargs)?;
    let variant = cfg.variant;
    println!("gossip-check: {}", adapter::summarize(&cfg));
    if let Some(named) = &named {
        println!(
            "configuration {}, checked with {}",
            named.name,
            plan.describe()
        );
    }
    let mut report = suite::check_config(&cfg, &plan, &rargs.limits(margs.property.as_ref()))
        .map_err(run_error)?;
    if named.is_some() && !engine_given && plan.safety_only {
        // As in a suite: a named configuration's safety-only plan does not run leads-to.
        report
            .properties
            .retain(|p| p.kind != gossip_proofs::report::PropertyKind::LeadsTo);
    }
    if rargs.expect_correct {
        adapter::expect_correct(&mut report, &cfg);
    }
    print!("{}", report.to_text(rargs.show_examples));
    if let Some(note) = adapter::variant_note(variant, rargs.expect_correct) {
        println!("{note}");
    }
    let progress = if rargs.quiet {
        Progress::Off
    } else {
        Progress::Auto
    };
    let demos = run_demo(margs, rargs, progress)?;

    let met = report.expectations_met() && demos.iter().all(RunReport::expectations_met);
    write_json(
        json_file,
        &JsonOutput {
            config: &cfg,
            run: &report,
            configurations: [ConfigurationReport {
                name: named.map_or("custom", |n| n.name).to_string(),
                config: cfg.clone(),
                run: report.clone(),
            }],
            demos: &demos,
            expectations_met: met,
        },
    )?;
    write_trace(rargs, Some((&report, &cfg)))?;
    write_svg(rargs, Some((&report, &cfg)))?;

    let all = || {
        std::iter::once(&report)
            .chain(&demos)
            .flat_map(|r| &r.properties)
    };
    let inconclusive = all().filter(|p| p.verdict == Verdict::Inconclusive).count();
    let failed = all()
        .filter(|p| p.verdict == Verdict::Failed)
        .map(|p| format!("{:?}", p.name))
        .collect();
    Ok(finish(met, inconclusive, failed))
}

/// The `--trace-out` trace: the first violated property's counterexample, else the first
/// property's trace of any kind (an example of a sometimes property), as a `gossip-trace/1`
/// trace with the model's expected state after every step. A lasso of the fair checker (a
/// leads-to counterexample) is written as its prefix and one pass of its cycle, with
/// `cycle_start` marking the cycle's first step.
fn export_trace(
    report: &RunReport,
    cfg: &GossipConfig,
) -> Result<Option<gossip_model::trace::Trace>> {
    let chosen = report
        .properties
        .iter()
        .find(|p| p.status == Status::Violated && p.trace.is_some())
        .or_else(|| report.properties.iter().find(|p| p.trace.is_some()));
    let Some(p) = chosen else {
        return Ok(None);
    };
    let steps = p.trace.as_deref().unwrap_or_default();
    let actions = steps
        .iter()
        .filter_map(|s| s.action.clone())
        .map(serde_json::from_value::<GossipAction>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            Internal(format!(
                "--trace-out: an action of the trace is not a gossip action: {e}"
            ))
        })?;
    let kind = match (p.status, p.loop_index) {
        (Status::Violated, Some(_)) => "lasso counterexample",
        (Status::Violated, None) => "counterexample",
        _ => "example",
    };
    let source = format!(
        "gossip-check {kind} for {:?} ({} checker)",
        p.name, report.checker
    );
    let model = cfg.clone().into_model();
    Ok(Some(match p.loop_index {
        // A lasso: step `loop_index` of the report is the state the cycle returns to, and
        // report step i (i ≥ 1) is action i - 1, so the cycle's first action is `loop_index`.
        Some(i) if i <= actions.len() => {
            let (prefix, cycle) = actions.split_at(i);
            gossip_model::trace::from_lasso(&model, prefix, cycle, Some(source))
        }
        _ => gossip_model::trace::from_actions(&model, &actions, true, Some(source)),
    }))
}

fn usage(e: CheckError) -> anyhow::Error {
    anyhow!(Usage(e.to_string()))
}

fn explore(margs: &ModelArgs, addr: &str, threads: usize) -> Result<ExitCode> {
    let cfg = build_config(margs)?;
    // Bind once ourselves so that a busy or bad address is a clear usage error instead of a
    // panic inside stateright's server.
    std::net::TcpListener::bind(addr).map_err(|e| Usage(format!("--addr {addr}: {e}")))?;
    println!("gossip-check: {}", adapter::summarize(&cfg));
    println!("Explorer: http://{addr}/  (stop with Ctrl-C)");
    std::io::stdout().flush().ok();
    let model = cfg.into_model();
    // The Explorer's model: readable states and a message sequence chart of the path.
    let model = gossip_proofs::explorer::ExplorerGossip::new(model);
    match &margs.property {
        Some(name) => serve(Only::new(model, name).map_err(usage)?, addr, threads),
        None => serve(model, addr, threads),
    }
}

fn serve<M>(model: M, addr: &str, threads: usize) -> Result<ExitCode>
where
    M: Inspect + Send + Sync + 'static,
    M::State: std::fmt::Debug + std::hash::Hash + Send + Sync,
    M::Action: std::fmt::Debug + Send + Sync,
{
    // Blocks forever: stateright joins its HTTP thread.
    let checker = model.checker().threads(threads).serve(addr);
    let _ = checker.unique_state_count();
    Ok(ExitCode::SUCCESS)
}
