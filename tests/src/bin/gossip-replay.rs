//! `gossip-replay TRACE.json [--properties]`: runs a trace (docs/spec/traces.md) against the
//! implementation. Strict mode (default) prints "conforms" and exits 0, or prints the first step
//! where the implementation diverges from the model and exits 1. With `--properties` (for
//! traces of a seeded-bug variant), it instead checks the model's safety properties on the
//! abstracted implementation state (after driving it to quiescence at the end) and exits 1 if
//! one is violated. Exit 2: unreadable trace or usage error.

use std::process::ExitCode;

use gossip_conformance::trace::{Trace, replay, replay_properties};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let properties = args.iter().any(|a| a == "--properties");
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [file] = files.as_slice() else {
        eprintln!("usage: gossip-replay TRACE.json [--properties]");
        return ExitCode::from(2);
    };
    let trace: Trace = match std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("gossip-replay: cannot read {file}: {e}");
            return ExitCode::from(2);
        }
    };
    if properties {
        match replay_properties(&trace, &[], true) {
            Ok(r) => {
                for (step, why) in &r.stutters {
                    println!("step {step}: stutter ({why})");
                }
                match r.violation {
                    Some((step, p)) => {
                        println!("violates at step {step}: {p}");
                        ExitCode::from(1)
                    }
                    None => {
                        println!(
                            "safe: {} steps applied, {} stutters, {} settling steps; every safety property holds",
                            r.applied,
                            r.stutters.len(),
                            r.settle_steps
                        );
                        ExitCode::SUCCESS
                    }
                }
            }
            Err(e) => {
                eprintln!("gossip-replay: {e}");
                ExitCode::from(2)
            }
        }
    } else {
        match replay(&trace) {
            Ok(r) => match r.divergence {
                None => {
                    println!("conforms ({} steps)", r.steps);
                    ExitCode::SUCCESS
                }
                Some(d) => {
                    println!(
                        "diverges at step {} ({}):\n  {}",
                        d.step, d.action, d.reason
                    );
                    ExitCode::from(1)
                }
            },
            Err(e) => {
                eprintln!("gossip-replay: {e}");
                ExitCode::from(2)
            }
        }
    }
}
