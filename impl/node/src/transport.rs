//! The datagram transport the event loop runs over: real UDP, or an in-memory hub for tests.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng, rngs::StdRng};
use tokio::sync::mpsc;

/// A datagram socket as the event loop needs it.
///
/// `recv_from` must be cancel-safe (the loop polls it inside `tokio::select!` and drops it
/// when another branch wins): a datagram is either returned or left for the next call.
pub trait Transport: Send + 'static {
    /// The address peers send to (the node's gossip address).
    fn local_addr(&self) -> SocketAddr;

    /// Sends one datagram. Errors are reported to the caller, which counts and drops them
    /// (gossip tolerates loss).
    fn send_to(
        &self,
        payload: &[u8],
        dst: SocketAddr,
    ) -> impl Future<Output = io::Result<()>> + Send;

    /// Receives one datagram into `buf`; returns its length and source. A datagram longer than
    /// `buf` is truncated to `buf.len()` (the loop uses a 64 KiB buffer, so the core still sees
    /// that it exceeds the MTU).
    fn recv_from(
        &mut self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send;
}

/// [`Transport`] over a real `tokio::net::UdpSocket`.
#[derive(Debug)]
pub struct UdpTransport {
    socket: tokio::net::UdpSocket,
    local: SocketAddr,
}

impl UdpTransport {
    /// Binds a UDP socket on `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        let socket = tokio::net::UdpSocket::bind(addr).await?;
        let local = socket.local_addr()?;
        Ok(Self { socket, local })
    }
}

impl Transport for UdpTransport {
    fn local_addr(&self) -> SocketAddr {
        self.local
    }

    async fn send_to(&self, payload: &[u8], dst: SocketAddr) -> io::Result<()> {
        self.socket.send_to(payload, dst).await.map(|_| ())
    }

    async fn recv_from(&mut self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.socket.recv_from(buf).await
    }
}

type Datagram = (SocketAddr, Vec<u8>);

/// An in-memory datagram network: a hub of channels keyed by address, with optional random
/// loss and per-link cuts (partitions). Cloning it gives another handle to the same hub.
///
/// Nothing touches the OS network: the addresses are only map keys.
#[derive(Debug, Clone)]
pub struct MemoryNetwork {
    inner: Arc<Mutex<Hub>>,
}

#[derive(Debug)]
struct Hub {
    endpoints: HashMap<SocketAddr, mpsc::UnboundedSender<Datagram>>,
    next_port: u16,
    loss: f64,
    rng: StdRng,
    cut: std::collections::HashSet<(SocketAddr, SocketAddr)>,
    delivered: u64,
    dropped: u64,
}

impl Default for MemoryNetwork {
    fn default() -> Self {
        Self::new(0)
    }
}

impl MemoryNetwork {
    /// A lossless hub whose loss decisions (if loss is later enabled) come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Hub {
                endpoints: HashMap::new(),
                next_port: 10_000,
                loss: 0.0,
                rng: StdRng::seed_from_u64(seed),
                cut: Default::default(),
                delivered: 0,
                dropped: 0,
            })),
        }
    }

    fn hub(&self) -> std::sync::MutexGuard<'_, Hub> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Drops each datagram with probability `p` (0.0 to 1.0).
    pub fn set_loss(&self, p: f64) {
        self.hub().loss = p.clamp(0.0, 1.0);
    }

    /// Cuts (`true`) or restores (`false`) both directions of the link between `a` and `b`.
    pub fn set_link_cut(&self, a: SocketAddr, b: SocketAddr, cut: bool) {
        let mut hub = self.hub();
        for pair in [(a, b), (b, a)] {
            if cut {
                hub.cut.insert(pair);
            } else {
                hub.cut.remove(&pair);
            }
        }
    }

    /// `(delivered, dropped)` datagram counts since the hub was created.
    pub fn counts(&self) -> (u64, u64) {
        let hub = self.hub();
        (hub.delivered, hub.dropped)
    }

    /// Binds an endpoint on the next free in-memory address (`127.0.0.1:<port>`, ports from
    /// 10,000 up; only a name, nothing is bound on the host).
    pub fn bind(&self) -> MemoryTransport {
        let mut hub = self.hub();
        loop {
            let port = hub.next_port;
            hub.next_port = hub.next_port.wrapping_add(1).max(1);
            let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
            if !hub.endpoints.contains_key(&addr) {
                drop(hub);
                return self.bind_addr(addr).expect("address checked free");
            }
        }
    }

    /// Binds an endpoint on `addr`; fails with `AddrInUse` if it is taken.
    pub fn bind_addr(&self, addr: SocketAddr) -> io::Result<MemoryTransport> {
        let mut hub = self.hub();
        if hub.endpoints.contains_key(&addr) {
            return Err(io::ErrorKind::AddrInUse.into());
        }
        let (tx, rx) = mpsc::unbounded_channel();
        hub.endpoints.insert(addr, tx);
        Ok(MemoryTransport {
            net: self.clone(),
            addr,
            rx,
        })
    }

    fn deliver(&self, src: SocketAddr, dst: SocketAddr, payload: &[u8]) {
        let mut hub = self.hub();
        let lost = hub.loss > 0.0 && {
            let p = hub.loss;
            hub.rng.gen_bool(p)
        };
        let sent = !lost
            && !hub.cut.contains(&(src, dst))
            && hub
                .endpoints
                .get(&dst)
                .is_some_and(|tx| tx.send((src, payload.to_vec())).is_ok());
        if sent {
            hub.delivered += 1;
        } else {
            hub.dropped += 1;
        }
    }
}

/// One endpoint of a [`MemoryNetwork`]. Dropping it unbinds the address.
#[derive(Debug)]
pub struct MemoryTransport {
    net: MemoryNetwork,
    addr: SocketAddr,
    rx: mpsc::UnboundedReceiver<Datagram>,
}

impl Drop for MemoryTransport {
    fn drop(&mut self) {
        self.net.hub().endpoints.remove(&self.addr);
    }
}

impl Transport for MemoryTransport {
    fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    async fn send_to(&self, payload: &[u8], dst: SocketAddr) -> io::Result<()> {
        // Like UDP: sending to nobody, or over a lossy link, "succeeds" and the datagram is lost.
        self.net.deliver(self.addr, dst, payload);
        Ok(())
    }

    async fn recv_from(&mut self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        // `UnboundedReceiver::recv` is cancel-safe.
        match self.rx.recv().await {
            Some((src, data)) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                Ok((n, src))
            }
            // Unreachable while `self` is alive (the hub holds the sender), kept for totality.
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_datagrams_reach_the_bound_address_and_cut_links_drop_them() {
        let net = MemoryNetwork::new(1);
        let a = net.bind();
        let mut b = net.bind();
        let mut buf = [0u8; 16];
        a.send_to(b"hi", b.local_addr()).await.unwrap();
        let (n, src) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], src), (&b"hi"[..], a.local_addr()));
        net.set_link_cut(a.local_addr(), b.local_addr(), true);
        a.send_to(b"lost", b.local_addr()).await.unwrap();
        assert_eq!(net.counts(), (1, 1));
    }

    #[tokio::test]
    async fn udp_datagrams_round_trip_on_loopback() {
        let a = UdpTransport::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let mut b = UdpTransport::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        a.send_to(b"ping", b.local_addr()).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, src) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], src), (&b"ping"[..], a.local_addr()));
    }
}
