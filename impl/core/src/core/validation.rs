//! Validation of received datagrams (docs/spec/node.md §3, §4) and the security layers
//! (docs/spec/security.md): opening frames, checking limits and order, signing own updates
//! and attestations, verifying node deltas against the roster.

use rand::RngCore;

use super::Core;
use crate::config::{GossipMode, SecurityLayers};
use crate::error::DatagramError;
use crate::id::NodeId;
use crate::security::{self as sec, Attestation, Keyring, Roster};
use crate::state::{HeldAttestation, NodeState};
use crate::wire::{self, Change, DeltaKind, Envelope, Message, NodeDelta};

impl<R: RngCore> Core<R> {
    /// The keyring, if the encryption layer is on.
    pub fn keyring(&self) -> Option<&Keyring> {
        self.keyring.as_ref()
    }

    /// The keyring, to add, switch the primary of, or remove keys on a running node
    /// (docs/spec/security.md §4). `None` if the encryption layer is off (it cannot be turned
    /// on or off on a running core).
    pub fn keyring_mut(&mut self) -> Option<&mut Keyring> {
        self.keyring.as_mut()
    }

    /// The roster, if the signature layer is on.
    pub fn roster(&self) -> Option<&Roster> {
        self.signing.as_ref().map(|s| &s.roster)
    }

    /// The roster, to bind or unbind node names on a running node. `None` if the signature
    /// layer is off.
    pub fn roster_mut(&mut self) -> Option<&mut Roster> {
        self.signing.as_mut().map(|s| &mut s.roster)
    }

    /// This node's public key, if the signature layer is on.
    pub fn public_key(&self) -> Option<ed25519_dalek::VerifyingKey> {
        self.signing.as_ref().map(|s| s.key.verifying_key())
    }

    /// Which security layers are on.
    pub fn security_layers(&self) -> SecurityLayers {
        SecurityLayers {
            encrypted: self.keyring.is_some(),
            signed: self.signing.is_some(),
        }
    }

    /// Bytes available for the plaintext datagram: the MTU minus the frame overhead.
    pub(super) fn mtu_plain(&self) -> usize {
        if self.keyring.is_some() {
            self.config.mtu - sec::FRAME_OVERHEAD
        } else {
            self.config.mtu
        }
    }

    /// The owner's signature of one of its own updates, if signing.
    pub(super) fn sign_own(&self, version: u64, change: &Change) -> Option<sec::Signature> {
        let s = self.signing.as_ref()?;
        let u = wire::Update {
            version,
            change: change.clone(),
            sig: None,
        };
        let msg =
            sec::update_signed_bytes(&self.config.cluster_id, &self.id, self.own().generation, &u);
        Some(sec::sign(&s.key, &msg))
    }

    /// Re-signs the own attestation if the heartbeat or watermark changed since it was made.
    pub(super) fn refresh_own_attestation(&mut self) {
        let Some(s) = &self.signing else { return };
        let own = &self.nodes[&self.id];
        let (h, w) = (own.heartbeat, own.watermark);
        if own
            .attestation
            .as_ref()
            .is_some_and(|a| a.heartbeat == h && a.attestation.watermark == w)
        {
            return;
        }
        let msg =
            sec::attestation_signed_bytes(&self.config.cluster_id, &self.id, own.generation, h, w);
        let sig = sec::sign(&s.key, &msg);
        self.own_mut().attestation = Some(HeldAttestation {
            heartbeat: h,
            attestation: Attestation { watermark: w, sig },
        });
    }

    /// `(heartbeat, attestation)` to put in a node delta about a node in state `st`.
    pub(super) fn delta_heartbeat(&self, st: &NodeState) -> (u64, Option<Attestation>) {
        match (&self.signing, &st.attestation) {
            (Some(_), Some(a)) => (a.heartbeat, Some(a.attestation.clone())),
            _ => (st.heartbeat, None),
        }
    }

