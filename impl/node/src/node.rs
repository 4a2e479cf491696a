//! [`Node`], [`NodeHandle`] and the event loop.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gossip_core::security::{
    ClusterKey, Fingerprint, KeyInfo, KeyringError, Security, VerifyingKey, hex,
};
use gossip_core::{ClusterView, Config, ConfigError, Core, Event, NodeId, Stats, WriteError};
use gossip_sync::{
    CommandReceiver, CommandSender, Lifecycle, Outbox, Phase, Replier, Subscribers, Subscription,
    TrySendError, ViewCell, bounded_command_queue, reply_slot,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::generation::{GenerationError, GenerationSource, choose_generation};
use crate::transport::{Transport, UdpTransport};

/// How a node is started.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The core's configuration. `gossip_addr` is where the UDP socket is bound (port 0 picks
    /// a free port; the core is then given the bound address). `generation` is overwritten
    /// unless [`generation`](Self::generation) is `Some`.
    pub core: Config,
    /// Where the generation counter is persisted (see [`crate::generation`]).
    pub data_dir: Option<PathBuf>,
    /// Use exactly this generation (tests); `None` chooses it from `data_dir` or the clock.
    pub generation: Option<u64>,
    /// Seed of the core's RNG (peer choice); `None` seeds from the OS.
    pub rng_seed: Option<u64>,
    /// Capacity of each subscriber's event queue (beyond it: a `Lagged` marker).
    pub event_capacity: usize,
    /// Keyring and signing key (docs/spec/security.md); [`Security::none`] is the plaintext,
    /// unsigned protocol.
    pub security: Security,
    /// An adjustable offset added to the node's clock (default: none). The node's time is
    /// tokio's monotonic clock since start; tests make it jump with [`ClockSkew::jump`].
    pub clock_skew: ClockSkew,
    /// How stale the snapshot's heartbeats, heartbeat ages and counters may get when nothing
    /// else changes (default 1 s): on a timer tick the loop rebuilds the snapshot only if the
    /// last one is at least this old (see [`NodeSnapshot`]). `Duration::ZERO`: on every tick.
    pub snapshot_refresh: Duration,
    /// How many commands (writes, leaves, keyring changes) may wait in the node's queue
    /// (default 1,024; at least 1). When it is full, the async calls of [`NodeHandle`] wait
    /// for room, the `_blocking` ones block, and the `try_` ones fail with
    /// [`NodeError::Overloaded`] (see [`NodeHandle`]).
    pub command_capacity: usize,
}

/// A shared, adjustable offset (in milliseconds, positive or negative) added to a node's clock,
/// so that tests can make the time the core sees jump forwards or backwards. Clones share the
/// offset. The core treats a time earlier than one it has seen as the latest time seen.
#[derive(Debug, Clone, Default)]
pub struct ClockSkew(Arc<std::sync::atomic::AtomicI64>);

impl ClockSkew {
    /// Moves the node's clock by `millis` (negative: backwards) from now on.
    pub fn jump(&self, millis: i64) {
        self.0
            .fetch_add(millis, std::sync::atomic::Ordering::Relaxed);
    }

