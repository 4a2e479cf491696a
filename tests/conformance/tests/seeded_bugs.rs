//! Every seeded bug of the model, replayed against the real implementation: the model's
//! shortest counterexample (BFS, the bug's witness configuration) is exported as a trace and
//! run by the cores; the property the bug violates must hold on the abstracted implementation
//! state at every step, and again after the cluster is driven to quiescence (so that the
//! quiescence-conditioned properties cannot hold vacuously).

use gossip_conformance::trace::{Trace, from_path, replay, replay_properties};
use gossip_model::Variant;
use stateright::{Checker, Model};

#[test]
fn no_seeded_bug_of_the_model_is_in_the_implementation() {
    let mut checked = 0;
    for &v in Variant::all() {
        let Some(property) = v.expected_violation() else {
            continue;
        };
        let model = v.witness_config().into_model();
        let checker = model.clone().checker().spawn_bfs().join();
        let path = checker
            .discovery(property)
            .unwrap_or_else(|| panic!("{}: the model finds no counterexample", v.name()));
        let trace = from_path(
            &model,
            &path,
            Some(format!(
                "BFS counterexample of {} for {property:?}",
                v.name()
            )),
        );
        // The trace survives its JSON form.
        let json = serde_json::to_string(&trace).expect("serialisable");
        let back: Trace = serde_json::from_str(&json).expect("parsable");
        assert_eq!(back, trace);

        let report = replay_properties(&trace, &[property], true).expect("replayable");
        assert!(
            report.violation.is_none(),
            "{}: the implementation violates {:?} along the bug's counterexample: {:?}\n{}",
            v.name(),
            property,
            report.violation,
            gossip_conformance::check::render_trace(&model, &path.clone().into_actions())
        );
        assert!(
            report.applied > 0,
            "{}: no step of the counterexample could be given to the implementation",
            v.name()
        );
        // Strictly, the implementation does not follow the buggy model.
        let strict = replay(&trace).expect("replayable");
        println!(
            "{:<28} {:>2} steps, {} applied, {} stutters, {} settling steps; strict replay: {}",
            v.name(),
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
        checked += 1;
    }
    assert_eq!(checked, Variant::all().len() - 1);
}

#[test]
fn a_correct_random_walk_exported_as_a_trace_conforms_when_replayed() {
    let model = gossip_conformance::harness::conformance_config(3, 2, 3, false).into_model();
    let mut s = model.init_states().remove(0);
    let mut actions = Vec::new();
    for i in 0..60usize {
        let mut enabled = Vec::new();
        model.actions(&s, &mut enabled);
        let a = enabled[(i * 7919) % enabled.len()].clone();
        s = model.next_state(&s, a.clone()).expect("enabled");
        actions.push(a);
    }
    let trace = gossip_conformance::trace::from_actions(&model, &actions, true, None);
    let report = replay(&trace).expect("replayable");
    assert!(report.divergence.is_none(), "{:?}", report.divergence);
    assert_eq!(report.steps, 60);
}
