"""A deterministic byte stream derived from the PKI seed and a label.

The test PKI must come out byte for byte the same from the same seed, so
every "random" choice (key primes, Miller-Rabin witnesses) is drawn from
SHA-256 in counter mode over (seed, label). This is not a cryptographic
DRBG to protect anything: these are published TEST keys.
"""

from __future__ import annotations

import hashlib

_DOMAIN = b"osm-conformance test PKI DRBG v1\x00"


class HashStream:
    """SHA-256(key || counter) blocks, key = SHA-256(domain || seed || label)."""

    def __init__(self, seed: int, label: str) -> None:
        material = _DOMAIN + str(seed).encode("ascii") + b"\x00" + label.encode("utf-8")
        self._key = hashlib.sha256(material).digest()
        self._counter = 0
        self._buffer = b""

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            block = hashlib.sha256(self._key + self._counter.to_bytes(8, "big")).digest()
            self._buffer += block
            self._counter += 1
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def randbits(self, bits: int) -> int:
        """A non-negative integer of at most `bits` bits."""
        value = int.from_bytes(self.read((bits + 7) // 8), "big")
        return value >> (-bits % 8)

    def randbelow(self, bound: int) -> int:
        """Uniform in [0, bound) by rejection sampling."""
        bits = bound.bit_length()
        while True:
            value = self.randbits(bits)
            if value < bound:
                return value


def derived_serial(seed: int, label: str) -> int:
    """A positive 127-bit certificate or CRL serial, fixed by seed and label."""
    value = HashStream(seed, "serial/" + label).randbits(127)
    return value | (1 << 126)  # always 16 bytes in DER, never zero