    fn millis(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `real` (time since start) as the node sees it.
    fn apply(&self, real: Duration) -> Duration {
        shift(real, self.millis())
    }

    /// The real time since start at which the node's clock reads `at`.
    fn unapply(&self, at: Duration) -> Duration {
        shift(at, self.millis().saturating_neg())
    }
}

/// `t` moved by `millis` (negative: backwards), saturating at zero and the maximum.
fn shift(t: Duration, millis: i64) -> Duration {
    let d = Duration::from_millis(millis.unsigned_abs());
    if millis >= 0 {
        t.saturating_add(d)
    } else {
        t.saturating_sub(d)
    }
}

impl NodeConfig {
    /// A configuration with the defaults: no data directory, generation from the wall clock,
    /// OS-seeded RNG, 1,024 queued events per subscriber.
    pub fn new(core: Config) -> Self {
        Self {
            core,
            data_dir: None,
            generation: None,
            rng_seed: None,
            event_capacity: 1_024,
            security: Security::none(),
            clock_skew: ClockSkew::default(),
            snapshot_refresh: Duration::from_secs(1),
            command_capacity: 1_024,
        }
    }
}

/// Errors of the node and its handle.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The core refused the configuration.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The gossip socket could not be bound.
    #[error("cannot bind the gossip socket on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// The generation could not be chosen.
    #[error(transparent)]
    Generation(#[from] GenerationError),
    /// The core refused the write (nothing changed).
    #[error("write refused: {0}")]
    Write(#[from] WriteError),
    /// The node stopped before the command was applied (nothing changed).
    #[error("the node has stopped; the command was not applied")]
    Stopped,
    /// The keyring refused the operation (nothing changed).
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// The operation needs a security layer the node runs without (nothing changed).
    #[error("the node runs without {0}")]
    LayerOff(&'static str),
    /// A `try_` call found the command queue full ([`NodeConfig::command_capacity`]); the
    /// command was not queued (nothing changed). Retry later, or use the waiting call.
    #[error("the node's command queue is full; the command was not queued")]
    Overloaded,
}

/// A change of a running node's keyring or roster (docs/spec/security.md §4).
#[derive(Debug, Clone)]
pub enum SecurityOp {
    /// Installs a cluster key (not as primary).
    AddKey(ClusterKey),
    /// Makes the installed key with this fingerprint the primary.
    UseKey(Fingerprint),
    /// Uninstalls a key (never the primary).
    RemoveKey(Fingerprint),
    /// Binds a node name to a public key in the roster.
    SetSigner(String, VerifyingKey),
    /// Unbinds a node name from the roster.
    RemoveSigner(String),
}

/// How a graceful leave ended (in JSON: `acknowledged` or `timed_out`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveOutcome {
    /// A peer's digest showed it holds the leave marker; the node then stopped.
    Acknowledged,
    /// No acknowledgement within the timeout; the node stopped anyway.
    TimedOut,
}

/// Transport-level counters kept by the shell (the core counts everything it is handed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Datagrams whose `send_to` failed (dropped).
    pub send_errors: u64,
    /// `recv_from` errors (e.g. ICMP port unreachable reported on the socket).
    pub recv_errors: u64,
    /// Event-loop iterations (inputs handled).
    pub loop_iterations: u64,
    /// Times the snapshot was rebuilt and republished (see [`NodeSnapshot`] for when).
    pub publications: u64,
}

/// One consistent snapshot of the node, published by the event loop.
///
/// # When it is republished
///
/// Rebuilding it copies the whole view (O(nodes × keys)), so the loop does it only when
/// something a reader can rely on changed, at the end of the iteration that changed it:
///
/// * a command was applied (a write, a leave, a keyring change): `set`, `delete`, `leave` and
///   `security` return only after a snapshot containing their effect is published;
/// * the core emitted events: subscribers get them after the snapshot that contains them;
/// * [`Core::view_epoch`] changed: anything in the view but heartbeats (entries, watermarks,
///   statuses, joins, forgotten records) is visible at the end of the iteration that
///   learned it;
/// * the lifecycle phase changed;
/// * on the first timer tick (once per gossip interval) at least
///   [`NodeConfig::snapshot_refresh`] (default 1 s) after the last rebuild.
///
/// An input that changes only heartbeats or counters (the steady state of a quiet cluster:
/// heartbeat-only datagrams, gossip rounds) does not rebuild it. So [`stats`](Self::stats),
/// [`io`](Self::io), the nodes' `heartbeat` numbers and [`heartbeat_age`](Self::heartbeat_age)
/// may lag by up to `snapshot_refresh` plus one gossip interval (plus the loop's own
/// scheduling delay); `taken_at` says when they were read. Heartbeat ages are measured at
/// rebuilds, so their resolution is the same.
#[derive(Debug, Clone)]
pub struct NodeSnapshot {
    /// The cluster view.
    pub view: ClusterView,
    /// The core's counters at the same instant.
    pub stats: Stats,
    /// The shell's counters.
    pub io: IoStats,
    /// The lifecycle phase when it was taken.
    pub phase: Phase,
    /// The loop's clock (time since the node started) when it was taken.
    pub taken_at: Duration,
    /// For each other node in the view: how long before `taken_at` this node last saw its
    /// heartbeat (or generation) advance. See the `gossip_heartbeat_age_seconds` metric.
    pub heartbeat_age: Vec<(NodeId, Duration)>,
    /// The installed cluster keys (fingerprints only), primary first; empty without
    /// encryption.
    pub keys: Vec<KeyInfo>,
    /// The roster: `(node name, public key hex)`, by name; empty without signatures.
    pub roster: Vec<(String, String)>,
    /// This node's public key (hex), if signing.
    pub public_key: Option<String>,
}

impl NodeSnapshot {
    /// The largest [`heartbeat_age`](Self::heartbeat_age) among nodes whose status is alive.
    pub fn max_alive_heartbeat_age(&self) -> Option<Duration> {
        self.heartbeat_age
            .iter()
            .filter(|(id, _)| {
                self.view
                    .node(id)
                    .is_some_and(|n| n.status == gossip_core::Status::Alive)
            })
            .map(|(_, d)| *d)
            .max()
    }
}

enum Command {
    Set {
        key: String,
        value: Vec<u8>,
        reply: Replier<Result<u64, NodeError>>,
    },
    Delete {
        key: String,
        reply: Replier<Result<u64, NodeError>>,
    },
    Leave {
        timeout: Duration,
        reply: Replier<Result<LeaveOutcome, NodeError>>,
    },
    Security {
        op: SecurityOp,
        reply: Replier<Result<u64, NodeError>>,
    },
    Shutdown,
}

impl Command {
    /// Answers a command that will not be applied.
    fn fail(self) {
        match self {
            Command::Set { reply, .. }
            | Command::Delete { reply, .. }
            | Command::Security { reply, .. } => reply.send(Err(NodeError::Stopped)),
            Command::Leave { reply, .. } => reply.send(Err(NodeError::Stopped)),
            Command::Shutdown => {}
        }
    }
}

/// Starts nodes. See [`Node::start`].
#[derive(Debug)]
pub struct Node;

impl Node {
    /// Binds a UDP socket on `config.core.gossip_addr`, chooses the generation and spawns the
    /// event loop on the current tokio runtime.
    pub async fn start(config: NodeConfig) -> Result<NodeHandle, NodeError> {
        let addr = config.core.gossip_addr;
        let transport = UdpTransport::bind(addr)
            .await
            .map_err(|source| NodeError::Bind { addr, source })?;
        Self::start_with_transport(config, transport)
    }

