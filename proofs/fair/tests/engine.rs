//! Validation of the fairness-aware engine on textbook models (`models`) with
//! known answers. Every lasso the engine reports is re-checked here by independent code
//! (`check_lasso`): it must replay through `next_state`, close its cycle, be fair (weakly and,
//! for strongly fair classes, strongly), and avoid the goal.

mod models;

use models::{
    Chain, ChannelAction, CycleMod, Grid, LossyChannel, Mutex2, MutexAction, Pc, Processes,
    RequestReply, Rumor, ServedThenStuck, SpinAction, SpinLoop,
};
use stateright::{Checker, Model};
use stateright_fair::{
    FairChecker, FairClass, FairModel, FairReport, FairResult, Fairness, Lasso, Mode, Progress,
    Status, Trace,
};
use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};

fn run<M>(m: &M) -> FairReport<M>
where
    M: FairModel + Sync,
    M::State: Hash + Eq + Clone + Debug + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    FairChecker::new(m).threads(2).run().expect("run")
}

/// The fairness declarations enabled at `s`: those of actions whose `next_state` is `Some`.
fn enabled<M: FairModel>(m: &M, s: &M::State) -> HashSet<Fairness>
where
    M::Action: Clone,
{
    let mut acts = Vec::new();
    m.actions(s, &mut acts);
    acts.into_iter()
        .filter_map(|a| {
            let c = m.fairness(s, &a);
            m.next_state(s, a).and(c)
        })
        .collect()
}

/// Independent check of a lasso: replay, closure, weak fairness, goal avoidance from `from`
/// (the index of the first state that must avoid the goal; 0 for `eventually`).
fn check_lasso<M>(
    m: &M,
    l: &Lasso<M::State, M::Action>,
    avoid: impl Fn(&M::State) -> bool,
    from: usize,
) -> Result<(), String>
where
    M: FairModel,
    M::State: Clone + Eq + Debug,
    M::Action: Clone + Debug,
{
    let states: Vec<&M::State> = l
        .prefix
        .iter()
        .map(|(s, _)| s)
        .chain(std::iter::once(&l.loop_start))
        .collect();
    if !m.init_states().contains(states[0]) {
        return Err("does not start at an initial state".into());
    }
    for (i, (s, a)) in l.prefix.iter().enumerate() {
        if m.next_state(s, a.clone()).as_ref() != Some(states[i + 1]) {
            return Err(format!("prefix step {i} does not replay"));
        }
    }
    if l.cycle.is_empty() {
        let mut acts = Vec::new();
        m.actions(&l.loop_start, &mut acts);
        if acts
            .into_iter()
            .any(|a| m.next_state(&l.loop_start, a).is_some())
        {
            return Err("empty cycle but loop_start is not a deadlock".into());
        }
    } else {
        if l.cycle[0].0 != l.loop_start {
            return Err("cycle does not start at loop_start".into());
        }
        for (i, (s, a)) in l.cycle.iter().enumerate() {
            let next = l.cycle.get(i + 1).map_or(&l.loop_start, |(t, _)| t);
            if m.next_state(s, a.clone()).as_ref() != Some(next) {
                return Err(format!("cycle step {i} does not replay / close"));
            }
        }
        // Weak: every class enabled at every state of the cycle is taken. Strong: every
        // strongly fair class enabled at some state of the cycle is taken.
        let mut always_enabled: Option<HashSet<FairClass>> = None;
        let mut strong_somewhere: HashSet<FairClass> = HashSet::new();
        for (s, _) in &l.cycle {
            let e = enabled(m, s);
            strong_somewhere.extend(e.iter().filter(|f| f.is_strong()).map(|f| f.class()));
            let e: HashSet<FairClass> = e.into_iter().map(|f| f.class()).collect();
            always_enabled = Some(match always_enabled {
                None => e,
                Some(x) => x.intersection(&e).copied().collect(),
            });
        }
        let taken: HashSet<FairClass> = l
            .cycle
            .iter()
            .filter_map(|(s, a)| m.fairness(s, a).map(|f| f.class()))
            .collect();
        for c in always_enabled.unwrap_or_default() {
            if !taken.contains(&c) {
                return Err(format!(
                    "unfair cycle: class {c:?} always enabled, never taken"
                ));
            }
        }
        for c in strong_somewhere {
            if !taken.contains(&c) {
                return Err(format!(
                    "strongly unfair cycle: strong class {c:?} enabled, never taken"
                ));
            }
        }
    }
    let all: Vec<&M::State> = states
        .iter()
        .copied()
        .chain(l.cycle.iter().map(|(s, _)| s))
        .collect();
    if let Some(i) = all.iter().skip(from).position(|s| !avoid(s)) {
        return Err(format!("state {} reaches the goal", from + i));
    }
    Ok(())
}

