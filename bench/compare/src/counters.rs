//! Counting (and loss-injecting) socket wrappers, one per implementation.
//!
//! Every datagram an implementation hands to its socket is counted *before* loss is applied:
//! the counts are what the node sends. Loss is decided per datagram on the sending side with
//! probability [`Counters::set_loss`], so every implementation sees the same loss model.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The MTU the issue asks every datagram to fit in.
pub const MTU: usize = 1_400;

/// Counters shared by all the sockets of one cluster.
#[derive(Debug, Default)]
pub struct Counters {
    bytes: AtomicU64,
    datagrams: AtomicU64,
    max_datagram: AtomicU64,
    max_ever: AtomicU64,
    over_mtu: AtomicU64,
    dropped: AtomicU64,
    syns: AtomicU64,
    /// Loss probability in parts per million.
    loss_ppm: AtomicU64,
}

/// A copy of the counters at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Bytes handed to the sockets (UDP payload; no IP/UDP headers).
    pub bytes: u64,
    /// Datagrams handed to the sockets.
    pub datagrams: u64,
    /// Largest datagram since the last [`Counters::reset_max`].
    pub max_datagram: u64,
    /// Largest datagram since the counters were created.
    pub max_ever: u64,
    /// Datagrams larger than [`MTU`].
    pub over_mtu: u64,
    /// Datagrams dropped by the injected loss.
    pub dropped: u64,
    /// Syn messages sent (counted for chitchat only, where it gives the rounds actually run).
    pub syns: u64,
}

impl Counts {
    /// `self - earlier` for the cumulative counters (`max_datagram` is kept from `self`).
    pub fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            bytes: self.bytes - earlier.bytes,
            datagrams: self.datagrams - earlier.datagrams,
            max_datagram: self.max_datagram,
            max_ever: self.max_ever,
            over_mtu: self.over_mtu - earlier.over_mtu,
            dropped: self.dropped - earlier.dropped,
            syns: self.syns - earlier.syns,
        }
    }
}

impl Counters {
    /// New zeroed counters, lossless.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Sets the loss probability (0.0 to 1.0) for every socket of the cluster.
    pub fn set_loss(&self, p: f64) {
        let ppm = (p.clamp(0.0, 1.0) * 1e6).round() as u64;
        self.loss_ppm.store(ppm, Ordering::Relaxed);
    }

    /// Counts one datagram of `len` bytes; returns `true` if it must be dropped (loss).
    pub fn record(&self, len: usize, rng: &mut impl Rng) -> bool {
        let len = len as u64;
        self.bytes.fetch_add(len, Ordering::Relaxed);
        self.datagrams.fetch_add(1, Ordering::Relaxed);
        self.max_datagram.fetch_max(len, Ordering::Relaxed);
        self.max_ever.fetch_max(len, Ordering::Relaxed);
        if len > MTU as u64 {
            self.over_mtu.fetch_add(1, Ordering::Relaxed);
        }
        let ppm = self.loss_ppm.load(Ordering::Relaxed);
        let lost = ppm > 0 && rng.gen_range(0..1_000_000) < ppm;
        if lost {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        lost
    }

    /// Starts a new window for [`Counts::max_datagram`].
    pub fn reset_max(&self) {
        self.max_datagram.store(0, Ordering::Relaxed);
    }

    /// The current counts.
    pub fn snapshot(&self) -> Counts {
        Counts {
            bytes: self.bytes.load(Ordering::Relaxed),
            datagrams: self.datagrams.load(Ordering::Relaxed),
            max_datagram: self.max_datagram.load(Ordering::Relaxed),
            max_ever: self.max_ever.load(Ordering::Relaxed),
            over_mtu: self.over_mtu.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            syns: self.syns.load(Ordering::Relaxed),
        }
    }
}

/// Our node's transport: a real [`gossip_node::UdpTransport`] plus counting and loss.
#[derive(Debug)]
pub struct CountingUdp {
    inner: gossip_node::UdpTransport,
    counters: Arc<Counters>,
    rng: Mutex<StdRng>,
}

impl CountingUdp {
    /// Binds `127.0.0.1:0`.
    pub async fn bind(counters: Arc<Counters>, seed: u64) -> std::io::Result<Self> {
        let inner = gossip_node::UdpTransport::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        Ok(Self {
            inner,
            counters,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        })
    }
}

impl gossip_node::Transport for CountingUdp {
    fn local_addr(&self) -> SocketAddr {
        gossip_node::Transport::local_addr(&self.inner)
    }