    /// Like [`start`](Self::start) over an already bound transport (e.g. a
    /// [`MemoryTransport`](crate::MemoryTransport)); the core's gossip address is the
    /// transport's local address.
    pub fn start_with_transport<T: Transport>(
        mut config: NodeConfig,
        transport: T,
    ) -> Result<NodeHandle, NodeError> {
        config.core.gossip_addr = transport.local_addr();
        let (generation, source) = match config.generation {
            Some(g) => (g, None),
            None => {
                let (g, s) = choose_generation(config.data_dir.as_deref())?;
                (g, Some(s))
            }
        };
        config.core.generation = generation;
        let rng = match config.rng_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        let core = Core::with_security(
            config.core.clone(),
            config.security.clone(),
            rng,
            Duration::ZERO,
        )?;
        let id = core.id().clone();
        info!(
            node = %id,
            generation,
            source = match source {
                Some(GenerationSource::DataDir) => "data-dir",
                Some(GenerationSource::WallClock) => "wall-clock",
                None => "fixed",
            },
            "node starting"
        );
        let (tx, rx) = bounded_command_queue(config.command_capacity);
        let lifecycle = Lifecycle::new();
        let subs = Subscribers::new(config.event_capacity);
        let first = NodeSnapshot {
            view: core.view(),
            stats: core.stats().clone(),
            io: IoStats::default(),
            phase: Phase::Running,
            taken_at: Duration::ZERO,
            heartbeat_age: Vec::new(),
            keys: core.keyring().map(|r| r.list()).unwrap_or_default(),
            roster: roster_list(&core),
            public_key: core.public_key().map(|k| hex(k.as_bytes())),
        };
        let view = Arc::new(ViewCell::new(gossip_sync::Arc::new(first)));
        let event_loop = EventLoop {
            core,
            transport,
            cmds: rx,
            view: view.clone(),
            subs: subs.clone(),
            lifecycle: lifecycle.clone(),
            start: Instant::now(),
            io: IoStats::default(),
            leave: None,
            stop: false,
            outbox: Outbox::new(),
            heard: HashMap::new(),
            skew: config.clock_skew.clone(),
            published: None,
            last_rebuild: Duration::ZERO,
            snapshot_refresh: config.snapshot_refresh,
        };
        tokio::spawn(event_loop.run());
        Ok(NodeHandle {
            shared: Arc::new(Shared {
                id,
                generation,
                cmds: tx,
                view,
                subs,
                lifecycle,
            }),
        })
    }
}

struct Shared {
    id: NodeId,
    generation: u64,
    cmds: CommandSender<Command>,
    view: Arc<ViewCell<NodeSnapshot>>,
    subs: Subscribers<Event>,
    lifecycle: Lifecycle,
}

/// A handle to a running node. Cheap to clone; `Send + Sync`. When every handle is dropped
/// the node stops (without leaving).
///
/// Writes go through the node's command queue and return once the event loop has applied
/// them *and republished the snapshot*, so a `get` or `snapshot` after a successful `set`
/// sees the write (read-your-writes on every handle of the node). Reads never wait for the
/// event loop.
///
/// # Backpressure
///
/// The command queue is bounded ([`NodeConfig::command_capacity`]). When it is full:
/// [`set`](Self::set), [`delete`](Self::delete), [`leave`](Self::leave) and
/// [`security`](Self::security) wait (asynchronously) for room; the `_blocking` calls block
/// the thread; [`try_set`](Self::try_set) and [`try_delete`](Self::try_delete) fail at once
/// with [`NodeError::Overloaded`] without queuing anything. A waiting call is woken as the
/// loop takes commands, so it never waits forever while the node runs; if the node stops
/// first it fails with [`NodeError::Stopped`]. [`shutdown`](Self::shutdown) ignores the
/// bound.
#[derive(Clone)]
pub struct NodeHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("id", &self.shared.id)
            .field("phase", &self.phase())
            .finish()
    }
}

