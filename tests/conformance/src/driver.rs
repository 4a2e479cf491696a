//! How the harness talks to one node of the system under test: [`NodeDriver`], implemented by
//! an in-process `gossip-core` [`Core`] ([`InProcess`], the default: fast) and by an external
//! process speaking the conformance kit's JSON-lines protocol ([`Subprocess`],
//! `docs/spec/conformance-kit.md`), so that the same harness checks any implementation.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use gossip_core::{ClusterView, Config, Core, NodeId, NodeView, RejectReason, Transmit};
use rand::rngs::mock::StepRng;

use crate::kit::{
    KIT_VERSION, KitConfig, KitNodeId, KitView, Request, Response, from_hex, parse_addr, to_hex,
};

/// The outcome of a local write: the change's version, or why it was refused.
pub type WriteOutcome = Result<u64, String>;

/// One node of the system under test. Every method's outer `Err` is a failure of the driver
/// itself (the adapter crashed, answered garbage): the harness reports it as a divergence.
pub trait NodeDriver {
    /// Starts the node from scratch with `config` (also how a crashed node restarts).
    fn init(&mut self, config: &Config, now: Duration) -> Result<(), String>;
    /// A local write.
    fn set(&mut self, key: &str, value: &[u8], now: Duration) -> Result<WriteOutcome, String>;
    /// A local delete.
    fn delete(&mut self, key: &str, now: Duration) -> Result<WriteOutcome, String>;
    /// Leave the cluster.
    fn leave(&mut self, now: Duration) -> Result<WriteOutcome, String>;
    /// One gossip round toward `peer`.
    fn gossip(&mut self, peer: SocketAddr, now: Duration) -> Result<(), String>;
    /// The node's timers fire at `now` (`handle_timeout`): the harness calls it when the
    /// node's own gossip timer is due, so that the implementation picks the round's peers
    /// itself. Drivers without timers answer `Err`.
    fn timer(&mut self, now: Duration) -> Result<(), String> {
        let _ = now;
        Err("this driver has no timer input".into())
    }
    /// A datagram arrives; `Ok(Some(reason))` if the node rejected it.
    fn datagram(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        now: Duration,
    ) -> Result<Option<RejectReason>, String>;
    /// The failure detector convicts `node`; whether it applied.
    fn convict(&mut self, node: &NodeId, now: Duration) -> Result<bool, String>;
    /// Forget `node`; whether it applied.
    fn forget(&mut self, node: &NodeId, now: Duration) -> Result<bool, String>;
    /// Collect `node`'s tombstones; how many.
    fn collect_tombstones(&mut self, node: &NodeId, now: Duration) -> Result<usize, String>;
    /// The datagrams sent since the last call, in order.
    fn take_sent(&mut self) -> Vec<Transmit>;
    /// The node's current view (nodes and forgotten records in ascending id order).
    fn view(&self) -> ClusterView;
    /// What the node knows about `node`.
    fn node(&self, node: &NodeId) -> Option<NodeView> {
        self.view().node(node).cloned()
    }
}

/// Which implementation the harness drives.
#[derive(Clone, Debug, Default)]
pub enum Backend {
    /// `gossip-core` in this process (the default).
    #[default]
    InProcess,
    /// One process per node running this shell command (`sh -c`), speaking `gossip-kit/1`.
    Command {
        /// The command.
        cmd: String,
        /// Extra environment variables.
        env: Vec<(String, String)>,
    },
    /// The nodes of `inner`, each wrapped by `wrap` (a test-only mutation of what the harness
    /// sees, e.g. a driver that misreports a version or never delivers, to show that a check
    /// catches it).
    Mutated {
        /// The backend whose nodes are wrapped.
        inner: Box<Backend>,
        /// Wraps one started node.
        wrap: fn(Box<dyn NodeDriver>) -> Box<dyn NodeDriver>,
    },
}

impl Backend {
    /// Whether the nodes are in-process cores (possibly wrapped by a test mutation): the
    /// harness then drives every mode and fanout 2 (see [`crate::harness`]).
    pub fn in_process(&self) -> bool {
        match self {
            Backend::InProcess => true,
            Backend::Command { .. } => false,
            Backend::Mutated { inner, .. } => inner.in_process(),
        }
    }

    /// A driver for one node, initialised with `config`.
    pub fn start(&self, config: &Config, now: Duration) -> Result<Box<dyn NodeDriver>, String> {
        let mut d: Box<dyn NodeDriver> = match self {
            Backend::InProcess => Box::new(InProcess::default()),
            Backend::Command { cmd, env } => Box::new(Subprocess::take(cmd, env)?),
            Backend::Mutated { inner, wrap } => return Ok(wrap(inner.start(config, now)?)),
        };
        d.init(config, now)?;
        Ok(d)
    }

