//! Small textbook models with known answers, shared by the tests (`mod models;`), the unit tests
//! of `src/explore.rs` and the benchmark (`benches/rumor.rs`).
//!
//! Each model states its expected results in its doc comment; `tests/engine.rs` checks them.

use stateright::{Model, Property};
use stateright_fair::{FairClass, FairModel, Fairness, LeadsTo};

/// A process that may spin forever or exit: states `0` (spinning) and `1` (done, no actions).
///
/// `eventually done` holds iff `exit_is_fair` (weak fairness forces the continuously enabled
/// `Exit`); without it the self-loop `0 -Spin-> 0` is a fair cycle. 2 states, 2 edges.
#[derive(Clone, Debug)]
pub struct SpinLoop {
    /// Whether the exit action is weakly fair.
    pub exit_is_fair: bool,
}

/// Actions of [`SpinLoop`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SpinAction {
    /// Stay in state 0 (never fair).
    Spin,
    /// Go to state 1.
    Exit,
}

impl Model for SpinLoop {
    type State = u8;
    type Action = SpinAction;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, s: &u8, out: &mut Vec<SpinAction>) {
        if *s == 0 {
            out.push(SpinAction::Spin);
            out.push(SpinAction::Exit);
        }
    }
    fn next_state(&self, _: &u8, a: SpinAction) -> Option<u8> {
        Some(match a {
            SpinAction::Spin => 0,
            SpinAction::Exit => 1,
        })
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("done", |_, s| *s == 1)]
    }
}

impl FairModel for SpinLoop {
    fn fair_class(&self, _: &u8, a: &SpinAction) -> Option<FairClass> {
        match a {
            SpinAction::Exit if self.exit_is_fair => Some(FairClass(1)),
            _ => None,
        }
    }
}

/// Program counter of a [`Mutex2`] process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pc {
    /// Not interested.
    Idle,
    /// Wants the lock.
    Waiting,
    /// Holds the lock.
    Critical,
    /// Doing local work (process 1 when uncontended).
    Busy,
}

/// Two processes and a lock.
///
/// Process 0 cycles `Idle -Request-> Waiting -Acquire-> Critical -Release-> Idle`. When
/// `contended`, process 1 does the same; otherwise it toggles `Idle <-Think-> Busy` and never
/// touches the lock. With `fair`, every action of each process is its own weakly fair class.
/// With `broken_lock`, `Acquire` ignores the lock (a deliberately broken variant).
///
/// Known answers (`waiting ~> critical` is the leads-to `p0 waiting leads to p0 critical`):
/// * uncontended, fair: `eventually p0 critical` and the leads-to hold;
/// * uncontended, unfair: both are violated (process 1 thinks forever);
/// * contended, fair: both are violated: `Acquire(0)` is disabled whenever process 1 is
///   critical, so weak fairness allows process 1 to win forever;
/// * contended, fair and `strong`: both hold: `Acquire(0)` is enabled infinitely often (each
///   time process 1 releases), so strong fairness forces it;
/// * `mutual exclusion` holds unless `broken_lock`.
///
/// Sizes: contended 8 states / 14 edges, broken 9 / 18, uncontended 6 / 12.
#[derive(Clone, Debug)]
pub struct Mutex2 {
    /// Whether the actions are weakly fair.
    pub fair: bool,
    /// Whether process 1 also competes for the lock.
    pub contended: bool,
    /// Whether `Acquire` ignores the lock (broken variant).
    pub broken_lock: bool,
    /// With `fair`: whether the classes are strongly (not weakly) fair.
    pub strong: bool,
}

/// State of [`Mutex2`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MutexState {
    /// Program counters.
    pub pc: [Pc; 2],
    /// Whether the lock is held.
    pub lock: bool,
}

/// Actions of [`Mutex2`] (the process number is the payload).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MutexAction {
    /// Idle to Waiting.
    Request(usize),
    /// Waiting to Critical, taking the lock.
    Acquire(usize),
    /// Critical to Idle, freeing the lock.
    Release(usize),
    /// Idle to Busy or back (process 1, uncontended).
    Think(usize),
}