impl NodeHandle {
    /// This node's id (its name and gossip address).
    pub fn id(&self) -> &NodeId {
        &self.shared.id
    }

    /// This run's generation.
    pub fn generation(&self) -> u64 {
        self.shared.generation
    }

    /// The lifecycle phase.
    pub fn phase(&self) -> Phase {
        self.shared.lifecycle.phase()
    }

    /// Makes the command that sets `key = value` (for [`set`](Self::set) and its variants).
    fn set_command(
        key: impl Into<String>,
        value: impl Into<Vec<u8>>,
    ) -> impl FnOnce(Replier<Result<u64, NodeError>>) -> Command {
        let (key, value) = (key.into(), value.into());
        move |reply| Command::Set { key, value, reply }
    }

    /// Queues a command, waiting for room while the queue is full.
    async fn send<T>(
        &self,
        make: impl FnOnce(Replier<Result<T, NodeError>>) -> Command,
    ) -> gossip_sync::ReplyWaiter<Result<T, NodeError>> {
        let (reply, waiter) = reply_slot();
        if let Err(gossip_sync::Closed(cmd)) = self.shared.cmds.send_async(make(reply)).await {
            cmd.fail();
        }
        waiter
    }

    /// Queues a command, blocking the thread while the queue is full.
    fn send_blocking<T>(
        &self,
        make: impl FnOnce(Replier<Result<T, NodeError>>) -> Command,
    ) -> gossip_sync::ReplyWaiter<Result<T, NodeError>> {
        let (reply, waiter) = reply_slot();
        if let Err(gossip_sync::Closed(cmd)) = self.shared.cmds.send_blocking(make(reply)) {
            cmd.fail();
        }
        waiter
    }

    /// Queues a command if there is room; `Err(Overloaded)` otherwise.
    fn try_send<T>(
        &self,
        make: impl FnOnce(Replier<Result<T, NodeError>>) -> Command,
    ) -> Result<gossip_sync::ReplyWaiter<Result<T, NodeError>>, NodeError> {
        let (reply, waiter) = reply_slot();
        match self.shared.cmds.try_send(make(reply)) {
            Ok(()) => Ok(waiter),
            Err(TrySendError::Closed(cmd)) => {
                cmd.fail();
                Ok(waiter)
            }
            Err(TrySendError::Full(_)) => Err(NodeError::Overloaded),
        }
    }

