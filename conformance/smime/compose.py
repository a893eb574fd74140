"""Send side of the engine: a user's MIME entity in, a whole RFC 5322 message out.

The layers (sign, encrypt, and their orders) are applied as the options say;
each layer is a MIME entity whose bytes are kept exactly as produced, so the
signed part of a multipart/signed message is byte for byte what was signed.
All randomness (content keys, IVs, padding, boundaries, Message-ID) comes from
`rng`, so a seeded generator gives identical messages (PSS salts excepted:
the token draws them).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Literal

from cryptography import x509

from conformance.core.vocabulary import ContentCipher
from conformance.errors import UserError
from conformance.smime.algorithms import is_aead, micalg_name
from conformance.smime.ciphers import Rng
from conformance.smime.cms_build import RecipientError, build_enveloped_data, build_signed_data
from conformance.smime.mime_build import (
    Headers,
    SmimeType,
    canonical_content,
    cms_entity,
    encode_content,
    message_headers,
    multipart_signed,
)
from conformance.smime.options import SendOptions
from conformance.token.base import PrivateKeyHandle

__all__ = [
    "ComposeError",
    "Headers",
    "Operation",
    "build_message",
    "encrypt_entity",
    "new_boundary",
    "recipients_and_date",
    "sign_entity",
]

Operation = Literal["sign", "encrypt", "sign-encrypt"]


class ComposeError(UserError):
    """The message cannot be built as asked (no signer, no recipient, bad header)."""


def new_boundary(rng: Rng, avoid: bytes) -> str:
    while True:
        boundary = "----=_smime_" + rng(12).hex()
        if boundary.encode("ascii") not in avoid:
            return boundary


def sign_entity(
    entity: bytes,
    options: SendOptions,
    signer: PrivateKeyHandle,
    chain: Sequence[x509.Certificate],
    rng: Rng,
    signing_time: datetime,
    capabilities: Sequence[ContentCipher],
) -> bytes:
    """One signature layer around a MIME entity: multipart/signed or opaque signed-data."""
    sign = options.sign
    detached = sign.format == "multipart-signed"
    der = build_signed_data(
        entity,
        signer,
        sign,
        detached=detached,
        chain=chain,
        signing_time=signing_time,
        capabilities=capabilities,
    )
    if not detached:
        return cms_entity(der, "signed-data", options.mime)
    micalg = micalg_name(sign.digest, sign.micalg_case)
    return multipart_signed(entity, der, micalg, new_boundary(rng, entity), options.mime)


def encrypt_entity(
    entity: bytes, options: SendOptions, recipients: Sequence[x509.Certificate], rng: Rng
) -> bytes:
    """One encryption layer: enveloped-data, or authEnveloped-data for AES-GCM."""
    try:
        der = build_enveloped_data(entity, recipients, options.encrypt, rng)
    except RecipientError as exc:
        raise ComposeError(str(exc)) from None
    kind: SmimeType = "authEnveloped-data" if is_aead(options.encrypt.content) else "enveloped-data"
    return cms_entity(der, kind, options.mime)


def recipients_and_date(
    operation: Operation,
    options: SendOptions,
    signer: PrivateKeyHandle | None,
    recipients: Sequence[x509.Certificate],
    self_certificate: x509.Certificate | None,
    headers: Headers,
) -> tuple[list[x509.Certificate], datetime]:
    """What every build checks first: the operation, its key and recipients (the
    sender's own certificate added under encrypt_to_self), the message date with its
    time zone. Returns (all recipients, date); ComposeError names what is missing."""
    encrypts = operation in ("encrypt", "sign-encrypt")
    if operation not in ("sign", "encrypt", "sign-encrypt"):
        raise ComposeError(f"unknown operation {operation!r}: expected sign, encrypt, sign-encrypt")
    if operation != "encrypt" and signer is None:
        raise ComposeError(f"operation {operation} needs a signing key")
    all_recipients = list(recipients)
    if encrypts and options.encrypt.encrypt_to_self and self_certificate is not None:
        all_recipients.append(self_certificate)
    if encrypts and not all_recipients:
        raise ComposeError(f"operation {operation} needs at least one recipient certificate")
    date = headers.date or datetime.now(UTC)
    if date.tzinfo is None:
        raise ComposeError("the message date must carry a time zone")
    return all_recipients, date


def build_message(
    content: bytes,
    operation: Operation,
    options: SendOptions,
    signer: PrivateKeyHandle | None,
    chain: Sequence[x509.Certificate],
    recipients: Sequence[x509.Certificate],
    headers: Headers,
    rng: Rng = os.urandom,
    self_certificate: x509.Certificate | None = None,
    *,
    capabilities: Sequence[ContentCipher] | None = None,
) -> bytes:
    """The whole message (RFC 5322 headers + S/MIME entity), CRLF line endings.

    `content` is the MIME entity the user composed. Its 8-bit parts are
    re-encoded per `options.mime.content_encoding`, and it is put in canonical
    CRLF form unless `options.sign.canonicalize` is False (a quirk). `chain`
    holds the intermediates sent when certificates == "chain";
    `self_certificate` is added as a recipient when encrypt_to_self is set.
    `capabilities` is the SMIMECapabilities list (default: the encrypt cipher).
    The signing time is `headers.date` (or now).
    """
    all_recipients, date = recipients_and_date(
        operation, options, signer, recipients, self_certificate, headers
    )
    signing_time = date.astimezone(UTC)
    caps = tuple(capabilities) if capabilities is not None else (options.encrypt.content,)

    if options.sign.canonicalize:
        entity = canonical_content(content, options.mime.content_encoding)
    else:
        entity = encode_content(content, options.mime.content_encoding)

    def sign(data: bytes) -> bytes:
        assert signer is not None
        return sign_entity(data, options, signer, chain, rng, signing_time, caps)

    def encrypt(data: bytes) -> bytes:
        return encrypt_entity(data, options, all_recipients, rng)

    if operation == "sign":
        entity = sign(entity)
    elif operation == "encrypt":
        entity = encrypt(entity)
    elif options.order == "sign-then-encrypt":
        entity = encrypt(sign(entity))
    elif options.order == "encrypt-then-sign":
        entity = sign(encrypt(entity))
    else:  # triple-wrap (RFC 2634 1.1): sign, encrypt, sign
        entity = sign(encrypt(sign(entity)))

    try:
        top = message_headers(replace(headers, date=date), options.mime.charset, rng(16))
    except ValueError as exc:
        raise ComposeError(f"message headers: {exc}") from None
    return top + entity
