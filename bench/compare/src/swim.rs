//! A tokio driver for N sans-io foca 2 instances (SWIM) on loopback UDP, with custom
//! broadcasts carrying numbered writes.
//!
//! foca's custom broadcasts are rumors: each item is piggybacked on foca's own messages (probes,
//! acks, periodic gossip) at most `max_transmissions` times per node that learns it, and there
//! is no anti-entropy for them, so an item whose transmissions all happen to be lost, or that is
//! only sent to members that already have it, never reaches some nodes.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use foca::{
    AccumulatingRuntime, BroadcastHandler, Config, Foca, Identity, Invalidates, PeriodicParams,
    PostcardCodec, Timer,
};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::counters::Counters;

/// A member's identity: its address plus a bump counter so that a member declared down can
/// rejoin under a fresh identity (foca's `Identity::renew`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwimId {
    addr: SocketAddr,
    bump: u16,
}

impl Identity for SwimId {
    type Addr = SocketAddr;

    fn renew(&self) -> Option<Self> {
        Some(Self {
            addr: self.addr,
            bump: self.bump.wrapping_add(1),
        })
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.bump > adversary.bump
    }
}

/// Length of one write item: an 8-byte write number plus padding, about the size of a small
/// key/value pair.
pub const ITEM_LEN: usize = 32;

/// The broadcast handler: records which writes this node has seen.
struct WriteLog {
    seen: Arc<Mutex<HashSet<u64>>>,
}

/// A write item shorter than its 8-byte number.
#[derive(Debug, thiserror::Error)]
#[error("broadcast item shorter than 8 bytes")]
pub struct ShortItem;

/// The broadcast key: the write number (a write only replaces itself).
pub struct WriteKey(u64);