impl Model for Mutex2 {
    type State = MutexState;
    type Action = MutexAction;
    fn init_states(&self) -> Vec<MutexState> {
        vec![MutexState {
            pc: [Pc::Idle; 2],
            lock: false,
        }]
    }
    fn actions(&self, s: &MutexState, out: &mut Vec<MutexAction>) {
        for i in 0..2 {
            if i == 1 && !self.contended {
                out.push(MutexAction::Think(1));
                continue;
            }
            match s.pc[i] {
                Pc::Idle => out.push(MutexAction::Request(i)),
                Pc::Waiting => out.push(MutexAction::Acquire(i)),
                Pc::Critical => out.push(MutexAction::Release(i)),
                Pc::Busy => {}
            }
        }
    }
    fn next_state(&self, s: &MutexState, a: MutexAction) -> Option<MutexState> {
        let mut t = s.clone();
        match a {
            MutexAction::Request(i) => t.pc[i] = Pc::Waiting,
            MutexAction::Acquire(i) => {
                if s.lock && !self.broken_lock {
                    return None;
                }
                t.pc[i] = Pc::Critical;
                t.lock = true;
            }
            MutexAction::Release(i) => {
                t.pc[i] = Pc::Idle;
                t.lock = t.pc.contains(&Pc::Critical);
            }
            MutexAction::Think(i) => {
                t.pc[i] = if s.pc[i] == Pc::Idle {
                    Pc::Busy
                } else {
                    Pc::Idle
                }
            }
        }
        Some(t)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("mutual exclusion", |_, s: &MutexState| {
                !(s.pc[0] == Pc::Critical && s.pc[1] == Pc::Critical)
            }),
            Property::sometimes("p0 critical reachable", |_, s: &MutexState| {
                s.pc[0] == Pc::Critical
            }),
            Property::eventually("p0 critical", |_, s: &MutexState| s.pc[0] == Pc::Critical),
        ]
    }
}

impl FairModel for Mutex2 {
    fn fairness(&self, _: &MutexState, a: &MutexAction) -> Option<Fairness> {
        let c = FairClass::of(a);
        self.fair.then_some(if self.strong {
            Fairness::Strong(c)
        } else {
            Fairness::Weak(c)
        })
    }
    fn leads_to(&self) -> Vec<LeadsTo<Self>> {
        vec![LeadsTo::new(
            "waiting ~> critical",
            |_, s: &MutexState| s.pc[0] == Pc::Waiting,
            |_, s: &MutexState| s.pc[0] == Pc::Critical,
        )]
    }
}

/// A request/reply server: `0` idle, `1` requested, `2` replied; `Request: 0→1`,
/// `Reply: 1→2`, `Reset: 2→0` and a stutter `Noop` (never fair) at every state.
///
/// `requested ~> replied` holds iff `reply_is_fair`; `eventually replied` likewise (Request is
/// always fair). 3 states, 6 edges.
#[derive(Clone, Debug)]
pub struct RequestReply {
    /// Whether `Reply` is weakly fair.
    pub reply_is_fair: bool,
}

impl Model for RequestReply {
    type State = u8;
    type Action = &'static str;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, s: &u8, out: &mut Vec<&'static str>) {
        out.push(match s {
            0 => "Request",
            1 => "Reply",
            _ => "Reset",
        });
        out.push("Noop");
    }
    fn next_state(&self, s: &u8, a: &'static str) -> Option<u8> {
        Some(if a == "Noop" { *s } else { (s + 1) % 3 })
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("replied", |_, s| *s == 2)]
    }
}

impl FairModel for RequestReply {
    fn fair_class(&self, _: &u8, a: &&'static str) -> Option<FairClass> {
        match *a {
            "Noop" => None,
            "Reply" if !self.reply_is_fair => None,
            _ => Some(FairClass::of(a)),
        }
    }
    fn leads_to(&self) -> Vec<LeadsTo<Self>> {
        vec![LeadsTo::new(
            "requested ~> replied",
            |_, s| *s == 1,
            |_, s| *s == 2,
        )]
    }
}

/// `0 → 1 → 2 → 2 → …`: `Q` ("served") holds only at `0`, `P` ("asked") only at `1`, and `2`
/// loops on a fair self-loop.
///
/// `eventually served` holds (the initial state is served) but `asked ~> served` is violated:
/// the difference between `eventually` and leads-to.
#[derive(Clone, Debug)]
pub struct ServedThenStuck;

