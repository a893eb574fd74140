"""The thin S/MIME MIME layer around raw CMS, for the tools that lack one.

NSS `cmsutil` and `gpgsm` read and write raw CMS; a mail client around them
(Thunderbird, KMail) adds the MIME of RFC 8551. This module is that minimal
client layer and nothing more: it wraps CMS into the standard media types and
finds the CMS (and, for multipart/signed, the exact signed bytes) in a message.
It never re-serialises what it unwraps: signatures are over the bytes received.
It is hand-written because the standard library's email package re-folds and
re-encodes parts when it writes them back, which would break signatures.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import secrets
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import formatdate, make_msgid
from typing import Literal

from conformance.smime.b64 import encode_lines

LayerKind = Literal[
    "enveloped-data", "authEnveloped-data", "signed-data", "multipart-signed", "plain"
]

PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")
PKCS7_SIGNATURE = ("application/pkcs7-signature", "application/x-pkcs7-signature")


class MalformedMessage(ValueError):
    """The message is not the MIME an S/MIME reader expects; the text says where."""


@dataclass(frozen=True)
class Layer:
    kind: LayerKind
    cms: bytes | None = None  # DER/BER of the CMS object, when there is one
    signed_content: bytes | None = None  # multipart/signed: the exact bytes of the signed part
    media_type: str = ""


def split_headers(entity: bytes) -> tuple[bytes, bytes]:
    """Header block and body of an entity, cut at the first empty line (CRLF or LF)."""
    m = re.search(rb"\r?\n\r?\n", entity)
    if m is None:
        return entity, b""
    return entity[: m.start()], entity[m.end() :]


def _content_type(header_block: bytes) -> tuple[str, dict[str, str]]:
    msg = BytesHeaderParser().parsebytes(header_block + b"\r\n\r\n")
    ctype = msg.get_content_type().lower()
    params = {k.lower(): v for k, v in msg.get_params(failobj=[], header="content-type")[1:]}
    return ctype, {k: str(v) for k, v in params.items()}


def _decode_base64(body: bytes, where: str) -> bytes:
    try:
        return base64.b64decode(re.sub(rb"\s+", b"", body), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedMessage(f"{where}: the body is not valid base64 ({exc})") from exc


def _cms_from_entity(entity: bytes, where: str) -> bytes:
    headers, body = split_headers(entity)
    msg = BytesHeaderParser().parsebytes(headers + b"\r\n\r\n")
    cte = (msg.get("content-transfer-encoding") or "7bit").strip().lower()
    if cte == "base64":
        return _decode_base64(body, where)
    if cte in ("binary", "8bit", "7bit"):
        return body
    raise MalformedMessage(f"{where}: unsupported Content-Transfer-Encoding {cte!r} for CMS")


def _multipart_parts(body: bytes, boundary: str) -> list[bytes]:
    """Exact bytes of each part of a multipart body (RFC 2046 5.1.1 delimiters)."""
    delim = re.escape(b"--" + boundary.encode("ascii", "replace"))
    # A delimiter line starts a line and may carry trailing whitespace.
    pattern = re.compile(rb"(?:^|\r?\n)" + delim + rb"(--)?[ \t]*(?=\r?\n|$)")
    marks = list(pattern.finditer(body))
    parts: list[bytes] = []
    for here, nxt in itertools.pairwise(marks):
        if here.group(1):  # close delimiter
            break
        start = here.end()
        start += 2 if body[start : start + 2] == b"\r\n" else 1
        parts.append(body[start : nxt.start()])
    if not marks or not any(m.group(1) for m in marks):
        raise MalformedMessage(f"multipart: no closing delimiter for boundary {boundary!r}")
    return parts


def classify(entity: bytes) -> Layer:
    """What this entity is, as an S/MIME reader sees it from its Content-Type."""
    headers, body = split_headers(entity)
    ctype, params = _content_type(headers)
    if ctype in PKCS7_MIME:
        smime_type = params.get("smime-type", "").lower()
        cms = _cms_from_entity(entity, ctype)
        if smime_type == "authenveloped-data":
            return Layer("authEnveloped-data", cms, media_type=ctype)
        if smime_type in ("signed-data", "certs-only"):
            return Layer("signed-data", cms, media_type=ctype)
        if smime_type in ("enveloped-data", ""):
            # Old clients omit smime-type; the CMS content type decides then.
            return Layer(
                _kind_of_cms(cms) if not smime_type else "enveloped-data", cms, media_type=ctype
            )
        raise MalformedMessage(f"{ctype}: unknown smime-type {smime_type!r}")
    if ctype == "multipart/signed":
        boundary = params.get("boundary")
        if not boundary:
            raise MalformedMessage("multipart/signed: no boundary parameter")
        parts = _multipart_parts(body, boundary)
        if len(parts) != 2:
            raise MalformedMessage(f"multipart/signed: {len(parts)} parts instead of 2")
        sig_ctype, _ = _content_type(split_headers(parts[1])[0])
        if sig_ctype not in PKCS7_SIGNATURE:
            raise MalformedMessage(f"multipart/signed: second part is {sig_ctype}, not a signature")
        cms = _cms_from_entity(parts[1], "multipart/signed signature part")
        return Layer("multipart-signed", cms, signed_content=parts[0], media_type=ctype)
    return Layer("plain", media_type=ctype)


def _kind_of_cms(cms: bytes) -> LayerKind:
    from asn1crypto import cms as asn1cms  # local: only for smime-type-less messages

    try:
        ctype = asn1cms.ContentInfo.load(cms)["content_type"].native
    except (ValueError, TypeError) as exc:
        raise MalformedMessage(f"application/pkcs7-mime: not a CMS object ({exc})") from exc
    if ctype == "signed_data":
        return "signed-data"
    if ctype == "authenticated_enveloped_data":
        return "authEnveloped-data"
    return "enveloped-data"


def canonical(content: bytes) -> bytes:
    """CRLF line endings (RFC 8551 3.1.1), what a client does before signing."""
    return re.sub(rb"\r?\n", b"\r\n", content)


def envelope_headers(
    sender: str,
    recipients: tuple[str, ...],
    subject: str,
    date: str | None,
    message_id: str | None,
) -> bytes:
    """The RFC 5322 header lines a mail client writes above the S/MIME entity."""
    lines = [
        f"From: {sender}",
        f"To: {', '.join(recipients)}",
        f"Subject: {subject}",
        f"Date: {date or formatdate(localtime=False)}",
        f"Message-ID: {message_id or make_msgid(domain='osm-conformance.test')}",
        "MIME-Version: 1.0",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def wrap_cms(cms: bytes, smime_type: str, legacy: bool = False, headers: bytes = b"") -> bytes:
    """application/pkcs7-mime entity carrying `cms` (base64), with optional message headers."""
    media = "application/x-pkcs7-mime" if legacy else "application/pkcs7-mime"
    return (
        headers
        + f"Content-Type: {media}; smime-type={smime_type}; name=smime.p7m\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=smime.p7m\r\n\r\n".encode()
        + encode_lines(cms)
    )


def wrap_detached(
    content: bytes, cms: bytes, micalg: str, legacy: bool = False, headers: bytes = b""
) -> bytes:
    """multipart/signed with `content` verbatim as the first part and `cms` as the signature."""
    media = "application/x-pkcs7-signature" if legacy else "application/pkcs7-signature"
    boundary = "----osm-signed-" + secrets.token_hex(12)
    return (
        headers
        + (
            f'Content-Type: multipart/signed; protocol="{media}"; micalg={micalg}; '
            f'boundary="{boundary}"\r\n\r\n'
            "This is an S/MIME signed message\r\n\r\n"
            f"--{boundary}\r\n"
        ).encode()
        + content
        + (
            f"\r\n--{boundary}\r\n"
            f"Content-Type: {media}; name=smime.p7s\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=smime.p7s\r\n\r\n"
        ).encode()
        + encode_lines(cms)
        + f"\r\n--{boundary}--\r\n".encode()
    )
