//! Swarm verification (Holzmann, Joshi, Groce: "Swarm Verification Techniques", IEEE TSE 37(6),
//! 2011): instead of one exhaustive search that does not fit, many small, *diversified*,
//! bounded searches of the same model, each an independent process, whose union covers more
//! of the state space than any one of them and finds bugs sooner.
//!
//! Three steps, each a `gossip-swarm` subcommand and a function here:
//!
//! 1. [`plan`]: a shard list, one [`Shard`] per line (JSON lines): the configuration, a search
//!    ([`Search`]: DFS with a seeded random successor order, random walks, or BFS), a seed, a
//!    state budget and a depth bound, chosen so that shards differ (different seeds, orders,
//!    depth bounds).
//! 2. [`run_shard`]: runs one shard with stateright's own checkers (through
//!    [`crate::check::run`]) and returns a [`ShardResult`]: states explored, depth, seconds,
//!    each property's status with its trace and the time of its first discovery, the
//!    configuration's hash, and a sample of the fingerprints of the states it expanded.
//! 3. [`merge`]: the union of the shards' discoveries (the shortest trace per property), a
//!    coverage estimate (distinct sampled fingerprints across shards, against the sum of the
//!    shards' own counts), and whether any shard found a violation or a failed expectation.
//!
//! A swarm proves nothing: a property no shard violated is *unknown*, not *holds*, unless a
//! shard's search was exhaustive (not cut by its bounds), which the result records.

use crate::check::{self, Engine, Inspect, Only, Progress, RunOptions};
use crate::gossip::expect_correct;
use crate::report::{
    Expected, PropertyKind, PropertyReport, RunReport, StateCounts, Status, Verdict,
};
use gossip_model::{GossipAction, GossipConfig, GossipModel, GossipState};
use serde::{Deserialize, Serialize};
use stateright::{Model, Property};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// The `format` of a shard result file.
pub const RESULT_FORMAT: &str = "gossip-swarm-result/1";

/// How fingerprints are computed (results with another scheme are not comparable).
pub const FINGERPRINT_SCHEME: &str = "fnv1a64+splitmix64 of the state's Hash";

/// Errors of the swarm library.
#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    /// The plan's options are inconsistent.
    #[error("invalid plan: {0}")]
    Plan(String),
    /// A shard list or result file could not be read or parsed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The checker failed.
    #[error(transparent)]
    Check(#[from] crate::check::CheckError),
}

/// The search a shard runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Search {
    /// stateright's DFS over the model with each state's successors in a random order drawn
    /// from the seed and the state (so two seeds explore different parts first).
    Dfs,
    /// stateright's simulation: random walks from the initial state, each ending at a
    /// revisited state, a terminal state or the depth bound.
    Walk,
    /// stateright's BFS (the same in every seed, so a plan has at most one): every state up to
    /// the depth or state bound.
    Bfs,
}

impl Search {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Search::Dfs => "dfs",
            Search::Walk => "walk",
            Search::Bfs => "bfs",
        }
    }
}

/// One independent search of a swarm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shard {
    /// The shard's number (its line in the shard list, from 0).
    pub id: usize,
    /// The model configuration (the variant included).
    pub config: GossipConfig,
    /// [`config_hash`] of `config`.
    pub config_hash: String,
    /// The search.
    pub search: Search,
    /// The seed of the successor order (DFS) or of the walks.
    pub seed: u64,
    /// Stop after about this many generated states.
    pub max_states: usize,
    /// Do not expand states at this depth or deeper.
    pub max_depth: Option<usize>,
    /// Record the fingerprint of an expanded state when its low `sample_bits` bits are zero
    /// (1 state in 2^sample_bits; 0 records every state).
    pub sample_bits: u32,
    /// Check only this property (the search then stops as soon as it is found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Judge a seeded-bug variant against the correct protocol's expectations.
    #[serde(default)]
    pub expect_correct: bool,
}

