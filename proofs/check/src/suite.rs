//! The named configurations of `gossip-check` and the suites it runs by default.
//!
//! A suite is data: [`table`] lists every named configuration with the [`GossipConfig`] it
//! checks, how it is checked ([`Plan`]: engine and reductions), the suites it belongs to, and
//! why it is there. `gossip-check` without options runs [`Suite::Default`]; `--suite thorough`
//! runs [`Suite::Thorough`] (every configuration of the default suite and larger ones);
//! `--config-name NAME` runs one entry; `--list-configs` prints the table ([`list_configs`]).
//! What each configuration enables is derived from its [`GossipConfig`] ([`Feature::of`]),
//! never declared beside it, so the coverage claims the tests check (every feature pair meets,
//! every `sometimes` property is reachable, every seeded bug is caught) are claims about the
//! configurations actually run.
//!
//! To add a configuration (for example one with a model feature that lands later), add an
//! entry to [`table`]; the tests in `proofs/check/tests/suite.rs` then tell whether the suites
//! still cover every property, variant and feature pair.

use crate::check::{self, CheckError, Engine, Only, Progress, RunOptions};
use crate::fair_run;
use crate::gossip::{self as adapter, FairGossip};
use crate::report::{
    Expected, PropertyKind, PropertyReport, RunReport, Status, Verdict, group, trace_to_text,
};
use gossip_model::properties::names::{R_CUT, R_FALSELY_CONVICTED, R_FORGOTTEN};
use gossip_model::{GossipConfig, GossipModel, Mode, NetworkConfig, Variant};
use serde::{Deserialize, Serialize};
use stateright::Model as _;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// A named list of configurations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Suite {
    /// What `gossip-check` runs without options: every feature pair, every reachability
    /// property and every seeded bug, within 90 s on 2 cores.
    Default,
    /// The default suite plus larger configurations, within 10 minutes on 2 cores.
    Thorough,
}

impl Suite {
    /// The suite's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Default => "default",
            Suite::Thorough => "thorough",
        }
    }

    /// The suite's configurations, in table order.
    pub fn configurations(self) -> Vec<NamedConfig> {
        table()
            .into_iter()
            .filter(|c| c.suites.contains(&self))
            .collect()
    }
}

/// How one configuration is checked: the engine and the checker-side reductions (the model's
/// own reductions, `prune_dead_messages` and `network.redeliver`, are in its configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The search engine.
    pub engine: Engine,
    /// With [`Engine::Fair`]: check `always` and `sometimes` properties only, with the compact
    /// safety-only store (leads-to properties are then not run).
    pub safety_only: bool,
    /// Node symmetry ([`GossipModel::representative`]); sound only where
    /// [`GossipModel::symmetric_nodes`] is at least 2.
    pub symmetry: bool,
    /// Per-owner key symmetry ([`GossipModel::key_representative`]); sound everywhere.
    pub key_symmetry: bool,
    /// Worker threads.
    pub threads: usize,
}

impl Plan {
    /// The fair engine's safety-only mode with two threads: the suites' usual plan (shortest
    /// counterexamples, the compact store, both cores).
    pub const SAFETY: Plan = Plan {
        engine: Engine::Fair,
        safety_only: true,
        symmetry: false,
        key_symmetry: false,
        threads: 2,
    };

    /// The full fair engine (safety, reachability and fair liveness) with two threads.
    pub const LIVENESS: Plan = Plan {
        safety_only: false,
        ..Plan::SAFETY
    };

    /// The plan of a single hand-picked run: single-threaded BFS.
    pub const BFS: Plan = Plan {
        engine: Engine::Bfs,
        safety_only: false,
        symmetry: false,
        key_symmetry: false,
        threads: 1,
    };

