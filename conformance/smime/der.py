"""DER by concatenation, for the outer CMS structures the send side writes.

Hand-written (a few lines) because building the outer structures as
asn1crypto trees and dumping them cost more than the RSA work of a whole
exchange: asn1crypto re-validates and re-serialises every child on each
`dump()`. Here the inner parts come already encoded (cached asn1crypto dumps
of algorithm identifiers, issuer-and-serial, certificates), and only the
tag-length wrapping is done by hand. The output is plain DER (X.690 10):
definite minimal lengths, SET OF elements sorted by their encodings.
"""

from __future__ import annotations

from functools import lru_cache

from asn1crypto import core

__all__ = [
    "context_explicit",
    "context_implicit",
    "integer",
    "octet_string",
    "oid",
    "sequence",
    "set_of",
    "tlv",
]


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


def tlv(tag: int, *contents: bytes) -> bytes:
    """One element with a single-octet tag (every tag CMS needs is below 31)."""
    size = len(contents[0]) if len(contents) == 1 else sum(map(len, contents))
    if size < 0x80:  # most elements: tag and length in one object
        return b"".join((bytes((tag, size)), *contents))
    # One join: the contents (a whole message, at the outer levels) are copied once.
    return b"".join((bytes((tag,)), _length(size), *contents))


def sequence(*parts: bytes) -> bytes:
    return tlv(0x30, *parts)


def set_of(*parts: bytes) -> bytes:
    """SET OF: DER orders the elements by their encodings (X.690 11.6)."""
    return tlv(0x31, *sorted(parts))


def octet_string(data: bytes) -> bytes:
    return tlv(0x04, data)


def integer(value: int) -> bytes:
    """INTEGER (non-negative: versions, serials) in the fewest two's-complement octets."""
    if value < 0:
        raise ValueError("negative INTEGER")
    size = value.bit_length() // 8 + 1
    return tlv(0x02, value.to_bytes(size, "big", signed=True))


@lru_cache(maxsize=256)
def oid(dotted: str) -> bytes:
    return bytes(core.ObjectIdentifier(dotted).dump())


def context_explicit(number: int, element: bytes) -> bytes:
    """[number] EXPLICIT: the element wrapped in a constructed context tag."""
    return tlv(0xA0 | number, element)


def context_implicit(number: int, element: bytes) -> bytes:
    """[number] IMPLICIT: the element's own tag replaced, constructed bit kept."""
    return bytes((0x80 | (element[0] & 0x20) | number,)) + element[1:]
