//! The MessagePack shape of the wire types (docs/spec/wire.md): structs as arrays, enums as
//! small integer tags instead of rmp-serde's variant-name maps, byte strings as `bin`.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::message::{
    Attestation, Change, DeltaKind, Digest, Envelope, GossipMode, Message, NodeDelta,
    SIGNATURE_LEN, Signature, Update,
};
use crate::codec::{Bytes, BytesRef, de_vec, next};

const TAG_SYN: u8 = 0;
const TAG_SYNACK: u8 = 1;
const TAG_ACK: u8 = 2;
const TAG_SET: u8 = 0;
const TAG_DELETE: u8 = 1;
const TAG_LEAVE: u8 = 2;
const KIND_INCREMENTAL: u8 = 0;
const KIND_RESET: u8 = 1;

impl Serialize for DeltaKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (tag, v) = match *self {
            DeltaKind::Incremental { from } => (KIND_INCREMENTAL, from),
            DeltaKind::Reset { gc_floor } => (KIND_RESET, gc_floor),
        };
        (tag, v).serialize(s)
    }
}

impl<'de> Deserialize<'de> for DeltaKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (tag, v) = <(u8, u64)>::deserialize(d)?;
        match tag {
            KIND_INCREMENTAL => Ok(DeltaKind::Incremental { from: v }),
            KIND_RESET => Ok(DeltaKind::Reset { gc_floor: v }),
            _ => Err(de::Error::custom("unknown delta kind")),
        }
    }
}

impl Serialize for Update {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let signed = usize::from(self.sig.is_some());
        match &self.change {
            Change::Set { key, value } => {
                let mut t = s.serialize_tuple(4 + signed)?;
                t.serialize_element(&self.version)?;
                t.serialize_element(&TAG_SET)?;
                t.serialize_element(key)?;
                t.serialize_element(&BytesRef(value))?;
                if let Some(sig) = &self.sig {
                    t.serialize_element(&BytesRef(sig))?;
                }
                t.end()
            }
            Change::Delete { key } => {
                let mut t = s.serialize_tuple(3 + signed)?;
                t.serialize_element(&self.version)?;
                t.serialize_element(&TAG_DELETE)?;
                t.serialize_element(key)?;
                if let Some(sig) = &self.sig {
                    t.serialize_element(&BytesRef(sig))?;
                }
                t.end()
            }
            Change::Leave => {
                let mut t = s.serialize_tuple(2 + signed)?;
                t.serialize_element(&self.version)?;
                t.serialize_element(&TAG_LEAVE)?;
                if let Some(sig) = &self.sig {
                    t.serialize_element(&BytesRef(sig))?;
                }
                t.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Update {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Update;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an update [version, tag, ...]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Update, A::Error> {
                let version: u64 = next(&mut seq, 0, &self)?;
                let tag: u8 = next(&mut seq, 1, &self)?;
                let change = match tag {
                    TAG_SET => {
                        let key: String = next(&mut seq, 2, &self)?;
                        let value: Bytes = next(&mut seq, 3, &self)?;
                        Change::Set {
                            key,
                            value: value.0,
                        }
                    }
                    TAG_DELETE => Change::Delete {
                        key: next(&mut seq, 2, &self)?,
                    },
                    TAG_LEAVE => Change::Leave,
                    _ => return Err(de::Error::custom("unknown change tag")),
                };
                let sig = seq
                    .next_element::<Bytes>()?
                    .map(|b| to_signature(b).map_err(de::Error::custom))
                    .transpose()?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("too many elements in an update"));
                }
                Ok(Update {
                    version,
                    change,
                    sig,
                })
            }
        }
        d.deserialize_seq(V)
    }
}

fn to_signature(b: Bytes) -> Result<Signature, &'static str> {
    <[u8; SIGNATURE_LEN]>::try_from(b.0.as_slice()).map_err(|_| "a signature must be 64 bytes")
}

impl Serialize for Attestation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.watermark)?;
        t.serialize_element(&BytesRef(&self.sig))?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for Attestation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (watermark, sig) = <(u64, Bytes)>::deserialize(d)?;
        Ok(Attestation {
            watermark,
            sig: to_signature(sig).map_err(de::Error::custom)?,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct SynBody {
    mode: u8,
    digest: Option<Digest>,
    #[serde(deserialize_with = "de_vec")]
    delta: Vec<NodeDelta>,
}

#[derive(Serialize, Deserialize)]
struct SynAckBody {
    digest: Option<Digest>,
    #[serde(deserialize_with = "de_vec")]
    delta: Vec<NodeDelta>,
}

#[derive(Serialize, Deserialize)]
struct AckBody {
    #[serde(deserialize_with = "de_vec")]
    delta: Vec<NodeDelta>,
}

#[derive(Serialize)]
struct SynBodyRef<'a> {
    mode: u8,
    digest: &'a Option<Digest>,
    delta: &'a Vec<NodeDelta>,
}

#[derive(Serialize)]
struct SynAckBodyRef<'a> {
    digest: &'a Option<Digest>,
    delta: &'a Vec<NodeDelta>,
}

#[derive(Serialize)]
struct AckBodyRef<'a> {
    delta: &'a Vec<NodeDelta>,
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&self.cluster_id)?;
        match &self.message {
            Message::Syn {
                mode,
                digest,
                delta,
            } => {
                t.serialize_element(&TAG_SYN)?;
                t.serialize_element(&SynBodyRef {
                    mode: mode.to_u8(),
                    digest,
                    delta,
                })?;
            }
            Message::SynAck { digest, delta } => {
                t.serialize_element(&TAG_SYNACK)?;
                t.serialize_element(&SynAckBodyRef { digest, delta })?;
            }
            Message::Ack { delta } => {
                t.serialize_element(&TAG_ACK)?;
                t.serialize_element(&AckBodyRef { delta })?;
            }
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Envelope;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an envelope [cluster_id, tag, body]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Envelope, A::Error> {
                let cluster_id: String = next(&mut seq, 0, &self)?;
                let tag: u8 = next(&mut seq, 1, &self)?;
                let message = match tag {
                    TAG_SYN => {
                        let b: SynBody = next(&mut seq, 2, &self)?;
                        Message::Syn {
                            mode: GossipMode::from_u8(b.mode)
                                .ok_or_else(|| de::Error::custom("unknown gossip mode"))?,
                            digest: b.digest,
                            delta: b.delta,
                        }
                    }
                    TAG_SYNACK => {
                        let b: SynAckBody = next(&mut seq, 2, &self)?;
                        Message::SynAck {
                            digest: b.digest,
                            delta: b.delta,
                        }
                    }
                    TAG_ACK => {
                        let b: AckBody = next(&mut seq, 2, &self)?;
                        Message::Ack { delta: b.delta }
                    }
                    _ => return Err(de::Error::custom("unknown message tag")),
                };
                Ok(Envelope {
                    cluster_id,
                    message,
                })
            }
        }
        d.deserialize_tuple(3, V)
    }
}
