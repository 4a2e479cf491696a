//! `gossip-vectors generate DIR` writes `DIR/wire.json` and `DIR/deltas.json` from
//! `gossip-core`; `gossip-vectors check DIR [--node-cmd CMD]` checks an implementation against
//! them: in process (gossip-core), or through a conformance kit adapter (the receive and delta
//! vectors; the encode vectors are for the implementation's own unit tests and are checked
//! here against gossip-core's codec). Exit 0: all pass; 1: a vector fails; 2: usage or I/O
//! error. See docs/spec/test-vectors.md.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use gossip_conformance::driver::Backend;
use gossip_conformance::vectors::{check_adapter, check_encoding, endpoint, generate, load};

/// Generates or checks the wire and delta test vectors (docs/spec/test-vectors.md).
///
/// Exit 0: every vector passes; 1: a vector fails; 2: usage or I/O error.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Regenerate DIR/wire.json and DIR/deltas.json from gossip-core.
    Generate {
        /// The vectors directory (tests/vectors).
        dir: PathBuf,
    },
    /// Check an implementation against DIR/wire.json and DIR/deltas.json.
    Check {
        /// The vectors directory (tests/vectors).
        dir: PathBuf,
        /// A conformance kit adapter command (`sh -c`); default: gossip-core in process.
        #[arg(long)]
        node_cmd: Option<String>,
    },
}

fn run() -> Result<bool> {
    match Args::parse().cmd {
        Cmd::Generate { dir } => {
            let (w, d) = generate().map_err(anyhow::Error::msg)?;
            std::fs::create_dir_all(&dir)?;
            std::fs::write(
                dir.join("wire.json"),
                serde_json::to_string_pretty(&w)? + "\n",
            )?;
            std::fs::write(
                dir.join("deltas.json"),
                serde_json::to_string_pretty(&d)? + "\n",
            )?;
            println!(
                "wrote {} encode + {} receive vectors to {}, {} delta vectors to {}",
                w.encode.len(),
                w.receive.len(),
                dir.join("wire.json").display(),
                d.vectors.len(),
                dir.join("deltas.json").display()
            );
            Ok(true)
        }
        Cmd::Check { dir, node_cmd } => {
            let (w, d) = load(&dir).map_err(anyhow::Error::msg)?;
            let backend = match &node_cmd {
                Some(cmd) => Backend::Command {
                    cmd: cmd.clone(),
                    env: Vec::new(),
                },
                None => Backend::InProcess,
            };
            let mut bad = check_encoding(&w);
            bad.extend(check_adapter(&w, &d, &mut || endpoint(&backend)));
            for b in &bad {
                println!("FAIL {b}");
            }
            let total = w.encode.len() + w.receive.len() + d.vectors.len();
            let failing: std::collections::BTreeSet<&str> = bad
                .iter()
                .map(|b| b.split(':').next().unwrap_or(b))
                .collect();
            println!(
                "{} of {total} vectors pass ({}; encode vectors checked against gossip-core's codec)",
                total - failing.len(),
                node_cmd.as_deref().unwrap_or("gossip-core in process")
            );
            Ok(bad.is_empty())
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("gossip-vectors: {e:#}");
            ExitCode::from(2)
        }
    }
}