/// The options of [`plan`].
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// Number of shards.
    pub shards: usize,
    /// The searches to mix (BFS at most once, as shard 0).
    pub searches: Vec<Search>,
    /// The depth bounds to cycle through (0: unbounded).
    pub depths: Vec<usize>,
    /// The state budget of each shard.
    pub max_states: usize,
    /// The base seed; shard `i`'s seed is derived from it and `i`.
    pub seed: u64,
    /// See [`Shard::sample_bits`].
    pub sample_bits: u32,
    /// See [`Shard::property`].
    pub property: Option<String>,
    /// See [`Shard::expect_correct`].
    pub expect_correct: bool,
}

/// A stable 64-bit hash (FNV-1a, finished with splitmix64 so that every bit mixes): the same on
/// every machine and Rust release, so fingerprints from different machines can be merged.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        splitmix(self.0)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The stable fingerprint of a value ([`FINGERPRINT_SCHEME`]).
pub fn stable_hash<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = Fnv::default();
    value.hash(&mut h);
    h.finish()
}

/// The hash that identifies a configuration in results: of its JSON form, as 16 hex digits.
pub fn config_hash(cfg: &GossipConfig) -> String {
    let json = serde_json::to_string(cfg).unwrap_or_default();
    format!("{:016x}", stable_hash(json.as_bytes()))
}

