//! The node over the in-memory transport: convergence, writes, events, leave, shutdown.
//! Most tests run on tokio's paused clock, so gossip rounds cost no wall-clock time.

use std::time::Duration;

use gossip_node::{
    Config, Delivery, Event, LeaveOutcome, MemoryNetwork, Node, NodeConfig, NodeError, NodeHandle,
    Phase, Status,
};

const INTERVAL: Duration = Duration::from_millis(100);

fn config(name: &str, seeds: Vec<std::net::SocketAddr>) -> NodeConfig {
    // The address is replaced by the transport's.
    let mut core = Config::new(name, "127.0.0.1:1".parse().unwrap());
    core.gossip_interval = INTERVAL;
    core.seeds = seeds;
    core.cluster_id = "test".into();
    let mut c = NodeConfig::new(core);
    c.generation = Some(1);
    c.rng_seed = Some(name.bytes().map(u64::from).sum());
    c
}

/// Starts `n` nodes named n0.. on `net`, all seeded with n0.
fn cluster(net: &MemoryNetwork, n: usize) -> Vec<NodeHandle> {
    let first = net.bind();
    let seed = gossip_node::Transport::local_addr(&first);
    let mut nodes = vec![Node::start_with_transport(config("n0", vec![]), first).unwrap()];
    for i in 1..n {
        let t = net.bind();
        nodes.push(Node::start_with_transport(config(&format!("n{i}"), vec![seed]), t).unwrap());
    }
    nodes
}

/// Polls `cond` every 10 ms (of the test's clock) until it holds, or panics after `limit`.
async fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn all_alive(nodes: &[NodeHandle]) -> bool {
    nodes.iter().all(|h| {
        let s = h.snapshot();
        s.view.nodes.len() == nodes.len() && s.view.nodes.iter().all(|n| n.status == Status::Alive)
    })
}