    /// Sets `key = value` in this node's own state. Returns the change's version.
    pub async fn set(
        &self,
        key: impl Into<String>,
        value: impl Into<Vec<u8>>,
    ) -> Result<u64, NodeError> {
        let w = self.send(Self::set_command(key, value)).await;
        w.await.unwrap_or(Err(NodeError::Stopped))
    }

    /// [`set`](Self::set) that does not wait for room: fails at once with
    /// [`NodeError::Overloaded`] (nothing queued) if the command queue is full; otherwise
    /// waits for the write to be applied, as `set` does.
    pub async fn try_set(
        &self,
        key: impl Into<String>,
        value: impl Into<Vec<u8>>,
    ) -> Result<u64, NodeError> {
        let w = self.try_send(Self::set_command(key, value))?;
        w.await.unwrap_or(Err(NodeError::Stopped))
    }

    /// [`delete`](Self::delete) that does not wait for room (see [`try_set`](Self::try_set)).
    pub async fn try_delete(&self, key: impl Into<String>) -> Result<u64, NodeError> {
        let key = key.into();
        let w = self.try_send(|reply| Command::Delete { key, reply })?;
        w.await.unwrap_or(Err(NodeError::Stopped))
    }

    /// Deletes `key` from this node's own state (a tombstone). Returns its version.
    pub async fn delete(&self, key: impl Into<String>) -> Result<u64, NodeError> {
        let key = key.into();
        let w = self.send(|reply| Command::Delete { key, reply }).await;
        w.await.unwrap_or(Err(NodeError::Stopped))
    }

    /// [`set`](Self::set) for threads outside the async runtime (blocks the thread; never
    /// call it from a task of the runtime the node runs on).
    pub fn set_blocking(
        &self,
        key: impl Into<String>,
        value: impl Into<Vec<u8>>,
    ) -> Result<u64, NodeError> {
        let w = self.send_blocking(Self::set_command(key, value));
        w.wait_blocking().unwrap_or(Err(NodeError::Stopped))
    }

    /// [`delete`](Self::delete) for threads outside the async runtime (see
    /// [`set_blocking`](Self::set_blocking)).
    pub fn delete_blocking(&self, key: impl Into<String>) -> Result<u64, NodeError> {
        let key = key.into();
        let w = self.send_blocking(|reply| Command::Delete { key, reply });
        w.wait_blocking().unwrap_or(Err(NodeError::Stopped))
    }

    /// Changes the keyring or roster of the running node (docs/spec/security.md §4). Returns
    /// once the change is applied and visible in [`snapshot`](Self::snapshot).
    pub async fn security(&self, op: SecurityOp) -> Result<(), NodeError> {
        let w = self.send(|reply| Command::Security { op, reply }).await;
        w.await.unwrap_or(Err(NodeError::Stopped)).map(|_| ())
    }

    /// The latest published snapshot (view, counters, phase). Never waits for the loop.
    pub fn snapshot(&self) -> gossip_sync::Arc<NodeSnapshot> {
        self.shared.view.load()
    }

    /// The value of `key` owned by the node named `node`, as this node currently knows it
    /// (`None` if unknown or deleted).
    pub fn get(&self, node: &str, key: &str) -> Option<Vec<u8>> {
        let snap = self.snapshot();
        snap.view.node_named(node)?.entries.get(key)?.value.clone()
    }

    /// The value of one of this node's own keys.
    pub fn get_own(&self, key: &str) -> Option<Vec<u8>> {
        let snap = self.snapshot();
        snap.view
            .node(&self.shared.id)?
            .entries
            .get(key)?
            .value
            .clone()
    }

    /// Subscribes to the core's events (changes learned by gossip, membership changes).
    /// Events published after this call are delivered; a subscriber that falls more than
    /// `event_capacity` events behind gets a [`Delivery::Lagged`](crate::Delivery) marker.
    /// The stream ends when the node stops.
    pub fn subscribe(&self) -> Subscription<Event> {
        self.shared.subs.subscribe()
    }

    /// Leaves gracefully: records the leave marker, keeps gossiping until a peer's digest
    /// acknowledges it (or `timeout` passes), then stops the node. Writes during the leave
    /// fail with [`WriteError::Left`]. Returns `Err(Stopped)` if the node had already stopped.
    pub async fn leave(&self, timeout: Duration) -> Result<LeaveOutcome, NodeError> {
        let w = self.send(|reply| Command::Leave { timeout, reply }).await;
        let outcome = w.await.unwrap_or(Err(NodeError::Stopped));
        if outcome.is_ok() {
            // The loop answers the leave, then stops: return once it has.
            self.shared.lifecycle.wait_for(Phase::Stopped).await;
        }
        outcome
    }

