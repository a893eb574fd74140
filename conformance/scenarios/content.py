"""The MIME entity a mail client composes from a scenario (the content to secure).

The entity is written by hand rather than with `email.generator`: its exact
bytes are what gets signed, so they must not depend on the stdlib's choices
(it re-folds headers, picks its own line lengths, and both of its
quoted-printable encoders turn a deliberate bare CR or LF into a line break,
losing it). The stdlib is used where its output is exactly right: RFC 2231
parameter values (`email.utils.encode_rfc2231`) and quoting (`email.utils.quote`).

Layout (CRLF line breaks throughout, except bare CR/LF the letter holds on purpose):
- a letter alone: ``text/plain; charset=...`` with the scenario's transfer encoding;
- with attachments or an HPRIM file: ``multipart/mixed``, the letter first, then
  each file base64-encoded with ``Content-Disposition: attachment``, a plain
  ``filename`` (ASCII fallback) preceded, for a non-ASCII name, by ``filename*``
  (RFC 2231);
- the HPRIM file travels as ``application/octet-stream`` in base64: the only
  labelling under which no tool may legitimately touch its bytes (a text/* body
  may be re-encoded to another charset and its CR-only line ends canonicalised
  to CRLF, RFC 2046 s.4.1.1 and RFC 8551 s.3.1.1).
The boundary is derived from the content (deterministic) and checked absent from it.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from email.utils import encode_rfc2231, quote

from conformance.scenarios.model import Scenario

CRLF = b"\r\n"
HPRIM_MEDIA_TYPE = "application/octet-stream"
QP_LINE = 76  # RFC 2045 s.6.7 rule 5: encoded lines of at most 76 characters


def build_entity(scenario: Scenario) -> bytes:
    """The MIME entity (headers, empty line, body) the user's mail client composes."""
    parts = entity_parts(scenario)
    if len(parts) == 1:
        return parts[0]
    head, tail = multipart(parts, hashlib.sha256(b"".join(parts)).hexdigest())
    return head + tail


def entity_parts(scenario: Scenario) -> list[bytes]:
    """The letter, then each file as a body part: the entity itself when it is the letter
    alone, else the parts of its multipart/mixed."""
    files: list[tuple[str, str, bytes]] = [
        (a.filename, a.media_type, a.data) for a in scenario.attachments
    ]
    if scenario.hprim is not None:
        files.append((scenario.hprim.filename, HPRIM_MEDIA_TYPE, scenario.hprim.data))
    return [_letter_part(scenario)] + [file_part(name, kind, data) for name, kind, data in files]


def multipart(parts: list[bytes], digest: str) -> tuple[bytes, bytes]:
    """The multipart/mixed of `parts`, cut where the last part ends: what comes up to
    there, and the closing delimiter. `digest` (hex) is of all the parts' bytes; it names
    the boundary. A writer that streams the last part's body passes that part's head
    alone: the body goes between the two (`scenarios.large`)."""
    boundary = _boundary(parts, digest).encode()
    out = [_header("Content-Type", ["multipart/mixed", f'boundary="{boundary.decode()}"']), CRLF]
    for part in parts:
        out += [b"--", boundary, CRLF, part, CRLF]
    return b"".join(out[:-1]), CRLF + b"--" + boundary + b"--" + CRLF


def _letter_part(s: Scenario) -> bytes:
    encoding = s.transfer_encoding
    body = encode_body(s.body_bytes, encoding)
    return (
        _header("Content-Type", ["text/plain", f"charset={s.charset}"])
        + _header("Content-Transfer-Encoding", [encoding])
        + CRLF
        + body
    )


def file_part(filename: str, media_type: str, data: bytes) -> bytes:
    fallback = quote(ascii_fallback(filename))
    disposition = ["attachment"]
    if not filename.isascii():
        # filename* first: readers that take the first "filename" they meet (Python's
        # email package does) then get the real name; readers without RFC 2231
        # ignore the unknown "filename*" and use the plain fallback.
        disposition.append("filename*=" + encode_rfc2231(filename, "UTF-8"))
    disposition.append(f'filename="{fallback}"')
    return (
        _header("Content-Type", [media_type, f'name="{fallback}"'])
        + _header("Content-Transfer-Encoding", ["base64"])
        + _header("Content-Disposition", disposition)
        + CRLF
        + encode_base64(data, final_break=False)
    )


def _header(name: str, items: list[str]) -> bytes:
    """A header whose parameters are folded one per line once it passes 78 characters."""
    line = f"{name}: " + "; ".join(items)
    if len(line) > 78:
        line = f"{name}: " + ";\r\n ".join(items)
    return line.encode("ascii") + CRLF