/// The shard list for `cfg`: shard 0 is the BFS if `searches` has it; the others take the
/// remaining searches in turn, each with its own seed, and cycle through the depth bounds so
/// that every search meets every bound.
pub fn plan(cfg: &GossipConfig, opts: &PlanOptions) -> Result<Vec<Shard>, SwarmError> {
    if opts.shards == 0 {
        return Err(SwarmError::Plan("--shards must be at least 1".into()));
    }
    if opts.max_states == 0 {
        return Err(SwarmError::Plan("--max-states must be at least 1".into()));
    }
    if opts.sample_bits > 20 {
        return Err(SwarmError::Plan("--sample-bits must be at most 20".into()));
    }
    let mut others: Vec<Search> = Vec::new();
    for s in &opts.searches {
        if *s != Search::Bfs && !others.contains(s) {
            others.push(*s);
        }
    }
    let bfs = opts.searches.contains(&Search::Bfs);
    if others.is_empty() && opts.shards > 1 {
        return Err(SwarmError::Plan(
            "BFS is the same search in every shard: add dfs or walk to --searches".into(),
        ));
    }
    let depths = if opts.depths.is_empty() {
        vec![0]
    } else {
        opts.depths.clone()
    };
    let hash = config_hash(cfg);
    let shard = |id: usize, search: Search, depth: usize| Shard {
        id,
        config: cfg.clone(),
        config_hash: hash.clone(),
        search,
        seed: splitmix(opts.seed ^ (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        max_states: opts.max_states,
        max_depth: (depth > 0).then_some(depth),
        sample_bits: opts.sample_bits,
        property: opts.property.clone(),
        expect_correct: opts.expect_correct,
    };
    let mut shards = Vec::with_capacity(opts.shards);
    for id in 0..opts.shards {
        if bfs && id == 0 {
            // The BFS's bound is its state budget (every level it completes is exhaustive).
            shards.push(shard(0, Search::Bfs, 0));
            continue;
        }
        let j = id - usize::from(bfs);
        let search = others[j % others.len()];
        let depth = depths[(j / others.len()) % depths.len()];
        shards.push(shard(id, search, depth));
    }
    Ok(shards)
}

/// Writes a shard list as JSON lines.
pub fn write_plan(shards: &[Shard]) -> String {
    let mut out = String::new();
    for s in shards {
        out.push_str(&serde_json::to_string(s).expect("a shard serialises"));
        out.push('\n');
    }
    out
}

/// Reads a shard list written by [`write_plan`].
pub fn read_plan(path: &Path) -> Result<Vec<Shard>, SwarmError> {
    let file_error = |message: String| SwarmError::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| file_error(format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// The result of one shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardResult {
    /// Always [`RESULT_FORMAT`].
    pub format: String,
    /// The shard that was run.
    pub shard: Shard,
    /// When the shard started (seconds since the Unix epoch).
    pub started_at: f64,
    /// Wall-clock seconds of the search.
    pub seconds: f64,
    /// stateright's counts: unique = distinct states generated, total = states generated
    /// (a walk's revisits counted again), max depth reached.
    pub states: StateCounts,
    /// Distinct states expanded (successors computed), by the shard's own fingerprint set.
    pub expanded: usize,
    /// Whether the search was exhaustive: it ended by itself, neither cut by its bounds nor
    /// stopped because every property it checks had a discovery (never for walks). Its
    /// `holds` and `not found` are then proofs.
    #[serde(alias = "complete")]
    pub exhaustive: bool,
    /// Every property checked: status, expectation, verdict and, when discovered, the trace
    /// (each step's `state_summary` left empty to keep results small: `gossip-swarm merge`
    /// renders the trace again from its actions).
    pub properties: Vec<PropertyReport>,
    /// Seconds from the shard's start to each property's first discovery.
    pub discovered_after: BTreeMap<String, f64>,
    /// [`FINGERPRINT_SCHEME`].
    pub fingerprint_scheme: String,
    /// The sampled fingerprints of the states the shard expanded, sorted (see
    /// [`Shard::sample_bits`]).
    pub fingerprints: Vec<u64>,
}

impl ShardResult {
    /// True when a property is violated or an expectation failed (merge then exits 1).
    pub fn alarming(&self) -> bool {
        self.properties
            .iter()
            .any(|p| p.status == Status::Violated || p.verdict == Verdict::Failed)
    }
}

/// The gossip model as a swarm shard explores it: the successors in a seeded random order, the
/// fingerprints of expanded states recorded, and the time of each property's first discovery.
pub struct Diversified {
    model: GossipModel,
    /// Each property's condition, and whether it is a `sometimes` property.
    conditions: Vec<(ModelCondition, bool)>,
    shuffle_seed: Option<u64>,
    sample_mask: u64,
    records: Arc<Records>,
}

type ModelCondition = fn(&GossipModel, &GossipState) -> bool;

/// What a [`Diversified`] model records while it is explored (shared, so that it can be read
/// after the checker that owns the model is gone).
struct Records {
    seen: Mutex<HashSet<u64>>,
    sampled: Mutex<BTreeSet<u64>>,
    first: Vec<OnceLock<f64>>,
    start: Instant,
}

impl Diversified {
    /// Wraps `model`; `shuffle_seed` randomises the successor order.
    pub fn new(model: GossipModel, shuffle_seed: Option<u64>, sample_bits: u32) -> Self {
        let properties = model.properties();
        let conditions = properties
            .iter()
            .map(|p| {
                (
                    p.condition,
                    p.expectation == stateright::Expectation::Sometimes,
                )
            })
            .collect();
        let records = Arc::new(Records {
            seen: Mutex::new(HashSet::new()),
            sampled: Mutex::new(BTreeSet::new()),
            first: properties.iter().map(|_| OnceLock::new()).collect(),
            start: Instant::now(),
        });
        Diversified {
            model,
            conditions,
            shuffle_seed,
            sample_mask: (1u64 << sample_bits) - 1,
            records,
        }
    }

    fn record(&self, fp: u64) {
        let new = self
            .records
            .seen
            .lock()
            .map(|mut s| s.insert(fp))
            .unwrap_or(false);
        if new
            && fp & self.sample_mask == 0
            && let Ok(mut s) = self.records.sampled.lock()
        {
            s.insert(fp);
        }
    }
}

impl Model for Diversified {
    type State = GossipState;
    type Action = GossipAction;

    fn init_states(&self) -> Vec<GossipState> {
        self.model.init_states()
    }
    fn actions(&self, state: &GossipState, actions: &mut Vec<GossipAction>) {
        let fp = stable_hash(state);
        self.record(fp);
        let start = actions.len();
        self.model.actions(state, actions);
        if let Some(seed) = self.shuffle_seed {
            // Fisher-Yates with a generator seeded by the state and the shard's seed: the
            // order is a function of the state, so every path can be replayed.
            let mut x = fp ^ seed;
            let slice = &mut actions[start..];
            for i in (1..slice.len()).rev() {
                x = splitmix(x);
                slice.swap(i, (x % (i as u64 + 1)) as usize);
            }
        }
    }
    fn next_state(&self, last: &GossipState, action: GossipAction) -> Option<GossipState> {
        self.model.next_state(last, action)
    }
    fn format_action(&self, action: &GossipAction) -> String {
        self.model.format_action(action)
    }
    fn format_step(&self, last: &GossipState, action: GossipAction) -> Option<String> {
        self.model.format_step(last, action)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        self.model
            .properties()
            .iter()
            .enumerate()
            .map(|(i, p)| Property {
                expectation: p.expectation.clone(),
                name: p.name,
                condition: CONDITIONS[i],
            })
            .collect()
    }
}

/// Property `I` of [`Diversified`] is the model's property `I`; its first discovery (a false
/// `always` or a true `sometimes` condition) is timed (conditions are plain `fn` pointers, so
/// the index is a const parameter).
fn condition<const I: usize>(m: &Diversified, s: &GossipState) -> bool {
    let (cond, sometimes) = m.conditions[I];
    let value = cond(&m.model, s);
    if value == sometimes {
        let r = &m.records;
        r.first[I].get_or_init(|| r.start.elapsed().as_secs_f64());
    }
    value
}

type Condition = fn(&Diversified, &GossipState) -> bool;

macro_rules! conditions {
    ($($i:literal)*) => { [$(condition::<$i> as Condition),*] };
}

/// Enough for the model's properties (checked in a test).
const CONDITIONS: [Condition; 48] = conditions!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23
    24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
);

impl Inspect for Diversified {
    fn expectation(&self, property: &str) -> Expected {
        self.model.expectation(property)
    }
    fn describe(&self, _state: &GossipState) -> String {
        String::new() // merge renders traces again from their actions
    }
    fn action_json(&self, action: &GossipAction) -> serde_json::Value {
        self.model.action_json(action)
    }
    fn describe_action(&self, from: &GossipState, action: &GossipAction) -> String {
        self.model.describe_action(from, action)
    }
}

/// Runs one shard (one thread).
pub fn run_shard(shard: &Shard, progress: Progress) -> Result<ShardResult, SwarmError> {
    let started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let model = shard.config.clone().into_model();
    let shuffle = (shard.search == Search::Dfs).then_some(shard.seed);
    let names: Vec<&str> = model.properties().iter().map(|p| p.name).collect();
    let diversified = Diversified::new(model, shuffle, shard.sample_bits);
    let records = Arc::clone(&diversified.records);
    let opts = RunOptions {
        engine: match shard.search {
            Search::Dfs => Engine::Dfs,
            Search::Walk => Engine::Simulation,
            Search::Bfs => Engine::Bfs,
        },
        threads: 1,
        max_states: Some(shard.max_states),
        max_depth: shard.max_depth,
        seed: shard.seed,
        symmetry: None,
        progress,
        label: format!("shard {}", shard.id),
    };
    let mut report: RunReport = match &shard.property {
        Some(name) => check::run(Only::new(diversified, name)?, &opts)?,
        None => check::run(diversified, &opts)?,
    };
    if shard.expect_correct {
        expect_correct(&mut report, &shard.config);
    }
    let discovered_after = names
        .iter()
        .zip(&records.first)
        .filter(|(n, _)| report.properties.iter().any(|p| &p.name == *n))
        .filter_map(|(n, t)| t.get().map(|t| (n.to_string(), *t)))
        .collect();
    let cut = report.states.total >= shard.max_states
        || shard
            .max_depth
            .is_some_and(|d| report.states.max_depth >= d);
    let all_discovered = report
        .properties
        .iter()
        .all(|p| matches!(p.status, Status::Violated | Status::Found));
    let exhaustive = shard.search != Search::Walk && !cut && !all_discovered;
    let expanded = records.seen.lock().map(|s| s.len()).unwrap_or(0);
    let fingerprints = records
        .sampled
        .lock()
        .map(|s| s.iter().copied().collect())
        .unwrap_or_default();
    Ok(ShardResult {
        format: RESULT_FORMAT.to_string(),
        shard: shard.clone(),
        started_at,
        seconds: report.seconds,
        states: report.states,
        expanded,
        exhaustive,
        properties: report.properties,
        discovered_after,
        fingerprint_scheme: FINGERPRINT_SCHEME.to_string(),
        fingerprints,
    })
}

/// Reads every `*.json` shard result in `dir` (sorted by shard id).
pub fn read_results(dir: &Path) -> Result<Vec<ShardResult>, SwarmError> {
    let file_error = |path: &Path, message: String| SwarmError::File {
        path: path.display().to_string(),
        message,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| file_error(dir, e.to_string()))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| file_error(dir, e.to_string()))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| file_error(&path, e.to_string()))?;
        let r: ShardResult =
            serde_json::from_str(&text).map_err(|e| file_error(&path, e.to_string()))?;
        if r.format != RESULT_FORMAT {
            return Err(file_error(&path, format!("format {:?}", r.format)));
        }
        out.push(r);
    }
    out.sort_by_key(|r| r.shard.id);
    Ok(out)
}

