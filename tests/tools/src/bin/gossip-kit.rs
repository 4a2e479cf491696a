//! `gossip-kit --node-cmd 'COMMAND' [--cases N] [--seed S]`: the conformance kit
//! (docs/spec/conformance-kit.md). Starts one adapter process per node (`sh -c COMMAND`,
//! speaking `gossip-kit/1`), runs N random model traces through it with proptest, compares
//! every step with the model, and on the first divergence prints the shrunk trace in
//! gossip-check format and writes it as a gossip-trace/1 file. Without `--node-cmd`, the
//! in-process Rust cores are tested.
//!
//! `gossip-kit [--node-cmd 'COMMAND'] --replay TRACE.json [--properties]` is the one way to run
//! a trace file (docs/spec/traces.md, e.g. `gossip-check --trace-out`) against an
//! implementation: strictly (every step must conform to the model of the trace's
//! configuration), or with `--properties` (for traces of a seeded-bug variant) checking the
//! correct model's safety properties on the abstracted state after every step and after
//! settling.
//!
//! Exit 0: every case conforms (or the trace conforms, or is safe); 1: divergence or
//! violation; 2: usage error, unreadable trace, or the adapter cannot be started.

use std::process::ExitCode;

use clap::Parser;
use gossip_conformance::driver::Backend;
use gossip_conformance::harness::{RunResult, run_cases};
use gossip_conformance::trace::{Trace, replay_properties_with, replay_with, seeded_bug_traces};
use gossip_model::trace::from_actions;

/// The conformance kit (docs/spec/conformance-kit.md): drives an implementation in any language
/// through random model traces and compares every step with the model, or replays one trace
/// file (--replay, docs/spec/traces.md).
///
/// Exit 0: conforms (or the replayed trace conforms, or is safe); 1: divergence or violation;
/// 2: usage error, unreadable trace, or the adapter cannot be started.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The adapter command, run with `sh -c` once per node; without it, the in-process Rust
    /// cores are tested.
    #[arg(long)]
    node_cmd: Option<String>,
    /// Extra environment variable for the adapter, `NAME=VALUE` (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// Random traces to run.
    #[arg(long, default_value_t = 64)]
    cases: u32,
    /// Seed of the trace generator (a run is a function of the seed and the adapter).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Maximum actions per trace.
    #[arg(long, default_value_t = 50)]
    max_steps: usize,
    /// Maximum shrinking runs after a divergence.
    #[arg(long, default_value_t = 2_000)]
    max_shrink_iters: u32,
    /// Where to write the shrunk diverging trace (gossip-trace/1).
    #[arg(long, default_value = "gossip-kit-divergence.json")]
    trace_out: String,
    /// Also replay every seeded bug's counterexample (the model's shortest path to each
    /// violation, found by BFS) and check the bug's property on the adapter's state.
    #[arg(long)]
    seeded_bugs: bool,
    /// Instead of random traces, replay this gossip-trace/1 file (strictly, against the model
    /// of its configuration; with --properties, checking the safety properties only).
    #[arg(long, value_name = "TRACE.json")]
    replay: Option<String>,
    /// With --replay: check the correct model's safety properties on the adapter's state
    /// instead of following the trace's model step by step (for traces of a seeded bug).
    #[arg(long, requires = "replay")]
    properties: bool,
}

/// Replays one trace file; the exit code.
fn replay_file(file: &str, properties: bool, backend: &Backend, what: &str) -> ExitCode {
    let trace: Trace = match std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("gossip-kit: cannot read {file}: {e}");
            return ExitCode::from(2);
        }
    };
    if properties {
        match replay_properties_with(&trace, &[], true, backend) {
            Ok(r) => {
                for (step, why) in &r.stutters {
                    println!("step {step}: stutter ({why})");
                }
                match r.violation {
                    Some((step, p)) => {
                        println!("gossip-kit: {what}: {file}: violates at step {step}: {p}");
                        ExitCode::from(1)
                    }
                    None => {
                        println!(
                            "gossip-kit: {what}: {file}: safe ({} steps applied, {} stutters, {} settling steps); every safety property holds",
                            r.applied,
                            r.stutters.len(),
                            r.settle_steps
                        );
                        ExitCode::SUCCESS
                    }
                }
            }
            Err(e) => {
                eprintln!("gossip-kit: {what}: {e}");
                ExitCode::from(2)
            }
        }
    } else {
        match replay_with(&trace, backend) {
            Ok(r) => match r.divergence {
                None => {
                    println!("gossip-kit: {what}: {file}: conforms ({} steps)", r.steps);
                    ExitCode::SUCCESS
                }
                Some(d) => {
                    println!(
                        "gossip-kit: {what}: {file}: diverges at step {} ({}):\n  {}",
                        d.step, d.action, d.reason
                    );
                    ExitCode::from(1)
                }
            },
            Err(e) => {
                eprintln!("gossip-kit: {what}: {e}");
                ExitCode::from(2)
            }
        }
    }
}

