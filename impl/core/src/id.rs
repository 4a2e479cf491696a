//! Node identities.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::{Bytes, bin_len, next, str_len};

/// The identity of a **node** (protocol.md §1): its name, unique in the cluster, together with
/// its gossip address.
///
/// Node ids are totally ordered (by name, then address); digests and deltas list nodes in this
/// order, and partial digests cover contiguous ranges of it (protocol.md §3, §9).
///
/// On the wire (MessagePack) a node id is `[name, addr]` where `addr` is a `bin` of 6 bytes
/// (IPv4 + big-endian port) or 18 bytes (IPv6 + port). In human-readable formats (JSON) it is
/// `[name, "ip:port"]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// The node's name, unique in the cluster.
    pub name: String,
    /// The node's gossip address (where Syns are sent).
    pub addr: SocketAddr,
}

impl NodeId {
    /// Builds a node id.
    pub fn new(name: impl Into<String>, addr: SocketAddr) -> Self {
        Self {
            name: name.into(),
            addr,
        }
    }

    /// Encoded size in bytes (docs/spec/wire.md).
    pub fn encoded_len(&self) -> usize {
        let addr = if self.addr.is_ipv4() { 6 } else { 18 };
        1 + str_len(self.name.len()) + bin_len(addr)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.addr)
    }
}

pub(crate) fn addr_to_bytes(addr: &SocketAddr) -> ([u8; 18], usize) {
    let mut out = [0u8; 18];
    let port = addr.port().to_be_bytes();
    match addr.ip() {
        IpAddr::V4(ip) => {
            out[..4].copy_from_slice(&ip.octets());
            out[4..6].copy_from_slice(&port);
            (out, 6)
        }
        IpAddr::V6(ip) => {
            out[..16].copy_from_slice(&ip.octets());
            out[16..18].copy_from_slice(&port);
            (out, 18)
        }
    }
}

pub(crate) fn addr_from_bytes(b: &[u8]) -> Option<SocketAddr> {
    match b.len() {
        6 => {
            let ip = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
            Some(SocketAddr::new(
                IpAddr::V4(ip),
                u16::from_be_bytes([b[4], b[5]]),
            ))
        }
        18 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[..16]);
            let ip = Ipv6Addr::from(o);
            Some(SocketAddr::new(
                IpAddr::V6(ip),
                u16::from_be_bytes([b[16], b[17]]),
            ))
        }
        _ => None,
    }
}

struct AddrBytes<'a>(&'a SocketAddr);

impl Serialize for AddrBytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (buf, n) = addr_to_bytes(self.0);
        s.serialize_bytes(&buf[..n])
    }
}

impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let human = s.is_human_readable();
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.name)?;
        if human {
            t.serialize_element(&self.addr)?;
        } else {
            t.serialize_element(&AddrBytes(&self.addr))?;
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let human = d.is_human_readable();
        d.deserialize_tuple(2, NodeIdVisitor { human })
    }
}

struct NodeIdVisitor {
    human: bool,
}

impl<'de> Visitor<'de> for NodeIdVisitor {
    type Value = NodeId;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a node id [name, addr]")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeId, A::Error> {
        let name: String = next(&mut seq, 0, &self)?;
        let addr = if self.human {
            next(&mut seq, 1, &self)?
        } else {
            let b: Bytes = next(&mut seq, 1, &self)?;
            addr_from_bytes(&b.0).ok_or_else(|| de::Error::custom("bad address length"))?
        };
        Ok(NodeId { name, addr })
    }
}