fn check_trace<M>(m: &M, t: &Trace<M::State, M::Action>) -> Result<(), String>
where
    M: Model,
    M::State: Clone + Eq,
    M::Action: Clone,
{
    let first = t.steps.first().map_or(&t.last, |(s, _)| s);
    if !m.init_states().contains(first) {
        return Err("trace does not start at an initial state".into());
    }
    for (i, (s, a)) in t.steps.iter().enumerate() {
        let next = t.steps.get(i + 1).map_or(&t.last, |(s, _)| s);
        if m.next_state(s, a.clone()).as_ref() != Some(next) {
            return Err(format!("trace step {i} does not replay"));
        }
    }
    Ok(())
}

fn lasso_of<'r, S, A>(r: &'r FairResult<S, A>, name: &str) -> &'r Lasso<S, A> {
    r.property(name)
        .and_then(|p| p.lasso.as_ref())
        .unwrap_or_else(|| panic!("{name} has no lasso"))
}

// (a) the same loop, fair and unfair -------------------------------------------------------

#[test]
fn a_fair_loop_eventually_reaches_the_goal() {
    let r = run(&SpinLoop { exit_is_fair: true });
    assert!(r.complete);
    assert_eq!(r.status("done"), Some(Status::Holds));
}

#[test]
fn an_unfair_loop_may_spin_forever_and_the_lasso_shows_it() {
    let m = SpinLoop {
        exit_is_fair: false,
    };
    let r = run(&m);
    assert_eq!(r.status("done"), Some(Status::Violated));
    let l = lasso_of(&r, "done");
    assert!(l.prefix.is_empty());
    assert_eq!(l.loop_start, 0);
    assert_eq!(l.cycle, vec![(0, SpinAction::Spin)]);
    check_lasso(&m, l, |s| *s != 1, 0).unwrap();
}

// (b) mutual exclusion: starvation without fairness, and despite weak fairness ------------

#[test]
fn without_fairness_a_thinking_neighbour_starves_the_waiting_process() {
    let m = Mutex2 {
        fair: false,
        contended: false,
        broken_lock: false,
        strong: false,
    };
    let r = run(&m);
    assert_eq!(r.status("mutual exclusion"), Some(Status::Holds));
    assert_eq!(r.status("p0 critical"), Some(Status::Violated));
    assert_eq!(r.status("waiting ~> critical"), Some(Status::Violated));
    check_lasso(
        &m,
        lasso_of(&r, "p0 critical"),
        |s| s.pc[0] != Pc::Critical,
        0,
    )
    .unwrap();
    let l = lasso_of(&r, "waiting ~> critical");
    let from = l
        .prefix
        .iter()
        .map(|(s, _)| s)
        .chain([&l.loop_start])
        .position(|s| s.pc[0] == Pc::Waiting)
        .expect("the lasso reaches a waiting state");
    check_lasso(&m, l, |s| s.pc[0] != Pc::Critical, from).unwrap();
    assert_eq!(l.loop_start.pc[0], Pc::Waiting);
}

