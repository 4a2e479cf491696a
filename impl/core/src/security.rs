//! Confidentiality and authenticity (docs/spec/security.md): the **keyring** and encrypted
//! frame (ChaCha20-Poly1305), and per-node Ed25519 signatures of owned state.
//!
//! Everything here is deterministic given its inputs except AEAD nonces, which come from the
//! operating system's CSPRNG and never from the core's injected (seedable) RNG; Ed25519
//! signatures are deterministic.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use ed25519_dalek::Signer as _;
use rand::RngCore;
use rand::rngs::OsRng;
use serde::ser::SerializeTuple;
use serde::{Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use thiserror::Error;
use zeroize::Zeroize;

pub use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::codec::BytesRef;
use crate::error::DatagramError;
use crate::id::NodeId;
use crate::wire::{Change, Update};

pub use crate::wire::{Attestation, SIGNATURE_LEN, SIGNATURE_WIRE_LEN, Signature};

/// First byte of an encrypted frame (a plaintext datagram starts with
/// [`PROTOCOL_VERSION`](crate::wire::PROTOCOL_VERSION) = 1).
pub const FRAME_ENCRYPTED: u8 = 2;
/// Length of the frame header: type, key id, nonce.
pub const FRAME_HEADER_LEN: usize = 1 + 4 + 12;
/// Length of the AEAD tag.
pub const TAG_LEN: usize = 16;
/// Bytes an encrypted frame adds to the plaintext datagram (33).
pub const FRAME_OVERHEAD: usize = FRAME_HEADER_LEN + TAG_LEN;
/// Maximum number of keys in a keyring.
pub const MAX_KEYS: usize = 16;

const FINGERPRINT_DOMAIN: &[u8] = b"gossip/key/1";
const UPDATE_DOMAIN: &str = "gossip/update/1";
const ATTEST_DOMAIN: &str = "gossip/attest/1";

// ---------------------------------------------------------------------------------------------
// cluster keys

/// A 32-byte cluster key (ChaCha20-Poly1305). Zeroed on drop; its `Debug` shows only the
/// fingerprint.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterKey([u8; 32]);

impl Drop for ClusterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClusterKey({})", self.fingerprint())
    }
}

/// Why a key or fingerprint could not be parsed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeyParseError {
    /// Neither 64 hex digits nor base64 of 32 bytes.
    #[error("a key must be 64 hex digits or the base64 encoding of 32 bytes")]
    BadKey,
    /// Not 16 hex digits.
    #[error("a fingerprint must be 16 hex digits")]
    BadFingerprint,
}

impl ClusterKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key's bytes (handle with care: never log them).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A fresh random key.
    pub fn generate(rng: &mut impl RngCore) -> Self {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        Self(k)
    }

    /// `SHA-256("gossip/key/1" || key)[0..8]`.
    pub fn fingerprint(&self) -> Fingerprint {
        let h = Sha256::new()
            .chain_update(FINGERPRINT_DOMAIN)
            .chain_update(self.0)
            .finalize();
        let mut fp = [0u8; 8];
        fp.copy_from_slice(&h[..8]);
        Fingerprint(fp)
    }

    /// The first 4 bytes of the fingerprint, carried in every frame.
    pub fn key_id(&self) -> [u8; 4] {
        let fp = self.fingerprint().0;
        [fp[0], fp[1], fp[2], fp[3]]
    }

    /// Parses 64 hex digits or standard base64 (with or without padding) of 32 bytes;
    /// surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<Self, KeyParseError> {
        let s = s.trim();
        if let Some(b) = decode_hex(s)
            && let Ok(k) = <[u8; 32]>::try_from(b.as_slice())
        {
            return Ok(Self(k));
        }
        if let Some(b) = decode_base64(s)
            && let Ok(k) = <[u8; 32]>::try_from(b.as_slice())
        {
            return Ok(Self(k));
        }
        Err(KeyParseError::BadKey)
    }
}

/// The public identity of a cluster key: `SHA-256("gossip/key/1" || key)[0..8]`, shown as 16
/// lowercase hex digits. The only thing ever displayed about a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub [u8; 8]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl FromStr for Fingerprint {
    type Err = KeyParseError;
    fn from_str(s: &str) -> Result<Self, KeyParseError> {
        let b = decode_hex(s.trim()).ok_or(KeyParseError::BadFingerprint)?;
        Ok(Fingerprint(
            b.try_into().map_err(|_| KeyParseError::BadFingerprint)?,
        ))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// Why a keyring operation was refused. The keyring is unchanged.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeyringError {
    /// The keyring already holds [`MAX_KEYS`] keys.
    #[error("the keyring is full ({MAX_KEYS} keys)")]
    Full,
    /// No installed key has this fingerprint.
    #[error("no installed key has fingerprint {0}")]
    UnknownKey(Fingerprint),
    /// The primary key cannot be removed (switch the primary first).
    #[error("key {0} is the primary key and cannot be removed")]
    RemovePrimary(Fingerprint),
}