    /// The plan in words, for listings: engine, threads and reductions.
    pub fn describe(&self) -> String {
        let mut out = match (self.engine, self.safety_only) {
            (Engine::Fair, true) => "fair --safety-only".to_string(),
            (e, _) => e.as_str().to_string(),
        };
        let _ = write!(out, ", {} thread{}", self.threads, plural(self.threads));
        if self.symmetry {
            out.push_str(", node symmetry");
        }
        if self.key_symmetry {
            out.push_str(", key symmetry");
        }
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One entry of the table.
#[derive(Clone, Debug)]
pub struct NamedConfig {
    /// The name used by `--config-name`.
    pub name: &'static str,
    /// Why the configuration is there: what it checks that others do not.
    pub purpose: &'static str,
    /// The suites that run it.
    pub suites: &'static [Suite],
    /// The model configuration (the correct protocol; a run may substitute a variant).
    pub config: GossipConfig,
    /// How it is checked.
    pub plan: Plan,
}

/// The optional behaviours of the model that the suites combine. The first eleven are the
/// features issue #20 asks to meet pairwise ([`Feature::PAIRWISE`]); loss, partial digests
/// and record expiry (issue #19's scale rules) are listed too: each has its own configurations
/// in the default suite but does not yet meet every other feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    /// Nodes write keys.
    Writes,
    /// Nodes delete keys they wrote (tombstones).
    Deletes,
    /// Tombstones are garbage-collected (with deletes: resets become possible).
    Gc,
    /// A node may crash.
    Crash,
    /// A crashed node may restart with a higher generation.
    Restart,
    /// The failure detector convicts, falsely too (a running node can be suspected).
    Convict,
    /// Dead or left nodes are forgotten (and the record protects against zombies).
    Forget,
    /// Nodes may leave.
    Leave,
    /// The network duplicates messages (a second copy, or a redelivery).
    Duplication,
    /// The network reorders messages: unordered, with two messages in flight.
    Reorder,
    /// A delta is cut by `max_delta` (the model's stand-in for the MTU).
    Cuts,
    /// The network loses messages.
    Loss,
    /// Digests are partial (`digest_entries` below the number of nodes).
    PartialDigests,
    /// Forgotten records expire.
    Expire,
}

impl Feature {
    /// Every feature, in a fixed order.
    pub const ALL: [Feature; 14] = [
        Feature::Writes,
        Feature::Deletes,
        Feature::Gc,
        Feature::Crash,
        Feature::Restart,
        Feature::Convict,
        Feature::Forget,
        Feature::Leave,
        Feature::Duplication,
        Feature::Reorder,
        Feature::Cuts,
        Feature::Loss,
        Feature::PartialDigests,
        Feature::Expire,
    ];

    /// The features every pair of which must meet in a 3-node configuration of the default
    /// suite (issue #20): all but loss.
    pub const PAIRWISE: [Feature; 11] = [
        Feature::Writes,
        Feature::Deletes,
        Feature::Gc,
        Feature::Crash,
        Feature::Restart,
        Feature::Convict,
        Feature::Forget,
        Feature::Leave,
        Feature::Duplication,
        Feature::Reorder,
        Feature::Cuts,
    ];

    /// The short name used in listings.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Writes => "writes",
            Feature::Deletes => "deletes",
            Feature::Gc => "gc",
            Feature::Crash => "crash",
            Feature::Restart => "restart",
            Feature::Convict => "convict",
            Feature::Forget => "forget",
            Feature::Leave => "leave",
            Feature::Duplication => "dup",
            Feature::Reorder => "reorder",
            Feature::Cuts => "cuts",
            Feature::Loss => "loss",
            Feature::PartialDigests => "partial-digests",
            Feature::Expire => "expire",
        }
    }

    /// Whether `cfg` enables this feature so that it can really happen, derived from the
    /// configuration (and, for false suspicion, forgetting and cuts, from the model's own
    /// reachability expectations, which the suites' runs check).
    pub fn of(self, cfg: &GossipConfig) -> bool {
        let model = || cfg.clone().into_model();
        let writes = cfg.writes_per_node > 0 && cfg.keys > 0 && cfg.values > 0;
        match self {
            Feature::Writes => writes,
            // A delete needs a key the node set.
            Feature::Deletes => writes && cfg.deletes_per_node > 0,
            Feature::Gc => cfg.gc && Feature::Deletes.of(cfg),
            Feature::Crash => cfg.crashes > 0,
            Feature::Restart => cfg.restarts > 0,
            Feature::Convict => {
                cfg.convict
                    && model().expected(R_FALSELY_CONVICTED) == gossip_model::Expected::Found
            }
            Feature::Forget => {
                cfg.forget && model().expected(R_FORGOTTEN) == gossip_model::Expected::Found
            }
            Feature::Leave => cfg.leave,
            // A second copy needs a free slot; a redelivery needs none.
            Feature::Duplication => {
                cfg.network.duplicating && (cfg.network.redeliver || cfg.network.max_in_flight >= 2)
            }
            Feature::Reorder => !cfg.network.ordered && cfg.network.max_in_flight >= 2,
            Feature::Cuts => model().expected(R_CUT) == gossip_model::Expected::Found,
            Feature::Loss => cfg.network.lossy,
            Feature::PartialDigests => cfg.digest_entries.is_some_and(|n| n < cfg.nodes),
            Feature::Expire => cfg.expire && Feature::Forget.of(cfg),
        }
    }
}