/// One property across the swarm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergedProperty {
    /// The property's name.
    pub name: String,
    /// always or sometimes.
    pub kind: PropertyKind,
    /// violated / found when any shard discovered it; holds / not found when a shard was
    /// exhaustive without discovering it; unknown otherwise.
    pub status: Status,
    /// The expectation (from the first shard that checked it).
    pub expected: Expected,
    /// The verdict of `status` against `expected`.
    pub verdict: Verdict,
    /// The shards that discovered it.
    pub found_by: Vec<usize>,
    /// Seconds from the swarm's first start to the earliest discovery (wall clock, across
    /// processes and machines: each shard's start time plus its discovery time).
    pub first_after: Option<f64>,
    /// The shortest trace any shard found, and the shard that found it.
    pub shortest: Option<(usize, Vec<crate::report::TraceStep>)>,
}

/// The merged result of a swarm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Merged {
    /// The shards merged.
    pub shards: usize,
    /// The configuration hashes seen (one, unless results of different plans were mixed).
    pub config_hashes: Vec<String>,
    /// Sum over shards of the distinct states each expanded.
    pub expanded_sum: usize,
    /// Distinct sampled fingerprints across shards.
    pub distinct_sampled: usize,
    /// The sampling rate's exponent (the largest of the shards').
    pub sample_bits: u32,
    /// Estimated distinct states across shards: `distinct_sampled × 2^sample_bits` (exact when
    /// `sample_bits` is 0).
    pub distinct_estimate: usize,
    /// The shards whose search was exhaustive.
    pub exhaustive_shards: Vec<usize>,
    /// Seconds from the first shard's start to the last shard's end.
    pub wall_seconds: f64,
    /// Sum of the shards' seconds.
    pub shard_seconds: f64,
    /// Every property.
    pub properties: Vec<MergedProperty>,
    /// True when a property is violated or an expectation failed in any shard.
    pub alarm: bool,
}