    /// The independent Python implementation's adapter (`tests/python/kit_node.py`), with
    /// `PYGOSSIP_BUG` set to `bug` (one of its deliberately broken variants) if given.
    pub fn python(adapter: &Path, bug: Option<&str>) -> Backend {
        let mut env = vec![("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned())];
        if let Some(b) = bug {
            env.push(("PYGOSSIP_BUG".to_owned(), b.to_owned()));
        }
        Backend::Command {
            cmd: format!("python3 '{}'", adapter.display()),
            env,
        }
    }
}

/// The Python adapter's path: `GOSSIP_KIT_PYTHON_ADAPTER`, else this repository's
/// `tests/python/kit_node.py`; `None` (tests that need it skip) if it or `python3` is absent.
pub fn python_adapter() -> Option<PathBuf> {
    let path = std::env::var_os("GOSSIP_KIT_PYTHON_ADAPTER")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../python/kit_node.py"));
    let python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    (python && path.is_file()).then_some(path)
}

/// A `gossip-core` core in this process. Its RNG always draws 0, so that a round started by
/// its own gossip timer takes every candidate when there are at most `fanout` of them and
/// always adds a seed it does not already gossip with (the model's peer choice in the
/// configurations where the harness uses the timer, see [`crate::cluster`]).
#[derive(Default)]
pub struct InProcess {
    core: Option<Core<StepRng>>,
}

impl InProcess {
    fn core(&mut self) -> Result<&mut Core<StepRng>, String> {
        self.core.as_mut().ok_or_else(|| "not initialised".into())
    }
}

impl NodeDriver for InProcess {
    fn init(&mut self, config: &Config, now: Duration) -> Result<(), String> {
        self.core =
            Some(Core::new(config.clone(), StepRng::new(0, 0), now).map_err(|e| e.to_string())?);
        Ok(())
    }
    fn set(&mut self, key: &str, value: &[u8], now: Duration) -> Result<WriteOutcome, String> {
        Ok(self.core()?.set(key, value, now).map_err(|e| e.to_string()))
    }
    fn delete(&mut self, key: &str, now: Duration) -> Result<WriteOutcome, String> {
        Ok(self.core()?.delete(key, now).map_err(|e| e.to_string()))
    }
    fn leave(&mut self, now: Duration) -> Result<WriteOutcome, String> {
        Ok(self.core()?.leave(now).map_err(|e| e.to_string()))
    }
    fn gossip(&mut self, peer: SocketAddr, now: Duration) -> Result<(), String> {
        self.core()?.start_round_with(peer, now);
        Ok(())
    }
    fn timer(&mut self, now: Duration) -> Result<(), String> {
        self.core()?.handle_timeout(now);
        Ok(())
    }
    fn datagram(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        now: Duration,
    ) -> Result<Option<RejectReason>, String> {
        Ok(self
            .core()?
            .handle_datagram(from, bytes, now)
            .err()
            .map(|e| e.reason()))
    }
    fn convict(&mut self, node: &NodeId, now: Duration) -> Result<bool, String> {
        Ok(self.core()?.convict(node, now))
    }
    fn forget(&mut self, node: &NodeId, now: Duration) -> Result<bool, String> {
        Ok(self.core()?.forget(node, now))
    }
    fn collect_tombstones(&mut self, node: &NodeId, now: Duration) -> Result<usize, String> {
        Ok(self.core()?.collect_tombstones(node, now))
    }
    fn take_sent(&mut self) -> Vec<Transmit> {
        let Some(core) = self.core.as_mut() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while let Some(t) = core.poll_transmit() {
            out.push(t);
        }
        while core.poll_event().is_some() {}
        out
    }
    fn view(&self) -> ClusterView {
        self.core.as_ref().map(Core::view).unwrap_or_default()
    }
    fn node(&self, node: &NodeId) -> Option<NodeView> {
        self.core.as_ref().and_then(|c| c.node(node))
    }
}

thread_local! {
    /// Idle adapter processes, reused by later clusters of this thread (an `init` discards
    /// all of a node's state, so a process can serve any node of any case; reuse keeps
    /// proptest's shrinking fast with adapters that start slowly, e.g. an interpreter).
    static POOL: std::cell::RefCell<Vec<Subprocess>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An external adapter process speaking `gossip-kit/1` on stdin/stdout. The view of the last
/// response is kept, so reading it costs nothing (a node's view changes only through its own
/// requests). The process is killed when the driver is dropped, unless it came from
/// [`Subprocess::take`]: then it goes back to the thread's pool (if not poisoned).
pub struct Subprocess {
    cmd: String,
    env: Vec<(String, String)>,
    /// A request failed: the process may be out of step, it is not reused.
    poisoned: bool,
    /// Goes back to the thread's pool when dropped.
    pooled: bool,
    /// The process; `None` only while the driver is dropped.
    io: Option<Io>,
    view: ClusterView,
    sent: Vec<Transmit>,
}

/// An adapter process and its pipes; killed when dropped.
struct Io {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

fn rejection(name: &str) -> Result<RejectReason, String> {
    Ok(match name {
        "Oversize" => RejectReason::Oversize,
        "Truncated" => RejectReason::Truncated,
        "UnknownVersion" => RejectReason::UnknownVersion,
        "Malformed" => RejectReason::Malformed,
        "WrongCluster" => RejectReason::WrongCluster,
        "Invalid" => RejectReason::Invalid,
        "LimitExceeded" => RejectReason::LimitExceeded,
        "RateLimited" => RejectReason::RateLimited,
        "NoKey" => RejectReason::NoKey,
        "DecryptFailed" => RejectReason::DecryptFailed,
        "Unencrypted" => RejectReason::Unencrypted,
        "Unsigned" => RejectReason::Unsigned,
        "UnknownSigner" => RejectReason::UnknownSigner,
        "BadSignature" => RejectReason::BadSignature,
        n => return Err(format!("unknown rejection name {n:?}")),
    })
}

fn now_ms(now: Duration) -> u64 {
    u64::try_from(now.as_millis()).unwrap_or(u64::MAX)
}

impl Subprocess {
    /// Starts `sh -c cmd` with extra environment variables.
    pub fn spawn(cmd: &str, env: &[(String, String)]) -> Result<Subprocess, String> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .envs(env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start adapter {cmd:?}: {e}"))?;
        let stdin = BufWriter::new(child.stdin.take().ok_or("no stdin")?);
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(Subprocess {
            cmd: cmd.to_owned(),
            env: env.to_vec(),
            poisoned: false,
            pooled: false,
            io: Some(Io {
                child,
                stdin,
                stdout,
            }),
            view: ClusterView::default(),
            sent: Vec::new(),
        })
    }

    fn io(&mut self) -> &mut Io {
        self.io.as_mut().expect("present until dropped")
    }

    /// An idle process of this thread's pool running the same command, if one is still
    /// alive, else a new one; it goes back to the pool when dropped.
    pub fn take(cmd: &str, env: &[(String, String)]) -> Result<Subprocess, String> {
        let reused = POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            while let Some(k) = pool.iter().position(|p| p.cmd == cmd && p.env == env) {
                let mut p = pool.swap_remove(k);
                if matches!(p.io().child.try_wait(), Ok(None)) {
                    return Some(p);
                }
            }
            None
        });
        let mut p = match reused {
            Some(p) => p,
            None => Subprocess::spawn(cmd, env)?,
        };
        p.pooled = true;
        Ok(p)
    }

    /// Sends one request and reads its response; keeps the view and the sent datagrams.
    pub fn request(&mut self, req: &Request) -> Result<Response, String> {
        let r = self.request_inner(req);
        self.poisoned |= r.is_err();
        r
    }

    fn request_inner(&mut self, req: &Request) -> Result<Response, String> {
        let line = serde_json::to_string(req).map_err(|e| e.to_string())?;
        let io = |e: std::io::Error| format!("adapter {:?}: {e}", self.cmd);
        let Io { stdin, stdout, .. } = self.io.as_mut().expect("present until dropped");
        writeln!(stdin, "{line}").map_err(io)?;
        stdin.flush().map_err(io)?;
        let mut answer = String::new();
        let n = stdout.read_line(&mut answer).map_err(io)?;
        if n == 0 {
            return Err(format!(
                "adapter {:?} closed its output (exited?) after request {line}",
                self.cmd
            ));
        }
        let resp: Response = serde_json::from_str(&answer)
            .map_err(|e| format!("adapter answered an invalid response ({e}): {answer}"))?;
        if !resp.ok {
            return Err(format!(
                "adapter kit error on request {line}: {}",
                resp.error.as_deref().unwrap_or("(no message)")
            ));
        }
        let view = resp
            .view
            .as_ref()
            .ok_or_else(|| format!("response without view: {answer}"))?;
        self.view = view.to_view()?;
        for s in resp.sent.as_deref().unwrap_or_default() {
            self.sent.push(Transmit {
                dst: parse_addr(&s.to)?,
                payload: from_hex(&s.hex)?,
            });
        }
        Ok(resp)
    }

    fn write(&mut self, req: &Request) -> Result<WriteOutcome, String> {
        let r = self.request(req)?;
        match r.version {
            Some(Some(v)) => Ok(Ok(v)),
            Some(None) => Ok(Err(r.refused.unwrap_or_else(|| "refused".into()))),
            None => Err("write response without version".into()),
        }
    }

    /// A `convict` or `forget` request: whether it applied.
    fn applied(&mut self, req: &Request, op: &str) -> Result<bool, String> {
        self.request(req)?
            .applied
            .ok_or_else(|| format!("{op} response without \"applied\""))
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Subprocess {
    fn drop(&mut self) {
        if self.pooled && !self.poisoned {
            let p = Subprocess {
                cmd: std::mem::take(&mut self.cmd),
                env: std::mem::take(&mut self.env),
                poisoned: false,
                pooled: false,
                io: self.io.take(),
                view: std::mem::take(&mut self.view),
                sent: std::mem::take(&mut self.sent),
            };
            POOL.with(|pool| pool.borrow_mut().push(p));
        }
    }
}

impl NodeDriver for Subprocess {
    fn init(&mut self, config: &Config, now: Duration) -> Result<(), String> {
        self.sent.clear();
        let r = self.request(&Request::Init {
            kit: KIT_VERSION.to_owned(),
            now_ms: now_ms(now),
            config: Box::new(KitConfig::from_config(config)),
        })?;
        if r.kit.as_deref() != Some(KIT_VERSION) {
            return Err(format!(
                "adapter answered init with kit {:?}, expected {KIT_VERSION:?}",
                r.kit
            ));
        }
        Ok(())
    }
    fn set(&mut self, key: &str, value: &[u8], now: Duration) -> Result<WriteOutcome, String> {
        self.write(&Request::Set {
            now_ms: now_ms(now),
            key: key.to_owned(),
            value: to_hex(value),
        })
    }
    fn delete(&mut self, key: &str, now: Duration) -> Result<WriteOutcome, String> {
        self.write(&Request::Delete {
            now_ms: now_ms(now),
            key: key.to_owned(),
        })
    }
    fn leave(&mut self, now: Duration) -> Result<WriteOutcome, String> {
        self.write(&Request::Leave {
            now_ms: now_ms(now),
        })
    }
    fn gossip(&mut self, peer: SocketAddr, now: Duration) -> Result<(), String> {
        self.request(&Request::Gossip {
            now_ms: now_ms(now),
            peer: peer.to_string(),
        })
        .map(drop)
    }
    fn timer(&mut self, now: Duration) -> Result<(), String> {
        self.request(&Request::Tick {
            now_ms: now_ms(now),
        })
        .map(drop)
    }
    fn datagram(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        now: Duration,
    ) -> Result<Option<RejectReason>, String> {
        let r = self.request(&Request::Datagram {
            now_ms: now_ms(now),
            from: from.to_string(),
            hex: to_hex(bytes),
        })?;
        match r.rejected {
            Some(Some(name)) => rejection(&name).map(Some),
            Some(None) => Ok(None),
            None => Err("datagram response without \"rejected\"".into()),
        }
    }
    fn convict(&mut self, node: &NodeId, now: Duration) -> Result<bool, String> {
        let (now_ms, node) = (now_ms(now), KitNodeId::from_id(node));
        self.applied(&Request::Convict { now_ms, node }, "convict")
    }
    fn forget(&mut self, node: &NodeId, now: Duration) -> Result<bool, String> {
        let (now_ms, node) = (now_ms(now), KitNodeId::from_id(node));
        self.applied(&Request::Forget { now_ms, node }, "forget")
    }
    fn collect_tombstones(&mut self, node: &NodeId, now: Duration) -> Result<usize, String> {
        self.request(&Request::CollectTombstones {
            now_ms: now_ms(now),
            node: KitNodeId::from_id(node),
        })?
        .collected
        .ok_or_else(|| "collect_tombstones response without \"collected\"".into())
    }
    fn take_sent(&mut self) -> Vec<Transmit> {
        std::mem::take(&mut self.sent)
    }
    fn view(&self) -> ClusterView {
        self.view.clone()
    }
}

/// The kit view of a node, for tools.
pub fn kit_view(d: &dyn NodeDriver) -> KitView {
    KitView::from_view(&d.view())
}