impl Model for ServedThenStuck {
    type State = u8;
    type Action = u8;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, _: &u8, out: &mut Vec<u8>) {
        out.push(0);
    }
    fn next_state(&self, s: &u8, _: u8) -> Option<u8> {
        Some((*s + 1).min(2))
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("served", |_, s| *s == 0)]
    }
}

impl FairModel for ServedThenStuck {
    fn fair_class(&self, _: &u8, _: &u8) -> Option<FairClass> {
        Some(FairClass(7))
    }
    fn leads_to(&self) -> Vec<LeadsTo<Self>> {
        vec![LeadsTo::new(
            "asked ~> served",
            |_, s| *s == 1,
            |_, s| *s == 0,
        )]
    }
}

/// A chain `0 → 1 → … → len` whose last state has no successors (a deadlock).
///
/// `eventually goal` holds iff `goal_at_end` (goal is `s == len`, else the unreachable
/// `s == len + 1`). `len + 1` states, `len` edges.
#[derive(Clone, Debug)]
pub struct Chain {
    /// Number of steps.
    pub len: u32,
    /// Whether the goal is the last state (otherwise it is unreachable).
    pub goal_at_end: bool,
}

impl Model for Chain {
    type State = u32;
    type Action = ();
    fn init_states(&self) -> Vec<u32> {
        vec![0]
    }
    fn actions(&self, s: &u32, out: &mut Vec<()>) {
        if *s < self.len {
            out.push(());
        }
    }
    fn next_state(&self, s: &u32, _: ()) -> Option<u32> {
        Some(s + 1)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("goal", |m, s| {
            *s == if m.goal_at_end { m.len } else { m.len + 1 }
        })]
    }
}

impl FairModel for Chain {
    fn fair_class(&self, _: &u32, _: &()) -> Option<FairClass> {
        Some(FairClass(0))
    }
}

/// A counter modulo `m` with one fair action `Inc`; `eventually x == m` is impossible (a
/// violated property with a fair cycle and no terminal state), which stateright's BFS misses.
#[derive(Clone, Debug)]
pub struct CycleMod {
    /// The modulus.
    pub m: u32,
}

impl Model for CycleMod {
    type State = u32;
    type Action = ();
    fn init_states(&self) -> Vec<u32> {
        vec![0]
    }
    fn actions(&self, _: &u32, out: &mut Vec<()>) {
        out.push(());
    }
    fn next_state(&self, s: &u32, _: ()) -> Option<u32> {
        Some((s + 1) % self.m)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("reaches m", |m, s| *s == m.m)]
    }
}

impl FairModel for CycleMod {
    fn fair_class(&self, _: &u32, _: &()) -> Option<FairClass> {
        Some(FairClass(0))
    }
}

/// A `w × h` grid walked right or down from `(0, 0)`: `w·h` states and
/// `(w−1)·h + w·(h−1)` edges; `always x + y < w + h − 1` fails exactly at the far corner,
/// whose shortest trace has `w + h − 2` steps.
#[derive(Clone, Debug)]
pub struct Grid {
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl Model for Grid {
    type State = (u32, u32);
    type Action = char;
    fn init_states(&self) -> Vec<(u32, u32)> {
        vec![(0, 0)]
    }
    fn actions(&self, s: &(u32, u32), out: &mut Vec<char>) {
        if s.0 + 1 < self.w {
            out.push('R');
        }
        if s.1 + 1 < self.h {
            out.push('D');
        }
    }
    fn next_state(&self, s: &(u32, u32), a: char) -> Option<(u32, u32)> {
        Some(if a == 'R' {
            (s.0 + 1, s.1)
        } else {
            (s.0, s.1 + 1)
        })
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("not at far corner", |m: &Grid, s: &(u32, u32)| {
                s.0 + s.1 < m.w + m.h - 2
            }),
            Property::sometimes("diagonal (1,1)", |_, s: &(u32, u32)| *s == (1, 1)),
            Property::sometimes("outside the grid", |m: &Grid, s: &(u32, u32)| s.0 >= m.w),
        ]
    }
}