    /// Stops the node without leaving (peers will eventually see it as dead). Commands queued
    /// behind the shutdown fail with [`NodeError::Stopped`]; returns once the loop has
    /// stopped, after which every earlier command has been answered.
    pub async fn shutdown(&self) {
        let _ = self.shared.cmds.send(Command::Shutdown);
        self.shared.lifecycle.wait_for(Phase::Stopped).await;
    }

    /// Waits until the node has stopped (by shutdown, leave, or every other handle dropped).
    pub async fn stopped(&self) {
        self.shared.lifecycle.wait_for(Phase::Stopped).await;
    }
}

struct Leaving {
    deadline: Duration,
    waiters: Vec<Replier<Result<LeaveOutcome, NodeError>>>,
}

enum Input {
    Command(Option<Command>),
    Datagram(io::Result<usize>, std::net::SocketAddr),
    Timer,
}

/// The event loop: owns the core and the transport.
struct EventLoop<T: Transport> {
    core: Core<StdRng>,
    transport: T,
    cmds: CommandReceiver<Command>,
    view: Arc<ViewCell<NodeSnapshot>>,
    subs: Subscribers<Event>,
    lifecycle: Lifecycle,
    start: Instant,
    io: IoStats,
    leave: Option<Leaving>,
    stop: bool,
    /// This iteration's events and write replies, made visible by `flush` in the order
    /// snapshot, events, replies.
    outbox: Outbox<Event, Result<u64, NodeError>>,
    /// Per other node: (generation, heartbeat) last seen and when it last advanced.
    heard: HashMap<NodeId, (u64, u64, Duration)>,
    /// Offset added to the clock (tests).
    skew: ClockSkew,
    /// `(Core::view_epoch, phase)` of the last published snapshot (`None`: only the first,
    /// built before the loop started).
    published: Option<(u64, Phase)>,
    /// `taken_at` of the last published snapshot.
    last_rebuild: Duration,
    /// See [`NodeConfig::snapshot_refresh`].
    snapshot_refresh: Duration,
}

const RECV_BUF: usize = 65_536;

impl<T: Transport> EventLoop<T> {
    fn now(&self) -> Duration {
        self.skew.apply(self.start.elapsed())
    }