    /// Decodes and validates; no state is touched. Also says whether the datagram was a
    /// compressed frame.
    pub(super) fn check(&self, bytes: &[u8]) -> Result<(Envelope, bool), DatagramError> {
        let opened;
        let plain: &[u8] = match &self.keyring {
            Some(ring) => {
                if bytes.len() > self.config.mtu {
                    return Err(DatagramError::Oversize {
                        len: bytes.len(),
                        mtu: self.config.mtu,
                    });
                }
                if matches!(
                    bytes.first(),
                    Some(&(wire::PROTOCOL_VERSION | wire::FRAME_COMPRESSED))
                ) {
                    return Err(DatagramError::Unencrypted);
                }
                opened = ring.open(bytes, &self.config.cluster_id)?;
                &opened
            }
            None => {
                if bytes.len() <= self.config.mtu && bytes.first() == Some(&sec::FRAME_ENCRYPTED) {
                    return Err(DatagramError::NoKey);
                }
                bytes
            }
        };
        let compressed = plain.first() == Some(&wire::FRAME_COMPRESSED);
        let env = wire::decode(plain, self.mtu_plain())?;
        if env.cluster_id != self.config.cluster_id {
            return Err(DatagramError::WrongCluster(env.cluster_id));
        }
        let limits = &self.config.limits;
        let check_id = |id: &NodeId| {
            if id.name.len() > limits.max_name_len {
                Err(DatagramError::LimitExceeded("node name"))
            } else if id.name.is_empty() {
                Err(DatagramError::Invalid("empty node name"))
            } else {
                Ok(())
            }
        };
        let (digest, delta) = match &env.message {
            Message::Syn {
                mode,
                digest,
                delta,
            } => {
                if *mode != GossipMode::Push && digest.is_none() {
                    return Err(DatagramError::Invalid("syn without digest"));
                }
                (digest.as_ref(), delta)
            }
            Message::SynAck { digest, delta } => (digest.as_ref(), delta),
            Message::Ack { delta } => (None, delta),
        };
        if let Some(d) = digest {
            if let Some(r) = &d.range {
                check_id(&r.start)?;
                check_id(&r.end)?;
            }
            for e in &d.entries {
                check_id(&e.node)?;
            }
        }
        for nd in delta {
            check_id(&nd.node)?;
            let lo = match nd.kind {
                DeltaKind::Incremental { from } => from,
                DeltaKind::Reset { .. } => 0,
            };
            if lo > nd.watermark_after {
                return Err(DatagramError::Invalid("from above watermark_after"));
            }
            let mut prev = lo;
            for u in &nd.updates {
                if u.version <= prev {
                    return Err(DatagramError::Invalid(
                        "updates not in strictly increasing version order above from",
                    ));
                }
                if u.version > nd.watermark_after {
                    return Err(DatagramError::Invalid("update above watermark_after"));
                }
                prev = u.version;
                match &u.change {
                    Change::Set { key, value } => {
                        if key.len() > limits.max_key_len {
                            return Err(DatagramError::LimitExceeded("key"));
                        }
                        if value.len() > limits.max_value_len {
                            return Err(DatagramError::LimitExceeded("value"));
                        }
                    }
                    Change::Delete { key } => {
                        if key.len() > limits.max_key_len {
                            return Err(DatagramError::LimitExceeded("key"));
                        }
                    }
                    Change::Leave => {}
                }
            }
        }
        if let Some(s) = &self.signing {
            for nd in delta {
                self.verify_node_delta(&s.roster, nd)?;
            }
        }
        Ok((env, compressed))
    }

    /// docs/spec/security.md §2.4.
    fn verify_node_delta(&self, roster: &Roster, nd: &NodeDelta) -> Result<(), DatagramError> {
        let key = roster
            .get(&nd.node.name)
            .ok_or_else(|| DatagramError::UnknownSigner(nd.node.name.clone()))?;
        let att = nd.attestation.as_ref().ok_or(DatagramError::Unsigned)?;
        if nd.updates.iter().any(|u| u.sig.is_none()) {
            return Err(DatagramError::Unsigned);
        }
        let cluster = &self.config.cluster_id;
        let msg = sec::attestation_signed_bytes(
            cluster,
            &nd.node,
            nd.generation,
            nd.heartbeat,
            att.watermark,
        );
        if !sec::verify(key, &msg, &att.sig) {
            return Err(DatagramError::BadSignature("attestation"));
        }
        if nd.watermark_after > att.watermark {
            return Err(DatagramError::BadSignature(
                "watermark_after above the attested watermark",
            ));
        }
        for u in &nd.updates {
            let msg = sec::update_signed_bytes(cluster, &nd.node, nd.generation, u);
            let sig = u.sig.as_ref().ok_or(DatagramError::Unsigned)?;
            if !sec::verify(key, &msg, sig) {
                return Err(DatagramError::BadSignature("update"));
            }
        }
        Ok(())
    }
}