impl FairModel for Grid {
    fn fair_class(&self, _: &(u32, u32), a: &char) -> Option<FairClass> {
        Some(FairClass(u64::from(*a)))
    }
}

/// `n` identical processes, each cycling `0 → 1 → 2 → 0`; process `i`'s step is fair class
/// `i`. Without symmetry: `3^n` states and `n·3^n` edges. With [`Processes::sorted`] as the
/// representative: the multisets, `C(n+2, 2)` states.
#[derive(Clone, Debug)]
pub struct Processes {
    /// Number of processes.
    pub n: usize,
}

impl Processes {
    /// The symmetry representative: the sorted vector. (It takes `&Vec` because a
    /// representative must be a `fn(&State) -> State`.)
    #[allow(clippy::ptr_arg)]
    pub fn sorted(s: &Vec<u8>) -> Vec<u8> {
        let mut s = s.clone();
        s.sort_unstable();
        s
    }
}

impl Model for Processes {
    type State = Vec<u8>;
    type Action = usize;
    fn init_states(&self) -> Vec<Vec<u8>> {
        vec![vec![0; self.n]]
    }
    fn actions(&self, _: &Vec<u8>, out: &mut Vec<usize>) {
        out.extend(0..self.n);
    }
    fn next_state(&self, s: &Vec<u8>, i: usize) -> Option<Vec<u8>> {
        let mut t = s.clone();
        t[i] = (t[i] + 1) % 3;
        Some(t)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("values below 3", |_, s: &Vec<u8>| s.iter().all(|&x| x < 3)),
            Property::sometimes("all at 2", |_, s: &Vec<u8>| s.iter().all(|&x| x == 2)),
            Property::eventually("someone at 2", |_, s: &Vec<u8>| s.contains(&2)),
        ]
    }
}

impl FairModel for Processes {
    fn fair_class(&self, _: &Vec<u8>, i: &usize) -> Option<FairClass> {
        Some(FairClass(*i as u64))
    }
}

/// A toy rumour-spreading protocol: node `i` starts knowing rumour `i` (bit `i`); `Send{from,
/// to}` puts `(to, known[from])` into a set-valued network of at most `cap` messages
/// (`None` if already there), `Deliver` merges a message into its destination and removes it,
/// and with `lossy`, `Drop` removes a message. `Send` and `Deliver` are weakly (with `strong`:
/// strongly) fair per (sender, receiver) and per message; `Drop` is never fair.
///
/// With `cap` smaller than the number of possible messages, a full network disables every
/// `Send`, so no send is continuously enabled: `converged` is violated under weak fairness even
/// without loss, and holds under strong fairness.
///
/// Used for the throughput benchmark and for cross-checking state counts with stateright.
#[derive(Clone, Debug)]
pub struct Rumor {
    /// Number of nodes (at most 8).
    pub n: usize,
    /// Network capacity.
    pub cap: usize,
    /// Whether messages may be dropped.
    pub lossy: bool,
    /// Whether `Send` and `Deliver` are strongly (not weakly) fair.
    pub strong: bool,
}

/// State of [`Rumor`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RumorState {
    /// Rumours known by each node (bit set).
    pub known: Vec<u8>,
    /// In-flight messages `(destination, rumours)`, sorted and distinct.
    pub net: Vec<(u8, u8)>,
}

/// Actions of [`Rumor`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RumorAction {
    /// Node `.0` gossips its knowledge to node `.1`.
    Send(u8, u8),
    /// Deliver the message.
    Deliver((u8, u8)),
    /// Lose the message.
    Drop((u8, u8)),
}

impl Rumor {
    /// Three nodes, network capacity 2, weak fairness: the small instance most tests use.
    pub fn three_nodes(lossy: bool) -> Self {
        Rumor {
            n: 3,
            cap: 2,
            lossy,
            strong: false,
        }
    }
}