/// The features `cfg` enables, in [`Feature::ALL`] order.
pub fn features(cfg: &GossipConfig) -> Vec<Feature> {
    Feature::ALL.into_iter().filter(|f| f.of(cfg)).collect()
}

/// The configuration every table entry starts from: 3 nodes, seed n0, one key and one value,
/// nothing written, push-pull with fanout 1, a perfect FIFO network with one message in
/// flight, no crash, no optional step, heartbeats frozen (`max_heartbeat` 0) and no delta cut
/// (`max_delta` 6). Each entry turns on what it checks.
pub fn base() -> GossipConfig {
    GossipConfig {
        nodes: 3,
        keys: 1,
        values: 1,
        writes_per_node: 0,
        deletes_per_node: 0,
        crashes: 0,
        restarts: 0,
        max_delta: 6,
        fanout: 1,
        mode: Mode::PushPull,
        network: NetworkConfig {
            lossy: false,
            duplicating: false,
            ordered: true,
            max_in_flight: 1,
            redeliver: false,
        },
        convict: false,
        forget: false,
        leave: false,
        gc: false,
        max_heartbeat: 0,
        ..GossipConfig::default()
    }
}

const DEFAULT: &[Suite] = &[Suite::Default, Suite::Thorough];
const THOROUGH: &[Suite] = &[Suite::Thorough];

