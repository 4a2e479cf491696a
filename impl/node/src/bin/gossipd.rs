//! `gossipd`: runs one gossip node with a loopback admin API, or talks to one.
//!
//! ```text
//! gossipd keys generate > cluster.key
//! gossipd --bind 127.0.0.1:7946 --admin 127.0.0.1:8946 --node-name a --key-file cluster.key
//! gossipd --bind 127.0.0.1:7947 --admin 127.0.0.1:8947 --node-name b --key-file cluster.key --seed 127.0.0.1:7946
//! gossipd set --admin 127.0.0.1:8946 color blue
//! gossipd get --admin 127.0.0.1:8947 a color
//! gossipd members --admin 127.0.0.1:8947
//! gossipd members --admin 127.0.0.1:8947 --json
//! gossipd keys list --admin 127.0.0.1:8946
//! ```
//!
//! Without `--key`/`--key-file` the daemon refuses to start (exit code 2) unless
//! `--insecure-plaintext` is given (docs/spec/security.md).
//!
//! Exit codes: 0 success, 1 runtime failure (socket in use, node unreachable, key not found),
//! 2 configuration error (clap's parse errors and this program's own validation).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use gossip_core::security::{self, ClusterKey, Keyring, Roster, Security, Signing};
use gossip_node::admin::{self, api, client::Client};
use gossip_node::{Config, LeaveOutcome, Node, NodeConfig, UdpTransport};
use std::io::Write as _;

