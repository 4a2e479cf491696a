//! The conformance checks mean what they say: each one is shown failing on a deliberately
//! broken case.
//!
//! * a step at which the **model's own state** violates a property fails, even when the
//!   implementation agrees with the model (constructed directly), and the proptest driver run
//!   with a seeded bug of the model as its reference fails with the property's name, the state
//!   and a shrunk trace;
//! * [`settle`] fails when quiescence is not reached within its bound (a bound too small, and a
//!   driver that never delivers);
//! * the ghost write history comes from the model: an implementation that skips a version and
//!   reports the version it stored (consistent with itself, so the old history built from the
//!   versions the implementation reports could not see it) is caught.

use std::net::SocketAddr;
use std::time::Duration;

use gossip_conformance::check::{Counters, StepFailure, check_step, correct_model};
use gossip_conformance::cluster::Cluster;
use gossip_conformance::driver::{Backend, NodeDriver, WriteOutcome};
use gossip_conformance::harness::{RunResult, run_cases_against};
use gossip_conformance::trace::{from_actions, replay_properties_with, settle, settle_bound};
use gossip_core::{ClusterView, Config, NodeId, RejectReason, Transmit};
use gossip_model::properties::names::{MONOTONIC, NO_INVENTED_VALUE, OWN_STATE};
use gossip_model::{Envelope, GossipAction, GossipConfig, Msg, Variant, Violation};
use stateright::Model;

/// Two nodes, one write each, one message in flight, no crash.
fn small() -> GossipConfig {
    GossipConfig {
        nodes: 2,
        crashes: 0,
        max_heartbeat: 2,
        ..GossipConfig::default()
    }
}

#[test]
fn a_step_fails_when_the_model_state_violates_a_property_even_if_the_implementation_agrees() {
    let model = small().into_model();
    let correct = correct_model(&model);
    let mut cluster = Cluster::new(&model.cfg);
    let write = GossipAction::Write {
        node: 0,
        key: 0,
        value: 0,
    };
    let mut s = model
        .next_state(&model.init_states()[0], write.clone())
        .expect("enabled");
    cluster.apply(&write, false).expect("applied");
    // The implementation agrees with the model's step…
    let mut clean = cluster_copy(&model.cfg, std::slice::from_ref(&write));
    check_step(&mut clean, &correct, &s, &mut Counters::default()).expect("conforms");
    // …but the reference state carries a transition-check violation (as a model whose rule
    // lets a watermark go backwards would record): the step fails, naming the property.
    s.violations.insert(Violation::Backwards);
    let f: StepFailure = check_step(&mut cluster, &correct, &s, &mut Counters::default())
        .expect_err("a model violation is a failure");
    assert_eq!(f.model_violations, vec![MONOTONIC]);
    assert!(f.mismatch.is_none(), "{f}");
    let text = f.to_string();
    assert!(
        text.contains("the model's own state violates") && text.contains(MONOTONIC),
        "{text}"
    );
    assert!(f.state.is_some(), "the report shows the state");
}

/// A fresh cluster that took `actions` (each conforming).
fn cluster_copy(cfg: &GossipConfig, actions: &[GossipAction]) -> Cluster {
    let mut c = Cluster::new(cfg);
    for a in actions {
        c.apply(a, false).expect("applied");
    }
    c
}

#[test]
fn the_conformance_driver_fails_with_the_property_and_a_shrunk_trace_when_the_reference_model_has_a_bug()
 {
    // bump-on-receive: the model's receiver of a Syn bumps its own heartbeat, a violation of
    // "no node's own state is changed by gossip" that the implementation does not share.
    match run_cases_against(
        Variant::BumpOnReceive,
        Backend::InProcess,
        64,
        1,
        50,
        2_000,
        true,
    ) {
        RunResult::Pass { .. } => panic!("the harness passes a model that violates {OWN_STATE:?}"),
        RunResult::Fail(f) => {
            assert!(
                f.reason.contains("the model's own state violates") && f.reason.contains(OWN_STATE),
                "{}",
                f.reason
            );
            assert!(f.reason.contains("state after the step"), "{}", f.reason);
            // Shrunk: a round and the delivery of its Syn.
            assert!(
                f.actions.len() <= 2,
                "not shrunk: {}",
                gossip_model::format::run(&f.model, &f.actions)
            );
            assert!(matches!(
                f.actions.last(),
                Some(GossipAction::Deliver(Envelope {
                    msg: Msg::Syn { .. },
                    ..
                }))
            ));
        }
    }
}

