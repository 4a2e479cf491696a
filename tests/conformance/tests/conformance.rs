//! The conformance test: random traces of the model, run by the implementation, checked step by
//! step. `PROPTEST_CASES=100000 cargo test --release -p gossip-conformance --test conformance`
//! soaks it (see docs/verification.md, "Conformance").

use gossip_conformance::harness::Conformance;
use proptest::test_runner::{Config, FileFailurePersistence};
use proptest_state_machine::prop_state_machine;

prop_state_machine! {
    #![proptest_config(Config {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2048),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        max_shrink_iters: 20_000,
        .. Config::default()
    })]

    #[test]
    fn the_implementation_conforms_to_the_model_on_random_traces(sequential 1..50 => Conformance);
}

/// The generator builds each scenario template's situation (`gossip_conformance::scenario`) in a
/// good share of the cases that draw it: a template whose intents stopped matching the model's
/// actions (renamed roles, a changed message flow) would silently fall back to random walks.
#[test]
fn every_scenario_template_is_completed_by_a_share_of_the_generated_traces() {
    use gossip_conformance::harness::ModelReference;
    use gossip_conformance::scenario::Scenario;
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    use proptest_state_machine::ReferenceStateMachine;
    use std::collections::BTreeMap;

    let mut runner = TestRunner::deterministic();
    let strategy = ModelReference::sequential_strategy(1..50);
    // template -> (cases drawing it, cases completing it)
    let mut seen: BTreeMap<Scenario, (u32, u32)> = BTreeMap::new();
    for _ in 0..256 {
        let (init, transitions, _) = strategy
            .new_tree(&mut runner)
            .expect("a generated case")
            .current();
        let s = transitions.iter().fold(init, ModelReference::apply);
        let e = seen.entry(s.plan.scenario).or_default();
        e.0 += 1;
        e.1 += u32::from(s.plan.completed());
    }
    eprintln!("template: (cases, completed) = {seen:?}");
    for scenario in [
        Scenario::GapAfterRestart,
        Scenario::StaleGeneration,
        Scenario::ReapplyAfterCollect,
    ] {
        let (cases, done) = seen.get(&scenario).copied().unwrap_or_default();
        assert!(
            cases >= 20 && done * 5 >= cases,
            "{scenario:?}: completed in {done} of {cases} cases (want at least 1 in 5)"
        );
    }
}

/// The generator covers every mode, fanout 2 and saturated heartbeats (in-process cores):
/// push, pull and push-pull each in a good share of the cases, fanout-2 rounds actually taken
/// (driven by the cores' own gossip timers), and walks in which a node's heartbeat reaches a
/// small `max_heartbeat`.
#[test]
fn the_generator_draws_every_mode_fanout_2_rounds_and_saturated_heartbeats() {
    use gossip_conformance::harness::ModelReference;
    use gossip_model::{GossipAction, Mode};
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    use proptest_state_machine::ReferenceStateMachine;
    use std::collections::BTreeMap;

    let mut runner = TestRunner::deterministic();
    let strategy = ModelReference::sequential_strategy(1..50);
    let mut modes: BTreeMap<&str, u32> = BTreeMap::new();
    let (mut fanout2_cases, mut fanout2_rounds, mut saturated) = (0, 0, 0);
    for _ in 0..256 {
        let (init, transitions, _) = strategy
            .new_tree(&mut runner)
            .expect("a generated case")
            .current();
        let cfg = init.model.cfg.clone();
        *modes.entry(cfg.mode.name()).or_default() += 1;
        if cfg.fanout == 2 {
            fanout2_cases += 1;
            fanout2_rounds += transitions
                .iter()
                .filter(|t| matches!(&t.0, GossipAction::Gossip { to, .. } if to.len() == 2))
                .count();
        }
        let end = transitions.iter().fold(init, ModelReference::apply);
        let own = |i: usize| end.state.nodes[i].view[&(i as u8)].heartbeat;
        if cfg.max_heartbeat < 100 && (0..cfg.nodes).any(|i| own(i) == cfg.max_heartbeat) {
            saturated += 1;
        }
    }
    eprintln!(
        "modes {modes:?}; fanout 2: {fanout2_cases} cases, {fanout2_rounds} two-peer rounds; \
         {saturated} cases end with a saturated heartbeat"
    );
    for m in [Mode::Push, Mode::Pull, Mode::PushPull] {
        assert!(modes.get(m.name()).copied().unwrap_or(0) >= 25, "{modes:?}");
    }
    assert!(fanout2_cases >= 10 && fanout2_rounds >= 10);
    assert!(saturated >= 10);
}

/// The heavier run (every mode, fanout 2, saturated heartbeats, the templates): 20,000 cases
/// from a seed of its own. `cargo test --release -p gossip-conformance --test conformance --
/// --ignored` (about 10 times the default test's time).
#[test]
#[ignore = "heavier conformance run, see docs/verification.md"]
fn the_implementation_conforms_to_the_model_on_many_more_random_traces() {
    use gossip_conformance::driver::Backend;
    use gossip_conformance::harness::{RunResult, run_cases};
    match run_cases(Backend::InProcess, 20_000, 19, 50, 20_000, true) {
        RunResult::Pass { cases, steps } => eprintln!("{cases} cases, {steps} steps conform"),
        RunResult::Fail(f) => panic!(
            "{}\n{}",
            f.reason,
            gossip_model::format::run(&f.model, &f.actions)
        ),
    }
}