#[derive(Parser, Debug)]
#[command(
    name = "gossipd",
    version,
    about = "Runs one gossip node, or talks to one's admin API."
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// UDP address to gossip on (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7946", value_parser = parse_addr)]
    bind: SocketAddr,
    /// A seed's gossip address (repeatable).
    #[arg(long = "seed", value_name = "ADDR", value_parser = parse_addr)]
    seeds: Vec<SocketAddr>,
    /// Cluster id; datagrams from other clusters are dropped.
    #[arg(long, value_name = "ID", default_value = "default")]
    cluster_id: String,
    /// Gossip round period, e.g. `1s`, `250ms`.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    gossip_interval: Duration,
    /// This node's name, unique in the cluster [default: node-<gossip port>].
    #[arg(long, value_name = "NAME")]
    node_name: Option<String>,
    /// Directory for the persisted generation counter [default: none: the generation is the
    /// wall clock in milliseconds].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Loopback address for the admin HTTP API (port 0: any free port) [default: no admin API].
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    admin: Option<SocketAddr>,
    /// How long a leave (on SIGINT/SIGTERM) waits for the leave to be gossiped.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    leave_timeout: Duration,
    /// A file holding a cluster key (64 hex digits or base64 of 32 bytes; repeatable). Keys
    /// from --key-file come first, then --key; the first key is the primary.
    #[arg(long = "key-file", value_name = "FILE")]
    key_files: Vec<PathBuf>,
    /// A cluster key on the command line (visible to other local users: prefer --key-file;
    /// repeatable).
    #[arg(long = "key", value_name = "KEY")]
    keys: Vec<String>,
    /// Run without encryption (every datagram in plaintext, accepted from anyone who can
    /// reach the port). Required when no key is given.
    #[arg(long, conflicts_with_all = ["key_files", "keys"])]
    insecure_plaintext: bool,
    /// This node's Ed25519 signing key (a file of 64 hex digits: the 32-byte seed); turns on
    /// per-node signatures. Requires --roster.
    #[arg(long, value_name = "FILE", requires = "roster")]
    signing_key_file: Option<PathBuf>,
    /// The roster: a JSON object {"node name": "public key hex", ...} of every node's public
    /// key (this node's included). Requires --signing-key-file.
    #[arg(long, value_name = "FILE", requires = "signing_key_file")]
    roster: Option<PathBuf>,
    /// Send compressed frames (raw DEFLATE, docs/spec/wire.md "Compressed frame") when they
    /// are shorter. Compressed frames are always accepted; turn this on only once every node
    /// runs a release that accepts them. With a cluster key, see docs/spec/security.md §8.
    #[arg(long)]
    compression: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Prints the value of NODE's KEY as the node at --admin knows it.
    Get {
        /// The admin API address of the node to ask.
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        admin: SocketAddr,
        /// The owner node's name.
        node: String,
        /// The key.
        key: String,
    },
    /// Sets KEY = VALUE on the node at --admin.
    Set {
        /// The admin API address of the node to write on.
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        admin: SocketAddr,
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Deletes KEY on the node at --admin.
    Delete {
        /// The admin API address of the node to write on.
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        admin: SocketAddr,
        /// The key.
        key: String,
    },
    /// Lists the members the node at --admin knows.
    Members {
        /// The admin API address of the node to ask.
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        admin: SocketAddr,
        /// Print the members as JSON (the admin API's `GET /members` array) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Manages cluster keys (docs/spec/security.md §4: rotation procedure).
    Keys {
        #[command(subcommand)]
        op: KeysCmd,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCmd {
    /// Lists the keys installed on the node at --admin (fingerprints only).
    List {
        /// The admin API address of the node to ask.
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        admin: SocketAddr,
    },
    /// Installs a key on the node at --admin (not as primary).
    Add {
        /// The admin API address of the node.
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        admin: SocketAddr,
        /// A file holding the key.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "key",
            conflicts_with = "key"
        )]
        key_file: Option<PathBuf>,
        /// The key itself (prefer --key-file).
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Makes the installed key with FINGERPRINT the primary on the node at --admin.
    Use {
        /// The admin API address of the node.
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        admin: SocketAddr,
        /// The key's fingerprint (16 hex digits, from `keys list`).
        fingerprint: String,
    },
    /// Uninstalls the key with FINGERPRINT from the node at --admin (never the primary).
    Remove {
        /// The admin API address of the node.
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        admin: SocketAddr,
        /// The key's fingerprint.
        fingerprint: String,
    },
    /// Prints a fresh random 32-byte key (64 hex digits) from the OS's entropy: a cluster key,
    /// or a signing key (seed).
    Generate,
    /// Prints the public key (64 hex digits) of a signing key file, for the roster.
    Public {
        /// The signing key file.
        #[arg(long, value_name = "FILE")]
        signing_key_file: PathBuf,
    },
}

fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    s.to_socket_addrs()
        .map_err(|e| format!("not an address (expected HOST:PORT): {e}"))?
        .next()
        .ok_or_else(|| "the name resolves to no address".to_owned())
}

/// A positive duration in humantime's forms (`250ms`, `1.5s`, `1m`, `1m 30s`); a bare number
/// is seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let d = if s.parse::<f64>().is_ok() {
        humantime::parse_duration(&format!("{s}s"))
    } else {
        humantime::parse_duration(s)
    }
    .map_err(|e| format!("not a duration: {s:?} ({e}); expected e.g. 1s, 250ms, 1.5s"))?;
    if d.is_zero() {
        return Err("must be positive".to_owned());
    }
    Ok(d)
}

/// A configuration error: reported like clap's, exit code 2.
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