#[test]
fn weak_fairness_prevents_starvation_when_the_lock_is_uncontended() {
    let r = run(&Mutex2 {
        fair: true,
        contended: false,
        broken_lock: false,
        strong: false,
    });
    assert_eq!(r.status("p0 critical"), Some(Status::Holds));
    assert_eq!(r.status("waiting ~> critical"), Some(Status::Holds));
    assert_eq!(r.status("mutual exclusion"), Some(Status::Holds));
}

#[test]
fn weak_fairness_cannot_prevent_starvation_by_a_competing_process() {
    // Acquire(0) is disabled whenever process 1 is critical, so it is not continuously enabled
    // and weak fairness does not force it: process 1 may win forever. (Strong fairness would
    // forbid this; the engine honestly reports the weak-fairness answer.)
    let m = Mutex2 {
        fair: true,
        contended: true,
        broken_lock: false,
        strong: false,
    };
    let r = run(&m);
    assert_eq!(r.status("mutual exclusion"), Some(Status::Holds));
    assert_eq!(r.status("waiting ~> critical"), Some(Status::Violated));
    let l = lasso_of(&r, "waiting ~> critical");
    check_lasso(&m, l, |s| s.pc[0] != Pc::Critical, l.prefix.len()).unwrap();
    assert!(l.cycle.iter().all(|(s, _)| s.pc[0] == Pc::Waiting));
    assert!(
        l.cycle.iter().any(|(s, _)| s.pc[1] == Pc::Critical),
        "the fair cycle must pass a state where Acquire(0) is disabled"
    );
    assert!(l.cycle.iter().any(|(_, a)| *a == MutexAction::Acquire(1)));
}

// (c) leads-to ------------------------------------------------------------------------------

#[test]
fn leads_to_holds_only_when_the_reply_is_weakly_fair() {
    let fair = run(&RequestReply {
        reply_is_fair: true,
    });
    assert_eq!(fair.status("requested ~> replied"), Some(Status::Holds));
    assert_eq!(fair.status("replied"), Some(Status::Holds));

    let m = RequestReply {
        reply_is_fair: false,
    };
    let broken = run(&m);
    assert_eq!(
        broken.status("requested ~> replied"),
        Some(Status::Violated)
    );
    let l = lasso_of(&broken, "requested ~> replied");
    assert_eq!(l.prefix, vec![(0, "Request")]);
    assert_eq!(l.loop_start, 1);
    assert_eq!(l.cycle, vec![(1, "Noop")]);
    check_lasso(&m, l, |s| *s != 2, 1).unwrap();
}

#[test]
fn leads_to_is_violated_where_eventually_is_satisfied_earlier() {
    let m = ServedThenStuck;
    let r = run(&m);
    assert_eq!(r.status("served"), Some(Status::Holds));
    assert_eq!(r.status("asked ~> served"), Some(Status::Violated));
    let l = lasso_of(&r, "asked ~> served");
    assert_eq!(l.loop_start, 2);
    check_lasso(&m, l, |s| *s != 0, 1).unwrap();
}

// (d) deadlock ------------------------------------------------------------------------------

#[test]
fn a_deadlock_before_the_goal_violates_eventually() {
    let m = Chain {
        len: 5,
        goal_at_end: false,
    };
    let r = run(&m);
    assert_eq!(r.status("goal"), Some(Status::Violated));
    let l = lasso_of(&r, "goal");
    assert!(l.is_deadlock());
    assert_eq!(l.loop_start, 5);
    assert_eq!(l.prefix.len(), 5);
    check_lasso(&m, l, |s| *s != 6, 0).unwrap();

    let ok = run(&Chain {
        len: 5,
        goal_at_end: true,
    });
    assert_eq!(ok.status("goal"), Some(Status::Holds));
}

// (e) stateright's eventually is wrong on cycles; this engine is right ----------------------

