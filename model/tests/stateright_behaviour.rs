//! Regression tests of the stateright 0.30.2 behaviour this project relies on: BFS returns a
//! SHORTEST counterexample (0.31.0 does not; see docs/checking.md).

use stateright::{Checker, Model, Property};

/// A counter from 0 to 10.
struct Counter;

impl Model for Counter {
    type State = u8;
    type Action = ();
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, s: &u8, actions: &mut Vec<()>) {
        if *s < 10 {
            actions.push(());
        }
    }
    fn next_state(&self, s: &u8, _: ()) -> Option<u8> {
        Some(s + 1)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("the counter stays below 5", |_, s| *s < 5),
            Property::sometimes("the counter reaches 2", |_, s| *s >= 2),
        ]
    }
}

#[test]
fn bfs_returns_the_shortest_counterexample_and_example() {
    let checker = Counter.checker().spawn_bfs().join();
    let always = checker.discovery("the counter stays below 5").unwrap();
    assert_eq!(always.into_actions().len(), 5);
    let sometimes = checker.discovery("the counter reaches 2").unwrap();
    assert_eq!(sometimes.into_actions().len(), 2);
}

#[test]
fn dfs_also_returns_the_shortest_path_on_a_line() {
    let checker = Counter.checker().spawn_dfs().join();
    assert_eq!(
        checker
            .discovery("the counter stays below 5")
            .unwrap()
            .last_state(),
        &5
    );
}