    async fn send_to(&self, payload: &[u8], dst: SocketAddr) -> std::io::Result<()> {
        let lost = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            self.counters.record(payload.len(), &mut *rng)
        };
        if lost {
            return Ok(());
        }
        self.inner.send_to(payload, dst).await
    }

    async fn recv_from(&mut self, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
        self.inner.recv_from(buf).await
    }
}

/// chitchat's transport: its own `UdpTransport`, with each sent envelope counted at the size
/// chitchat reports for it (`SendOutcome::num_bytes_sent`, the datagram's length).
pub struct CountingChitchatTransport {
    counters: Arc<Counters>,
}

impl CountingChitchatTransport {
    /// A transport whose sockets all count into `counters`.
    pub fn new(counters: Arc<Counters>) -> Self {
        Self { counters }
    }
}

#[async_trait]
impl chitchat::transport::Transport for CountingChitchatTransport {
    async fn open(
        &self,
        listen_addr: SocketAddr,
    ) -> anyhow::Result<Box<dyn chitchat::transport::Socket>> {
        let inner =
            chitchat::transport::Transport::open(&chitchat::transport::UdpTransport, listen_addr)
                .await?;
        Ok(Box::new(CountingChitchatSocket {
            inner,
            counters: self.counters.clone(),
        }))
    }
}

struct CountingChitchatSocket {
    inner: Box<dyn chitchat::transport::Socket>,
    counters: Arc<Counters>,
}

#[async_trait]
impl chitchat::transport::Socket for CountingChitchatSocket {
    fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        self.inner.local_addr()
    }

    async fn send(
        &mut self,
        to: SocketAddr,
        envelope: chitchat::ChitchatEnvelope,
    ) -> anyhow::Result<chitchat::transport::SendOutcome> {
        // Loss is never injected for chitchat (the loss experiment is ours vs foca), so the
        // envelope is always sent; the RNG is not consulted when the loss is zero.
        if matches!(envelope.message, chitchat::ChitchatMessage::Syn { .. }) {
            self.counters.syns.fetch_add(1, Ordering::Relaxed);
        }
        let outcome = self.inner.send(to, envelope).await?;
        self.counters
            .record(outcome.num_bytes_sent, &mut rand::thread_rng());
        Ok(outcome)
    }

    async fn recv(&mut self) -> anyhow::Result<chitchat::transport::RecvOutcome> {
        self.inner.recv().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count_every_datagram_and_drop_the_configured_share() {
        let c = Counters::new();
        let mut rng = StdRng::seed_from_u64(1);
        assert!(!c.record(100, &mut rng));
        assert!(!c.record(1_500, &mut rng));
        let s = c.snapshot();
        assert_eq!(
            (s.bytes, s.datagrams, s.max_datagram, s.over_mtu),
            (1_600, 2, 1_500, 1)
        );
        c.set_loss(1.0);
        assert!(c.record(10, &mut rng));
        c.set_loss(0.2);
        let lost = (0..10_000).filter(|_| c.record(10, &mut rng)).count();
        assert!((1_700..2_300).contains(&lost), "{lost}");
        c.reset_max();
        assert_eq!(c.snapshot().max_datagram, 0);
        c.record(10, &mut rng);
        assert_eq!(c.snapshot().max_datagram, 10);
        assert_eq!(c.snapshot().max_ever, 1_500);
    }
}
