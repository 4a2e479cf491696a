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
