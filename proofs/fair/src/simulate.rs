//! Seeded random walks with fair-lasso detection, for models too big to exhaust.

use crate::store::{IdBuild, fingerprint};
use crate::{
    FairClass, FairModel, FairResult, Lasso, Mode, Phase, Progress, PropertyKind, PropertyResult,
    SimulationStats, Status, Trace,
};
use stateright::Expectation;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::time::Instant;

/// SplitMix64: a tiny, well-mixed, seedable PRNG (Steele, Lea, Flood 2014).
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `0..n` (`n > 0`), by Lemire's multiply-shift (bias below 2^-32 for the
    /// small `n` used here).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// One step of a walk: the state, the fair classes enabled at it, and the chosen action with its
/// class (`None` for the last state).
struct Step<S, A> {
    state: S,
    enabled: Vec<FairClass>,
    /// The strongly fair classes among `enabled`.
    strong: Vec<FairClass>,
    taken: Option<(A, Option<FairClass>)>,
}

/// Whether the cycle made of `steps[start..]` (closing back to `steps[start]`) is fair: every
/// class enabled at all of its states is taken (weak), and every strong class enabled at some
/// state is taken (strong).
fn cycle_is_fair<S, A>(steps: &[Step<S, A>], start: usize) -> bool {
    let cyc = &steps[start..];
    let taken = |c: &FairClass| {
        cyc.iter()
            .any(|s| matches!(&s.taken, Some((_, Some(t))) if t == c))
    };
    if !cyc.iter().all(|s| s.strong.iter().all(taken)) {
        return false;
    }
    let mut inter: Vec<FairClass> = cyc[0].enabled.clone();
    for s in &cyc[1..] {
        inter.retain(|c| s.enabled.binary_search(c).is_ok());
    }
    inter.iter().all(|c| {
        cyc.iter()
            .any(|s| matches!(&s.taken, Some((_, Some(t))) if t == c))
    })
}