#[test]
fn settle_fails_when_the_bound_on_rounds_runs_out_before_quiescence() {
    let model = small().into_model();
    let mut cluster = cluster_copy(
        &model.cfg,
        &[GossipAction::Write {
            node: 1,
            key: 0,
            value: 0,
        }],
    );
    let e = settle(&mut cluster, &model, 0).expect_err("not quiescent after 0 rounds");
    assert!(e.contains("did not reach quiescence within 0"), "{e}");
    // With the bound replay_properties uses, the same cluster settles.
    let mut cluster = cluster_copy(
        &model.cfg,
        &[GossipAction::Write {
            node: 1,
            key: 0,
            value: 0,
        }],
    );
    settle(&mut cluster, &model, settle_bound(&model)).expect("settles");
}

/// A node driver that loses every datagram it is given (a mutated harness that never
/// delivers).
struct NeverDelivers(Box<dyn NodeDriver>);

impl NodeDriver for NeverDelivers {
    fn init(&mut self, config: &Config, now: Duration) -> Result<(), String> {
        self.0.init(config, now)
    }
    fn set(&mut self, key: &str, value: &[u8], now: Duration) -> Result<WriteOutcome, String> {
        self.0.set(key, value, now)
    }
    fn delete(&mut self, key: &str, now: Duration) -> Result<WriteOutcome, String> {
        self.0.delete(key, now)
    }
    fn leave(&mut self, now: Duration) -> Result<WriteOutcome, String> {
        self.0.leave(now)
    }
    fn gossip(&mut self, peer: SocketAddr, now: Duration) -> Result<(), String> {
        self.0.gossip(peer, now)
    }
    fn datagram(
        &mut self,
        _: SocketAddr,
        _: &[u8],
        _: Duration,
    ) -> Result<Option<RejectReason>, String> {
        Ok(None)
    }
    fn convict(&mut self, node: &NodeId, now: Duration) -> Result<bool, String> {
        self.0.convict(node, now)
    }
    fn forget(&mut self, node: &NodeId, now: Duration) -> Result<bool, String> {
        self.0.forget(node, now)
    }
    fn collect_tombstones(&mut self, node: &NodeId, now: Duration) -> Result<usize, String> {
        self.0.collect_tombstones(node, now)
    }
    fn take_sent(&mut self) -> Vec<Transmit> {
        self.0.take_sent()
    }
    fn view(&self) -> ClusterView {
        self.0.view()
    }
}

#[test]
fn settle_fails_when_the_driver_never_delivers() {
    let model = small().into_model();
    let backend = Backend::Mutated {
        inner: Box::new(Backend::InProcess),
        wrap: |d| Box::new(NeverDelivers(d)),
    };
    let mut cluster = Cluster::with_backend(&model.cfg, &backend).expect("started");
    cluster
        .apply(
            &GossipAction::Write {
                node: 1,
                key: 0,
                value: 0,
            },
            false,
        )
        .expect("applied");
    let e = settle(&mut cluster, &model, settle_bound(&model)).expect_err("never quiescent");
    assert!(e.contains("did not reach quiescence"), "{e}");
}

/// A node driver whose `set` skips a version: it writes twice and reports the second version,
/// the one the node holds. Consistent with itself, so a ghost history built from the versions
/// the implementation reports sees nothing wrong.
struct SkipsAVersion(Box<dyn NodeDriver>);

impl NodeDriver for SkipsAVersion {
    fn init(&mut self, config: &Config, now: Duration) -> Result<(), String> {
        self.0.init(config, now)
    }
    fn set(&mut self, key: &str, value: &[u8], now: Duration) -> Result<WriteOutcome, String> {
        self.0.set(key, value, now)?.map_err(|e| e.to_string())?;
        self.0.set(key, value, now)
    }
    fn delete(&mut self, key: &str, now: Duration) -> Result<WriteOutcome, String> {
        self.0.delete(key, now)
    }
    fn leave(&mut self, now: Duration) -> Result<WriteOutcome, String> {
        self.0.leave(now)
    }
    fn gossip(&mut self, peer: SocketAddr, now: Duration) -> Result<(), String> {
        self.0.gossip(peer, now)
    }
    fn datagram(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        now: Duration,
    ) -> Result<Option<RejectReason>, String> {
        self.0.datagram(from, bytes, now)
    }
    fn convict(&mut self, node: &NodeId, now: Duration) -> Result<bool, String> {
        self.0.convict(node, now)
    }
    fn forget(&mut self, node: &NodeId, now: Duration) -> Result<bool, String> {
        self.0.forget(node, now)
    }
    fn collect_tombstones(&mut self, node: &NodeId, now: Duration) -> Result<usize, String> {
        self.0.collect_tombstones(node, now)
    }
    fn take_sent(&mut self) -> Vec<Transmit> {
        self.0.take_sent()
    }
    fn view(&self) -> ClusterView {
        self.0.view()
    }
}

