"""Base64 bodies (RFC 2045 6.8) at the speed of the rest of the engine.

Encoding and decoding the body of an S/MIME message was a fifth of an
exchange with the standard library (its `binascii` loops byte by byte);
`pybase64` does the same work with SIMD. The results are the standard
library's: the encoder writes what `base64.encodebytes` writes with CRLF line
ends, and the decoder here accepts only bodies that the reader's checked path
(`base64.b64decode(..., validate=True)` on the body without blanks) decodes to
the same bytes, leaving everything else to that path.
"""

from __future__ import annotations

import binascii

import pybase64

__all__ = ["decode_lines", "encode_lines"]


def encode_lines(data: bytes) -> bytes:
    """Base64 in lines of 76 characters, each ended by CRLF (empty for no data)."""
    return pybase64.encodebytes(data).replace(b"\n", b"\r\n")


def decode_lines(body: bytes) -> bytes | None:
    """The decoded body when it is base64 characters in lines ended by CR and LF, its only
    '=' the final padding; None for anything else (the caller's checked path judges it)."""
    compact = body.translate(None, b"\r\n")
    size = len(compact)
    if size % 4:
        return None
    pad = compact.find(b"=")
    if pad != -1 and (pad < size - 2 or compact[size - 1] != 0x3D):
        return None  # '=' only as the last one or two characters
    try:
        return pybase64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