#[test]
fn stateright_eventually_misses_a_cycle_that_this_engine_catches() {
    // A counter mod 4 never reaches 4. Stateright only reports `eventually` counterexamples at
    // terminal states, and this model has none, so it wrongly reports no discovery.
    let sr = CycleMod { m: 4 }.checker().spawn_bfs().join();
    assert_eq!(sr.unique_state_count(), 4);
    assert!(
        sr.discovery("reaches m").is_none(),
        "stateright 0.30.2 misses the cycle (if this fails, stateright was fixed)"
    );
    let m = CycleMod { m: 4 };
    let r = run(&m);
    assert_eq!(r.status("reaches m"), Some(Status::Violated));
    let l = lasso_of(&r, "reaches m");
    assert_eq!(l.cycle.len(), 4);
    check_lasso(&m, l, |s| *s != 4, 0).unwrap();

    // Same with the unfair spin loop: stateright says "done" holds, ours says violated.
    let sr = SpinLoop {
        exit_is_fair: false,
    }
    .checker()
    .spawn_bfs()
    .join();
    assert!(sr.discovery("done").is_none());
    assert_eq!(
        run(&SpinLoop {
            exit_is_fair: false
        })
        .status("done"),
        Some(Status::Violated)
    );
}

// (f) exact counts ------------------------------------------------------------------------

/// (unique states, edges, max depth) of a complete run.
fn counts<M>(m: &M) -> (u64, u64, u32)
where
    M: FairModel + Sync,
    M::State: Hash + Eq + Clone + Debug + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    let r = run(m);
    assert!(r.complete);
    (r.unique_states, r.edges, r.max_depth)
}

#[test]
fn unique_state_and_edge_counts_are_exact() {
    // Hand-counted: see the doc comment of each example model.
    assert_eq!(counts(&Grid { w: 4, h: 3 }), (12, 3 * 3 + 4 * 2, 5));
    assert_eq!(counts(&Grid { w: 1, h: 1 }), (1, 0, 0));
    assert_eq!(counts(&SpinLoop { exit_is_fair: true }), (2, 2, 1));
    let mutex = |contended, broken_lock| Mutex2 {
        fair: true,
        contended,
        broken_lock,
        strong: false,
    };
    assert_eq!(counts(&mutex(true, false)), (8, 14, 3));
    assert_eq!(counts(&mutex(true, true)), (9, 18, 4));
    assert_eq!(counts(&mutex(false, false)), (6, 12, 3));
    assert_eq!(
        counts(&RequestReply {
            reply_is_fair: true
        }),
        (3, 6, 2)
    );
    assert_eq!(counts(&Processes { n: 4 }), (81, 4 * 81, 8));
    assert_eq!(
        counts(&Chain {
            len: 5,
            goal_at_end: true
        }),
        (6, 5, 5)
    );
}

#[test]
fn state_counts_agree_with_stateright_on_a_gossip_toy() {
    for m in [Rumor::three_nodes(false), Rumor::three_nodes(true)] {
        let sr = m.clone().checker().spawn_bfs().join();
        let r = run(&m);
        assert!(r.complete);
        assert_eq!(r.unique_states, sr.unique_state_count() as u64, "{m:?}");
        assert_eq!(r.status("own rumour kept"), Some(Status::Holds));
        assert_eq!(r.status("all know all"), Some(Status::Found));
    }
}

// (g) counterexamples replay and are fair ------------------------------------------------

#[test]
fn a_lossy_gossip_lasso_replays_closes_and_is_fair() {
    // Losing messages is not fair, and Deliver(m) is disabled once m is dropped, so weak
    // fairness allows "send, drop" forever: convergence is violated.
    let m = Rumor::three_nodes(true);
    let r = run(&m);
    assert_eq!(r.status("converged"), Some(Status::Violated));
    let l = lasso_of(&r, "converged");
    assert!(!l.cycle.is_empty());
    check_lasso(&m, l, |s| !s.known.iter().all(|&k| k == 7), 0).unwrap();
}