/// Waits (up to `limit`) until every node sees every node alive.
async fn converge(nodes: &[NodeHandle], limit: Duration) {
    wait_until(limit, "every node sees every node alive", || {
        all_alive(nodes)
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_few_nodes_on_the_in_memory_network_converge() {
    let net = MemoryNetwork::new(1);
    let nodes = cluster(&net, 5);
    converge(&nodes, Duration::from_secs(30)).await;
}

#[tokio::test(start_paused = true)]
async fn nodes_converge_despite_twenty_percent_datagram_loss() {
    let net = MemoryNetwork::new(7);
    net.set_loss(0.2);
    let nodes = cluster(&net, 5);
    converge(&nodes, Duration::from_secs(60)).await;
    nodes[3].set("k", "v").await.unwrap();
    wait_until(Duration::from_secs(60), "every node holds n3/k", || {
        nodes
            .iter()
            .all(|h| h.get("n3", "k").as_deref() == Some(&b"v"[..]))
    })
    .await;
    assert!(net.counts().1 > 0, "the hub did drop datagrams");
}

#[tokio::test(start_paused = true)]
async fn a_write_on_one_node_is_visible_through_another_nodes_handle() {
    let net = MemoryNetwork::new(2);
    let nodes = cluster(&net, 3);
    let v1 = nodes[1].set("color", "blue").await.unwrap();
    let v2 = nodes[1].set("size", "xl").await.unwrap();
    assert_eq!((v1, v2), (1, 2));
    wait_until(Duration::from_secs(30), "n2 sees n1's keys", || {
        nodes[2].get("n1", "color").as_deref() == Some(&b"blue"[..])
            && nodes[2].get("n1", "size").as_deref() == Some(&b"xl"[..])
    })
    .await;
    let del = nodes[1].delete("color").await.unwrap();
    assert_eq!(del, 3);
    wait_until(Duration::from_secs(30), "n0 sees the delete", || {
        nodes[0].get("n1", "color").is_none() && nodes[0].get("n1", "size").is_some()
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_read_after_a_successful_write_on_any_handle_of_the_node_sees_it() {
    let net = MemoryNetwork::new(3);
    let nodes = cluster(&net, 1);
    let other_handle = nodes[0].clone();
    for i in 0..20u32 {
        let v = nodes[0].set(format!("k{i}"), i.to_string()).await.unwrap();
        assert_eq!(
            other_handle.get_own(&format!("k{i}")),
            Some(i.to_string().into_bytes())
        );
        let snap = other_handle.snapshot();
        assert!(snap.view.node(nodes[0].id()).unwrap().watermark >= v);
    }
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_sees_the_join_and_the_key_set_events() {
    let net = MemoryNetwork::new(4);
    let first = net.bind();
    let seed = gossip_node::Transport::local_addr(&first);
    let a = Node::start_with_transport(config("a", vec![]), first).unwrap();
    let mut sub = a.subscribe();
    let b = Node::start_with_transport(config("b", vec![seed]), net.bind()).unwrap();
    b.set("hello", "world").await.unwrap();
    let mut joined = false;
    let mut key_set = false;
    let deadline = Duration::from_secs(30);
    tokio::time::timeout(deadline, async {
        while !(joined && key_set) {
            match sub.recv().await.expect("stream open") {
                Delivery::Event(Event::NodeJoined { node, .. }) if node.name == "b" => {
                    joined = true
                }
                Delivery::Event(Event::KeySet { node, key, .. }) if node.name == "b" => {
                    assert!(joined, "the join comes before the node's keys");
                    assert_eq!(key, "hello");
                    // The snapshot already holds what the event announces.
                    assert_eq!(a.get("b", "hello").as_deref(), Some(&b"world"[..]));
                    key_set = true;
                }
                Delivery::Event(_) => {}
                Delivery::Lagged(n) => panic!("lagged by {n} with a 1,024-event queue"),
            }
        }
    })
    .await
    .expect("events within 30 s");
    a.shutdown().await;
    assert_eq!(
        sub.recv().await,
        None,
        "the stream ends when the node stops"
    );
}

#[tokio::test(start_paused = true)]
async fn a_node_that_leaves_is_seen_as_left_by_the_others() {
    let net = MemoryNetwork::new(5);
    let nodes = cluster(&net, 3);
    converge(&nodes, Duration::from_secs(30)).await;
    let outcome = nodes[2].leave(Duration::from_secs(10)).await.unwrap();
    assert_eq!(outcome, LeaveOutcome::Acknowledged);
    assert_eq!(nodes[2].phase(), Phase::Stopped);
    wait_until(Duration::from_secs(30), "n0 and n1 see n2 as left", || {
        nodes[..2].iter().all(|h| {
            h.snapshot()
                .view
                .node_named("n2")
                .is_some_and(|n| n.status == Status::Left)
        })
    })
    .await;
    assert!(matches!(
        nodes[2].set("k", "v").await,
        Err(NodeError::Stopped)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_lone_node_leave_times_out_and_writes_during_a_leave_are_refused() {
    let net = MemoryNetwork::new(6);
    let nodes = cluster(&net, 1);
    let h = nodes[0].clone();
    let leaving = tokio::spawn(async move { h.leave(Duration::from_secs(2)).await });
    wait_until(Duration::from_secs(5), "leaving", || {
        nodes[0].phase() == Phase::Leaving
    })
    .await;
    assert!(matches!(
        nodes[0].set("k", "v").await,
        Err(NodeError::Write(gossip_core::WriteError::Left))
    ));
    assert_eq!(leaving.await.unwrap().unwrap(), LeaveOutcome::TimedOut);
    assert_eq!(nodes[0].phase(), Phase::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_fails_in_flight_writes_cleanly() {
    let net = MemoryNetwork::new(8);
    let nodes = cluster(&net, 1);
    let node = nodes[0].clone();
    // Four application threads write as fast as they can while the node shuts down.
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let h = node.clone();
            std::thread::spawn(move || {
                // Until the first failure: the shutdown is bound to come (the test times out
                // otherwise), and a fixed count could finish before it on a fast machine.
                let mut results = Vec::new();
                for i in 0.. {
                    let r = h.set_blocking(format!("t{t}-{i}"), "x");
                    let stop = matches!(r, Err(NodeError::Stopped));
                    results.push((format!("t{t}-{i}"), r));
                    if stop {
                        break;
                    }
                }
                results
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    tokio::time::timeout(Duration::from_secs(10), node.shutdown())
        .await
        .expect("shutdown does not deadlock");
    let final_snap = node.snapshot();
    assert_eq!(final_snap.phase, Phase::Stopped);
    let own = final_snap.view.node(node.id()).unwrap();
    let mut applied = 0;
    let mut failed = 0;
    for w in writers {
        for (key, r) in w.join().unwrap() {
            match r {
                // Every acknowledged write is in the final snapshot...
                Ok(v) => {
                    assert_eq!(own.entries.get(&key).map(|e| e.version), Some(v));
                    applied += 1;
                }
                // ...and every other one failed with `Stopped`, none was lost or hung.
                Err(NodeError::Stopped) => {
                    assert!(!own.entries.contains_key(&key));
                    failed += 1;
                }
                Err(e) => panic!("unexpected error {e}"),
            }
        }
    }
    assert!(applied > 0, "some writes were applied before the shutdown");
    assert_eq!(
        failed, 4,
        "each writer saw exactly one failure, then stopped"
    );
    assert_eq!(
        own.watermark, applied as u64,
        "versions 1..=applied, none skipped"
    );
    // After the shutdown: writes fail at once, reads still work.
    assert!(matches!(
        node.set("late", "x").await,
        Err(NodeError::Stopped)
    ));
    assert!(node.snapshot().view.node(node.id()).is_some());
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_stops_the_node_and_ends_its_subscriptions() {
    let net = MemoryNetwork::new(9);
    let nodes = cluster(&net, 1);
    let mut sub = nodes[0].subscribe();
    drop(nodes);
    let end = tokio::time::timeout(Duration::from_secs(5), sub.recv()).await;
    assert_eq!(end, Ok(None));
}

/// The snapshot's (publications, datagrams received, rounds) of every node, summed.
fn publication_counts(nodes: &[NodeHandle]) -> (u64, u64, u64) {
    nodes.iter().fold((0, 0, 0), |(p, d, r), h| {
        let s = h.snapshot();
        (
            p + s.io.publications,
            d + s.stats.datagrams_in,
            r + s.stats.rounds,
        )
    })
}

#[tokio::test(start_paused = true)]
async fn heartbeat_only_datagrams_do_not_rebuild_the_snapshot() {
    let net = MemoryNetwork::new(3);
    let nodes = cluster(&net, 4);
    converge(&nodes, Duration::from_secs(30)).await;
    // A quiet cluster: from now on only heartbeats change.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (p0, d0, r0) = publication_counts(&nodes);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (p1, d1, r1) = publication_counts(&nodes);
    let (publications, datagrams, rounds) = (p1 - p0, d1 - d0, r1 - r0);
    // Every node ran its rounds and received gossip (Syns, SynAcks, Acks: more datagrams
    // than rounds; the counters lag by up to `snapshot_refresh` + one interval) ...
    assert!(rounds >= 4 * 80, "{rounds} rounds");
    assert!(
        datagrams >= 2 * rounds,
        "{datagrams} datagrams, {rounds} rounds"
    );
    // ... but each node rebuilt its snapshot once per `snapshot_refresh` (1 s by default:
    // about 10 in 10 s), not per datagram nor per round.
    assert!(
        publications <= 4 * 11,
        "{publications} publications for {rounds} rounds and {datagrams} datagrams"
    );
    // And a change is still published at once: read-your-writes, and gossip learned.
    nodes[1].set("k", "v").await.unwrap();
    assert_eq!(nodes[1].get_own("k").as_deref(), Some(&b"v"[..]));
    wait_until(Duration::from_secs(10), "every node holds n1/k", || {
        nodes
            .iter()
            .all(|h| h.get("n1", "k").as_deref() == Some(&b"v"[..]))
    })
    .await;
}

/// Polls `f` once, without yielding to the runtime (so the node's event loop does not run).
fn poll_once<F: std::future::Future + Unpin>(f: &mut F) -> std::task::Poll<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    std::pin::Pin::new(f).poll(&mut cx)
}

#[tokio::test(start_paused = true)]
async fn a_full_command_queue_makes_try_set_fail_and_set_wait_and_loses_nothing() {
    let net = MemoryNetwork::new(5);
    let mut c = config("n0", vec![]);
    c.command_capacity = 2;
    let h = Node::start_with_transport(c, net.bind()).unwrap();
    // The event loop does not run while this task does not yield: fill the queue.
    let mut a = Box::pin(h.set("a", "1"));
    let mut b = Box::pin(h.set("b", "2"));
    assert!(poll_once(&mut a).is_pending() && poll_once(&mut b).is_pending());
    let mut c = Box::pin(h.try_set("c", "3"));
    assert!(matches!(
        poll_once(&mut c),
        std::task::Poll::Ready(Err(NodeError::Overloaded))
    ));
    let mut d = Box::pin(h.set("d", "4"));
    assert!(poll_once(&mut d).is_pending(), "set waits for room");
    // Once the loop runs, every queued or waiting write is applied, in order.
    assert_eq!(a.await.unwrap(), 1);
    assert_eq!(b.await.unwrap(), 2);
    assert_eq!(d.await.unwrap(), 3);
    assert_eq!(h.get_own("c"), None, "the refused write was not applied");
    assert_eq!(h.try_set("c", "3").await.unwrap(), 4);
    // Many writers on a queue of 2: none lost, none stuck.
    let writers: Vec<_> = (0..50)
        .map(|i| {
            let h = h.clone();
            tokio::spawn(async move { h.set(format!("w{i}"), "x").await.unwrap() })
        })
        .collect();
    let mut versions = Vec::new();
    for w in writers {
        versions.push(w.await.unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, (5..55).collect::<Vec<u64>>());
    h.shutdown().await;
}
