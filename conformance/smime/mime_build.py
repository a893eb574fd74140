"""MIME writing for the send side: exact bytes, CRLF line endings.

Messages are written byte by byte here rather than by the stdlib `email`
generator, because a multipart/signed message is only valid if the signed
part appears exactly as signed; `email` re-folds headers and rewrites line
endings. The stdlib is used only to read parameters of the user's content
headers and to encode RFC 2047 words and addresses.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.parser import BytesHeaderParser
from email.utils import format_datetime, formataddr
from functools import lru_cache
from typing import Literal

from conformance.core import mime
from conformance.smime import b64
from conformance.smime.options import Charset, ContentEncoding, MimeOptions

__all__ = [
    "CRLF",
    "Headers",
    "SmimeType",
    "base64_body",
    "canonical_content",
    "canonicalize",
    "cms_entity",
    "cms_entity_header",
    "encode_content",
    "message_headers",
    "multipart_signed",
    "multipart_signed_around",
    "quoted_printable",
    "split_entity",
]

CRLF = b"\r\n"
SmimeType = Literal["signed-data", "enveloped-data", "authEnveloped-data"]
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_BLANK_BEFORE_LF = re.compile(rb"\n(?<=[ \t]\n)")
_TEXT_TYPES = ("text/",)


@dataclass(frozen=True)
class Headers:
    """The RFC 5322 header fields of a message the engine writes.

    `date` None means now; `message_id` None means one drawn from the
    generator (so seeded runs give identical messages). Addresses are bare
    (`user@example.org`); `from_name` may be non-ASCII (RFC 2047).
    """

    from_addr: str
    to: list[str] = field(default_factory=list)
    subject: str = ""
    from_name: str = ""
    date: datetime | None = None
    message_id: str | None = None


def canonicalize(data: bytes) -> bytes:
    """Every line break (CR, LF or CRLF) as CRLF: the canonical form of RFC 8551 3.1.1."""
    if mime.BARE_CR.search(data) is None:  # no lone CR: only LF need a CR (C-speed paths)
        if mime.BARE_LF.search(data) is None:
            return data
        return data.replace(CRLF, b"\n").replace(b"\n", CRLF)
    return _LINE_BREAK.sub(CRLF, data)


def base64_body(data: bytes) -> bytes:
    """Base64 in lines of 76 characters, each ended by CRLF (RFC 2045 6.8)."""
    return b64.encode_lines(data)


def split_entity(entity: bytes) -> tuple[bytes, bytes, bytes]:
    """(header block, separator, body) of a MIME entity; the separator is the blank line.

    An entity without a blank line is all headers (empty body); one that does
    not start with a header field is all body.
    """
    if entity.startswith((b"\r\n", b"\n")):
        sep = b"\r\n" if entity.startswith(b"\r\n") else b"\n"
        return b"", sep, entity[len(sep) :]
    match = _BLANK_LINE.search(entity)
    if match is None:
        return entity, b"", b""
    return entity[: match.start()], entity[match.start() : match.end()], entity[match.end() :]


def header_value_ok(value: str, what: str) -> str:
    """`value` for one header line: a line break would start another field (header
    injection), so it is refused (ValueError naming `what`) wherever headers are written."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"{what} contains a line break")
    return value


def _word_charset(value: str, charset: Charset) -> str:
    """The charset of the encoded words for `value`: us-ascii, the configured one,
    or UTF-8 when the configured one cannot carry the text ('Œ', '–' are not in
    ISO-8859-1): mail clients pick a charset that can, rather than fail."""
    if value.isascii():
        return "us-ascii"
    try:
        value.encode(charset)
    except UnicodeEncodeError:
        return "utf-8"
    return charset


@lru_cache(maxsize=256)
def _encoded_header(name: str, value: str, charset: Charset) -> bytes:
    """`Name: value` folded at 76 columns, with RFC 2047 words when not ASCII.

    Cached: the email package's word encoding is slow, and a run repeats subjects.
    """
    header_value_ok(value, name)
    header = Header(value, _word_charset(value, charset), header_name=name)
    text = header.encode(linesep="\r\n")
    return f"{name}: {text}".encode("ascii") + CRLF


@lru_cache(maxsize=256)
def _address(name: str, address: str, charset: Charset) -> str:
    header_value_ok(address, "address")
    if not name:
        return address
    header_value_ok(name, "name")
    return formataddr((name, address), charset=_word_charset(name, charset))


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _date(moment: datetime) -> bytes:
    """RFC 5322 3.3 date-time, as `email.utils.format_datetime` writes it.

    Written directly for a zone offset of whole minutes (UTC, or the matrix's French
    summer "+0200"): the stdlib goes through `timetuple` and `strftime("%z")`, a measurable
    part of building a message. A naive moment or an offset with seconds go to it.
    """
    offset = moment.utcoffset()
    if offset is None or offset.seconds % 60 or offset.microseconds:
        return format_datetime(moment).encode("ascii")
    minutes = int(offset.total_seconds()) // 60
    return b"%s, %02d %s %04d %02d:%02d:%02d %s%02d%02d" % (
        _DAYS[moment.weekday()].encode("ascii"),
        moment.day,
        _MONTHS[moment.month - 1].encode("ascii"),
        moment.year,
        moment.hour,
        moment.minute,
        moment.second,
        b"-" if minutes < 0 else b"+",
        abs(minutes) // 60,
        abs(minutes) % 60,
    )


