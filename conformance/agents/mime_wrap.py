"""The thin S/MIME MIME layer around raw CMS, for the tools that lack one.

NSS `cmsutil` and `gpgsm` read and write raw CMS; a mail client around them
(Thunderbird, KMail) adds the MIME of RFC 8551. This module is that minimal
client layer and nothing more: it wraps CMS into the standard media types and,
reading through the core MIME reader, finds the CMS (and, for multipart/signed,
the exact signed bytes) in a message.
It never re-serialises what it unwraps: signatures are over the bytes received.
It is hand-written because the standard library's email package re-folds and
re-encodes parts when it writes them back, which would break signatures.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from email.utils import formatdate, make_msgid
from typing import Literal

from conformance.core import mime
from conformance.core.mime import Entity
from conformance.smime.b64 import encode_lines
from conformance.smime.mime_build import header_value_ok

LayerKind = Literal[
    "enveloped-data", "authEnveloped-data", "signed-data", "multipart-signed", "plain"
]

PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")
PKCS7_SIGNATURE = ("application/pkcs7-signature", "application/x-pkcs7-signature")
# One entity and its parts are all an S/MIME layer needs: deeper nesting is not read.
_LIMITS = mime.MimeLimits(max_depth=2)


class MalformedMessage(ValueError):
    """The message is not the MIME an S/MIME reader expects; the text says where."""


@dataclass(frozen=True)
class Layer:
    kind: LayerKind
    cms: bytes | None = None  # DER/BER of the CMS object, when there is one
    signed_content: bytes | None = None  # multipart/signed: the exact bytes of the signed part
    media_type: str = ""


def _cms_from_entity(entity: Entity, where: str) -> bytes:
    cte = entity.transfer_encoding
    if cte not in ("base64", "binary", "8bit", "7bit"):
        raise MalformedMessage(f"{where}: unsupported Content-Transfer-Encoding {cte!r} for CMS")
    decoding = entity.decoding
    if decoding.defect is not None:
        raise MalformedMessage(f"{where}: the body is not valid base64 ({decoding.defect.message})")
    assert decoding.data is not None
    return decoding.data


def classify(data: bytes) -> Layer:
    """What this entity is, as an S/MIME reader sees it from its Content-Type (read by the
    core MIME reader: the signed part is the exact bytes between the delimiters)."""
    entity = mime.read(data, limits=_LIMITS)
    ctype = entity.content_type
    if ctype in PKCS7_MIME:
        smime_type = (entity.param("smime-type") or "").lower()
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
        found = entity.defects_of("missing-boundary", "no-delimiter", "unterminated-multipart")
        if found:
            raise MalformedMessage(f"multipart/signed: {found[0].message}")
        parts = entity.children
        if len(parts) != 2:
            raise MalformedMessage(f"multipart/signed: {len(parts)} parts instead of 2")
        sig_ctype = parts[1].content_type
        if sig_ctype not in PKCS7_SIGNATURE:
            raise MalformedMessage(f"multipart/signed: second part is {sig_ctype}, not a signature")
        cms = _cms_from_entity(parts[1], "multipart/signed signature part")
        return Layer("multipart-signed", cms, signed_content=parts[0].raw, media_type=ctype)
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
    return mime.canonicalize(content)


def envelope_headers(
    sender: str,
    recipients: tuple[str, ...],
    subject: str,
    date: str | None,
    message_id: str | None,
) -> bytes:
    """The RFC 5322 header lines a mail client writes above the S/MIME entity."""
    for value, what in (
        (subject, "Subject"),
        (date or "", "Date"),
        (message_id or "", "Message-ID"),
    ):
        header_value_ok(value, what)
    lines = [
        f"From: {sender}",
        f"To: {', '.join(recipients)}",
        f"Subject: {subject}",
        f"Date: {date or formatdate(localtime=False)}",
        f"Message-ID: {message_id or make_msgid(domain='osm-conformance.test')}",
        "MIME-Version: 1.0",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def above_tool_entity(headers: bytes, entity: bytes) -> bytes:
    """The client's `headers` above an entity the tool wrote itself (OpenSSL, bcmail),
    with one MIME-Version: the tool's when it wrote one, else the client's, last."""
    headers = headers.replace(b"MIME-Version: 1.0\r\n", b"")
    if not entity.startswith(b"MIME-Version"):
        headers += b"MIME-Version: 1.0\r\n"
    return headers + entity


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