/// The installed cluster keys: one **primary** key seals every outgoing frame; every key is
/// tried to open incoming frames (docs/spec/security.md §4). Never empty.
#[derive(Clone, Debug)]
pub struct Keyring {
    /// `keys[0]` is the primary.
    keys: Vec<ClusterKey>,
}

/// One installed key as listed: fingerprint and whether it is the primary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The key's fingerprint.
    pub fingerprint: Fingerprint,
    /// Whether it seals outgoing frames.
    pub primary: bool,
}

impl Keyring {
    /// A keyring holding `primary` only.
    pub fn new(primary: ClusterKey) -> Self {
        Self {
            keys: vec![primary],
        }
    }

    /// A keyring from a list of keys, the first being the primary (duplicates ignored).
    /// `None` if the list is empty or longer than [`MAX_KEYS`].
    pub fn from_keys(keys: impl IntoIterator<Item = ClusterKey>) -> Option<Self> {
        let mut it = keys.into_iter();
        let mut ring = Self::new(it.next()?);
        for k in it {
            ring.add(k).ok()?;
        }
        Some(ring)
    }

    /// Installs `key` (not as primary). Returns whether it was new.
    pub fn add(&mut self, key: ClusterKey) -> Result<bool, KeyringError> {
        if self.keys.contains(&key) {
            return Ok(false);
        }
        if self.keys.len() >= MAX_KEYS {
            return Err(KeyringError::Full);
        }
        self.keys.push(key);
        Ok(true)
    }

    /// Makes the installed key with fingerprint `fp` the primary.
    pub fn set_primary(&mut self, fp: &Fingerprint) -> Result<(), KeyringError> {
        let i = self.position(fp)?;
        let k = self.keys.remove(i);
        self.keys.insert(0, k);
        Ok(())
    }

    /// Uninstalls the key with fingerprint `fp`; refuses to remove the primary.
    pub fn remove(&mut self, fp: &Fingerprint) -> Result<(), KeyringError> {
        let i = self.position(fp)?;
        if i == 0 {
            return Err(KeyringError::RemovePrimary(*fp));
        }
        self.keys.remove(i);
        Ok(())
    }

    fn position(&self, fp: &Fingerprint) -> Result<usize, KeyringError> {
        self.keys
            .iter()
            .position(|k| k.fingerprint() == *fp)
            .ok_or(KeyringError::UnknownKey(*fp))
    }

    /// The primary key's fingerprint.
    pub fn primary(&self) -> Fingerprint {
        self.keys[0].fingerprint()
    }

    /// The installed keys, primary first.
    pub fn list(&self) -> Vec<KeyInfo> {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, k)| KeyInfo {
                fingerprint: k.fingerprint(),
                primary: i == 0,
            })
            .collect()
    }

    /// Seals a plaintext datagram under the primary key with a fresh 96-bit nonce from the
    /// operating system's CSPRNG ([`OsRng`]).
    ///
    /// The nonce never comes from the core's injected (possibly seeded) RNG: a seed reused
    /// across restarts would otherwise repeat (key, nonce) pairs, which breaks both the
    /// confidentiality and the authenticity of ChaCha20-Poly1305 (docs/spec/security.md §1).
    /// So two cores built with the same seed never seal with the same nonce, by construction.
    pub fn seal(&self, plaintext: &[u8], cluster_id: &str) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        seal_with(&self.keys[0], &nonce, plaintext, cluster_id)
    }

    /// Opens an encrypted frame (whose length the caller has checked against the MTU).
    /// Errors: `Truncated`, `UnknownVersion` (first byte not [`FRAME_ENCRYPTED`]), `NoKey`,
    /// `DecryptFailed`.
    pub fn open(&self, frame: &[u8], cluster_id: &str) -> Result<Vec<u8>, DatagramError> {
        let (&ty, _) = frame.split_first().ok_or(DatagramError::Truncated)?;
        if ty != FRAME_ENCRYPTED {
            return Err(DatagramError::UnknownVersion(ty));
        }
        if frame.len() < FRAME_OVERHEAD + 1 {
            return Err(DatagramError::Truncated);
        }
        let id = &frame[1..5];
        let mut any = false;
        for k in self.keys.iter().filter(|k| k.key_id() == id) {
            any = true;
            if let Some(p) = open_with(k, frame, cluster_id) {
                return Ok(p);
            }
        }
        Err(if any {
            DatagramError::DecryptFailed
        } else {
            DatagramError::NoKey
        })
    }
}

