//! Every seeded bug of the model, replayed against the real implementation: the model's
//! shortest counterexample (BFS, the bug's witness configuration) is exported as a trace and
//! run by the cores; the property the bug violates must hold on the abstracted implementation
//! state at every step, and again after the cluster is driven to quiescence (so that the
//! quiescence-conditioned properties cannot hold vacuously).

use gossip_conformance::harness::{conformance_config, fixed_walk};
use gossip_conformance::trace::{
    Trace, from_actions, replay, replay_properties, seeded_bug_traces,
};
use gossip_model::Variant;

#[test]
fn no_seeded_bug_of_the_model_is_in_the_implementation() {
    let traces = seeded_bug_traces().unwrap_or_else(|e| panic!("{e}"));
    for (bug, property, trace) in &traces {
        // The trace survives its JSON form.
        let json = serde_json::to_string(trace).expect("serialisable");
        let back: Trace = serde_json::from_str(&json).expect("parsable");
        assert_eq!(&back, trace);

        let report = replay_properties(trace, &[property], true).expect("replayable");
        assert!(
            report.violation.is_none(),
            "{bug}: the implementation violates {property:?} along the bug's counterexample: {:?}\n{}",
            report.violation,
            trace.render()
        );
        assert!(
            report.applied > 0,
            "{bug}: no step of the counterexample could be given to the implementation"
        );
        // Strictly, the implementation does not follow the buggy model.
        let strict = replay(trace).expect("replayable");
        println!(
            "{bug:<28} {:>2} steps, {} applied, {} stutters, {} settling steps; strict replay: {}",
            trace.steps.len(),
            report.applied,
            report.stutters.len(),
            report.settle_steps,
            strict
                .divergence
                .as_ref()
                .map_or("conforms".to_owned(), |d| format!(
                    "diverges at step {}",
                    d.step
                ))
        );
    }
    assert_eq!(traces.len(), Variant::all().len() - 1);
}

#[test]
fn a_correct_random_walk_exported_as_a_trace_conforms_when_replayed() {
    let model = conformance_config(3, 2, 3, false).into_model();
    let trace = from_actions(&model, &fixed_walk(&model, 60), true, None);
    let report = replay(&trace).expect("replayable");
    assert!(report.divergence.is_none(), "{:?}", report.divergence);
    assert_eq!(report.steps, 60);
}