def message_headers(headers: Headers, charset: Charset, rng_token: bytes) -> bytes:
    """From, To, Date, Message-ID, Subject, MIME-Version (RFC 5322, RFC 2047, RFC 2045).

    `rng_token` makes the Message-ID when the headers do not give one.
    """
    date = headers.date or datetime.now(UTC)
    domain = headers.from_addr.rpartition("@")[2] or "localhost"
    message_id = headers.message_id or f"<{rng_token.hex()}@{domain}>"
    out = [
        b"From: " + _address(headers.from_name, headers.from_addr, charset).encode("ascii") + CRLF,
    ]
    if headers.to:
        to = ", ".join(_address("", a, charset) for a in headers.to)
        out.append(b"To: " + to.encode("ascii") + CRLF)
    out.append(b"Date: " + _date(date) + CRLF)
    out.append(b"Message-ID: " + header_value_ok(message_id, "Message-ID").encode("ascii") + CRLF)
    out.append(_encoded_header("Subject", headers.subject, charset))
    out.append(b"MIME-Version: 1.0" + CRLF)
    return b"".join(out)


# --- the user's content ---------------------------------------------------------------


@lru_cache(maxsize=256)
def _content_headers(header_block: bytes) -> tuple[str, str | None, str]:
    """(media type, boundary, transfer encoding) of a header block, with RFC 2045 defaults.

    Cached: the email parser is slow for what it does here, and letters repeat their headers.
    """
    message = BytesHeaderParser().parsebytes(header_block + b"\r\n\r\n")
    boundary = message.get_param("boundary")
    cte = str(message.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    return message.get_content_type(), boundary if isinstance(boundary, str) else None, cte


def _replace_cte(header_block: bytes, value: str) -> bytes:
    """Drop any Content-Transfer-Encoding field (with folded lines) and add `value`."""
    lines = _LINE_BREAK.split(header_block) if header_block else []
    kept: list[bytes] = []
    skipping = False
    for line in lines:
        if line[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = line.lower().startswith(b"content-transfer-encoding:")
        if not skipping:
            kept.append(line)
    kept.append(f"Content-Transfer-Encoding: {value}".encode("ascii"))
    return CRLF.join(kept)


def quoted_printable(body: bytes) -> bytes:
    """Quoted-printable text, line by line, so line breaks stay (CRLF) line breaks.

    With LF-only breaks and no blank before one, `b2a_qp` over the whole body
    gives the same bytes as line by line (it restarts its column count at each
    LF and looks ahead only to the next byte), in one C call instead of one per
    line. A blank before a break is encoded after the column check there, so
    those bodies (and any CR) take the line-by-line path.
    """
    # (A search for b" \n" would stop at every blank of the text; _BLANK_BEFORE_LF begins
    # with its LF, so the search jumps from line end to line end.)
    if b"\r" not in body and _BLANK_BEFORE_LF.search(body) is None:
        # No CR in, none out (soft breaks are "=\n" without CRLF in the input).
        return binascii.b2a_qp(body, quotetabs=False, istext=True).replace(b"\n", CRLF)
    return quoted_printable_by_line(body)


def quoted_printable_by_line(body: bytes) -> bytes:
    """`quoted_printable` one line at a time: every body (a test compares the two)."""
    lines = _LINE_BREAK.split(body)
    encoded = [binascii.b2a_qp(line, quotetabs=False, istext=True) for line in lines]
    return canonicalize(CRLF.join(encoded))


def _encode_leaf(
    entity: bytes,
    header_block: bytes,
    body: bytes,
    media_type: str,
    cte: str,
    encoding: ContentEncoding,
) -> tuple[bytes, bool]:
    """The leaf (split, and its content headers read, by the caller) re-encoded, and
    whether that happened (then it is all CRLF: the header lines are joined with CRLF,
    the encoded body written with CRLF)."""
    if cte in ("base64", "quoted-printable") or body.isascii():
        return entity, False
    if media_type.startswith("message/"):
        return entity, False  # RFC 2046 5.2.1: message/rfc822 may not be base64/QP encoded
    if media_type.startswith(_TEXT_TYPES) and encoding == "quoted-printable":
        qp = quoted_printable(body)
        return _replace_cte(header_block, "quoted-printable") + CRLF + CRLF + qp, True
    return _replace_cte(header_block, "base64") + CRLF + CRLF + base64_body(body), True


def encode_content(entity: bytes, encoding: ContentEncoding, depth: int = 0) -> bytes:
    """Re-encode parts with 8-bit data (text: `encoding`; other types: base64).

    "keep" returns the entity untouched (a quirk: 8-bit data inside a
    signature). Multiparts are walked, and only their parts' bytes replaced,
    so that everything else (preamble, delimiters) is kept as written.
    """
    return _encode(entity, encoding, depth)[0]


def canonical_content(entity: bytes, encoding: ContentEncoding) -> bytes:
    """`canonicalize(encode_content(entity, encoding))`. A single part that the encoding
    rewrote is all CRLF already, so it is not scanned again (two searches of the whole
    text, about 1 % of `make bench`'s exchange)."""
    encoded, canonical = _encode(entity, encoding, 0)
    return encoded if canonical else canonicalize(encoded)


def _encode(entity: bytes, encoding: ContentEncoding, depth: int) -> tuple[bytes, bool]:
    """`encode_content`, and whether the result is a leaf it rewrote (all CRLF)."""
    if encoding == "keep":
        return entity, False
    header_block, _sep, body = split_entity(entity)
    media_type, boundary, cte = _content_headers(header_block)
    if not media_type.startswith("multipart/") or boundary is None or depth > 16:
        return _encode_leaf(entity, header_block, body, media_type, cte, encoding)
    # The parts are where the MIME reader finds them (`core.mime.delimited`, one search
    # of the bytes per delimiter line): only their bytes are replaced.
    delim = b"--" + boundary.encode("latin-1")
    spans = mime.delimited(mime.InMemory(body), delim)[0]
    out = [entity[: len(entity) - len(body)]]
    pos = 0
    for start, end in spans:
        out += (body[pos:start], _encode(body[start:end], encoding, depth + 1)[0])
        pos = end
    out.append(body[pos:])
    return b"".join(out), False


# --- S/MIME entities ------------------------------------------------------------------


def _media(kind: Literal["mime", "signature"], options: MimeOptions) -> str:
    prefix = "application/x-pkcs7-" if options.media_types == "legacy" else "application/pkcs7-"
    return prefix + kind


def cms_entity(der: bytes, smime_type: SmimeType, options: MimeOptions) -> bytes:
    """An application/pkcs7-mime entity carrying `der` in base64."""
    return cms_entity_header(smime_type, options) + base64_body(der)


def cms_entity_header(smime_type: SmimeType, options: MimeOptions) -> bytes:
    """`cms_entity`'s header block and blank line (a large DER's base64 streams after)."""
    content_type = f"{_media('mime', options)}; smime-type={smime_type}"
    lines = []
    if options.name_parameters:
        content_type += '; name="smime.p7m"'
        lines.append(b'Content-Disposition: attachment; filename="smime.p7m"')
    lines.insert(0, b"Content-Type: " + content_type.encode("ascii"))
    lines.append(b"Content-Transfer-Encoding: base64")
    return CRLF.join(lines) + CRLF + CRLF


def multipart_signed(
    signed_part: bytes, signature: bytes, micalg: str, boundary: str, options: MimeOptions
) -> bytes:
    """A multipart/signed entity (RFC 1847, RFC 8551 3.5.3).

    `signed_part` is inserted exactly as signed; the CRLF before each
    delimiter belongs to the delimiter, not to the part.
    """
    if boundary.encode("ascii") in signed_part:
        raise ValueError("the multipart boundary occurs in the signed content")
    before, after = multipart_signed_around(signature, micalg, boundary, options)
    return before + signed_part + after


def multipart_signed_around(
    signature: bytes, micalg: str, boundary: str, options: MimeOptions
) -> tuple[bytes, bytes]:
    """What `multipart_signed` writes before and after the signed part (which a large
    message streams between them)."""
    protocol = _media("signature", options)
    dash = b"--" + boundary.encode("ascii")
    sig_type = protocol + ('; name="smime.p7s"' if options.name_parameters else "")
    sig_headers = [
        b"Content-Type: " + sig_type.encode("ascii"),
        b"Content-Transfer-Encoding: base64",
    ]
    if options.name_parameters:
        sig_headers.append(b'Content-Disposition: attachment; filename="smime.p7s"')
    head = (
        f'Content-Type: multipart/signed; protocol="{protocol}"; micalg={micalg};\r\n'
        f'\tboundary="{boundary}"\r\n'
    ).encode("ascii")
    before = b"".join([head, CRLF, b"This is an S/MIME signed message" + CRLF, CRLF, dash + CRLF])
    after = b"".join(
        [
            CRLF + dash + CRLF,
            CRLF.join(sig_headers) + CRLF + CRLF,
            base64_body(signature),  # ends with CRLF: the delimiter's own CRLF follows
            dash + b"--" + CRLF,
        ]
    )
    return before, after