/// Seals `plaintext` under `key` with an explicit `nonce` (docs/spec/security.md §1). For test
/// vectors; the core uses [`Keyring::seal`].
pub fn seal_with(
    key: &ClusterKey,
    nonce: &[u8; 12],
    plaintext: &[u8],
    cluster_id: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(plaintext.len() + FRAME_OVERHEAD);
    out.push(FRAME_ENCRYPTED);
    out.extend_from_slice(&key.key_id());
    out.extend_from_slice(nonce);
    let mut aad = out.clone();
    aad.extend_from_slice(cluster_id.as_bytes());
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key.0));
    let ct = cipher
        .encrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("ChaCha20-Poly1305 encryption of an MTU-sized buffer cannot fail");
    out.extend_from_slice(&ct);
    out
}

fn open_with(key: &ClusterKey, frame: &[u8], cluster_id: &str) -> Option<Vec<u8>> {
    let (header, ct) = frame.split_at(FRAME_HEADER_LEN);
    let mut aad = header.to_vec();
    aad.extend_from_slice(cluster_id.as_bytes());
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key.0));
    cipher
        .decrypt(
            Nonce::from_slice(&header[5..]),
            Payload { msg: ct, aad: &aad },
        )
        .ok()
}

// ---------------------------------------------------------------------------------------------
// signatures

/// The map from node name to public key (docs/spec/security.md §2.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roster(BTreeMap<String, VerifyingKey>);

impl Roster {
    /// An empty roster.
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds `name` to `key` (replacing any earlier key).
    pub fn insert(&mut self, name: impl Into<String>, key: VerifyingKey) {
        self.0.insert(name.into(), key);
    }

    /// Unbinds `name`. Returns whether it was bound.
    pub fn remove(&mut self, name: &str) -> bool {
        self.0.remove(name).is_some()
    }

    /// The key bound to `name`.
    pub fn get(&self, name: &str) -> Option<&VerifyingKey> {
        self.0.get(name)
    }

    /// `(name, public key as 64 hex digits)`, ascending by name.
    pub fn entries(&self) -> impl Iterator<Item = (&str, String)> {
        self.0.iter().map(|(n, k)| (n.as_str(), hex(k.as_bytes())))
    }

    /// Number of bound names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no name is bound.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why a roster or public key could not be parsed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RosterError {
    /// A public key is not 64 hex digits of a valid Ed25519 point.
    #[error("bad public key for {0:?}")]
    BadPublicKey(String),
    /// A signing key is not 64 hex digits (or base64 of 32 bytes).
    #[error("a signing key must be 64 hex digits or the base64 encoding of 32 bytes")]
    BadSigningKey,
}

/// Parses a public key: 64 hex digits.
pub fn parse_public_key(name: &str, hex_key: &str) -> Result<VerifyingKey, RosterError> {
    let b: [u8; 32] = decode_hex(hex_key.trim())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| RosterError::BadPublicKey(name.to_owned()))?;
    VerifyingKey::from_bytes(&b).map_err(|_| RosterError::BadPublicKey(name.to_owned()))
}

/// Parses a signing key (Ed25519 seed): 64 hex digits or base64 of 32 bytes.
pub fn parse_signing_key(s: &str) -> Result<SigningKey, RosterError> {
    let k = ClusterKey::parse(s).map_err(|_| RosterError::BadSigningKey)?;
    Ok(SigningKey::from_bytes(k.as_bytes()))
}

/// A node's signing key and the roster it verifies others against.
#[derive(Clone, Debug)]
pub struct Signing {
    /// This node's Ed25519 key.
    pub key: SigningKey,
    /// Node name → public key.
    pub roster: Roster,
}

/// The security layers a [`Core`](crate::Core) uses; both `None` is the plaintext, unsigned
/// protocol of docs/spec/wire.md.
#[derive(Clone, Debug, Default)]
pub struct Security {
    /// The cluster keys (encryption layer).
    pub keyring: Option<Keyring>,
    /// The signature layer.
    pub signing: Option<Signing>,
}

impl Security {
    /// No encryption, no signatures.
    pub fn none() -> Self {
        Self::default()
    }
}