def ascii_fallback(filename: str) -> str:
    """The name with accents stripped (é -> e), other non-ASCII as "_", for old readers."""
    decomposed = unicodedata.normalize("NFKD", filename)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c if c.isascii() and c.isprintable() else "_" for c in stripped)


def _boundary(parts: list[bytes], digest: str) -> str:
    for n in range(100):
        boundary = f"=_osm_{digest[:24]}_{n}"
        if not any(boundary.encode() in part for part in parts):
            return boundary
    raise ValueError("no MIME boundary absent from the content")  # pragma: no cover


def encode_body(raw: bytes, encoding: str) -> bytes:
    """Apply a Content-Transfer-Encoding to bytes whose line breaks are CRLF."""
    if encoding in ("7bit", "8bit"):
        return raw
    if encoding == "base64":
        return encode_base64(raw, final_break=True)
    if encoding == "quoted-printable":
        return encode_quoted_printable(raw)
    raise ValueError(f"unknown transfer encoding {encoding!r}")


def encode_base64(data: bytes, *, final_break: bool) -> bytes:
    text = base64.b64encode(data)
    lines = [text[i : i + 76] for i in range(0, len(text), 76)]
    return CRLF.join(lines) + (CRLF if final_break and lines else b"")


# The bytes quoted-printable leaves as they are: printable ASCII but "=", and tab, space.
_QP_LITERAL = bytes(range(0x21, 0x7F)).replace(b"=", b"") + b"\t "
_QP_CHUNK = QP_LINE - 1  # characters before a soft line break "="
_QP_BLANKS = (b" ", b"\t")
_QP_PROTECTED = (b".", b"From")  # "From" then " " or "=20"


def encode_quoted_printable(raw: bytes) -> bytes:
    """Quoted-printable (RFC 2045 s.6.7) that keeps every byte of the text.

    CRLF is a line break; a bare CR or LF is encoded (=0D, =0A); a space or tab
    ending a line is encoded so no transport can strip it; "From " and "." at
    the start of an encoded line are protected (=46, =2E) as RFC 2049 s.3
    advises, because mailbox and SMTP software alter them.
    """
    # Written by hand: binascii.b2a_qp and quopri protect "." only alone on a line and
    # never "From ", and both cut lines without those rules. Each byte value to encode
    # is replaced across the whole text in one pass ("=" first: the codes hold "="), not
    # run by run with a callback: a scenario's letter holds thousands of such runs.
    special = set(raw.translate(None, _QP_LITERAL))
    text = raw.replace(b"=", b"=3D") if 61 in special else raw
    for byte in special - {61, 13, 10}:
        text = text.replace(bytes((byte,)), b"=%02X" % byte)
    breaks = CRLF
    if 13 in special or 10 in special:
        # Line breaks become NUL (encoded, so absent from `text` by now); a CR or LF
        # left is bare.
        text = text.replace(CRLF, b"\0").replace(b"\r", b"=0D").replace(b"\n", b"=0A")
        breaks = b"\0"
    return CRLF.join(
        [
            line
            if len(line) <= _QP_CHUNK
            and not line.endswith(_QP_BLANKS)
            and not line.startswith(_QP_PROTECTED)
            else _qp_line(line)
            for line in text.split(breaks)
        ]
    )


def _qp_line(text: bytes) -> bytes:
    """An encoded line cut into lines of at most QP_LINE characters (soft line breaks),
    its ending blank encoded and the start of each protected."""
    if text.endswith(_QP_BLANKS):
        text = text[:-1] + b"=%02X" % text[-1]
    physical: list[bytes] = []
    start = 0
    while True:
        # Every "=" in `text` begins an "=XX" token: a literal "=" is itself encoded.
        if text.startswith(_QP_PROTECTED, start) and (
            text[start] == 46  # "."
            or text.startswith(b"From ", start)
            or (text.startswith(b"From=20", start) and start + 7 == len(text))  # at the end
        ):
            text = b"%s=%02X%s" % (text[:start], text[start], text[start + 1 :])
        if len(text) - start <= _QP_CHUNK:
            physical.append(text[start:])
            return b"=\r\n".join(physical)
        end = start + _QP_CHUNK
        if text[end - 1] == 61:  # never cut inside an "=XX" token
            end -= 1
        elif text[end - 2] == 61:
            end -= 2
        physical.append(text[start:end])
        start = end
