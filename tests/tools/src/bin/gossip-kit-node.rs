//! `gossip-kit-node [--break FAULT]`: the Rust implementation (`gossip-core`) behind the
//! conformance kit's JSON-lines protocol `gossip-kit/1` (docs/spec/conformance-kit.md): one
//! request per line on stdin, one response per line on stdout, exit 0 at end of input.
//! `--break` (or `GOSSIP_KIT_BREAK`) selects a deliberately broken behaviour, to show that the
//! kit catches bugs: `lose-first-update`, `stale-digest-watermark`.

use std::io::{BufRead, Write};

use anyhow::{Context, Result};
use clap::Parser;
use gossip_conformance::kit::{Fault, KitNode};

/// The Rust implementation (gossip-core) behind the conformance kit's protocol gossip-kit/1
/// (docs/spec/conformance-kit.md): one JSON request per line on stdin, one response per line on
/// stdout; exit 0 at end of input.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// A deliberately broken behaviour (lose-first-update, stale-digest-watermark); default:
    /// the GOSSIP_KIT_BREAK environment variable, else none.
    #[arg(long = "break")]
    fault: Option<String>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let fault = match args
        .fault
        .or_else(|| std::env::var("GOSSIP_KIT_BREAK").ok())
        .filter(|s| !s.is_empty())
    {
        Some(f) => Some(Fault::parse(&f).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let mut node = KitNode::new(fault);
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        writeln!(out, "{}", node.handle_line(&line))?;
        out.flush()?;
    }
    Ok(())
}