#[test]
fn always_violations_and_sometimes_examples_have_shortest_replayable_traces() {
    let m = Grid { w: 4, h: 3 };
    let r = run(&m);
    assert_eq!(r.status("not at far corner"), Some(Status::Violated));
    let t = r
        .property("not at far corner")
        .unwrap()
        .trace
        .as_ref()
        .unwrap();
    assert_eq!(t.steps.len(), 5);
    assert_eq!(t.last, (3, 2));
    check_trace(&m, t).unwrap();
    assert_eq!(r.status("diagonal (1,1)"), Some(Status::Found));
    let t = r
        .property("diagonal (1,1)")
        .unwrap()
        .trace
        .as_ref()
        .unwrap();
    assert_eq!(t.steps.len(), 2);
    check_trace(&m, t).unwrap();
    assert_eq!(r.status("outside the grid"), Some(Status::NotFound));

    // The deliberately broken lock is caught with the shortest trace (4 steps).
    let m = Mutex2 {
        fair: true,
        contended: true,
        broken_lock: true,
        strong: false,
    };
    let r = run(&m);
    assert_eq!(r.status("mutual exclusion"), Some(Status::Violated));
    let t = r
        .property("mutual exclusion")
        .unwrap()
        .trace
        .as_ref()
        .unwrap();
    assert_eq!(t.steps.len(), 4);
    assert_eq!(t.last.pc, [Pc::Critical, Pc::Critical]);
    check_trace(&m, t).unwrap();
}

#[test]
fn the_lasso_validator_rejects_tampered_lassos() {
    // Guards the guard: check_lasso must be able to fail.
    let m = Mutex2 {
        fair: true,
        contended: true,
        broken_lock: false,
        strong: false,
    };
    let r = run(&m);
    let good = lasso_of(&r, "p0 critical").clone();
    check_lasso(&m, &good, |s| s.pc[0] != Pc::Critical, 0).unwrap();

    let mut cut = good.clone();
    cut.cycle.pop();
    assert!(check_lasso(&m, &cut, |s| s.pc[0] != Pc::Critical, 0).is_err());

    // A genuine but unfair cycle: p0 idle forever while p1 cycles (Request(0) is always
    // enabled and never taken).
    let idle = |p1| stateright_state([Pc::Idle, p1]);
    let unfair = Lasso {
        prefix: vec![],
        loop_start: idle(Pc::Idle),
        cycle: vec![
            (idle(Pc::Idle), MutexAction::Request(1)),
            (idle(Pc::Waiting), MutexAction::Acquire(1)),
            (idle(Pc::Critical), MutexAction::Release(1)),
        ],
    };
    let e = check_lasso(&m, &unfair, |s| s.pc[0] != Pc::Critical, 0).unwrap_err();
    assert!(e.contains("unfair"), "{e}");
    // ... whereas without fairness the same cycle is accepted.
    let unfair_model = Mutex2 { fair: false, ..m };
    check_lasso(&unfair_model, &unfair, |s| s.pc[0] != Pc::Critical, 0).unwrap();
    // A lasso touching the goal is rejected.
    assert!(check_lasso(&m, &good, |s| s.pc[1] != Pc::Critical, 0).is_err());
}

fn stateright_state(pc: [Pc; 2]) -> models::MutexState {
    models::MutexState {
        pc,
        lock: pc.contains(&Pc::Critical),
    }
}

// (h) symmetry ------------------------------------------------------------------------------

#[test]
fn symmetry_reduces_processes_to_multisets_and_is_safety_only() {
    let m = Processes { n: 4 };
    let rep = FairChecker::new(&m)
        .symmetry(Processes::sorted)
        .symmetry_report(4)
        .unwrap();
    assert_eq!(rep.states_without, 81);
    assert_eq!(rep.states_with, 15); // C(4 + 2, 2) multisets
    assert!((rep.reduction - 5.4).abs() < 1e-9);
    assert_eq!(rep.n_factorial, 24.0);
    assert!(rep.complete);

    // Stateright's own symmetry (DFS only) agrees.
    let sr = m
        .clone()
        .checker()
        .symmetry_fn(Processes::sorted)
        .spawn_dfs()
        .join();
    assert_eq!(sr.unique_state_count(), 15);

    let r = FairChecker::new(&m)
        .symmetry(Processes::sorted)
        .run()
        .unwrap();
    assert!(r.symmetry && !r.liveness_checked);
    assert_eq!(r.unique_states, 15);
    assert_eq!(r.status("values below 3"), Some(Status::Holds));
    assert_eq!(r.status("someone at 2"), Some(Status::Unknown));
    // The safety trace is replayed on concrete states: a real behaviour.
    let t = r.property("all at 2").unwrap().trace.as_ref().unwrap();
    assert_eq!(t.steps.len(), 8);
    assert_eq!(t.last, vec![2, 2, 2, 2]);
    check_trace(&m, t).unwrap();
    // Without symmetry, liveness is decided.
    assert_eq!(run(&m).status("someone at 2"), Some(Status::Holds));
}