fn main() -> ExitCode {
    let cli = Cli::parse(); // exits 2 on parse errors
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async {
        match cli.cmd {
            Some(cmd) => client(cmd).await,
            None => run(cli.run).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<Usage>().is_some() => {
            eprintln!("error: {e}\n\nFor more information, try '--help'.");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    if let Some(a) = args.admin
        && !a.ip().is_loopback()
    {
        return Err(Usage(format!(
            "--admin {a}: the admin API has no authentication and only listens on loopback"
        ))
        .into());
    }
    if args.leave_timeout.is_zero() {
        return Err(Usage("--leave-timeout must be positive".into()).into());
    }
    // Validate before binding anything, with a placeholder address (bind may pick the port).
    let mut core = Config::new(
        args.node_name.clone().unwrap_or_else(|| "node".into()),
        args.bind,
    );
    core.cluster_id = args.cluster_id.clone();
    core.seeds = args.seeds.clone();
    core.gossip_interval = args.gossip_interval;
    core.compression = args.compression;
    core.validate()
        .map_err(|e| Usage(format!("invalid configuration: {e}")))?;
    let security = security_from(&args)?;
    core.validate_with(gossip_core::SecurityLayers {
        encrypted: security.keyring.is_some(),
        signed: security.signing.is_some(),
    })
    .map_err(|e| Usage(format!("invalid configuration: {e}")))?;

    let transport = UdpTransport::bind(args.bind)
        .await
        .with_context(|| format!("cannot bind the gossip socket on {}", args.bind))?;
    let gossip_addr = gossip_node::Transport::local_addr(&transport);
    core.name = args
        .node_name
        .unwrap_or_else(|| format!("node-{}", gossip_addr.port()));
    let mut config = NodeConfig::new(core);
    config.data_dir = args.data_dir;
    config.security = security;
    let handle = Node::start_with_transport(config, transport)?;

    let admin = match args.admin {
        Some(a) => {
            let l = tokio::net::TcpListener::bind(a)
                .await
                .with_context(|| format!("cannot bind the admin API on {a}"))?;
            Some(l)
        }
        None => None,
    };
    let admin_addr = admin.as_ref().map(|l| l.local_addr()).transpose()?;
    // The readiness line (scripts and tests read the actual ports from it).
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "ready name={} gossip={} admin={} generation={}",
            handle.id().name,
            gossip_addr,
            admin_addr.map_or("-".to_owned(), |a| a.to_string()),
            handle.generation()
        )?;
        out.flush()?;
    }

    if let Some(l) = admin {
        let h = handle.clone();
        let stopped = handle.clone();
        tokio::spawn(async move {
            if let Err(e) = admin::serve(l, h, async move { stopped.stopped().await }).await {
                tracing::error!(error = %e, "admin API failed");
            }
        });
    }

    tokio::select! {
        () = shutdown_signal() => {
            tracing::info!("signal received; leaving");
            match handle.leave(args.leave_timeout).await {
                Ok(LeaveOutcome::Acknowledged) => tracing::info!("leave acknowledged"),
                Ok(LeaveOutcome::TimedOut) => tracing::warn!("leave not acknowledged in time"),
                Err(e) => tracing::warn!(error = %e, "leave failed"),
            }
        }
        () = handle.stopped() => tracing::info!("node stopped"),
    }
    Ok(())
}

fn read_secret(path: &std::path::Path, what: &str) -> Result<String, Usage> {
    std::fs::read_to_string(path).map_err(|e| Usage(format!("{what} {}: {e}", path.display())))
}

/// The keyring and signing layer from the command line; a [`Usage`] error (exit code 2) for
/// missing or malformed keys. Never prints key material.
fn security_from(args: &RunArgs) -> Result<Security, Usage> {
    let mut keys = Vec::new();
    for f in &args.key_files {
        let text = read_secret(f, "--key-file")?;
        keys.push(
            ClusterKey::parse(&text)
                .map_err(|e| Usage(format!("--key-file {}: {e}", f.display())))?,
        );
    }
    for k in &args.keys {
        keys.push(ClusterKey::parse(k).map_err(|e| Usage(format!("--key: {e}")))?);
    }
    let keyring = if keys.is_empty() {
        if !args.insecure_plaintext {
            return Err(Usage(
                "no cluster key: give --key-file FILE (or --key KEY), or run unencrypted with \
                 --insecure-plaintext"
                    .into(),
            ));
        }
        None
    } else {
        Some(Keyring::from_keys(keys).ok_or_else(|| {
            Usage(format!(
                "too many keys (at most {})",
                gossip_core::security::MAX_KEYS
            ))
        })?)
    };
    let signing = match (&args.signing_key_file, &args.roster) {
        (Some(kf), Some(rf)) => {
            let key = security::parse_signing_key(&read_secret(kf, "--signing-key-file")?)
                .map_err(|e| Usage(format!("--signing-key-file {}: {e}", kf.display())))?;
            let text = read_secret(rf, "--roster")?;
            let map: std::collections::BTreeMap<String, String> = serde_json::from_str(&text)
                .map_err(|e| Usage(format!("--roster {}: {e}", rf.display())))?;
            let mut roster = Roster::new();
            for (name, pk) in &map {
                let k = security::parse_public_key(name, pk)
                    .map_err(|e| Usage(format!("--roster {}: {e}", rf.display())))?;
                roster.insert(name.clone(), k);
            }
            Some(Signing { key, roster })
        }
        _ => None,
    };
    Ok(Security { keyring, signing })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

async fn client(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Keys { op } => keys_client(op).await,
        Cmd::Get { admin, node, key } => {
            match Client::new(admin, TIMEOUT).get(&node, &key).await? {
                Some(value) => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&value)?;
                    out.write_all(b"\n")?;
                    out.flush()?;
                    Ok(())
                }
                None => bail!("{node}/{key}: not found"),
            }
        }
        Cmd::Set { admin, key, value } => {
            let w = Client::new(admin, TIMEOUT)
                .set(&key, value.as_bytes())
                .await?;
            println!("version {}", w.version);
            Ok(())
        }
        Cmd::Delete { admin, key } => {
            let w = Client::new(admin, TIMEOUT).delete(&key).await?;
            println!("version {}", w.version);
            Ok(())
        }
        Cmd::Members { admin, json } => {
            let members = Client::new(admin, TIMEOUT).members().await?;
            if json {
                println!("{}", serde_json::to_string(&members)?);
            } else {
                print_members(&members);
            }
            Ok(())
        }
    }
}

