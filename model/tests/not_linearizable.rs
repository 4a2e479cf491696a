//! Gossip is not linearizable: the shortest counterexample is a stale read; the same
//! histories are sequentially consistent.

use gossip_model::linearizability::{
    LINEARIZABLE, LinearizabilityAction::*, LinearizabilityConfig, READ_NEW, SEQUENTIAL,
};
use stateright::{Checker, Model};

#[test]
fn a_read_after_a_completed_write_at_another_node_returns_the_old_value() {
    let model = LinearizabilityConfig::default().into_model();
    let checker = model.checker().spawn_bfs().join();
    assert!(checker.is_done());
    let path = checker.discovery(LINEARIZABLE).expect("not linearizable");
    // Client 0 writes 1 at n0 and gets its acknowledgement; only then client 1 reads at n1,
    // which has not heard of the write yet and returns the initial 0.
    assert_eq!(
        path.clone().into_actions(),
        vec![Invoke(0), Serve(0), Invoke(1), Serve(1)]
    );
    assert_eq!(path.last_state().replicas[1].value, 0);
    assert!(checker.discovery(SEQUENTIAL).is_none());
    assert!(checker.discovery(READ_NEW).is_some());
}
