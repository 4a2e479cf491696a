//! `gossip-vectors generate DIR` writes `DIR/wire.json` and `DIR/deltas.json` from
//! `gossip-core`; `gossip-vectors check DIR [--node-cmd CMD]` checks an implementation against
//! them: in process (gossip-core), or through a conformance kit adapter (the receive and delta
//! vectors; the encode vectors are for the implementation's own unit tests and are checked
//! here against gossip-core's codec). Exit 0: all pass; 1: a vector fails; 2: usage or I/O
//! error. See docs/spec/test-vectors.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use gossip_conformance::vectors::{
    DeltaVectors, WireVectors, adapter, check_deltas, check_encoding, check_receive, generate,
    in_process,
};

/// Wire and delta test vectors.
#[derive(Parser)]
#[command(version, about)]
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

fn read<T: serde::de::DeserializeOwned>(p: &Path) -> Result<T> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
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
            let w: WireVectors = read(&dir.join("wire.json"))?;
            let d: DeltaVectors = read(&dir.join("deltas.json"))?;
            let mut fresh = || match &node_cmd {
                Some(cmd) => adapter(cmd, &[]),
                None => in_process(),
            };
            let mut bad = check_encoding(&w);
            bad.extend(check_receive(&w, &mut fresh));
            bad.extend(check_deltas(&d, &mut fresh));
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