impl Model for Rumor {
    type State = RumorState;
    type Action = RumorAction;
    fn init_states(&self) -> Vec<RumorState> {
        vec![RumorState {
            known: (0..self.n).map(|i| 1u8 << i).collect(),
            net: Vec::new(),
        }]
    }
    fn actions(&self, s: &RumorState, out: &mut Vec<RumorAction>) {
        if s.net.len() < self.cap {
            for i in 0..self.n as u8 {
                for j in 0..self.n as u8 {
                    if i != j {
                        out.push(RumorAction::Send(i, j));
                    }
                }
            }
        }
        for &m in &s.net {
            out.push(RumorAction::Deliver(m));
            if self.lossy {
                out.push(RumorAction::Drop(m));
            }
        }
    }
    fn next_state(&self, s: &RumorState, a: RumorAction) -> Option<RumorState> {
        let mut t = s.clone();
        match a {
            RumorAction::Send(i, j) => {
                let m = (j, s.known[i as usize]);
                match t.net.binary_search(&m) {
                    Ok(_) => return None,
                    Err(p) => t.net.insert(p, m),
                }
            }
            RumorAction::Deliver(m) => {
                t.net.retain(|x| *x != m);
                t.known[m.0 as usize] |= m.1;
            }
            RumorAction::Drop(m) => t.net.retain(|x| *x != m),
        }
        Some(t)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("own rumour kept", |_, s: &RumorState| {
                s.known.iter().enumerate().all(|(i, k)| k >> i & 1 == 1)
            }),
            Property::sometimes("all know all", |m: &Rumor, s: &RumorState| {
                s.known.iter().all(|&k| k == ((1u16 << m.n) - 1) as u8)
            }),
            Property::eventually("converged", |m: &Rumor, s: &RumorState| {
                s.known.iter().all(|&k| k == ((1u16 << m.n) - 1) as u8)
            }),
        ]
    }
}

impl FairModel for Rumor {
    fn fairness(&self, _: &RumorState, a: &RumorAction) -> Option<Fairness> {
        match a {
            RumorAction::Drop(_) => None,
            a if self.strong => Some(Fairness::Strong(FairClass::of(a))),
            a => Some(Fairness::Weak(FairClass::of(a))),
        }
    }
}

/// The textbook lossy channel: a sender retransmits one message over a one-slot channel that
/// may lose it. State `(in_channel, delivered)`; `Send` (channel empty, not yet delivered)
/// fills the channel, `Deliver` empties it and sets `delivered`, `Drop` empties it (never
/// fair). `Send` and `Deliver` are weakly fair, or with `strong` strongly fair (a fair-loss
/// link).
///
/// Known answers: `eventually delivered` is violated under weak fairness (the lasso
/// `Send, Drop, Send, Drop, …` is weakly fair because neither `Send` nor `Deliver` is
/// continuously enabled) and holds under strong fairness. 3 states, 3 edges.
#[derive(Clone, Debug)]
pub struct LossyChannel {
    /// Whether `Send` and `Deliver` are strongly (not weakly) fair.
    pub strong: bool,
}

/// Actions of [`LossyChannel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelAction {
    /// Put the message into the empty channel.
    Send,
    /// Deliver the message in the channel.
    Deliver,
    /// Lose the message in the channel.
    Drop,
}

impl Model for LossyChannel {
    type State = (bool, bool);
    type Action = ChannelAction;
    fn init_states(&self) -> Vec<(bool, bool)> {
        vec![(false, false)]
    }
    fn actions(&self, _: &(bool, bool), out: &mut Vec<ChannelAction>) {
        out.extend([
            ChannelAction::Send,
            ChannelAction::Deliver,
            ChannelAction::Drop,
        ]);
    }
    fn next_state(
        &self,
        &(full, delivered): &(bool, bool),
        a: ChannelAction,
    ) -> Option<(bool, bool)> {
        match a {
            ChannelAction::Send if !full && !delivered => Some((true, false)),
            ChannelAction::Deliver if full => Some((false, true)),
            ChannelAction::Drop if full => Some((false, delivered)),
            _ => None,
        }
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("delivered", |_, s: &(bool, bool)| s.1)]
    }
}

impl FairModel for LossyChannel {
    fn fairness(&self, _: &(bool, bool), a: &ChannelAction) -> Option<Fairness> {
        let c = FairClass::of(a);
        match a {
            ChannelAction::Drop => None,
            _ if self.strong => Some(Fairness::Strong(c)),
            _ => Some(Fairness::Weak(c)),
        }
    }
}