fn skips_a_version() -> Backend {
    Backend::Mutated {
        inner: Box::new(Backend::InProcess),
        wrap: |d| Box::new(SkipsAVersion(d)),
    }
}

#[test]
fn an_implementation_that_skips_a_version_and_reports_it_violates_no_invented_value() {
    // The property replay (no step-by-step comparison with a model: what seeded-bug traces
    // and `gossip-kit --replay --properties` use) sees it through the model's ghost history.
    let model = small().into_model();
    let trace = from_actions(
        &model,
        &[GossipAction::Write {
            node: 0,
            key: 0,
            value: 0,
        }],
        false,
        None,
    );
    let r = replay_properties_with(&trace, &[], false, &skips_a_version()).expect("replayable");
    let (step, props) = r.violation.expect("caught");
    assert_eq!(step, 1);
    assert!(props.contains(NO_INVENTED_VALUE), "{props}");

    // The strict harness fails too, naming the property.
    match run_cases_against(Variant::Correct, skips_a_version(), 32, 1, 20, 500, true) {
        RunResult::Pass { .. } => {
            panic!("the harness passes an implementation that skips a version")
        }
        RunResult::Fail(f) => assert!(
            f.reason
                .contains("the abstracted implementation state violates")
                && f.reason.contains(NO_INVENTED_VALUE),
            "{}",
            f.reason
        ),
    }
}

/// A node driver whose gossip timer fires twice per input: two rounds, two heartbeat bumps,
/// where the model takes one.
struct TimerTwice(Box<dyn NodeDriver>);

impl NodeDriver for TimerTwice {
    fn init(&mut self, config: &Config, now: Duration) -> Result<(), String> {
        self.0.init(config, now)
    }
    fn set(&mut self, key: &str, value: &[u8], now: Duration) -> Result<WriteOutcome, String> {
        self.0.set(key, value, now)
    }
    fn delete(&mut self, key: &str, now: Duration) -> Result<WriteOutcome, String> {
        self.0.delete(key, now)
    }
    fn leave(&mut self, now: Duration) -> Result<WriteOutcome, String> {
        self.0.leave(now)
    }
    fn gossip(&mut self, peer: SocketAddr, now: Duration) -> Result<(), String> {
        self.0.gossip(peer, now)
    }
    fn timer(&mut self, now: Duration) -> Result<(), String> {
        self.0.timer(now)?;
        self.0.timer(now + Duration::from_micros(500))
    }
    fn datagram(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        now: Duration,
    ) -> Result<Option<RejectReason>, String> {
        self.0.datagram(from, bytes, now)
    }
    fn convict(&mut self, node: &NodeId, now: Duration) -> Result<bool, String> {
        self.0.convict(node, now)
    }
    fn forget(&mut self, node: &NodeId, now: Duration) -> Result<bool, String> {
        self.0.forget(node, now)
    }
    fn collect_tombstones(&mut self, node: &NodeId, now: Duration) -> Result<usize, String> {
        self.0.collect_tombstones(node, now)
    }
    fn take_sent(&mut self) -> Vec<Transmit> {
        self.0.take_sent()
    }
    fn view(&self) -> ClusterView {
        self.0.view()
    }
}

#[test]
fn fanout_2_rounds_come_from_the_cores_timer_so_a_timer_that_fires_twice_is_caught() {
    let backend = Backend::Mutated {
        inner: Box::new(Backend::InProcess),
        wrap: |d| Box::new(TimerTwice(d)),
    };
    match run_cases_against(Variant::Correct, backend, 256, 1, 50, 2_000, true) {
        RunResult::Pass { .. } => panic!("a double round per timer input passes"),
        RunResult::Fail(f) => {
            assert_eq!(f.model.cfg.fanout, 2, "{}", f.reason);
            assert!(
                f.reason.contains("differs") || f.reason.contains("not what the model sent"),
                "{}",
                f.reason
            );
        }
    }
}
