"""How a message of the Apicrypt model is recognised (its wire format: apicrypt/wire.py).

Apart from the format itself so that the validator, below the model in the layers, can
say what a message without an S/MIME layer is when it is one of the model's.
"""

from __future__ import annotations

import re

BEGIN = b"-----BEGIN APICRYPT MODEL MESSAGE-----"
END = b"-----END APICRYPT MODEL MESSAGE-----"
MODEL_HEADER = "X-Apicrypt-Model"

_MODEL_FIELD = re.compile(re.escape(MODEL_HEADER.encode()), re.IGNORECASE)
# The body, after its leading white space (what bytes.strip strips), is the armoured block.
_ARMOURED_BODY = re.compile(rb"[ \t\n\r\x0b\x0c]*" + re.escape(BEGIN))


def is_apicrypt(message: bytes) -> bool:
    """A mail of the model: its X-Apicrypt-Model field or, without it, a body that is the
    armoured block. A letter that only quotes the armour (an S/MIME one too) is not.

    Asked of every message a profile receiver reads: it searches in place, never copying
    the body (an imaging message is hundreds of megabytes)."""
    crlf = message.find(b"\r\n\r\n")
    end = crlf if crlf >= 0 else len(message)
    if _MODEL_FIELD.search(message, 0, end):
        return True
    # The header ends at the first blank line, CRLF or bare LF (one before the CRLF one).
    lf = message.find(b"\n\n", 0, crlf + 1 if crlf >= 0 else len(message))
    at = lf if lf >= 0 else crlf
    return at >= 0 and _ARMOURED_BODY.match(message, at) is not None
