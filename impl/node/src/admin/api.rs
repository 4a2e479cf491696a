//! The admin API's JSON bodies, shared by the server ([`admin`](super)) and the client
//! ([`client`](super::client), `gossipd`'s subcommands).
//!
//! Fields are declared in alphabetical order, so the JSON is the same, byte for byte, as the
//! sorted objects the API has always served.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use gossip_core::security::{Fingerprint, KeyInfo};
use gossip_core::{NodeView, Status};
use gossip_sync::Phase;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::node::{LeaveOutcome, NodeSnapshot};

pub use gossip_core::Stats;

/// `GET /health`: `{"phase": "running" | "leaving" | "stopped"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The node's lifecycle phase.
    #[serde(with = "PhaseName")]
    pub phase: Phase,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Phase", rename_all = "lowercase")]
enum PhaseName {
    Running,
    Leaving,
    Stopped,
}

/// One element of `GET /members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Its gossip address.
    pub addr: SocketAddr,
    /// Its generation.
    pub generation: u64,
    /// Its heartbeat, as this node last heard it.
    pub heartbeat: u64,
    /// Whether it is the node that answered.
    pub is_self: bool,
    /// Its live keys (tombstones excluded).
    pub keys: usize,
    /// Its name.
    pub name: String,
    /// Its status in the answering node's view.
    #[serde(with = "status_name")]
    pub status: Status,
    /// Its latest version.
    pub watermark: u64,
}

/// `GET /members`: every node in the view, the answering one included.
pub type Members = Vec<Member>;

impl Member {
    /// `n` as a member of `snap`'s view.
    pub fn new(snap: &NodeSnapshot, n: &NodeView) -> Self {
        Self {
            addr: n.id.addr,
            generation: n.generation,
            heartbeat: n.heartbeat,
            is_self: snap.view.self_id.as_ref() == Some(&n.id),
            keys: n.entries.values().filter(|e| e.value.is_some()).count(),
            name: n.id.name.clone(),
            status: n.status,
            watermark: n.watermark,
        }
    }

    /// Every node in `snap`'s view.
    pub fn all(snap: &NodeSnapshot) -> Members {
        snap.view.nodes.iter().map(|n| Self::new(snap, n)).collect()
    }
}

/// Statuses as [`Status::as_str`] names them.
mod status_name {
    use super::*;

    pub fn serialize<S: Serializer>(s: &Status, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Status, D::Error> {
        let name = String::deserialize(de)?;
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown status {name:?}")))
    }
}

/// A value in `GET /kv`: UTF-8 values as strings, others as `{"hex": ".."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A UTF-8 value.
    Text(String),
    /// Any other value, in lowercase hex.
    Hex {
        /// The bytes in lowercase hex.
        hex: String,
    },
}

impl Value {
    /// The JSON form of the value `v`.
    pub fn new(v: &[u8]) -> Self {
        match std::str::from_utf8(v) {
            Ok(s) => Self::Text(s.to_owned()),
            Err(_) => Self::Hex {
                hex: gossip_core::security::hex(v),
            },
        }
    }
}

/// `GET /kv`: node name → key → value; tombstones omitted.
pub type Kv = BTreeMap<String, BTreeMap<String, Value>>;

/// The live keys of every node in `snap`'s view.
pub fn kv(snap: &NodeSnapshot) -> Kv {
    snap.view
        .nodes
        .iter()
        .map(|n| {
            let kv = n
                .entries
                .iter()
                .filter_map(|(k, e)| Some((k.clone(), Value::new(e.value.as_ref()?))))
                .collect();
            (n.id.name.clone(), kv)
        })
        .collect()
}

/// `PUT /kv/{key}` and `DELETE /kv/{key}`: the version the write was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    /// The write's version.
    pub version: u64,
}

/// `POST /leave`: `{"outcome": "acknowledged" | "timed_out"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Left {
    /// How the leave ended.
    pub outcome: LeaveOutcome,
}

/// One installed cluster key in `GET /keys`: its fingerprint, never the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The key's fingerprint (16 hex digits).
    #[serde(serialize_with = "fingerprint::serialize")]
    #[serde(deserialize_with = "fingerprint::deserialize")]
    pub fingerprint: Fingerprint,
    /// Whether it seals outgoing frames.
    pub primary: bool,
}

impl From<&KeyInfo> for Key {
    fn from(k: &KeyInfo) -> Self {
        Self {
            fingerprint: k.fingerprint,
            primary: k.primary,
        }
    }
}

mod fingerprint {
    use super::*;

    pub fn serialize<S: Serializer>(fp: &Fingerprint, ser: S) -> Result<S::Ok, S::Error> {
        fp.serialize(ser)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Fingerprint, D::Error> {
        String::deserialize(de)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// `GET /keys` and the answer to every key or roster change: the keyring (fingerprints only),
/// this node's public key, and the roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keys {
    /// The installed keys, primary first; empty without encryption.
    pub keys: Vec<Key>,
    /// This node's public key (hex), if it signs.
    pub public_key: Option<String>,
    /// Node name → public key (hex); empty without signatures.
    pub roster: BTreeMap<String, String>,
}

impl Keys {
    /// The keys, public key and roster of `snap`.
    pub fn new(snap: &NodeSnapshot) -> Self {
        Self {
            keys: snap.keys.iter().map(Key::from).collect(),
            public_key: snap.public_key.clone(),
            roster: snap.roster.iter().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_read_back_what_the_server_writes() {
        let m = Member {
            addr: "127.0.0.1:7946".parse().unwrap(),
            generation: 3,
            heartbeat: 9,
            is_self: true,
            keys: 2,
            name: "a".into(),
            status: Status::Suspected,
            watermark: 4,
        };
        let text = serde_json::to_string(&vec![m.clone()]).unwrap();
        assert_eq!(
            text,
            r#"[{"addr":"127.0.0.1:7946","generation":3,"heartbeat":9,"is_self":true,"keys":2,"name":"a","status":"suspected","watermark":4}]"#
        );
        assert_eq!(serde_json::from_str::<Members>(&text).unwrap(), vec![m]);
    }

    #[test]
    fn values_are_strings_when_utf8_and_hex_objects_otherwise() {
        let text = serde_json::to_string(&[Value::new(b"hi"), Value::new(&[0xff, 0x01])]).unwrap();
        assert_eq!(text, r#"["hi",{"hex":"ff01"}]"#);
        let back: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, vec![Value::new(b"hi"), Value::new(&[0xff, 0x01])]);
    }

    #[test]
    fn health_leave_and_keys_answers_keep_their_json_form() {
        let h = Health {
            phase: Phase::Leaving,
        };
        assert_eq!(serde_json::to_string(&h).unwrap(), r#"{"phase":"leaving"}"#);
        let l = Left {
            outcome: LeaveOutcome::TimedOut,
        };
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"outcome":"timed_out"}"#
        );
        let k = Keys {
            keys: vec![Key {
                fingerprint: Fingerprint([0xab; 8]),
                primary: true,
            }],
            public_key: None,
            roster: BTreeMap::from([("a".to_owned(), "00".to_owned())]),
        };
        let text = serde_json::to_string(&k).unwrap();
        assert_eq!(
            text,
            r#"{"keys":[{"fingerprint":"abababababababab","primary":true}],"public_key":null,"roster":{"a":"00"}}"#
        );
        assert_eq!(serde_json::from_str::<Keys>(&text).unwrap(), k);
        assert_eq!(
            serde_json::from_str::<Health>(r#"{"phase":"running"}"#).unwrap(),
            Health {
                phase: Phase::Running
            }
        );
    }
}