/// Merges shard results (see the module documentation).
pub fn merge(results: &[ShardResult]) -> Merged {
    let config_hashes: BTreeSet<String> = results
        .iter()
        .map(|r| r.shard.config_hash.clone())
        .collect();
    let sample_bits = results
        .iter()
        .map(|r| r.shard.sample_bits)
        .max()
        .unwrap_or(0);
    let mask = (1u64 << sample_bits) - 1;
    let mut sampled: HashSet<u64> = HashSet::new();
    for r in results {
        sampled.extend(r.fingerprints.iter().filter(|f| *f & mask == 0));
    }
    let t0 = results
        .iter()
        .map(|r| r.started_at)
        .fold(f64::INFINITY, f64::min);
    let t1 = results
        .iter()
        .map(|r| r.started_at + r.seconds)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut properties: Vec<MergedProperty> = Vec::new();
    for r in results {
        for p in &r.properties {
            let i = match properties.iter().position(|m| m.name == p.name) {
                Some(i) => i,
                None => {
                    properties.push(MergedProperty {
                        name: p.name.clone(),
                        kind: p.kind,
                        status: Status::Unknown,
                        expected: p.expected,
                        verdict: Verdict::Inconclusive,
                        found_by: Vec::new(),
                        first_after: None,
                        shortest: None,
                    });
                    properties.len() - 1
                }
            };
            let m = &mut properties[i];
            let discovered = matches!(p.status, Status::Violated | Status::Found);
            if discovered {
                m.status = p.status;
                m.found_by.push(r.shard.id);
                if let Some(t) = r.discovered_after.get(&p.name) {
                    let at = r.started_at + t - t0;
                    m.first_after = Some(m.first_after.map_or(at, |f| f.min(at)));
                }
                if let Some(trace) = &p.trace
                    && m.shortest
                        .as_ref()
                        .is_none_or(|(_, t)| trace.len() < t.len())
                {
                    m.shortest = Some((r.shard.id, trace.clone()));
                }
            } else if m.status == Status::Unknown
                && matches!(p.status, Status::Holds | Status::NotFound)
            {
                m.status = p.status;
            }
        }
    }
    for m in &mut properties {
        m.verdict = m.expected.verdict(m.status);
    }
    let alarm = results.iter().any(ShardResult::alarming)
        || properties
            .iter()
            .any(|m| m.status == Status::Violated || m.verdict == Verdict::Failed);
    Merged {
        shards: results.len(),
        config_hashes: config_hashes.into_iter().collect(),
        expanded_sum: results.iter().map(|r| r.expanded).sum(),
        distinct_sampled: sampled.len(),
        sample_bits,
        distinct_estimate: sampled.len() << sample_bits,
        exhaustive_shards: results
            .iter()
            .filter(|r| r.exhaustive)
            .map(|r| r.shard.id)
            .collect(),
        wall_seconds: if results.is_empty() { 0.0 } else { t1 - t0 },
        shard_seconds: results.iter().map(|r| r.seconds).sum(),
        properties,
        alarm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(shards: usize) -> PlanOptions {
        PlanOptions {
            shards,
            searches: vec![Search::Bfs, Search::Dfs, Search::Walk],
            depths: vec![0, 20],
            max_states: 1000,
            seed: 7,
            sample_bits: 0,
            property: None,
            expect_correct: false,
        }
    }

    #[test]
    fn a_plan_diversifies_searches_seeds_and_depth_bounds() {
        let shards = plan(&GossipConfig::default(), &opts(6)).unwrap();
        assert_eq!(shards.len(), 6);
        assert_eq!(shards[0].search, Search::Bfs);
        let searches: Vec<_> = shards[1..].iter().map(|s| s.search).collect();
        assert_eq!(
            searches,
            [
                Search::Dfs,
                Search::Walk,
                Search::Dfs,
                Search::Walk,
                Search::Dfs
            ]
        );
        let depths: Vec<_> = shards[1..].iter().map(|s| s.max_depth).collect();
        assert_eq!(depths, [None, None, Some(20), Some(20), None]);
        let seeds: HashSet<u64> = shards.iter().map(|s| s.seed).collect();
        assert_eq!(seeds.len(), 6, "every shard has its own seed");
        let text = write_plan(&shards);
        assert_eq!(text.lines().count(), 6);
    }

    #[test]
    fn a_plan_of_bfs_alone_with_several_shards_is_refused() {
        let o = PlanOptions {
            searches: vec![Search::Bfs],
            ..opts(2)
        };
        assert!(plan(&GossipConfig::default(), &o).is_err());
    }

    #[test]
    fn the_stable_hash_does_not_depend_on_the_process() {
        // Pinned: a change of the hash would make results of different builds unmergeable.
        assert_eq!(stable_hash(&0u8), splitmix(0xaf63_bd4c_8601_b7df));
        assert_ne!(stable_hash(&1u8), stable_hash(&0u8));
    }

    #[test]
    fn the_swarm_model_has_room_for_every_property() {
        let model = GossipConfig::default().into_model();
        assert!(model.properties().len() <= CONDITIONS.len());
    }

    #[test]
    fn a_shuffled_successor_order_is_a_permutation_that_depends_on_the_seed() {
        let model = GossipConfig::default().into_model();
        let s = model.init_states().remove(0);
        let mut plain = Vec::new();
        model.actions(&s, &mut plain);
        let orders: Vec<Vec<GossipAction>> = (0..8)
            .map(|seed| {
                let d = Diversified::new(model.clone(), Some(seed), 0);
                let mut a = Vec::new();
                d.actions(&s, &mut a);
                a
            })
            .collect();
        for o in &orders {
            let mut sorted = o.clone();
            sorted.sort();
            let mut p = plain.clone();
            p.sort();
            assert_eq!(sorted, p);
        }
        assert!(orders.iter().any(|o| o != &orders[0]), "{plain:?}");
    }
}
