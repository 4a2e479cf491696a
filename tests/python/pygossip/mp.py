"""A small, strict MessagePack subset: exactly the types the gossip wire format uses.

Encoder: always the smallest encoding (wire.md "Integers use the smallest MessagePack
encoding"; likewise for str/bin/array headers).
Decoder: a cursor over bytes. Running out of input raises Truncated; anything else wrong raises
Malformed.
"""


class DecodeError(Exception):
    """Base of decoding errors."""


class Truncated(DecodeError):
    """End of input while decoding."""


class Malformed(DecodeError):
    """Anything else wrong (types, tags, lengths, trailing bytes)."""


# ---------------------------------------------------------------- encoder

import os as _os

#: broken variant (pygossip/bugs.py): integers 0..127 encoded as uint8 instead of fixint
_WIDE = _os.environ.get("PYGOSSIP_BUG") == "wide-integers"

def enc_uint(out: bytearray, n: int) -> None:
    if n < 0 or n >= 1 << 64:
        raise ValueError("uint out of range")
    if n < 0x80 and not _WIDE:
        out.append(n)
    elif n < 0x100:
        out += b"\xcc" + n.to_bytes(1, "big")
    elif n < 0x10000:
        out += b"\xcd" + n.to_bytes(2, "big")
    elif n < 0x100000000:
        out += b"\xce" + n.to_bytes(4, "big")
    else:
        out += b"\xcf" + n.to_bytes(8, "big")


def _enc_header(out: bytearray, n: int, fix: tuple, sized: tuple) -> None:
    """The smallest header for a length `n`: `fix` is (base, limit), the one-byte form
    `base | n` for `n < limit` (limit 0: none); `sized` is the (marker, width) forms,
    narrowest first. The widest is used for whatever is left (too large a length raises)."""
    base, limit = fix
    if n < limit:
        out.append(base | n)
        return
    for marker, width in sized[:-1]:
        if n < 1 << (8 * width):
            out += bytes([marker]) + n.to_bytes(width, "big")
            return
    marker, width = sized[-1]
    out += bytes([marker]) + n.to_bytes(width, "big")


def enc_str(out: bytearray, s: str) -> None:
    b = s.encode("utf-8")
    _enc_header(out, len(b), (0xA0, 32), ((0xD9, 1), (0xDA, 2), (0xDB, 4)))
    out += b


def enc_bin(out: bytearray, b: bytes) -> None:
    _enc_header(out, len(b), (0, 0), ((0xC4, 1), (0xC5, 2), (0xC6, 4)))
    out += b


def enc_array(out: bytearray, n: int) -> None:
    _enc_header(out, n, (0x90, 16), ((0xDC, 2), (0xDD, 4)))


def enc_nil(out: bytearray) -> None:
    out.append(0xC0)


def uint_len(n: int) -> int:
    return 1 if n < 0x80 else 2 if n < 0x100 else 3 if n < 0x10000 else 5 if n < 1 << 32 else 9


def array_hdr_len(n: int) -> int:
    return 1 if n < 16 else 3 if n < 0x10000 else 5


# ---------------------------------------------------------------- decoder

class Reader:
    """Strict cursor decoder."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes, pos: int = 0):
        self.buf = buf
        self.pos = pos

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise Truncated("end of input")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def _byte(self) -> int:
        if self.pos >= len(self.buf):
            raise Truncated("end of input")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def _be(self, n: int) -> int:
        return int.from_bytes(self._take(n), "big")

    def _mismatch(self, m: int, expected: str):
        """A value of the wrong type whose marker `m` was just read. Like a generic (serde
        style) MessagePack deserializer, a scalar of the wrong type is read whole before the
        type error is reported, so a cut-short one is `Truncated`; a container of the wrong
        type is reported at once (SPEC-GAPS.md G2)."""
        n = 0
        if m in (0xC4, 0xD9):
            n = self._be(1)
        elif m in (0xC5, 0xDA):
            n = self._be(2)
        elif m in (0xC6, 0xDB):
            n = self._be(4)
        elif 0xA0 <= m <= 0xBF:
            n = m & 0x1F
        elif m in (0xCA, 0xCE, 0xD2):
            n = 4
        elif m in (0xCB, 0xCF, 0xD3):
            n = 8
        elif m in (0xCC, 0xD0):
            n = 1
        elif m in (0xCD, 0xD1):
            n = 2
        # ext types (0xc7-0xc9, 0xd4-0xd8) are refused at their marker
        self._take(n)
        raise Malformed(f"expected {expected}, got marker 0x{m:02x}")

    def at_end(self) -> bool:
        return self.pos >= len(self.buf)

    def uint(self) -> int:
        """An unsigned integer. Accepts every MessagePack integer format holding a value in
        0..2^64-1 (non-minimal encodings and non-negative signed formats included, as a
        generic MessagePack deserializer does; see SPEC-GAPS.md)."""
        m = self._byte()
        if m < 0x80:
            return m
        if m == 0xCC:
            return self._be(1)
        if m == 0xCD:
            return self._be(2)
        if m == 0xCE:
            return self._be(4)
        if m == 0xCF:
            return self._be(8)
        if m in (0xD0, 0xD1, 0xD2, 0xD3):
            n = {0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}[m]
            v = int.from_bytes(self._take(n), "big", signed=True)
            if v < 0:
                raise Malformed("negative integer")
            return v
        # a wrong-typed value where an integer is expected is refused at its marker (the Rust
        # node answers Malformed even when the value's payload is cut short: G2)
        raise Malformed(f"expected uint, got marker 0x{m:02x}")

    def _header(self, expected: str, fix: tuple, sized: dict) -> int:
        """A length header: `fix` is the (first, last) one-byte markers holding the length in
        their low bits ((0, -1): none), `sized` maps each other marker to its length's width.
        Any other marker is a type mismatch."""
        m = self._byte()
        first, last = fix
        if first <= m <= last:
            return m & (last - first)
        width = sized.get(m)
        if width is None:
            self._mismatch(m, expected)
        return self._be(width)

    def str(self) -> str:
        b = self._take(self._header("str", (0xA0, 0xBF), {0xD9: 1, 0xDA: 2, 0xDB: 4}))
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("invalid utf-8") from None

    def bin(self) -> bytes:
        return bytes(self._take(self._header("bin", (0, -1), {0xC4: 1, 0xC5: 2, 0xC6: 4})))

    def array(self) -> int:
        """An array header; returns the claimed length."""
        return self._header("array", (0x90, 0x9F), {0xDC: 2, 0xDD: 4})

    def is_nil(self) -> bool:
        """Consumes a nil and returns True if the next value is nil."""
        if self.pos >= len(self.buf):
            raise Truncated("end of input")
        if self.buf[self.pos] == 0xC0:
            self.pos += 1
            return True
        return False
