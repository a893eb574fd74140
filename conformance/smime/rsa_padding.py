"""RSA key transport encryption (RFC 8017 7.1.1 EME-OAEP, 7.2.1 EME-PKCS1-v1_5).

Hand-written because cryptography draws the padding randomness itself and
offers no way to inject it, while the golden corpus needs byte-identical
messages from a seeded generator. With the system's randomness (`os.urandom`,
what every agent and `make bench` use) cryptography pads and encrypts: the
same scheme, and OpenSSL keeps the key's Montgomery form, which the
exponentiation here recomputes at each call (about 25 against 40 microseconds
per key). Only the public-key (encryption) side is here; decryption goes
through the token (PKCS#11 or cryptography), where the padding checks belong.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gmpy2  # type: ignore[import-not-found,import-untyped,unused-ignore]
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from conformance.core.vocabulary import Digest, KeyTransport
from conformance.smime.algorithms import hash_algorithm, oaep_digest

__all__ = ["RecipientKey", "encrypt_key", "mgf1", "oaep_encode", "pkcs1v15_encode"]

Rng = Callable[[int], bytes]


def _nonzero_bytes(n: int, rng: Rng) -> bytes:
    """n random non-zero octets (PS of EME-PKCS1-v1_5), drawing more as zeros are dropped."""
    out = bytearray()
    while len(out) < n:
        out += bytes(b for b in rng(n - len(out)) if b)
    return bytes(out)


def pkcs1v15_encode(message: bytes, k: int, rng: Rng) -> bytes:
    """EM = 0x00 || 0x02 || PS || 0x00 || M, with |PS| >= 8 (RFC 8017 7.2.1 step 2)."""
    if len(message) > k - 11:
        raise ValueError(f"message of {len(message)} bytes too long for a {k}-byte RSA key")
    ps = _nonzero_bytes(k - len(message) - 3, rng)
    return b"\x00\x02" + ps + b"\x00" + message


# The named constructors: `hashlib.new` looks the name up again on every call.
_HASHES: dict[str, Callable[[bytes], Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


def _hasher(hash_name: str) -> Callable[[bytes], Any]:
    return _HASHES.get(hash_name) or functools.partial(hashlib.new, hash_name)


def mgf1(seed: bytes, length: int, hash_name: str) -> bytes:
    """MGF1 (RFC 8017 B.2.1): each block hashes a copy of the hash state after the seed."""
    seeded = _hasher(hash_name)(seed)
    blocks = (length + seeded.digest_size - 1) // seeded.digest_size
    out = []
    for counter in range(blocks):
        block = seeded.copy()
        block.update(counter.to_bytes(4, "big"))
        out.append(block.digest())
    return b"".join(out)[:length]


def _xor(a: bytes, b: bytes) -> bytes:
    """Octet-wise XOR of two strings of the same length (as integers: one C-level operation)."""
    if len(a) != len(b):
        raise ValueError("XOR of strings of different lengths")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def oaep_encode(message: bytes, k: int, hash_name: str, rng: Rng, label: bytes = b"") -> bytes:
    """EME-OAEP encoding (RFC 8017 7.1.1 step 2), MGF1 with the same hash."""
    new = _hasher(hash_name)
    h_len = new(b"").digest_size
    if len(message) > k - 2 * h_len - 2:
        raise ValueError(f"message of {len(message)} bytes too long for OAEP with a {k}-byte key")
    l_hash = new(label).digest()
    ps = bytes(k - len(message) - 2 * h_len - 2)
    db = l_hash + ps + b"\x01" + message
    seed = rng(h_len)
    if len(seed) != h_len:
        raise ValueError("the random generator returned too few bytes")
    masked_db = _xor(db, mgf1(seed, k - h_len - 1, hash_name))
    masked_seed = _xor(seed, mgf1(masked_db, h_len, hash_name))
    return b"\x00" + masked_seed + masked_db


@dataclass(frozen=True)
class RecipientKey:
    """A recipient's public key as key transport uses it. What the hand-written path
    needs of it is derived on first use and kept (`public_numbers()` builds Python
    integers from the key on every call); cryptography's path needs only the key."""

    public_key: RSAPublicKey

    @property
    def size(self) -> int:
        """k, the modulus length in octets."""
        return (self.public_key.key_size + 7) // 8

    @functools.cached_property
    def exponent_modulus(self) -> tuple[Any, Any]:
        """e and n as gmpy2 integers: gmpy2 (a dependency) does the public-key
        exponentiation about 8x faster than pow()."""
        numbers = self.public_key.public_numbers()
        return gmpy2.mpz(numbers.e), gmpy2.mpz(numbers.n)


@functools.cache
def _library_padding(digest: Digest | None) -> padding.AsymmetricPadding:
    """cryptography's padding for a key transport: PKCS#1 v1.5, or OAEP whose MGF1 uses
    the OAEP hash (as `oaep_encode`), without a label."""
    if digest is None:
        return padding.PKCS1v15()
    hash_ = hash_algorithm(digest)
    return padding.OAEP(mgf=padding.MGF1(hash_), algorithm=hash_, label=None)


def encrypt_key(
    public_key: RSAPublicKey | RecipientKey,
    key: bytes,
    key_transport: KeyTransport,
    rng: Rng = os.urandom,
) -> bytes:
    """Encrypt a content-encryption key for a recipient (RSAES-PKCS1-v1_5 or RSAES-OAEP).

    With `os.urandom` cryptography does it (see the module's docstring); with any other
    generator, and where cryptography declines (a key too long for the modulus, whose
    error is worded here), the encoding below draws its randomness from `rng`."""
    recipient = public_key if isinstance(public_key, RecipientKey) else RecipientKey(public_key)
    digest = oaep_digest(key_transport)
    if rng is os.urandom:
        with contextlib.suppress(ValueError, UnsupportedAlgorithm):
            return recipient.public_key.encrypt(key, _library_padding(digest))
    k = recipient.size
    encoded = pkcs1v15_encode(key, k, rng) if digest is None else oaep_encode(key, k, digest, rng)
    exponent, modulus = recipient.exponent_modulus
    c = int(gmpy2.powmod(int.from_bytes(encoded, "big"), exponent, modulus))
    return c.to_bytes(k, "big")
