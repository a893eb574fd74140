"""Which PKCS#12 files gpgsm 2.2 cannot open, so that the export never writes one.

gpgsm's own PKCS#12 reader (GnuPG 2.2 minip12.c) derives the PBE key with the
RFC 7292 appendix B KDF, but when it adds B + 1 to a 64-byte block of I it
prints the sum back without its leading zero bytes. The key comes out wrong,
and the import fails ("decryption failed; trying charset ..."), whenever a
sum has a leading zero byte: about one file in thirty with random salts.
No library exposes the salts it draws, so the export checks each salt it got
and draws again; the check reimplements the KDF up to that step (hashlib),
since nothing else computes it.
"""

from __future__ import annotations

import hashlib

from asn1crypto import cms, pkcs12

_V = 64  # SHA-1 block size in bytes (RFC 7292 B.2 "v")
_U = 20  # SHA-1 output size ("u")
_KEY_ID = 1  # diversifier for key material
_TRIPLE_DES_KEY = 24


def _stretch(data: bytes) -> bytes:
    """`data` repeated to a multiple of v bytes (empty stays empty)."""
    if not data:
        return b""
    length = _V * ((len(data) + _V - 1) // _V)
    return (data * (length // len(data) + 1))[:length]


def _bmp_password(password: bytes) -> bytes:
    return password.decode("ascii").encode("utf-16-be") + b"\x00\x00"


def key_derivation_trips_gpgsm(salt: bytes, iterations: int, password: bytes) -> bool:
    """True when gpgsm 2.2 would derive a wrong 3DES key from this salt."""
    if _TRIPLE_DES_KEY <= _U:
        return False  # one hash block is enough: I is never updated
    d = bytes([_KEY_ID]) * _V
    i = _stretch(salt) + _stretch(_bmp_password(password))
    a = hashlib.sha1(d + i).digest()
    for _ in range(iterations - 1):
        a = hashlib.sha1(a).digest()
    b = int.from_bytes(_stretch(a)[:_V], "big")
    for j in range(0, len(i), _V):
        total = (int.from_bytes(i[j : j + _V], "big") + b + 1) % (1 << (8 * _V))
        if total.bit_length() <= 8 * (_V - 1):  # a leading zero byte gpgsm drops
            return True
    return False


def _pbe_parameters(pfx_der: bytes) -> list[tuple[bytes, int]]:
    """(salt, iterations) of every PBES1 3DES encryption in the file."""
    found: list[tuple[bytes, int]] = []
    pfx = pkcs12.Pfx.load(pfx_der)
    safes = pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native)
    for info in safes:
        if info["content_type"].native == "encrypted_data":
            enc = info["content"]["encrypted_content_info"]["content_encryption_algorithm"]
            found.append(_params(enc))
            continue
        bags = pkcs12.SafeContents.load(info["content"].native)
        for bag in bags:
            if bag["bag_id"].native == "pkcs8_shrouded_key_bag":
                found.append(_params(bag["bag_value"]["encryption_algorithm"]))
    return found


def _params(algorithm: cms.EncryptionAlgorithm) -> tuple[bytes, int]:
    params = algorithm["parameters"]
    return bytes(params["salt"].native), int(params["iterations"].native)


def gpgsm_can_open(pfx_der: bytes, password: bytes) -> bool:
    return not any(
        key_derivation_trips_gpgsm(salt, iterations, password)
        for salt, iterations in _pbe_parameters(pfx_der)
    )