// (i) simulation ---------------------------------------------------------------------------

#[test]
fn simulation_finds_the_unfair_lasso_with_a_fixed_seed() {
    let m = SpinLoop {
        exit_is_fair: false,
    };
    let r = FairChecker::new(&m).simulate(7, 20, 100);
    assert_eq!(r.mode, Mode::Simulation);
    assert!(!r.complete);
    assert_eq!(r.status("done"), Some(Status::Violated));
    check_lasso(&m, lasso_of(&r, "done"), |s| *s != 1, 0).unwrap();
    // Reproducible.
    let again = FairChecker::new(&m).simulate(7, 20, 100);
    assert_eq!(
        format!("{:?}", r.properties),
        format!("{:?}", again.properties)
    );
}

#[test]
fn simulation_reports_unknown_on_a_fair_model() {
    let m = SpinLoop { exit_is_fair: true };
    let r = FairChecker::new(&m).simulate(7, 50, 100);
    assert_eq!(r.status("done"), Some(Status::Unknown));
    let s = r.simulation.as_ref().unwrap();
    assert!(
        s.unfair_lassos > 0,
        "walks did close (unfair) spin cycles: {s:?}"
    );
    assert_eq!(s.fair_lassos, 0);
}

#[test]
fn simulation_catches_starvation_and_broken_safety() {
    let m = Mutex2 {
        fair: false,
        contended: false,
        broken_lock: true,
        strong: false,
    };
    let r = FairChecker::new(&m).simulate(1, 200, 50);
    assert_eq!(r.status("p0 critical"), Some(Status::Violated));
    check_lasso(
        &m,
        lasso_of(&r, "p0 critical"),
        |s| s.pc[0] != Pc::Critical,
        0,
    )
    .unwrap();
    assert_eq!(r.status("p0 critical reachable"), Some(Status::Found));
    let contended = Mutex2 {
        contended: true,
        ..m
    };
    let r = FairChecker::new(&contended).simulate(1, 200, 50);
    assert_eq!(r.status("mutual exclusion"), Some(Status::Violated));
    check_trace(
        &contended,
        r.property("mutual exclusion")
            .unwrap()
            .trace
            .as_ref()
            .unwrap(),
    )
    .unwrap();
}

// Engine behaviour ---------------------------------------------------------------------------

#[test]
fn max_states_stops_early_and_reports_unknown_but_keeps_real_violations() {
    let m = Rumor::three_nodes(true);
    let r = FairChecker::new(&m).max_states(50).run().unwrap();
    assert!(!r.complete);
    assert!(r.unique_states >= 50);
    assert_eq!(r.status("own rumour kept"), Some(Status::Unknown));
    assert!(matches!(
        r.status("converged"),
        Some(Status::Unknown | Status::Violated)
    ));
    if let Some(l) = r.property("converged").unwrap().lasso.as_ref() {
        check_lasso(&m, l, |s| !s.known.iter().all(|&k| k == 7), 0).unwrap();
    }
    let r = FairChecker::new(&SpinLoop {
        exit_is_fair: false,
    })
    .max_states(1)
    .run()
    .unwrap();
    assert!(!r.complete);
    assert_eq!(r.status("done"), Some(Status::Unknown));
}

