//! # Gossip is not linearizable, shown
//!
//! A second, deliberately tiny model: a single register replicated on gossip nodes with the
//! protocol's semantics (a write is acknowledged by the node it was sent to as soon as that
//! node has applied it locally; other nodes learn it by a later gossip exchange; versions are
//! totally ordered so replicas converge). Clients each talk to one node and run a short
//! script of operations; stateright's [`LinearizabilityTester`] records every invocation and
//! return.
//!
//! The property "reads are linearizable" is **expected to be violated**: a client can read
//! the old value at node n1 *after* another client's write returned at node n0, because the
//! write has not been gossiped yet. The shortest counterexample is exactly that stale read (4
//! steps: invoke write, n0 answers, invoke read, n1 answers with the old value). Gossip gives
//! eventual consistency and convergence (see `docs/spec/guarantees.md`), not linearizability;
//! a consensus protocol such as Raft would serve the read through the leader or a quorum.
//!
//! The same history *is* sequentially consistent (the read can be ordered before the write):
//! the property "reads are sequentially consistent" holds for the default scripts, showing
//! that the violation is one of real-time order, the gap between the two models.

use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{
    ConsistencyTester, LinearizabilityTester, SequentialConsistencyTester,
};
use stateright::{Model, Property};

/// A value; the register starts at 0.
pub type RegValue = u8;

/// One client operation in a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ClientOp {
    /// Write this value.
    Write(RegValue),
    /// Read.
    Read,
}

/// The parameters: the number of gossip nodes and each client's (node, script).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinearizabilityConfig {
    /// Gossip nodes holding replicas.
    pub nodes: usize,
    /// For each client: the node it talks to and the operations it performs in order.
    pub clients: Vec<(usize, Vec<ClientOp>)>,
}

impl Default for LinearizabilityConfig {
    /// Two nodes; client 0 writes 1 through n0, client 1 reads through n1.
    fn default() -> Self {
        LinearizabilityConfig {
            nodes: 2,
            clients: vec![(0, vec![ClientOp::Write(1)]), (1, vec![ClientOp::Read])],
        }
    }
}

impl LinearizabilityConfig {
    /// The model.
    pub fn into_model(self) -> LinearizabilityModel {
        LinearizabilityModel { cfg: self }
    }
}

/// The register-over-gossip model.
#[derive(Clone, Debug)]
pub struct LinearizabilityModel {
    /// Its parameters.
    pub cfg: LinearizabilityConfig,
}

/// A replica: last-writer-wins by (version, writer node), as gossip orders changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Replica {
    /// (version, node that wrote it): totally ordered, so replicas converge.
    pub stamp: (u8, usize),
    /// The value.
    pub value: RegValue,
}

/// The state: replicas, each client's progress, and the two consistency testers.
#[derive(Clone, Debug, PartialEq, Hash)]
pub struct LinearizabilityState {
    /// One replica per node.
    pub replicas: Vec<Replica>,
    /// Per client: index of its next operation, and whether it is in flight.
    pub clients: Vec<(usize, bool)>,
    /// Records invocations and returns for the linearizability check.
    pub linearizable: LinearizabilityTester<usize, Register<RegValue>>,
    /// Records invocations and returns for the sequential-consistency check.
    pub sequential: SequentialConsistencyTester<usize, Register<RegValue>>,
}

/// An action of the register model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinearizabilityAction {
    /// The client sends its next operation to its node.
    Invoke(usize),
    /// The client's node performs the operation on its replica and answers.
    Serve(usize),
    /// A gossip exchange from one node to another: the newer replica wins.
    Gossip {
        /// Sender.
        from: usize,
        /// Receiver.
        to: usize,
    },
}

/// The property that fails: reads are not linearizable over gossip.
pub const LINEARIZABLE: &str = "reads are linearizable";
/// The property that holds for the default scripts.
pub const SEQUENTIAL: &str = "reads are sequentially consistent";
/// Reachability: a read returns the written value.
pub const READ_NEW: &str = "a read returns the written value";

impl Model for LinearizabilityModel {
    type State = LinearizabilityState;
    type Action = LinearizabilityAction;

    fn init_states(&self) -> Vec<Self::State> {
        vec![LinearizabilityState {
            replicas: vec![
                Replica {
                    stamp: (0, 0),
                    value: 0
                };
                self.cfg.nodes
            ],
            clients: vec![(0, false); self.cfg.clients.len()],
            linearizable: LinearizabilityTester::new(Register(0)),
            sequential: SequentialConsistencyTester::new(Register(0)),
        }]
    }

    fn actions(&self, s: &Self::State, actions: &mut Vec<Self::Action>) {
        for (c, &(next, in_flight)) in s.clients.iter().enumerate() {
            if in_flight {
                actions.push(LinearizabilityAction::Serve(c));
            } else if next < self.cfg.clients[c].1.len() {
                actions.push(LinearizabilityAction::Invoke(c));
            }
        }
        for from in 0..self.cfg.nodes {
            for to in 0..self.cfg.nodes {
                if from != to && s.replicas[from].stamp > s.replicas[to].stamp {
                    actions.push(LinearizabilityAction::Gossip { from, to });
                }
            }
        }
    }

    fn next_state(&self, last: &Self::State, action: Self::Action) -> Option<Self::State> {
        let mut s = last.clone();
        match action {
            LinearizabilityAction::Invoke(c) => {
                let op = match self.cfg.clients[c].1[s.clients[c].0] {
                    ClientOp::Write(v) => RegisterOp::Write(v),
                    ClientOp::Read => RegisterOp::Read,
                };
                s.clients[c].1 = true;
                let _ = s.linearizable.on_invoke(c, op.clone());
                let _ = s.sequential.on_invoke(c, op);
            }
            LinearizabilityAction::Serve(c) => {
                let (node, script) = &self.cfg.clients[c];
                let r = &mut s.replicas[*node];
                let ret = match script[s.clients[c].0] {
                    ClientOp::Write(value) => {
                        *r = Replica {
                            stamp: (r.stamp.0 + 1, *node),
                            value,
                        };
                        RegisterRet::WriteOk
                    }
                    ClientOp::Read => RegisterRet::ReadOk(r.value),
                };
                s.clients[c] = (s.clients[c].0 + 1, false);
                let _ = s.linearizable.on_return(c, ret.clone());
                let _ = s.sequential.on_return(c, ret);
            }
            LinearizabilityAction::Gossip { from, to } => {
                s.replicas[to] = s.replicas[from];
            }
        }
        Some(s)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(LINEARIZABLE, |_, s: &LinearizabilityState| {
                s.linearizable.serialized_history().is_some()
            }),
            Property::always(SEQUENTIAL, |_, s: &LinearizabilityState| {
                s.sequential.serialized_history().is_some()
            }),
            Property::sometimes(
                READ_NEW,
                |m: &LinearizabilityModel, s: &LinearizabilityState| {
                    // Some read has returned: a reader finished while a replica it reads holds a
                    // written value.
                    m.cfg.clients.iter().enumerate().any(|(c, (node, script))| {
                        script[..s.clients[c].0].contains(&ClientOp::Read)
                            && s.replicas[*node].value != 0
                            && s.linearizable.serialized_history().is_some()
                    })
                },
            ),
        ]
    }
}
