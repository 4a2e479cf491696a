//! A fast smoke test of the benchmark harness (3 nodes, ~10 s): every phase joins, counts
//! traffic, and sees writes arrive. The benchmark itself is the `gossip-compare` binary
//! (docs/results/README.md); it is not run by `cargo test`.

use std::time::Duration;

use gossip_compare::bench::{Impl, LossImpl, Params, convergence_phase, loss_phase};
use gossip_compare::counters::MTU;

fn params() -> Params {
    Params {
        interval: Duration::from_millis(50),
        fanout: 3,
        keys_per_node: 1,
        join_timeout: Duration::from_secs(5),
        settle: Duration::from_millis(200),
        // Longer than twice the node's `snapshot_refresh` (1 s): our rounds are read from the
        // snapshot, whose counters are refreshed once per second when nothing else changes.
        window: Duration::from_millis(2_500),
        writes: 1,
        write_timeout: Duration::from_secs(5),
        loss_writes: 3,
        budget: Duration::from_secs(1),
        max_digest_len: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_implementation_joins_counts_its_traffic_and_delivers_a_write_on_three_nodes() {
    let p = params();
    for imp in Impl::ALL {
        let r = convergence_phase(imp, 3, 0, &p).await.unwrap();
        assert!(r.join.is_some(), "{imp:?} did not join");
        assert!(
            r.latencies.iter().all(Option::is_some),
            "{imp:?}: a write did not reach every node: {r:?}"
        );
        assert!(
            r.steady.bytes > 0 && r.steady.datagrams > 0,
            "{imp:?}: {r:?}"
        );
        assert!(
            r.rounds_per_node_s > 0.0,
            "{imp:?}: no rounds counted: {r:?}"
        );
        if imp == Impl::Ours {
            assert!(r.max_datagram_phase <= MTU as u64, "{r:?}");
        }
    }
    for imp in [LossImpl::Ours, LossImpl::Foca] {
        let r = loss_phase(imp, 3, 0.0, 0, &p).await.unwrap();
        assert!(r.join.is_some(), "{imp:?} did not join");
        assert!(r.counts.datagrams > 0, "{imp:?}: {r:?}");
        assert_eq!(
            r.delivered, r.writes,
            "{imp:?} lost a write without loss: {r:?}"
        );
    }
}