#[test]
fn results_are_identical_with_one_or_two_threads() {
    let m = Rumor::three_nodes(true);
    let a = FairChecker::new(&m).threads(1).run().unwrap();
    let b = FairChecker::new(&m).threads(2).run().unwrap();
    assert_eq!((a.unique_states, a.edges), (b.unique_states, b.edges));
    assert_eq!(format!("{:?}", a.properties), format!("{:?}", b.properties));
}

#[test]
fn the_progress_hook_is_called_and_memory_stays_under_64_bytes_per_state() {
    let calls = AtomicUsize::new(0);
    let hook = |_: &Progress| {
        calls.fetch_add(1, Ordering::Relaxed);
    };
    let m = Rumor {
        n: 3,
        cap: 3,
        lossy: false,
        strong: false,
    };
    let r = FairChecker::new(&m).progress(&hook).run().unwrap();
    assert!(calls.load(Ordering::Relaxed) > 0);
    assert!(r.unique_states > 10_000, "{}", r.unique_states);
    assert!(r.bytes_per_state <= 64.0, "{}", r.bytes_per_state);
    assert!(r.edge_bytes >= 8 * r.edges);
}

// (h) strong fairness ------------------------------------------------------------------------

#[test]
fn strong_fairness_prevents_starvation_by_a_competing_process() {
    let m = Mutex2 {
        fair: true,
        contended: true,
        broken_lock: false,
        strong: true,
    };
    let r = run(&m);
    assert_eq!(r.status("mutual exclusion"), Some(Status::Holds));
    assert_eq!(r.status("p0 critical"), Some(Status::Holds));
    assert_eq!(r.status("waiting ~> critical"), Some(Status::Holds));
    assert_eq!((r.unique_states, r.edges), (8, 14));
}

#[test]
fn strong_fairness_keeps_the_answers_of_the_uncontended_mutex() {
    // Uncontended and strongly fair: the answers of weak fairness are kept.
    let m = Mutex2 {
        fair: true,
        contended: false,
        broken_lock: false,
        strong: true,
    };
    let r = run(&m);
    assert_eq!(r.status("p0 critical"), Some(Status::Holds));
    assert_eq!(r.status("waiting ~> critical"), Some(Status::Holds));
}

#[test]
fn a_lossy_channel_delivers_under_strong_but_not_under_weak_fairness() {
    let weak = LossyChannel { strong: false };
    let r = run(&weak);
    assert_eq!((r.unique_states, r.edges), (3, 3));
    assert_eq!(r.status("delivered"), Some(Status::Violated));
    let l = lasso_of(&r, "delivered");
    check_lasso(&weak, l, |s| !s.1, 0).unwrap();
    let acts: Vec<ChannelAction> = l.cycle.iter().map(|(_, a)| *a).collect();
    assert_eq!(acts, vec![ChannelAction::Send, ChannelAction::Drop]);
    assert!(l.prefix.is_empty());

    let strong = LossyChannel { strong: true };
    let r = run(&strong);
    assert_eq!(r.status("delivered"), Some(Status::Holds));
    // The weak lasso is rejected by the independent checker under strong fairness.
    let err = check_lasso(&strong, l, |s| !s.1, 0).unwrap_err();
    assert!(err.contains("strongly unfair"), "{err}");
}

#[test]
fn a_bounded_rumor_network_converges_under_strong_but_not_under_weak_fairness() {
    for lossy in [false, true] {
        let weak = Rumor {
            n: 3,
            cap: 1,
            lossy,
            strong: false,
        };
        let r = run(&weak);
        assert_eq!(
            r.status("converged"),
            Some(Status::Violated),
            "lossy {lossy}"
        );
        check_lasso(
            &weak,
            lasso_of(&r, "converged"),
            |s| s.known.iter().any(|&k| k != 7),
            0,
        )
        .unwrap();
        let strong = Rumor {
            strong: true,
            ..weak
        };
        let r2 = run(&strong);
        assert_eq!(r2.status("converged"), Some(Status::Holds), "lossy {lossy}");
        assert_eq!((r.unique_states, r.edges), (r2.unique_states, r2.edges));
    }
}