    async fn run(mut self) {
        let mut buf = vec![0u8; RECV_BUF];
        debug!(node = %self.core.id(), "event loop running");
        while !self.stop {
            let wake = self.next_wake();
            // Unbiased: tokio polls the branches in random order, so neither a flood of
            // datagrams nor a burst of commands can starve the other inputs or the timer.
            let input = tokio::select! {
                cmd = self.cmds.recv() => Input::Command(cmd),
                r = self.transport.recv_from(&mut buf) => match r {
                    Ok((n, src)) => Input::Datagram(Ok(n), src),
                    Err(e) => Input::Datagram(Err(e), self.transport.local_addr()),
                },
                () = tokio::time::sleep_until(wake) => Input::Timer,
            };
            self.io.loop_iterations += 1;
            let now = self.now();
            // The timer ticks once per gossip interval: a refresh of heartbeats, ages and
            // counters even when nothing else changed, at most every `snapshot_refresh`.
            let refresh = matches!(input, Input::Timer)
                && now.saturating_sub(self.last_rebuild) >= self.snapshot_refresh;
            match input {
                Input::Command(None) => {
                    debug!("every handle dropped; stopping");
                    self.stop = true;
                }
                Input::Command(Some(cmd)) => {
                    self.on_command(cmd, now);
                    // Take whatever else is queued in the same iteration (one publication).
                    while !self.stop {
                        let Some(cmd) = self.cmds.try_recv() else {
                            break;
                        };
                        self.on_command(cmd, now);
                    }
                }
                Input::Datagram(Ok(n), src) => {
                    if let Err(e) = self.core.handle_datagram(src, &buf[..n], now) {
                        debug!(%src, error = %e, "datagram rejected");
                    }
                }
                Input::Datagram(Err(e), _) => {
                    self.io.recv_errors += 1;
                    debug!(error = %e, "recv error");
                    // A persistent socket error must not turn the loop into a busy spin.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Input::Timer => self.core.handle_timeout(now),
            }
            self.check_leave(now);
            self.flush(now, refresh).await;
        }
        // Dropping `self` runs the stop sequence (also on panic): see `Drop`.
    }

    /// The earliest of the core's timeout and the leave deadline.
    fn next_wake(&self) -> Instant {
        let mut at = self
            .core
            .poll_timeout()
            .unwrap_or(self.now() + Duration::from_secs(3600));
        if let Some(l) = &self.leave {
            at = at.min(l.deadline);
        }
        // Checked: a core timeout at the end of time means "never".
        self.start
            .checked_add(self.skew.unapply(at))
            .unwrap_or_else(|| self.start + Duration::from_secs(86_400 * 365))
    }

    fn on_command(&mut self, cmd: Command, now: Duration) {
        match cmd {
            Command::Set { key, value, reply } => {
                let r = self.core.set(&key, &value, now).map_err(NodeError::from);
                self.outbox.push_reply(reply, r);
            }
            Command::Delete { key, reply } => {
                let r = self.core.delete(&key, now).map_err(NodeError::from);
                self.outbox.push_reply(reply, r);
            }
            Command::Leave { timeout, reply } => match &mut self.leave {
                Some(l) => l.waiters.push(reply),
                None => match self.core.leave(now) {
                    Ok(version) => {
                        info!(version, "leaving");
                        self.lifecycle.advance(Phase::Leaving);
                        self.leave = Some(Leaving {
                            deadline: now.saturating_add(timeout),
                            waiters: vec![reply],
                        });
                    }
                    Err(e) => reply.send(Err(e.into())),
                },
            },
            Command::Security { op, reply } => {
                let r = self.on_security(op).map(|()| 0);
                self.outbox.push_reply(reply, r);
            }
            Command::Shutdown => {
                info!("shutdown requested");
                self.stop = true;
            }
        }
    }

    fn on_security(&mut self, op: SecurityOp) -> Result<(), NodeError> {
        fn ring(core: &mut Core<StdRng>) -> Result<&mut gossip_core::Keyring, NodeError> {
            core.keyring_mut()
                .ok_or(NodeError::LayerOff("encryption (no keyring)"))
        }
        fn roster(core: &mut Core<StdRng>) -> Result<&mut gossip_core::Roster, NodeError> {
            core.roster_mut()
                .ok_or(NodeError::LayerOff("signatures (no roster)"))
        }
        match op {
            SecurityOp::AddKey(k) => {
                let fp = k.fingerprint();
                ring(&mut self.core)?.add(k)?;
                info!(fingerprint = %fp, "cluster key added");
            }
            SecurityOp::UseKey(fp) => {
                ring(&mut self.core)?.set_primary(&fp)?;
                info!(fingerprint = %fp, "primary cluster key switched");
            }
            SecurityOp::RemoveKey(fp) => {
                ring(&mut self.core)?.remove(&fp)?;
                info!(fingerprint = %fp, "cluster key removed");
            }
            SecurityOp::SetSigner(name, key) => {
                info!(node = %name, public_key = %hex(key.as_bytes()), "roster entry set");
                roster(&mut self.core)?.insert(name, key);
            }
            SecurityOp::RemoveSigner(name) => {
                roster(&mut self.core)?.remove(&name);
                info!(node = %name, "roster entry removed");
            }
        }
        Ok(())
    }

    fn check_leave(&mut self, now: Duration) {
        let Some(l) = &self.leave else { return };
        let outcome = if self.core.left_acknowledged() {
            LeaveOutcome::Acknowledged
        } else if now >= l.deadline {
            LeaveOutcome::TimedOut
        } else {
            return;
        };
        info!(?outcome, "leave finished");
        for w in self.leave.take().into_iter().flat_map(|l| l.waiters) {
            w.send(Ok(outcome));
        }
        self.stop = true;
    }

    /// Sends the core's transmits, then (through the [`Outbox`]) publishes the snapshot,
    /// delivers the core's events and answers the writes applied in this iteration, in that
    /// order: a subscriber that reads the view on an event, and a writer that reads after its
    /// write returned, both see a snapshot that contains it.
    ///
    /// The snapshot is rebuilt only if `refresh`, or the outbox holds events or replies, or the
    /// core's view epoch or the phase changed since the last publication (see
    /// [`NodeSnapshot`]): heartbeat-only datagrams and rounds cost no O(view) copy.
    async fn flush(&mut self, now: Duration, refresh: bool) {
        while let Some(t) = self.core.poll_transmit() {
            if let Err(e) = self.transport.send_to(&t.payload, t.dst).await {
                self.io.send_errors += 1;
                debug!(dst = %t.dst, error = %e, "send failed");
            }
        }
        while let Some(ev) = self.core.poll_event() {
            self.outbox.push_event(ev);
        }
        let current = (self.core.view_epoch(), self.lifecycle.phase());
        if !refresh && self.outbox.is_empty() && self.published == Some(current) {
            return;
        }
        let snap = self.snapshot(now);
        self.published = Some(current);
        self.last_rebuild = now;
        self.outbox
            .publish(&self.view, gossip_sync::Arc::new(snap), &self.subs);
    }

    fn snapshot(&mut self, now: Duration) -> NodeSnapshot {
        let view = self.core.view();
        let me = self.core.id().clone();
        let mut ages = Vec::with_capacity(view.nodes.len());
        for n in &view.nodes {
            if n.id == me {
                continue;
            }
            let e = self
                .heard
                .entry(n.id.clone())
                .or_insert((n.generation, n.heartbeat, now));
            if (n.generation, n.heartbeat) > (e.0, e.1) {
                *e = (n.generation, n.heartbeat, now);
            }
            ages.push((n.id.clone(), now.saturating_sub(e.2)));
        }
        if self.heard.len() > view.nodes.len() {
            self.heard.retain(|id, _| view.node(id).is_some());
        }
        self.io.publications += 1;
        NodeSnapshot {
            view,
            stats: self.core.stats().clone(),
            io: self.io.clone(),
            phase: self.lifecycle.phase(),
            taken_at: now,
            heartbeat_age: ages,
            keys: self.core.keyring().map(|r| r.list()).unwrap_or_default(),
            roster: roster_list(&self.core),
            public_key: self.core.public_key().map(|k| hex(k.as_bytes())),
        }
    }
}

fn roster_list(core: &Core<StdRng>) -> Vec<(String, String)> {
    core.roster()
        .map(|r| r.entries().map(|(n, k)| (n.to_owned(), k)).collect())
        .unwrap_or_default()
}

impl<T: Transport> Drop for EventLoop<T> {
    /// The stop sequence, also run if the loop panics ([`Lifecycle::stop`]): close the queue
    /// and fail what it held, then fail pending leaves, answer any write applied but not yet
    /// answered, publish the final snapshot and end the subscriptions, and only then advance
    /// the lifecycle to `Stopped`.
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        let now = self.now();
        // Built from the core, not from the last published view: if the loop future was
        // cancelled mid-iteration (e.g. the runtime shut down during a send), writes applied
        // since the last publication must still be in the final snapshot their callers see.
        let final_snapshot = (!panicking).then(|| {
            let mut snap = self.snapshot(now);
            snap.phase = Phase::Stopped;
            snap
        });
        let Self {
            cmds,
            lifecycle,
            leave,
            outbox,
            view,
            subs,
            ..
        } = self;
        lifecycle.stop(cmds, Command::fail, || {
            if let Some(l) = leave.take() {
                for w in l.waiters {
                    w.send(Err(NodeError::Stopped));
                }
            }
            if panicking {
                // Mid-iteration: the writes were applied to the core but no consistent
                // snapshot can be built; their callers are still told they were applied.
                warn!("event loop panicked; node stopped");
                outbox.reply_unpublished();
            } else if let Some(snap) = final_snapshot {
                outbox.publish(view, gossip_sync::Arc::new(snap), subs);
            }
            subs.close();
        });
        info!(node = %self.core.id(), "node stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_clone_send_sync<T: Clone + Send + Sync + 'static>() {}

    #[test]
    fn the_handle_is_clone_send_and_sync_and_the_snapshot_can_cross_threads() {
        assert_clone_send_sync::<NodeHandle>();
        assert_clone_send_sync::<gossip_sync::Arc<NodeSnapshot>>();
    }
}