/// Replays every seeded bug's counterexample, checking its property; the exit code.
fn seeded_bugs(backend: &Backend, what: &str) -> ExitCode {
    let traces = match seeded_bug_traces() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("gossip-kit: {e}");
            return ExitCode::from(2);
        }
    };
    let mut code = ExitCode::SUCCESS;
    for (bug, property, trace) in traces {
        match replay_properties_with(&trace, &[property], true, backend) {
            Ok(r) => match r.violation {
                Some((step, p)) => {
                    println!(
                        "gossip-kit: {what}: HAS the seeded bug {bug}: {p} is violated at step {step} of its counterexample ({} steps):\n{}",
                        trace.steps.len(),
                        trace.render()
                    );
                    code = ExitCode::from(1);
                }
                None => println!(
                    "gossip-kit: {what}: seeded bug {bug:<28} absent ({property:?} holds along its {}-step counterexample and after settling)",
                    trace.steps.len()
                ),
            },
            Err(e) => {
                eprintln!("gossip-kit: {what}: {bug}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    code
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut env = Vec::new();
    for e in &args.env {
        let Some((k, v)) = e.split_once('=') else {
            eprintln!("gossip-kit: --env wants NAME=VALUE, got {e:?}");
            return ExitCode::from(2);
        };
        env.push((k.to_owned(), v.to_owned()));
    }
    let backend = match &args.node_cmd {
        Some(cmd) => Backend::Command {
            cmd: cmd.clone(),
            env,
        },
        None => Backend::InProcess,
    };
    let what = args
        .node_cmd
        .as_deref()
        .unwrap_or("(in-process gossip-core)");
    if let Some(file) = &args.replay {
        return replay_file(file, args.properties, &backend, what);
    }
    let start = std::time::Instant::now();
    let random = run_cases(
        backend.clone(),
        args.cases,
        args.seed,
        args.max_steps,
        args.max_shrink_iters,
        true,
    );
    match random {
        RunResult::Pass { cases, steps } => {
            println!(
                "gossip-kit: {what}: conforms: {cases} traces, {steps} steps checked (seed {}, {:.1} s)",
                args.seed,
                start.elapsed().as_secs_f64()
            );
            if args.seeded_bugs {
                seeded_bugs(&backend, what)
            } else {
                ExitCode::SUCCESS
            }
        }
        RunResult::Fail(f) if f.actions.is_empty() => {
            eprintln!("gossip-kit: {what}: {}", f.reason);
            ExitCode::from(2)
        }
        RunResult::Fail(f) => {
            println!(
                "gossip-kit: {what}: DIVERGES from the model at step {} ({}):\n  {}\n\nshrunk trace ({} steps; config {}):\n{}",
                f.actions.len(),
                gossip_model::format::action(f.actions.last().expect("non-empty")),
                f.reason,
                f.actions.len(),
                serde_json::to_string(&f.model.cfg).unwrap_or_default(),
                gossip_model::format::run(&f.model, &f.actions)
            );
            let trace = from_actions(
                &f.model,
                &f.actions,
                true,
                Some(format!(
                    "gossip-kit divergence of {what} (seed {}): {}",
                    args.seed,
                    f.reason.lines().next().unwrap_or("")
                )),
            );
            match serde_json::to_string_pretty(&trace)
                .map_err(|e| e.to_string())
                .and_then(|t| std::fs::write(&args.trace_out, t).map_err(|e| e.to_string()))
            {
                Ok(()) => println!(
                    "trace written to {} (replay: gossip-kit --node-cmd '{what}' --replay {0})",
                    args.trace_out
                ),
                Err(e) => eprintln!("gossip-kit: cannot write {}: {e}", args.trace_out),
            }
            ExitCode::from(1)
        }
    }
}