impl Invalidates for WriteKey {
    fn invalidates(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl BroadcastHandler<SwimId> for WriteLog {
    type Key = WriteKey;
    type Error = ShortItem;

    fn receive_item(
        &mut self,
        data: &[u8],
        _sender: Option<&SwimId>,
    ) -> Result<Option<WriteKey>, ShortItem> {
        let id = u64::from_le_bytes(
            data.get(..8)
                .ok_or(ShortItem)?
                .try_into()
                .map_err(|_| ShortItem)?,
        );
        let new = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id);
        Ok(new.then_some(WriteKey(id)))
    }
}

enum Cmd {
    Announce(SwimId),
    Broadcast(Vec<u8>),
}

type SwimFoca = Foca<SwimId, PostcardCodec, rand010::rngs::StdRng, WriteLog>;

/// N foca instances, each in its own tokio task with its own UDP socket.
pub struct SwimCluster {
    cmds: Vec<mpsc::UnboundedSender<Cmd>>,
    seen: Vec<Arc<Mutex<HashSet<u64>>>>,
    members: Vec<Arc<AtomicUsize>>,
    tasks: Vec<JoinHandle<()>>,
    /// The counters of all their sockets.
    pub counters: Arc<Counters>,
    /// foca's `max_transmissions` for this cluster size.
    pub max_transmissions: u8,
}

/// foca's LAN profile for `n` members (`Config::new_lan`), with periodic gossip set to the
/// benchmark's interval and fanout.
pub fn config(n: usize, interval: Duration, fanout: usize) -> Config {
    let mut c = Config::new_lan(NonZeroU32::new(n.max(1) as u32).expect("n >= 1"));
    c.periodic_gossip = Some(PeriodicParams {
        frequency: interval,
        num_members: NonZeroUsize::new(fanout.max(1)).expect("fanout >= 1"),
    });
    c
}

impl SwimCluster {
    /// Starts `n` members; every member but the first announces itself to the first.
    pub async fn start(
        n: usize,
        interval: Duration,
        fanout: usize,
        counters: Arc<Counters>,
    ) -> anyhow::Result<Self> {
        let cfg = config(n, interval, fanout);
        let max_transmissions = cfg.max_transmissions.get();
        let mut sockets = Vec::with_capacity(n);
        for _ in 0..n {
            sockets.push(tokio::net::UdpSocket::bind(("127.0.0.1", 0)).await?);
        }
        let ids: Vec<SwimId> = sockets
            .iter()
            .map(|s| s.local_addr().map(|addr| SwimId { addr, bump: 0 }))
            .collect::<std::io::Result<_>>()?;
        let mut cluster = Self {
            cmds: Vec::with_capacity(n),
            seen: Vec::with_capacity(n),
            members: Vec::with_capacity(n),
            tasks: Vec::with_capacity(n),
            counters: counters.clone(),
            max_transmissions,
        };
        for (i, socket) in sockets.into_iter().enumerate() {
            let seen = Arc::new(Mutex::new(HashSet::new()));
            let members = Arc::new(AtomicUsize::new(0));
            let foca: SwimFoca = Foca::with_custom_broadcast(
                ids[i].clone(),
                cfg.clone(),
                <rand010::rngs::StdRng as rand010::SeedableRng>::seed_from_u64(i as u64),
                PostcardCodec,
                WriteLog { seen: seen.clone() },
            );
            let (tx, rx) = mpsc::unbounded_channel();
            let driver = Driver {
                foca,
                socket,
                cmds: rx,
                timers: BTreeMap::new(),
                seq: 0,
                counters: counters.clone(),
                rng: rand::rngs::StdRng::seed_from_u64(0xf0ca + i as u64),
                members: members.clone(),
            };
            cluster.tasks.push(tokio::spawn(driver.run()));
            cluster.cmds.push(tx);
            cluster.seen.push(seen);
            cluster.members.push(members);
        }
        for tx in cluster.cmds.iter().skip(1) {
            let _ = tx.send(Cmd::Announce(ids[0].clone()));
        }
        Ok(cluster)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    /// Always false (a cluster has at least one member).
    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    /// How many members count every other member as active.
    pub fn members_converged(&self) -> usize {
        let others = self.cmds.len() - 1;
        self.members
            .iter()
            .filter(|m| m.load(Ordering::Relaxed) >= others)
            .count()
    }

    /// Hands write number `id` to member `writer` as a custom broadcast.
    pub fn broadcast(&self, writer: usize, id: u64) {
        let mut item = vec![0u8; ITEM_LEN];
        item[..8].copy_from_slice(&id.to_le_bytes());
        let _ = self.cmds[writer].send(Cmd::Broadcast(item));
    }

    /// How many of `ids` every member has received.
    pub fn delivered_to_all(&self, ids: &[u64]) -> usize {
        let sets: Vec<_> = self
            .seen
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .collect();
        ids.iter()
            .filter(|id| sets.iter().all(|s| s.contains(id)))
            .count()
    }

    /// Stops every member's task.
    pub async fn shutdown(self) {
        drop(self.cmds);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

struct Driver {
    foca: SwimFoca,
    socket: tokio::net::UdpSocket,
    cmds: mpsc::UnboundedReceiver<Cmd>,
    /// Pending timers by due time (and a sequence number to keep equal instants apart).
    timers: BTreeMap<(Instant, u64), Timer<SwimId>>,
    seq: u64,
    counters: Arc<Counters>,
    rng: rand::rngs::StdRng,
    members: Arc<AtomicUsize>,
}

enum Input {
    Data(usize),
    Timer,
    Cmd(Option<Cmd>),
}

impl Driver {
    async fn run(mut self) {
        let mut rt = AccumulatingRuntime::new();
        let mut buf = vec![0u8; 65_536];
        loop {
            let wake = self
                .timers
                .keys()
                .next()
                .map(|k| k.0)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3_600));
            let input = tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, _)) => Input::Data(n),
                    Err(_) => Input::Data(0),
                },
                () = tokio::time::sleep_until(wake) => Input::Timer,
                cmd = self.cmds.recv() => Input::Cmd(cmd),
            };
            // Errors are foca rejecting a datagram or a call; they are not counted here (the
            // delivery share is what is measured).
            match input {
                Input::Data(0) => {}
                Input::Data(n) => {
                    let _ = self.foca.handle_data(&buf[..n], &mut rt);
                }
                Input::Timer => {
                    let now = Instant::now();
                    while let Some(entry) = self.timers.first_entry() {
                        if entry.key().0 > now {
                            break;
                        }
                        let timer = entry.remove();
                        let _ = self.foca.handle_timer(timer, &mut rt);
                    }
                }
                Input::Cmd(None) => break,
                Input::Cmd(Some(Cmd::Announce(dst))) => {
                    let _ = self.foca.announce(dst, &mut rt);
                }
                Input::Cmd(Some(Cmd::Broadcast(item))) => {
                    let _ = self.foca.add_broadcast(&item);
                }
            }
            while let Some((to, data)) = rt.to_send() {
                if !self.counters.record(data.len(), &mut self.rng) {
                    let _ = self.socket.send_to(&data, to.addr).await;
                }
            }
            while let Some((after, timer)) = rt.to_schedule() {
                self.seq += 1;
                self.timers
                    .insert((Instant::now() + after, self.seq), timer);
            }
            while rt.to_notify().is_some() {}
            self.members
                .store(self.foca.num_members(), Ordering::Relaxed);
        }
    }
}