/// Every named configuration, the default suite's first. See `docs/checking.md`, "The
/// suites", for the measured states and seconds of each.
pub fn table() -> Vec<NamedConfig> {
    let b = base();
    vec![
        NamedConfig {
            name: "data-faults",
            purpose: "writes, deletes and garbage collection (one writing node) meet a crash, a restart and duplication (as redelivery)",
            suites: DEFAULT,
            config: GossipConfig {
                writers: Some(1),
                writes_per_node: 1,
                deletes_per_node: 1,
                gc: true,
                crashes: 1,
                restarts: 1,
                network: NetworkConfig {
                    duplicating: true,
                    redeliver: true,
                    ..b.network.clone()
                },
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "data-restart",
            purpose: "two keys written twice with two values by one node meet a crash and a restart (versions and generations across a restart)",
            suites: DEFAULT,
            config: GossipConfig {
                writers: Some(1),
                keys: 2,
                values: 2,
                writes_per_node: 2,
                crashes: 1,
                restarts: 1,
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "data-reorder",
            purpose: "writes, deletes and garbage collection (one writing node) on an unordered network with two messages in flight",
            suites: DEFAULT,
            config: GossipConfig {
                writers: Some(1),
                writes_per_node: 1,
                deletes_per_node: 1,
                gc: true,
                network: NetworkConfig {
                    ordered: false,
                    max_in_flight: 2,
                    ..b.network.clone()
                },
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "data-cuts",
            purpose: "two keys written twice and deleted by one node, garbage collection, deltas cut to one update",
            suites: DEFAULT,
            config: GossipConfig {
                writers: Some(1),
                keys: 2,
                writes_per_node: 2,
                deletes_per_node: 1,
                gc: true,
                max_delta: 1,
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "membership-faults",
            purpose: "the failure detector (false suspicion) and forgetting meet a crash, a restart and duplication (as redelivery)",
            suites: DEFAULT,
            config: GossipConfig {
                convict: true,
                forget: true,
                crashes: 1,
                restarts: 1,
                max_heartbeat: 1,
                network: NetworkConfig {
                    duplicating: true,
                    redeliver: true,
                    ..b.network.clone()
                },
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "leave-faults",
            purpose: "leaving meets a crash, a restart and cuts (of leave markers)",
            suites: DEFAULT,
            config: GossipConfig {
                leave: true,
                crashes: 1,
                restarts: 1,
                max_delta: 1,
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "leave-forget-dup",
            purpose: "leaving and forgetting meet duplication (as redelivery); no cuts (see finding-leave-forget-cut)",
            suites: DEFAULT,
            config: GossipConfig {
                leave: true,
                forget: true,
                network: NetworkConfig {
                    duplicating: true,
                    redeliver: true,
                    ..b.network.clone()
                },
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "convict-leave",
            purpose: "the failure detector (false suspicion) meets leaving, duplication (as redelivery) and cuts (of leave markers)",
            suites: DEFAULT,
            config: GossipConfig {
                convict: true,
                leave: true,
                max_heartbeat: 1,
                max_delta: 1,
                network: NetworkConfig {
                    duplicating: true,
                    redeliver: true,
                    ..b.network.clone()
                },
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "membership-reorder",
            purpose: "the failure detector (false suspicion) and forgetting on an unordered network with two messages in flight",
            suites: DEFAULT,
            config: GossipConfig {
                convict: true,
                forget: true,
                max_heartbeat: 1,
                network: NetworkConfig {
                    ordered: false,
                    max_in_flight: 2,
                    ..b.network.clone()
                },
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "leave-reorder",
            purpose: "leaving and cuts (of leave markers) on an unordered network with two messages in flight",
            suites: DEFAULT,
            config: GossipConfig {
                leave: true,
                max_delta: 1,
                network: NetworkConfig {
                    ordered: false,
                    max_in_flight: 2,
                    ..b.network.clone()
                },
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "faults-reorder",
            purpose: "a crash, a restart and duplication (as redelivery) on an unordered network with two messages in flight",
            suites: DEFAULT,
            config: GossipConfig {
                crashes: 1,
                restarts: 1,
                network: NetworkConfig {
                    ordered: false,
                    max_in_flight: 2,
                    duplicating: true,
                    redeliver: true,
                    ..b.network.clone()
                },
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "data-convict",
            purpose: "two keys written twice and deleted by one node, garbage collection and cuts meet the failure detector (false suspicion) and forgetting",
            suites: DEFAULT,
            config: GossipConfig {
                writers: Some(1),
                keys: 2,
                writes_per_node: 2,
                deletes_per_node: 1,
                gc: true,
                convict: true,
                forget: true,
                max_heartbeat: 1,
                max_delta: 1,
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "data-leave",
            purpose: "writes, deletes and garbage collection (one writing node) meet leaving",
            suites: DEFAULT,
            config: GossipConfig {
                writers: Some(1),
                writes_per_node: 1,
                deletes_per_node: 1,
                gc: true,
                leave: true,
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "partial-digests",
            purpose: "partial digests of two entries (own entry, then a rotating range) meet writes by every node and loss",
            suites: DEFAULT,
            config: GossipConfig {
                writes_per_node: 1,
                digest_entries: Some(2),
                network: NetworkConfig {
                    lossy: true,
                    ..b.network.clone()
                },
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "one-entry-digests",
            purpose: "digests of one entry (a rotating range only, not even the own entry) while the nodes join",
            suites: DEFAULT,
            config: GossipConfig {
                digest_entries: Some(1),
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "expire-faults",
            purpose: "forgotten records expire (past the expiry horizon) after false suspicion and forgetting, with a crash and loss",
            suites: DEFAULT,
            config: GossipConfig {
                crashes: 1,
                convict: true,
                forget: true,
                expire: true,
                max_heartbeat: 1,
                network: NetworkConfig {
                    lossy: true,
                    ..b.network.clone()
                },
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "default-config",
            purpose: "the built-in default configuration (GossipConfig::default(): every node writes, loss, one message in flight, a crash, false suspicion, cuts), with fair liveness (the leads-to requirements under the declared fairness)",
            suites: THOROUGH,
            config: GossipConfig::default(),
            plan: Plan::LIVENESS,
        },
        NamedConfig {
            name: "data-all-writers",
            purpose: "every node writes, deletes and collects tombstones (the data features without the one-writer restriction)",
            suites: THOROUGH,
            config: GossipConfig {
                writes_per_node: 1,
                deletes_per_node: 1,
                gc: true,
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "data-leave-forget",
            purpose: "writes, deletes and garbage collection (one writing node) meet leaving and forgetting together",
            suites: THOROUGH,
            config: GossipConfig {
                writers: Some(1),
                writes_per_node: 1,
                deletes_per_node: 1,
                gc: true,
                leave: true,
                forget: true,
                ..b.clone()
            },
            plan: Plan::SAFETY,
        },
        NamedConfig {
            name: "finding-cut-crash",
            purpose: "in no suite: a finding of the suites' design (2026-12-08) that the correct protocol fails: a delta cut by max_delta leaves two nodes at the same watermark of an owner with different entries below it (one holds an entry the owner later deleted, the other never got it); the owner crashes before either gets its later change, so once quiescent they disagree forever (\"once quiescent, two live nodes ... agree\" violated, 15 steps); the same happens with every node writing; it needs a cut, a change that supersedes an earlier one, and a crash",
            suites: &[],
            config: GossipConfig {
                writers: Some(1),
                keys: 2,
                writes_per_node: 2,
                deletes_per_node: 1,
                crashes: 1,
                max_delta: 1,
                ..b.clone()
            },
            plan: Plan::BFS,
        },
        NamedConfig {
            name: "finding-leave-forget-cut",
            purpose: "in no suite: a finding of the suites' design (2026-12-08) that the correct protocol fails: n0 and n1 leave; n2 learns n0's leave marker from n0 in a delta cut to one update (n1's marker left out), then forgets n0; n1's marker is held only by nodes that left, so once quiescent n2 sees n1 alive forever (\"once quiescent, a running node that left is seen as left ...\" violated, 14 steps); it needs a cut, two leaves and forget",
            suites: &[],
            config: GossipConfig {
                leave: true,
                forget: true,
                max_delta: 1,
                ..b.clone()
            },
            plan: Plan::BFS,
        },
    ]
}

/// The entry named `name`.
pub fn find(name: &str) -> Option<NamedConfig> {
    table().into_iter().find(|c| c.name == name)
}

/// The names of every entry, comma-separated (for error messages).
pub fn names() -> String {
    table()
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The options that reproduce `cfg` from the built-in default configuration on the command
/// line (`gossip-check` then checks that one configuration).
pub fn command_line(cfg: &GossipConfig) -> String {
    let mut out = format!(
        "--nodes {} --keys {} --values {} --writes {} --deletes {}",
        cfg.nodes, cfg.keys, cfg.values, cfg.writes_per_node, cfg.deletes_per_node
    );
    if let Some(w) = cfg.writers {
        let _ = write!(out, " --writers {w}");
    }
    let _ = write!(
        out,
        " --faults {} --features {} --mode {} --fanout {} --max-delta {} --max-in-flight {} \
         --max-heartbeat {}",
        adapter::faults_of(cfg),
        adapter::features_of(cfg),
        cfg.mode.name(),
        cfg.fanout,
        cfg.max_delta,
        cfg.network.max_in_flight,
        cfg.max_heartbeat
    );
    if cfg.network.duplicating && cfg.network.redeliver {
        out.push_str(" --dup-as-redelivery");
    }
    if cfg.prune_dead_messages {
        out.push_str(" --prune-dead-messages");
    }
    out
}

/// The `--list-configs` text: a table of what each configuration enables, then per
/// configuration its purpose, plan and equivalent options.
pub fn list_configs() -> String {
    let table = table();
    let width = table.iter().map(|c| c.name.len()).max().unwrap_or(4).max(4);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Named configurations (gossip-check --config-name NAME runs one; --suite default|thorough runs a suite).\n\
         Columns: suites (d = default, t = thorough), nodes, writing nodes (w), keys, writes and deletes per node, \
         gc, crash, restart, convict (with false suspicion), forget, leave, loss, dup (x2 = second copy, rd = redelivery), \
         reorder, messages in flight, max heartbeat, max delta (cut = deltas can be cut), mode."
    );
    let _ = writeln!(
        out,
        "{:<width$} suite nodes w keys wr del gc crash restart convict forget leave loss dup reorder in-flight hb max-delta mode",
        "name"
    );
    for c in &table {
        let cfg = &c.config;
        let on = |f: Feature| if f.of(cfg) { "yes" } else { "-" };
        let suites: String = [Suite::Default, Suite::Thorough]
            .iter()
            .map(|s| {
                if c.suites.contains(s) {
                    &s.name()[..1]
                } else {
                    "."
                }
            })
            .collect();
        let dup = match (Feature::Duplication.of(cfg), cfg.network.redeliver) {
            (false, _) => "-",
            (true, true) => "rd",
            (true, false) => "x2",
        };
        let delta = if Feature::Cuts.of(cfg) {
            format!("{} cut", cfg.max_delta)
        } else {
            cfg.max_delta.to_string()
        };
        let _ = writeln!(
            out,
            "{:<width$} {:<5} {:>5} {:>1} {:>4} {:>2} {:>3} {:>3} {:>5} {:>7} {:>7} {:>6} {:>5} {:>4} {:>3} {:>7} {:>9} {:>2} {:>9} {}",
            c.name,
            suites,
            cfg.nodes,
            cfg.writing_nodes(),
            cfg.keys,
            cfg.writes_per_node,
            cfg.deletes_per_node,
            on(Feature::Gc),
            cfg.crashes,
            cfg.restarts,
            on(Feature::Convict),
            on(Feature::Forget),
            on(Feature::Leave),
            on(Feature::Loss),
            dup,
            on(Feature::Reorder),
            cfg.network.max_in_flight,
            cfg.max_heartbeat,
            delta,
            cfg.mode.name()
        );
    }
    for c in &table {
        let _ = writeln!(out, "\n{}: {}", c.name, c.purpose);
        let _ = writeln!(out, "    checked with: {}", c.plan.describe());
        let _ = writeln!(out, "    same as: {}", command_line(&c.config));
    }
    out
}

/// An error of a configuration run: bad options (exit code 2) or an internal failure (3).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The options contradict each other, the engine or the configuration.
    #[error("{0}")]
    Usage(String),
    /// A checker failed after the options were accepted.
    #[error("{0}")]
    Internal(String),
}

impl From<CheckError> for RunError {
    fn from(e: CheckError) -> Self {
        if e.is_usage() {
            RunError::Usage(e.to_string())
        } else {
            RunError::Internal(e.to_string())
        }
    }
}

/// The options of a run that are not the plan: bounds, limits, progress and property filter.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// Stop after about this many states (the run is then incomplete).
    pub max_states: Option<usize>,
    /// Do not explore beyond this depth (not for the fair engine).
    pub max_depth: Option<usize>,
    /// Seed of the simulation engine.
    pub seed: u64,
    /// Fair engine: stop when the resident set reaches this many bytes.
    pub memory_limit: Option<u64>,
    /// Fair engine: stop after this long.
    pub time_limit: Option<Duration>,
    /// No progress output.
    pub quiet: bool,
    /// Check only this property (stop as soon as it is decided).
    pub property: Option<String>,
}

/// Checks `cfg` as `plan` says, within `limits`, and reports every property.
pub fn check_config(
    cfg: &GossipConfig,
    plan: &Plan,
    limits: &Limits,
) -> Result<RunReport, RunError> {
    let usage = |m: &str| Err(RunError::Usage(m.to_string()));
    if plan.engine == Engine::Fair && limits.max_depth.is_some() {
        return usage("--max-depth is not supported by --checker fair");
    }
    if plan.safety_only && plan.engine != Engine::Fair {
        return usage("--safety-only needs --checker fair");
    }
    if (limits.memory_limit.is_some() || limits.time_limit.is_some()) && plan.engine != Engine::Fair
    {
        return usage("--memory-limit and --time-limit need --checker fair");
    }
    if limits.time_limit == Some(Duration::ZERO) {
        return usage("--time-limit must be at least 1 second");
    }
    cfg.validate()
        .map_err(|e| RunError::Usage(format!("invalid configuration: {e}")))?;
    let model = cfg.clone().into_model();
    if plan.symmetry && model.symmetric_nodes() < 2 {
        return usage(
            "--symmetry: symmetry reduction is not sound for this configuration (fewer than two \
             interchangeable nodes, or max-delta smaller than the changes all nodes can make, so \
             a cut delta depends on node ids); drop --symmetry",
        );
    }
    let symmetry: Option<fn(&_) -> _> = match (plan.symmetry, plan.key_symmetry) {
        (true, true) => Some(GossipModel::node_and_key_representative),
        (true, false) => Some(GossipModel::representative),
        (false, true) => Some(GossipModel::key_representative),
        (false, false) => None,
    };
    let opts = RunOptions {
        engine: plan.engine,
        threads: plan.threads,
        max_states: limits.max_states,
        max_depth: limits.max_depth,
        seed: limits.seed,
        symmetry,
        progress: if limits.quiet {
            Progress::Off
        } else {
            Progress::Auto
        },
        label: "gossip".to_string(),
    };
    match (plan.engine, &limits.property) {
        (Engine::Fair, property) => {
            if let Some(name) = property {
                let mut known: Vec<_> = model.properties().iter().map(|p| p.name).collect();
                known.extend(model.liveness().iter().map(|l| l.name));
                if !known.contains(&name.as_str()) {
                    let known: Vec<_> = known.iter().map(|n| format!("{n:?}")).collect();
                    return Err(RunError::Usage(format!(
                        "unknown property {name:?}; the properties are: {}",
                        known.join(", ")
                    )));
                }
            }
            let fair = FairGossip::new(model);
            let fair_opts = fair_run::FairOptions {
                safety_only: plan.safety_only,
                memory_limit: limits.memory_limit,
                time_limit: limits.time_limit,
                only_property: property.clone().filter(|_| plan.safety_only),
            };
            let mut report = fair_run::run(&fair, &opts, &fair_opts)
                .map_err(|e| RunError::Internal(format!("the fair checker failed: {e}")))?;
            if let Some(name) = property {
                // The fair engine checks every property in one exploration; keep the one asked.
                report.properties.retain(|p| &p.name == name);
            }
            Ok(report)
        }
        (_, Some(name)) => Ok(check::run(Only::new(model, name)?, &opts)?),
        (_, None) => Ok(check::run(model, &opts)?),
    }
}

/// The result of one configuration of a suite (and, in the `--json` file of a single run, of
/// that one configuration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigurationReport {
    /// The configuration's name in [`table`], or `custom` for a hand-picked configuration.
    pub name: String,
    /// The configuration checked (its variant included).
    pub config: GossipConfig,
    /// The run: checker, settings, complete, states, seconds, properties, storage.
    #[serde(flatten)]
    pub run: RunReport,
}

/// Where a seeded bug showed in a suite run: a property whose result contradicts the correct
/// protocol's expectation in a configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catch {
    /// The configuration's name.
    pub configuration: String,
    /// The property's name.
    pub property: String,
    /// Its status there.
    pub status: Status,
}

/// A suite run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuiteReport {
    /// The suite's name.
    pub suite: String,
    /// The variant checked in every configuration.
    pub variant: Variant,
    /// Every configuration's result, in suite order. Each is judged against the correct
    /// protocol's expectations for that configuration (also for a seeded bug, so that `failed`
    /// marks where the bug shows).
    pub configurations: Vec<ConfigurationReport>,
    /// For a seeded-bug variant: every (configuration, property) where the bug showed.
    pub caught_by: Vec<Catch>,
    /// Wall-clock seconds of the whole suite (the searches and everything between them).
    pub seconds: f64,
}

impl SuiteReport {
    /// Whether the variant was caught: some configuration contradicts the correct protocol.
    pub fn caught(&self) -> bool {
        !self.caught_by.is_empty()
    }

    /// Whether the suite met its expectations: for the correct protocol (or with
    /// `expect_correct`), every configuration met every expectation; for a seeded bug judged
    /// as one, some configuration caught it.
    pub fn expectations_met(&self, expect_correct: bool) -> bool {
        if self.variant.is_seeded_bug() && !expect_correct {
            self.caught()
        } else {
            self.configurations.iter().all(|c| c.run.expectations_met())
        }
    }

    /// Properties with status `unknown` (cut runs), over every configuration.
    pub fn inconclusive(&self) -> usize {
        self.configurations
            .iter()
            .flat_map(|c| &c.run.properties)
            .filter(|p| p.verdict == Verdict::Inconclusive)
            .count()
    }
}

/// Runs `configs` with `variant`, each as its plan says (threads overridden by `threads`),
/// calling `done` after each configuration (for progress output). Safety-only runs report
/// no leads-to property (not run). Every configuration is judged against the correct
/// protocol's expectations.
pub fn run_suite(
    suite: &str,
    configs: &[NamedConfig],
    variant: Variant,
    threads: Option<usize>,
    limits: &Limits,
    mut done: impl FnMut(usize, &ConfigurationReport),
) -> Result<SuiteReport, RunError> {
    let start = Instant::now();
    let mut reports = Vec::new();
    for (i, named) in configs.iter().enumerate() {
        let cfg = GossipConfig {
            variant,
            ..named.config.clone()
        };
        let plan = Plan {
            threads: threads.unwrap_or(named.plan.threads),
            ..named.plan
        };
        let mut run = check_config(&cfg, &plan, limits)?;
        if plan.safety_only {
            run.properties.retain(|p| p.kind != PropertyKind::LeadsTo);
        }
        adapter::expect_correct(&mut run, &cfg);
        let report = ConfigurationReport {
            name: named.name.to_string(),
            config: cfg,
            run,
        };
        done(i, &report);
        reports.push(report);
    }
    let caught_by = if variant.is_seeded_bug() {
        reports
            .iter()
            .flat_map(|c| {
                c.run
                    .properties
                    .iter()
                    .filter(|p| p.verdict == Verdict::Failed)
                    .map(|p| Catch {
                        configuration: c.name.clone(),
                        property: p.name.clone(),
                        status: p.status,
                    })
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(SuiteReport {
        suite: suite.to_string(),
        variant,
        configurations: reports,
        caught_by,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The one-line summary of a configuration's run: states, seconds, completeness and how many
/// properties met their expectation.
pub fn run_line(c: &ConfigurationReport) -> String {
    let r = &c.run;
    let failed = r
        .properties
        .iter()
        .filter(|p| p.verdict == Verdict::Failed)
        .count();
    let unknown = r
        .properties
        .iter()
        .filter(|p| p.verdict == Verdict::Inconclusive)
        .count();
    let mut out = format!(
        "{} states, {:.1} s, {}",
        group(r.states.unique),
        r.seconds,
        if r.complete {
            "complete"
        } else {
            "NOT complete"
        }
    );
    let _ = write!(
        out,
        "; {} propert{}: ",
        r.properties.len(),
        if r.properties.len() == 1 { "y" } else { "ies" }
    );
    if failed == 0 && unknown == 0 {
        out.push_str("all as expected");
    } else {
        let mut parts = Vec::new();
        if failed > 0 {
            parts.push(format!("{failed} contradict the expectation"));
        }
        if unknown > 0 {
            parts.push(format!("{unknown} unknown"));
        }
        out.push_str(&parts.join(", "));
    }
    out
}

/// The matrix cell of one property in one configuration.
fn cell(p: Option<&PropertyReport>) -> String {
    let Some(p) = p else {
        return "-".into();
    };
    let text = match p.status {
        Status::Holds => "holds",
        Status::Violated => "VIOL",
        Status::Found => "found",
        Status::NotFound if p.expected == Expected::NotFound => "n/r",
        Status::NotFound => "NOTF",
        Status::Unknown => "?",
    };
    if p.verdict == Verdict::Failed {
        format!("{text}!")
    } else {
        text.to_string()
    }
}

/// The legend printed above the matrix.
pub const MATRIX_LEGEND: &str = "holds = no counterexample; found = example found; \
     VIOL = violated; n/r = not reachable in this configuration (expected: a feature it needs is \
     off); NOTF = not found though expected; ? = unknown (run cut); - = not run; ! = contradicts \
     the expectation";

/// The property x configuration matrix: one row per property (in the model's order), one
/// column per configuration (numbered as in [`suite_text`]).
pub fn matrix_text(configs: &[ConfigurationReport]) -> String {
    let mut rows: Vec<(String, PropertyKind)> = Vec::new();
    for c in configs {
        for p in &c.run.properties {
            if !rows.iter().any(|(n, _)| n == &p.name) {
                rows.push((p.name.clone(), p.kind));
            }
        }
    }
    let mut out = String::new();
    let header: String = (1..=configs.len()).map(|i| format!("{i:<7}")).collect();
    let _ = writeln!(out, "  {header}");
    for (name, kind) in rows {
        let cells: String = configs
            .iter()
            .map(|c| {
                let p = c.run.properties.iter().find(|p| p.name == name);
                format!("{:<7}", cell(p))
            })
            .collect();
        let _ = writeln!(out, "  {cells}{:<10} {name}", kind.as_str());
    }
    out
}

/// The text of a suite run: the configurations with their results, the matrix, and every
/// counterexample (and, with `show_examples`, every example) with the configuration it is in.
pub fn suite_text(report: &SuiteReport, show_examples: bool) -> String {
    let mut out = String::new();
    let total: usize = report
        .configurations
        .iter()
        .map(|c| c.run.states.unique)
        .sum();
    let _ = writeln!(
        out,
        "== suite {}: {} configurations, variant {}, {} states in total, {:.1} s",
        report.suite,
        report.configurations.len(),
        report.variant.name(),
        group(total),
        report.seconds
    );
    let width = report
        .configurations
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for (i, c) in report.configurations.iter().enumerate() {
        let _ = writeln!(out, "{:>3} {:<width$}  {}", i + 1, c.name, run_line(c));
    }
    let _ = writeln!(out, "matrix ({MATRIX_LEGEND}):");
    out.push_str(&matrix_text(&report.configurations));
    for c in &report.configurations {
        for p in &c.run.properties {
            let Some(trace) = &p.trace else { continue };
            let is_example = p.status == Status::Found;
            if is_example && !show_examples {
                continue;
            }
            let _ = writeln!(
                out,
                "\n{} for \"{}\" in configuration {} ({} step{}):",
                if is_example {
                    "example"
                } else {
                    "counterexample"
                },
                p.name,
                c.name,
                trace.len().saturating_sub(1),
                plural(trace.len().saturating_sub(1))
            );
            out.push_str(&trace_to_text(trace, p.loop_index));
        }
    }
    out
}
