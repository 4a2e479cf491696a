"""docs/spec/security.md: the encrypted frame (ChaCha20-Poly1305 under a keyring) and per-node
Ed25519 signatures of updates and heartbeat attestations."""
from __future__ import annotations

import hashlib
from typing import Dict, List, Optional, Tuple

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                              Ed25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

from . import mp
from .wire import OP_DELETE, OP_LEAVE, OP_SET, NodeDelta, NodeId, Update, WireError

FRAME_ENCRYPTED = 0x02
HEADER_LEN = 17
TAG_LEN = 16
OVERHEAD = 33
MIN_FRAME = 34

NO_KEY = "no_key"
DECRYPT_FAILED = "decrypt_failed"
UNENCRYPTED = "unencrypted"
UNSIGNED = "unsigned"
UNKNOWN_SIGNER = "unknown_signer"
BAD_SIGNATURE = "bad_signature"
SECURITY_REASONS = (NO_KEY, DECRYPT_FAILED, UNENCRYPTED, UNSIGNED, UNKNOWN_SIGNER, BAD_SIGNATURE)


def fingerprint(key: bytes) -> bytes:
    return hashlib.sha256(b"gossip/key/1" + key).digest()[:8]


def key_id(key: bytes) -> bytes:
    return fingerprint(key)[:4]


class KeyringError(Exception):
    pass


class Keyring:
    """1..=16 distinct 32-byte keys; one primary (security.md §4)."""

    def __init__(self, primary: bytes, others: Optional[List[bytes]] = None):
        self._check(primary)
        self.keys: List[bytes] = [bytes(primary)]
        self.primary = bytes(primary)
        for k in others or []:
            self.add(k)

    @staticmethod
    def _check(key: bytes) -> None:
        if len(key) != 32:
            raise KeyringError("a key is 32 bytes")

    def add(self, key: bytes) -> None:
        self._check(key)
        if bytes(key) in self.keys:
            return
        if len(self.keys) >= 16:
            raise KeyringError("a keyring holds at most 16 keys")
        self.keys.append(bytes(key))

    def _find(self, fp: bytes) -> bytes:
        for k in self.keys:
            if fingerprint(k) == fp:
                return k
        raise KeyringError("no installed key has that fingerprint")

    def use(self, fp: bytes) -> None:
        self.primary = self._find(fp)

    def remove(self, fp: bytes) -> None:
        k = self._find(fp)
        if k == self.primary:
            raise KeyringError("removing the primary key is refused")
        self.keys.remove(k)

    def ordered(self) -> List[bytes]:
        """Keyring order: primary first, then the others in installation order."""
        return [self.primary] + [k for k in self.keys if k != self.primary]


def seal(key: bytes, nonce: bytes, plaintext: bytes, cluster_id: str) -> bytes:
    assert len(nonce) == 12
    header = bytes([FRAME_ENCRYPTED]) + key_id(key) + nonce
    aad = header + cluster_id.encode("utf-8")
    return header + ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)


def open_frame(keyring: Optional[Keyring], frame: bytes, cluster_id: str, mtu: int) -> bytes:
    """security.md §1.2 steps 1-5 (and the plaintext-mode rule): returns the plaintext
    datagram or raises WireError."""
    if len(frame) > mtu:
        raise WireError("oversize", f"{len(frame)} > {mtu}")
    if len(frame) == 0:
        raise WireError("truncated", "empty datagram")
    if keyring is None:
        if frame[0] == FRAME_ENCRYPTED:
            raise WireError(NO_KEY, "encrypted frame without a keyring")
        return frame
    if frame[0] in (0x01, 0x03):  # a plaintext datagram or a compressed frame, unsealed
        raise WireError(UNENCRYPTED, "plaintext datagram")
    if frame[0] != FRAME_ENCRYPTED:
        raise WireError("unknown_version", f"frame type {frame[0]}")
    if len(frame) < MIN_FRAME:
        raise WireError("truncated", "frame shorter than 34 bytes")
    kid = frame[1:5]
    cands = [k for k in keyring.ordered() if key_id(k) == kid]
    if not cands:
        raise WireError(NO_KEY, "no key with that key id")
    header = frame[:HEADER_LEN]
    aad = header + cluster_id.encode("utf-8")
    for k in cands:
        try:
            return ChaCha20Poly1305(k).decrypt(frame[5:17], frame[HEADER_LEN:], aad)
        except InvalidTag:
            continue
    raise WireError(DECRYPT_FAILED, "no key authenticates the frame")


# ---------------------------------------------------------------- signatures

def _node_id(out: bytearray, n: NodeId) -> None:
    mp.enc_array(out, 2)
    mp.enc_str(out, n.name)
    mp.enc_bin(out, n.addr)


def update_bytes(cluster_id: str, node: NodeId, generation: int, u: Update) -> bytes:
    out = bytearray()
    mp.enc_array(out, {OP_SET: 8, OP_DELETE: 7, OP_LEAVE: 6}[u.op])
    mp.enc_str(out, "gossip/update/1")
    mp.enc_str(out, cluster_id)
    _node_id(out, node)
    mp.enc_uint(out, generation)
    mp.enc_uint(out, u.version)
    mp.enc_uint(out, u.op)
    if u.op in (OP_SET, OP_DELETE):
        mp.enc_str(out, u.key)
    if u.op == OP_SET:
        mp.enc_bin(out, u.value)
    return bytes(out)


def attest_bytes(cluster_id: str, node: NodeId, generation: int, heartbeat: int,
                 watermark: int) -> bytes:
    out = bytearray()
    mp.enc_array(out, 6)
    mp.enc_str(out, "gossip/attest/1")
    mp.enc_str(out, cluster_id)
    _node_id(out, node)
    mp.enc_uint(out, generation)
    mp.enc_uint(out, heartbeat)
    mp.enc_uint(out, watermark)
    return bytes(out)


class Signer:
    def __init__(self, seed: bytes):
        self.key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self.key.public_key().public_bytes(serialization.Encoding.Raw,
                                                         serialization.PublicFormat.Raw)

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)


def public_key(seed: bytes) -> bytes:
    return Signer(seed).public


def _verify(pub: bytes, sig: bytes, data: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, data)
        return True
    except (InvalidSignature, ValueError):
        return False


def verify_delta(roster: Dict[str, bytes], cluster_id: str, delta: List[NodeDelta]) -> None:
    """security.md §2.4, for every node delta before applying any. Raises WireError."""
    for nd in delta:
        pub = roster.get(nd.node.name)
        if pub is None:
            raise WireError(UNKNOWN_SIGNER, nd.node.name)
        if nd.attestation is None or any(u.sig is None for u in nd.updates):
            raise WireError(UNSIGNED, nd.node.name)
        awm, asig = nd.attestation
        if not _verify(pub, asig, attest_bytes(cluster_id, nd.node, nd.generation,
                                               nd.heartbeat, awm)):
            raise WireError(BAD_SIGNATURE, "attestation")
        if nd.watermark_after > awm:
            raise WireError(BAD_SIGNATURE, "watermark_after above the attested watermark")
        for u in nd.updates:
            if not _verify(pub, u.sig, update_bytes(cluster_id, nd.node, nd.generation, u)):
                raise WireError(BAD_SIGNATURE, f"update {u.version}")