/// Runs `walks` seeded random walks of at most `max_steps` steps each.
pub(crate) fn simulate<M>(
    model: &M,
    seed: u64,
    walks: usize,
    max_steps: usize,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
) -> FairResult<M::State, M::Action>
where
    M: FairModel,
    M::State: Hash + Eq + Clone + std::fmt::Debug,
    M::Action: Clone + std::fmt::Debug,
{
    let start_time = Instant::now();
    let mut rng = SplitMix64::new(seed);
    let props = model.properties();
    let leads = model.leads_to();
    let mut results: Vec<PropertyResult<M::State, M::Action>> = props
        .iter()
        .map(|p| PropertyResult {
            name: p.name,
            kind: match p.expectation {
                Expectation::Always => PropertyKind::Always,
                Expectation::Sometimes => PropertyKind::Sometimes,
                Expectation::Eventually => PropertyKind::Eventually,
            },
            status: Status::Unknown,
            trace: None,
            lasso: None,
            note: Some("simulation cannot prove this; no counterexample/example found".into()),
        })
        .chain(leads.iter().map(|l| PropertyResult {
            name: l.name,
            kind: PropertyKind::LeadsTo,
            status: Status::Unknown,
            trace: None,
            lasso: None,
            note: Some("simulation cannot prove this; no counterexample found".into()),
        }))
        .collect();
    let mut stats = SimulationStats::default();
    let mut max_depth = 0u32;
    let mut seen: HashSet<u64, IdBuild> = HashSet::default();
    let inits = model.init_states();
    let mut actions = Vec::new();

    for _ in 0..walks {
        if inits.is_empty() {
            break;
        }
        stats.walks += 1;
        let mut steps: Vec<Step<M::State, M::Action>> = Vec::new();
        let mut pos: HashMap<u64, usize, IdBuild> = HashMap::default();
        let mut cur = inits[rng.below(inits.len())].clone();
        // `end`: Some(Some(p)) = cycle back to p; Some(None) = deadlock; None = step bound.
        let mut end: Option<Option<usize>> = None;
        for _ in 0..=max_steps {
            let fp = fingerprint(&cur);
            if let Some(&p) = pos.get(&fp) {
                end = Some(Some(p));
                break;
            }
            pos.insert(fp, steps.len());
            seen.insert(fp);
            actions.clear();
            model.actions(&cur, &mut actions);
            let mut succ = Vec::new();
            let mut enabled = Vec::new();
            let mut strong = Vec::new();
            for a in actions.drain(..) {
                let f = model.fairness(&cur, &a);
                let c = f.map(|f| f.class());
                if let Some(t) = model.next_state(&cur, a.clone()) {
                    if let Some(f) = f {
                        enabled.push(f.class());
                        if f.is_strong() {
                            strong.push(f.class());
                        }
                    }
                    succ.push((a, c, t));
                }
            }
            enabled.sort_unstable();
            enabled.dedup();
            strong.sort_unstable();
            strong.dedup();
            if succ.is_empty() {
                steps.push(Step {
                    state: cur.clone(),
                    enabled,
                    strong,
                    taken: None,
                });
                end = Some(None);
                break;
            }
            if steps.len() == max_steps {
                break;
            }
            let (a, c, t) = succ.swap_remove(rng.below(succ.len()));
            steps.push(Step {
                state: std::mem::replace(&mut cur, t),
                enabled,
                strong,
                taken: Some((a, c)),
            });
            stats.steps += 1;
        }

        // Safety properties along the walk.
        let n_steps = steps.len();
        let walk_len = steps.iter().filter(|s| s.taken.is_some()).count();
        max_depth = max_depth.max(walk_len as u32);
        for (i, p) in props.iter().enumerate() {
            let r = &mut results[i];
            if r.trace.is_some() || matches!(p.expectation, Expectation::Eventually) {
                continue;
            }
            let want = matches!(p.expectation, Expectation::Sometimes);
            if let Some(k) = steps
                .iter()
                .position(|s| (p.condition)(model, &s.state) == want)
            {
                r.trace = Some(Trace {
                    steps: steps[..k]
                        .iter()
                        .map(|s| {
                            (
                                s.state.clone(),
                                s.taken
                                    .clone()
                                    .map(|t| t.0)
                                    .unwrap_or_else(|| unreachable!()),
                            )
                        })
                        .collect(),
                    last: steps[k].state.clone(),
                });
                r.status = if want {
                    Status::Found
                } else {
                    Status::Violated
                };
                r.note = None;
            }
        }

        // Liveness: only a deadlock or a *fair* lasso ends a behaviour.
        let loop_at = match end {
            Some(None) => {
                stats.deadlocks += 1;
                n_steps - 1
            }
            Some(Some(p)) => {
                if cycle_is_fair(&steps, p) {
                    stats.fair_lassos += 1;
                    p
                } else {
                    stats.unfair_lassos += 1;
                    continue;
                }
            }
            None => continue,
        };
        let is_deadlock = matches!(end, Some(None));
        let make_lasso = |steps: &[Step<M::State, M::Action>]| {
            let to_pair = |s: &Step<M::State, M::Action>| {
                (
                    s.state.clone(),
                    s.taken
                        .clone()
                        .map(|t| t.0)
                        .unwrap_or_else(|| unreachable!()),
                )
            };
            Lasso {
                prefix: steps[..loop_at].iter().map(to_pair).collect(),
                loop_start: steps[loop_at].state.clone(),
                cycle: if is_deadlock {
                    Vec::new()
                } else {
                    steps[loop_at..].iter().map(to_pair).collect()
                },
            }
        };
        for (i, p) in props.iter().enumerate() {
            if !matches!(p.expectation, Expectation::Eventually) || results[i].lasso.is_some() {
                continue;
            }
            if steps.iter().all(|s| !(p.condition)(model, &s.state)) {
                let r = &mut results[i];
                r.lasso = Some(make_lasso(&steps));
                r.status = Status::Violated;
                r.note = None;
            }
        }
        for (j, l) in leads.iter().enumerate() {
            let r = &mut results[props.len() + j];
            if r.lasso.is_some() {
                continue;
            }
            let last_q = steps.iter().rposition(|s| (l.q)(model, &s.state));
            let cycle_clear = last_q.is_none_or(|q| q < loop_at);
            let p_after = steps
                .iter()
                .enumerate()
                .any(|(k, s)| last_q.is_none_or(|q| k > q) && (l.p)(model, &s.state));
            if cycle_clear && p_after {
                r.lasso = Some(make_lasso(&steps));
                r.status = Status::Violated;
                r.note = None;
            }
        }
        if let Some(p) = progress {
            p(&Progress {
                phase: Phase::Simulate,
                states: seen.len() as u64,
                edges: stats.steps,
                depth: n_steps as u32,
                frontier: 0,
                elapsed: start_time.elapsed(),
            });
        }
    }

    let seconds = start_time.elapsed().as_secs_f64();
    FairResult {
        mode: Mode::Simulation,
        properties: results,
        complete: false,
        unique_states: seen.len() as u64,
        edges: stats.steps,
        max_depth,
        seconds,
        explore_seconds: seconds,
        states_per_sec: stats.steps as f64 / seconds.max(1e-9),
        bytes_per_state: 0.0,
        edge_bytes: 0,
        analysis_bytes_per_state: 0.0,
        peak_rss_bytes: crate::mem::peak_rss_bytes(),
        fair_classes: 0,
        strong_classes: 0,
        symmetry: false,
        liveness_checked: true,
        simulation: Some(stats),
        safety: None,
    }
}