/// The bytes the owner signs for an update (docs/spec/security.md §2.2).
pub fn update_signed_bytes(
    cluster_id: &str,
    node: &NodeId,
    generation: u64,
    u: &Update,
) -> Vec<u8> {
    struct T<'a>(&'a str, &'a NodeId, u64, &'a Update);
    impl Serialize for T<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let extra = match &self.3.change {
                Change::Set { .. } => 2,
                Change::Delete { .. } => 1,
                Change::Leave => 0,
            };
            let mut t = s.serialize_tuple(6 + extra)?;
            t.serialize_element(UPDATE_DOMAIN)?;
            t.serialize_element(self.0)?;
            t.serialize_element(self.1)?;
            t.serialize_element(&self.2)?;
            t.serialize_element(&self.3.version)?;
            match &self.3.change {
                Change::Set { key, value } => {
                    t.serialize_element(&0u8)?;
                    t.serialize_element(key)?;
                    t.serialize_element(&BytesRef(value))?;
                }
                Change::Delete { key } => {
                    t.serialize_element(&1u8)?;
                    t.serialize_element(key)?;
                }
                Change::Leave => t.serialize_element(&2u8)?,
            }
            t.end()
        }
    }
    rmp_serde::to_vec(&T(cluster_id, node, generation, u)).expect("encoding into a Vec")
}

/// The bytes the owner signs for an attestation (docs/spec/security.md §2.2).
pub fn attestation_signed_bytes(
    cluster_id: &str,
    node: &NodeId,
    generation: u64,
    heartbeat: u64,
    watermark: u64,
) -> Vec<u8> {
    rmp_serde::to_vec(&(
        ATTEST_DOMAIN,
        cluster_id,
        node,
        generation,
        heartbeat,
        watermark,
    ))
    .expect("encoding into a Vec")
}

/// Signs `msg`.
pub fn sign(key: &SigningKey, msg: &[u8]) -> Signature {
    key.sign(msg).to_bytes()
}

/// Verifies `sig` over `msg` (strict RFC 8032 verification: canonical encodings, no
/// small-order keys).
pub fn verify(key: &VerifyingKey, msg: &[u8], sig: &Signature) -> bool {
    key.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
        .is_ok()
}

// ---------------------------------------------------------------------------------------------
// text forms of keys and fingerprints

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    ::hex::encode(b)
}

/// Decodes hex (either case); `None` if malformed.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    ::hex::decode(s).ok()
}

/// Decodes standard base64, with or without its `=` padding; `None` if malformed.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64ct::{Base64, Base64Unpadded, Encoding};
    Base64::decode_vec(s)
        .or_else(|_| Base64Unpadded::decode_vec(s))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_from_hex_and_base64_and_reject_other_lengths() {
        let hexk = "00".repeat(31) + "ff";
        let k = ClusterKey::parse(&hexk).unwrap();
        assert_eq!(k.as_bytes()[31], 0xff);
        // base64 of 32 bytes 0..32
        let b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let k = ClusterKey::parse(b64).unwrap();
        assert_eq!(k.as_bytes()[5], 5);
        let unpadded = ClusterKey::parse(b64.trim_end_matches('=')).unwrap();
        assert_eq!(unpadded.as_bytes(), k.as_bytes());
        assert_eq!(
            ClusterKey::parse(&hex(k.as_bytes()).to_uppercase())
                .unwrap()
                .as_bytes(),
            k.as_bytes()
        );
        assert!(ClusterKey::parse("abcd").is_err());
        assert!(ClusterKey::parse(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn the_primary_key_cannot_be_removed_and_unknown_keys_are_refused() {
        let a = ClusterKey::from_bytes([1; 32]);
        let b = ClusterKey::from_bytes([2; 32]);
        let mut ring = Keyring::new(a.clone());
        assert_eq!(
            ring.remove(&a.fingerprint()),
            Err(KeyringError::RemovePrimary(a.fingerprint()))
        );
        assert!(ring.set_primary(&b.fingerprint()).is_err());
        assert_eq!(ring.add(b.clone()), Ok(true));
        assert_eq!(ring.add(b.clone()), Ok(false));
        ring.set_primary(&b.fingerprint()).unwrap();
        assert_eq!(ring.primary(), b.fingerprint());
        ring.remove(&a.fingerprint()).unwrap();
        assert_eq!(ring.list().len(), 1);
    }

    #[test]
    fn a_key_debug_shows_only_its_fingerprint() {
        let a = ClusterKey::from_bytes([0xab; 32]);
        let s = format!("{a:?}");
        assert!(!s.contains("abab"), "{s}");
        assert!(s.contains(&a.fingerprint().to_string()));
    }
}
