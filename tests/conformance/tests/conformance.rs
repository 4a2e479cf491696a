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

/// The generator covers every mode and fanout 2 (in-process cores): push, pull and push-pull
/// each in a good share of the cases, and fanout-2 rounds actually taken (driven by the cores'
/// own gossip timers).
#[test]
fn the_generator_draws_every_mode_and_rounds_with_fanout_2() {
    use gossip_conformance::harness::ModelReference;
    use gossip_model::{GossipAction, Mode};
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    use proptest_state_machine::ReferenceStateMachine;
    use std::collections::BTreeMap;

    let mut runner = TestRunner::deterministic();
    let strategy = ModelReference::sequential_strategy(1..50);
    let mut modes: BTreeMap<&str, u32> = BTreeMap::new();
    let (mut fanout2_cases, mut fanout2_rounds) = (0, 0);
    for _ in 0..256 {
        let (init, transitions, _) = strategy
            .new_tree(&mut runner)
            .expect("a generated case")
            .current();
        *modes.entry(init.model.cfg.mode.name()).or_default() += 1;
        if init.model.cfg.fanout == 2 {
            fanout2_cases += 1;
            fanout2_rounds += transitions
                .iter()
                .filter(|t| matches!(&t.0, GossipAction::Gossip { to, .. } if to.len() == 2))
                .count();
        }
    }
    eprintln!("modes {modes:?}; fanout 2: {fanout2_cases} cases, {fanout2_rounds} two-peer rounds");
    for m in [Mode::Push, Mode::Pull, Mode::PushPull] {
        assert!(modes.get(m.name()).copied().unwrap_or(0) >= 25, "{modes:?}");
    }
    assert!(fanout2_cases >= 15 && fanout2_rounds >= 10);
}