#[test]
fn strong_fairness_lassos_take_every_strong_class_enabled_on_the_cycle() {
    // Process 0 never requests (its Request is not fair): p0 stays idle forever, and the cycle
    // must still take Request/Acquire/Release of process 1 whenever they are enabled.
    struct Lazy(Mutex2);
    impl Model for Lazy {
        type State = <Mutex2 as Model>::State;
        type Action = MutexAction;
        fn init_states(&self) -> Vec<Self::State> {
            self.0.init_states()
        }
        fn actions(&self, s: &Self::State, out: &mut Vec<MutexAction>) {
            self.0.actions(s, out)
        }
        fn next_state(&self, s: &Self::State, a: MutexAction) -> Option<Self::State> {
            self.0.next_state(s, a)
        }
        fn properties(&self) -> Vec<stateright::Property<Self>> {
            vec![stateright::Property::eventually(
                "p0 critical",
                |_, s: &Self::State| s.pc[0] == Pc::Critical,
            )]
        }
    }
    impl FairModel for Lazy {
        fn fairness(&self, s: &Self::State, a: &MutexAction) -> Option<Fairness> {
            match a {
                MutexAction::Request(0) => None,
                a => self.0.fairness(s, a),
            }
        }
    }
    let m = Lazy(Mutex2 {
        fair: true,
        contended: true,
        broken_lock: false,
        strong: true,
    });
    let r = run(&m);
    assert_eq!(r.status("p0 critical"), Some(Status::Violated));
    let l = lasso_of(&r, "p0 critical");
    check_lasso(&m, l, |s| s.pc[0] != Pc::Critical, 0).unwrap();
    let acts: Vec<MutexAction> = l.cycle.iter().map(|(_, a)| a.clone()).collect();
    assert_eq!(
        acts,
        vec![
            MutexAction::Request(1),
            MutexAction::Acquire(1),
            MutexAction::Release(1)
        ]
    );
}

#[test]
fn simulation_respects_strong_fairness() {
    let weak = LossyChannel { strong: false };
    let r = FairChecker::new(&weak).simulate(1, 20, 10);
    assert_eq!(r.status("delivered"), Some(Status::Violated));
    let strong = LossyChannel { strong: true };
    let r = FairChecker::new(&strong).simulate(1, 20, 10);
    assert_eq!(r.status("delivered"), Some(Status::Unknown));
}

/// Two states `0 -a-> 1 -b-> 0` and a self-loop `0 -c-> 0`, every class strongly fair; the
/// goal is never reached. A fair cycle must take `c` as well (it is enabled at state 0).
struct TwoLoops;

impl Model for TwoLoops {
    type State = u8;
    type Action = char;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, _: &u8, out: &mut Vec<char>) {
        out.extend(['a', 'b', 'c']);
    }
    fn next_state(&self, s: &u8, a: char) -> Option<u8> {
        match (s, a) {
            (0, 'a') => Some(1),
            (1, 'b') => Some(0),
            (0, 'c') => Some(0),
            _ => None,
        }
    }
    fn properties(&self) -> Vec<stateright::Property<Self>> {
        vec![stateright::Property::eventually("never", |_, s: &u8| {
            *s == 2
        })]
    }
}

impl FairModel for TwoLoops {
    fn fairness(&self, _: &u8, a: &char) -> Option<Fairness> {
        Some(Fairness::Strong(FairClass::of(a)))
    }
}

#[test]
fn a_strongly_fair_cycle_takes_a_strong_class_enabled_at_only_one_of_its_states() {
    let r = run(&TwoLoops);
    assert_eq!(r.status("never"), Some(Status::Violated));
    let l = lasso_of(&r, "never");
    check_lasso(&TwoLoops, l, |_| true, 0).unwrap();
    let acts: Vec<char> = l.cycle.iter().map(|(_, a)| *a).collect();
    assert_eq!(acts, vec!['a', 'b', 'c']);
}
