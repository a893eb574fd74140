"""Base64 bodies (RFC 2045 6.8) at the speed of the rest of the engine.

Encoding and decoding the body of an S/MIME message was a fifth of an
exchange with the standard library (its `binascii` loops byte by byte);
`pybase64` does the same work with SIMD. The results are the standard
library's: the encoder writes what `base64.encodebytes` writes with CRLF line
ends. (Decoding is the MIME reader's, `conformance.core.mime`.)
"""

from __future__ import annotations

import pybase64

__all__ = ["encode_lines"]


def encode_lines(data: bytes) -> bytes:
    """Base64 in lines of 76 characters, each ended by CRLF (empty for no data)."""
    return pybase64.encodebytes(data).replace(b"\n", b"\r\n")
