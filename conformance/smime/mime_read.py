"""MIME reading on the exact bytes received.

The stdlib `email` package reads header fields and parameters well, but it
re-serialises what it parses, and a multipart/signed signature covers the
first part's bytes exactly as sent. So this module cuts entities itself:
headers from body at the first empty line, and multipart bodies at their
boundary delimiters as RFC 2046 5.1.1 defines them (the line break before a
delimiter belongs to the delimiter). `email` only parses the header block.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value

from conformance.smime import b64
from conformance.smime.read_errors import Budget, malformed

# RFC 5322 2.2: field name = printable US-ASCII except ':'; obsolete syntax allows
# blanks before the colon.
_FIELD_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
# A field line as the stdlib's feedparser reads it (no blank before the colon).
_PLAIN_FIELD = re.compile(r"[!-9;-~]+:")
_WSP = b" \t"
_HEADER_PARSER = BytesHeaderParser(policy=compat32)


@dataclass(frozen=True)
class Entity:
    """One MIME entity: its raw bytes, split into header block and body."""

    raw: bytes
    header: bytes  # the header block, without the empty line that ends it
    body: bytes  # the body, still transfer-encoded
    headers: Message  # parsed header fields only
    where: str  # "message", "part 1.2", ...

    @functools.cached_property
    def content_type(self) -> str:
        """Lowercase type/subtype (text/plain when absent or invalid, RFC 2045 5.2).

        Cached (the headers are not changed after parsing): the read side asks
        several times per entity, and `email` parses the field again each time.
        """
        return self.headers.get_content_type()

    def param(self, name: str) -> str | None:
        """A Content-Type parameter (RFC 2231 values collapsed), or None."""
        return self._param(name, "content-type")

    def disposition_param(self, name: str) -> str | None:
        return self._param(name, "content-disposition")

    def _param(self, name: str, header: str) -> str | None:
        raw = self.headers.get(header)
        if raw is None:
            return None
        simple = _simple_params(str(raw))
        if simple is not None:
            return simple.get(name.lower())
        value = self.headers.get_param(name, None, header=header)
        if value is None:
            return None
        return str(collapse_rfc2231_value(value)).strip()  # type: ignore[arg-type]

    @property
    def transfer_encoding(self) -> str:
        value = self.headers.get("content-transfer-encoding")
        return str(value).strip().lower() if value is not None else "7bit"


# A field value of only `value *(";" attribute "=" value)` in the plain RFC 2045 forms:
# tokens, and quoted strings without backslash (no RFC 2231 "*" names, no comments).
_TOKEN = r"[!#$%&'+\-.0-9A-Z^_`a-z{|}~]+"
_PARAMETER = rf"({_TOKEN})\s*=\s*({_TOKEN}|\"[^\"\\\\]*\")"
_SIMPLE_VALUE = re.compile(rf"\s*{_TOKEN}(?:/{_TOKEN})?\s*(?:;\s*{_PARAMETER}\s*)*;?\s*", re.ASCII)
_SIMPLE_PARAMETER = re.compile(rf";\s*{_PARAMETER}", re.ASCII)


def _simple_params(value: str) -> dict[str, str] | None:
    """The parameters of a plain field value, as `Message.get_param` reads them; None for
    anything else (left to it). Hand-written: `get_param` costs tens of microseconds a
    lookup, which showed in reading every multipart/signed message."""
    if not _SIMPLE_VALUE.fullmatch(value):
        return None
    found: dict[str, str] = {}
    for name, text in _SIMPLE_PARAMETER.findall(value):
        found.setdefault(name.lower(), (text[1:-1] if text[:1] == '"' else text).strip())
    return found


def _split_header(raw: bytes) -> tuple[bytes, bytes] | None:
    """(header block, body) or None when the first line is not a header field."""
    pos = 0
    size = len(raw)
    first = True
    while pos < size:
        nl = raw.find(b"\n", pos)
        end = size if nl < 0 else nl
        line = raw[pos:end]
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            return raw[:pos], b"" if nl < 0 else raw[nl + 1 :]
        if line[:1] in (b" ", b"\t"):
            if first:
                return None
        elif not _FIELD_LINE.match(line):
            return None
        first = False
        if nl < 0:
            return raw, b""
        pos = nl + 1
    return raw, b""


def _parse_headers(header: bytes) -> Message:
    """The header block as `BytesHeaderParser(policy=compat32)` parses it, made cheaper.

    The feedparser costs about 0.1 ms per entity, most of it machinery for
    bodies and streaming that a header block cut by `_split_header` does not
    need. Its field splitting is done here directly, for the common case
    only: any bare CR, blank before a colon or "From " line (the feedparser
    treats these specially) goes to the stdlib parser itself. The fields of a
    block are cached: the inner entities' blocks recur from message to message.
    """
    fields = _header_fields(header)
    if fields is None:
        return _HEADER_PARSER.parsebytes(header + b"\r\n")
    message = Message(policy=compat32)
    for name, value in fields:
        message.set_raw(name, value)
    return message


@functools.lru_cache(maxsize=256)
def _header_fields(header: bytes) -> tuple[tuple[str, str], ...] | None:
    """(name, value) of each field as compat32 reads it; None when the stdlib parser must."""
    text = (header + b"\r\n").decode("ascii", "surrogateescape")
    if text.count("\r") != text.count("\r\n"):
        return None
    fields: list[tuple[str, str]] = []
    field: list[str] = []
    for line in text.split("\n"):
        if line in ("", "\r"):
            break  # the empty line closing the block (as the feedparser stops there)
        if line[0] in " \t":
            if not field:
                return None
            field.append(line + "\n")
            continue
        if line.startswith("From ") or not _PLAIN_FIELD.match(line):
            return None
        if field:
            fields.append(compat32.header_source_parse(field))
        field = [line + "\n"]
    if field:
        fields.append(compat32.header_source_parse(field))
    return tuple(fields)


def parse_entity(raw: bytes, where: str, *, require_headers: bool) -> Entity:
    """Split an entity; headerless data is a text/plain body unless headers are required.

    An entity whose first line is empty has an empty header block (all defaults).
    """
    split = _split_header(raw)
    if split is None:
        if require_headers:
            raise malformed(
                where, "not an RFC 5322/MIME entity: the first line is not a header field"
            )
        header, body = b"", raw
    else:
        header, body = split
        if require_headers and not header:
            raise malformed(where, "not an RFC 5322 message: no header fields")
    headers = _parse_headers(header)
    return Entity(raw=raw, header=header, body=body, headers=headers, where=where)


def decode_body(entity: Entity) -> bytes:
    """The body with its Content-Transfer-Encoding undone; bad base64 is MALFORMED."""
    cte = entity.transfer_encoding
    if cte == "base64":
        fast = b64.decode_lines(entity.body)
        if fast is not None:
            return fast
        compact = entity.body.translate(None, b" \t\r\n")
        try:
            return base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise malformed(entity.where, f"bad base64 body: {exc}") from exc
    if cte == "quoted-printable":
        return binascii.a2b_qp(entity.body)
    if cte in ("7bit", "8bit", "binary"):
        return entity.body
    raise malformed(entity.where, f"unknown Content-Transfer-Encoding {cte!r}")


def child_where(parent: str, index: int) -> str:
    """Part names in the IMAP style: part 1, part 1.2; inside decoded content, a suffix."""
    if parent == "message":
        return f"part {index}"
    if parent.startswith("part ") and " " not in parent[5:]:
        return f"{parent}.{index}"
    return f"{parent}, part {index}"


def split_multipart(entity: Entity, budget: Budget) -> list[bytes]:
    """The raw bytes of each body part, exactly between the delimiters (RFC 2046 5.1.1).

    A part ends before the line break (CRLF, or a bare LF from a careless
    transport) that precedes the next delimiter line. A missing boundary
    parameter, no delimiter or no close delimiter is MALFORMED.
    """
    boundary = entity.param("boundary")
    if not boundary:
        raise malformed(entity.where, f"{entity.content_type} without a boundary parameter")
    if len(boundary) > 200:
        raise malformed(entity.where, "boundary parameter longer than 200 characters")
    delim = b"--" + boundary.encode("utf-8", "surrogateescape")
    spans, last_start, closed = delimited_spans(entity.body, delim)
    parts: list[bytes] = []
    for a, b in spans:
        parts.append(entity.body[a:b])
        budget.count_part(child_where(entity.where, len(parts)))
    if last_start is None:
        raise malformed(
            entity.where, f"no boundary delimiter {delim.decode('utf-8', 'replace')!r} in the body"
        )
    if not closed:
        raise malformed(entity.where, "missing close delimiter (truncated multipart)")
    return parts


def delimited_spans(body: bytes, delim: bytes) -> tuple[list[tuple[int, int]], int | None, bool]:
    """Where each complete body part lies between delimiter lines, on the raw bytes.

    Returns the (start, end) of each part closed by a later delimiter, where the
    last part begins (None: no delimiter line at all), and whether the close
    delimiter was found. Shared by the engine, which stops at what is wrong, and
    the validator (check.tree), which reports it and goes on.
    """
    spans: list[tuple[int, int]] = []
    start: int | None = None  # where the current part's bytes begin
    closed = False
    pos = 0
    while True:
        i = body.find(delim, pos)
        if i < 0:
            break
        pos = i + len(delim)
        if i > 0 and body[i - 1 : i] != b"\n":
            continue
        after = body[pos : pos + 2]
        is_close = after == b"--"
        j = pos + 2 if is_close else pos
        while j < len(body) and body[j : j + 1] in (b" ", b"\t"):
            j += 1
        if j < len(body) and body[j : j + 1] not in (b"\r", b"\n") and not is_close:
            continue  # "--boundaryX": a longer string, not our delimiter
        if start is not None:
            end = i - 2 if body[i - 2 : i] == b"\r\n" else i - 1
            spans.append((start, max(end, start)))
        if is_close:
            closed = True
            break
        nl = body.find(b"\n", j)
        start = len(body) if nl < 0 else nl + 1
        pos = start
    return spans, start, closed


def canonicalize(data: bytes) -> bytes:
    """Line endings to CRLF (RFC 8551 3.1.1): every bare LF becomes CRLF."""
    if data.count(b"\n") == data.count(b"\r\n"):
        return data  # already canonical: spare two copies
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def to_lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def strip_trailing_whitespace(data: bytes) -> bytes:
    """Remove blanks at line ends, keeping each line's own line break."""
    return re.sub(rb"[ \t]+(?=\r?\n|\Z)", b"", data)
