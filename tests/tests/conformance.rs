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
