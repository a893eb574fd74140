"""The MIME tree of a message, parsed from its raw bytes.

Hand-written rather than `email.message_from_bytes`: the validator must see
the exact bytes (boundaries, line endings, the signed part as received) and
must keep going past a defect to report it, where the stdlib repairs or
hides it. The stdlib still parses each header block (fields, parameters,
RFC 2231). Parts are named IMAP-style from the top entity "1": its parts
"1.1", "1.2", ...; the content found inside a CMS object (decrypted or
encapsulated) is the CMS part's single child "N.1".
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value
from functools import cached_property
from typing import Any

from conformance.smime.mime_read import delimited_spans

MAX_DEPTH = 8
MAX_PARTS = 256
_FIELD_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
_HEADER_PARSER = BytesHeaderParser(policy=compat32)
_BCHARS = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$")
_QP_BAD_ESCAPE = re.compile(rb"=(?![0-9A-Fa-f]{2}|[ \t]*\r?\n|[ \t]*\Z)")


@dataclass
class Node:
    """One MIME entity. `origin` says where its bytes came from: "message", "mime"
    (a multipart's body part), or the CMS content type that carried it."""

    path: str
    raw: bytes
    header: bytes
    body: bytes
    headers: Message
    origin: str
    depth: int
    has_headers: bool
    children: list[Node] = field(default_factory=list)
    gaps: bytes = b""  # a multipart's body without its parts: preamble, delimiters, epilogue
    structure: list[str] = field(default_factory=list)  # boundary problems, for MIME-004
    _decoded: tuple[bytes | None, str | None] | None = None

    # --- header fields --------------------------------------------------------------

    @cached_property
    def content_type(self) -> str:
        """Lowercase type/subtype; text/plain when absent or invalid (RFC 2045 5.2)."""
        return self.headers.get_content_type()

    @property
    def declared_type(self) -> str | None:
        value = self.headers.get("content-type")
        return None if value is None else str(value)

    def param(self, name: str, header: str = "content-type") -> str | None:
        if header not in self.headers:
            return None
        try:
            value = self.headers.get_param(name, None, header=header)
        except (ValueError, TypeError, LookupError):
            return None
        if value is None:
            return None
        return str(collapse_rfc2231_value(value)).strip()  # type: ignore[arg-type]

    @cached_property
    def transfer_encoding(self) -> str:
        value = self.headers.get("content-transfer-encoding")
        return str(value).strip().lower() if value is not None else "7bit"

    @property
    def is_multipart(self) -> bool:
        return self.content_type.startswith("multipart/")

    def own_bytes(self) -> bytes:
        """The bytes this node is responsible for: its header and, unless it is a
        multipart, its body (a multipart's parts are checked as nodes of their own)."""
        return self.header + b"\r\n" + (self.gaps if self.is_multipart else self.body)

    # --- body -----------------------------------------------------------------------

    def decoded(self) -> bytes | None:
        """The body with its transfer encoding undone; None when it does not decode."""
        return self._decode()[0]

    def decode_error(self) -> str | None:
        return self._decode()[1]

    def _decode(self) -> tuple[bytes | None, str | None]:
        if self._decoded is None:
            self._decoded = decode_body(self.body, self.transfer_encoding)
        return self._decoded

    def walk(self) -> list[Node]:
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found

    def summary(self) -> dict[str, Any]:
        params: dict[str, str] = {}
        try:
            for key, value in (self.headers.get_params() or [])[1:]:
                params[str(key).lower()] = str(collapse_rfc2231_value(value))  # type: ignore[arg-type]
        except (ValueError, TypeError, LookupError):
            params = {}
        return {
            "path": self.path,
            "content_type": self.content_type,
            "params": params,
            "transfer_encoding": self.transfer_encoding,
            "size": len(self.raw),
            "origin": self.origin,
        }


def decode_body(body: bytes, cte: str) -> tuple[bytes | None, str | None]:
    """(decoded bytes, None) or (None, what is wrong), per RFC 2045 6."""
    if cte == "base64":
        compact = body.translate(None, b" \t\r\n")
        bad = re.search(rb"[^A-Za-z0-9+/=]", compact)
        if bad is not None:
            return None, f"base64 is not valid: byte {bad.group()!r} is not in the alphabet"
        try:
            return base64.b64decode(compact, validate=True), None
        except (binascii.Error, ValueError) as exc:
            return None, f"base64 is not valid: {exc}"
    if cte == "quoted-printable":
        bad_qp = _QP_BAD_ESCAPE.search(body)
        if bad_qp is not None:
            near = body[bad_qp.start() : bad_qp.start() + 3]
            return None, f"quoted-printable is not valid: {near!r} is not an =XX escape"
        return binascii.a2b_qp(body), None
    if cte in ("7bit", "8bit", "binary"):
        return body, None
    return None, f"unknown Content-Transfer-Encoding {cte!r}"


def split_header(raw: bytes) -> tuple[bytes, bytes, bool]:
    """(header block, body, has_headers): the header block ends at the first empty line."""
    pos = 0
    size = len(raw)
    first = True
    while pos < size:
        nl = raw.find(b"\n", pos)
        end = size if nl < 0 else nl
        line = raw[pos:end].removesuffix(b"\r")
        if not line:
            return raw[:pos], raw[end + 1 :] if nl >= 0 else b"", True
        if line[:1] in (b" ", b"\t"):
            if first:
                return b"", raw, False
        elif not _FIELD_LINE.match(line):
            return (b"", raw, False) if first else (raw[:pos], raw[pos:], True)
        first = False
        if nl < 0:
            return raw, b"", True
        pos = nl + 1
    return raw, b"", not first


def parse_node(raw: bytes, path: str, origin: str, depth: int, counter: list[int]) -> Node:
    """Parse one entity and, for multiparts, its parts (bounded by MAX_DEPTH and MAX_PARTS)."""
    header, body, has_headers = split_header(raw)
    headers = _HEADER_PARSER.parsebytes(header + b"\r\n")
    node = Node(path, raw, header, body, headers, origin, depth, has_headers)
    counter[0] += 1
    if node.is_multipart:
        _split_multipart(node, counter)
    return node


def _split_multipart(node: Node, counter: list[int]) -> None:
    boundary = node.param("boundary")
    if not boundary:
        node.structure.append(f"{node.content_type} without a boundary parameter")
        node.gaps = node.body
        return
    if not _BCHARS.match(boundary):
        node.structure.append(
            f"boundary {boundary[:80]!r} is not 1 to 70 characters of the RFC 2046 set"
        )
    if node.depth >= MAX_DEPTH:
        node.structure.append(f"nesting deeper than {MAX_DEPTH} levels: parts not examined")
        node.gaps = node.body
        return
    delim = b"--" + boundary.encode("utf-8", "surrogateescape")
    body = node.body
    spans, start, closed = delimited_spans(body, delim)
    if start is None:
        node.structure.append(f"no delimiter line {delim.decode('utf-8', 'replace')!r} in the body")
        node.gaps = body
        return
    if not closed:
        node.structure.append(
            f"no close delimiter {delim.decode('utf-8', 'replace')}-- (truncated multipart)"
        )
        spans.append((start, len(body)))
    gaps = []
    previous = 0
    for index, (a, b) in enumerate(spans, start=1):
        gaps.append(body[previous:a])
        previous = b
        if counter[0] >= MAX_PARTS:
            node.structure.append(f"more than {MAX_PARTS} parts: the rest not examined")
            break
        child = parse_node(body[a:b], f"{node.path}.{index}", "mime", node.depth + 1, counter)
        node.children.append(child)
    gaps.append(body[previous:])
    node.gaps = b"".join(gaps)
    if not spans:
        node.structure.append("multipart with no body part")


def parse_message(message: bytes) -> Node:
    return parse_node(message, "1", "message", 0, [0])