fn print_members(members: &[api::Member]) {
    println!(
        "{:<20} {:<22} {:<10} {:>15} {:>10} {:>6}",
        "NAME", "ADDR", "STATUS", "GENERATION", "HEARTBEAT", "KEYS"
    );
    for m in members {
        println!(
            "{:<20} {:<22} {:<10} {:>15} {:>10} {:>6}{}",
            m.name,
            m.addr.to_string(),
            m.status.as_str(),
            m.generation,
            m.heartbeat,
            m.keys,
            if m.is_self { "  (self)" } else { "" }
        );
    }
}

async fn keys_client(op: KeysCmd) -> anyhow::Result<()> {
    let keys = match op {
        KeysCmd::List { admin } => Client::new(admin, TIMEOUT).keys().await?,
        KeysCmd::Add {
            admin,
            key_file,
            key,
        } => {
            let text = match (key_file, key) {
                (Some(f), _) => read_secret(&f, "--key-file")?,
                (None, Some(k)) => k,
                (None, None) => bail!(Usage("--key-file or --key is required".into())),
            };
            // Parse locally: a malformed key is a usage error and is never sent.
            let k = ClusterKey::parse(&text).map_err(|e| Usage(format!("key: {e}")))?;
            Client::new(admin, TIMEOUT)
                .add_key(&security::hex(k.as_bytes()))
                .await?
        }
        KeysCmd::Use { admin, fingerprint } => {
            Client::new(admin, TIMEOUT).use_key(&fingerprint).await?
        }
        KeysCmd::Remove { admin, fingerprint } => {
            Client::new(admin, TIMEOUT).remove_key(&fingerprint).await?
        }
        KeysCmd::Generate => {
            let k = ClusterKey::generate(&mut rand::rngs::OsRng);
            println!("{}", security::hex(k.as_bytes()));
            return Ok(());
        }
        KeysCmd::Public { signing_key_file } => {
            let key =
                security::parse_signing_key(&read_secret(&signing_key_file, "--signing-key-file")?)
                    .map_err(|e| Usage(format!("--signing-key-file: {e}")))?;
            println!("{}", security::hex(key.verifying_key().as_bytes()));
            return Ok(());
        }
    };
    for k in keys.keys {
        println!(
            "{}{}",
            k.fingerprint,
            if k.primary { "  primary" } else { "" }
        );
    }
    Ok(())
}
