"""The wire format of the Apicrypt model: an armoured, encrypted block in a plain mail.

  -----BEGIN APICRYPT MODEL MESSAGE-----
  Key-Owner: <whose envelope key encrypts it: the sender's to the relay,
              the recipient's from the relay>
  Nonce: <base64, 12 bytes>

  <base64 of AES-256-GCM(envelope key, nonce, payload, aad = the header lines)>
  -----END APICRYPT MODEL MESSAGE-----

payload = signature line + CRLF + the MIME entity the user composed, where
the signature line is "Signature: <from address> <base64 Ed25519 signature
over from-address NUL entity>" or "Signature: none". The format is the
project's invention: simple, so that what it models (relay, per-user keys,
own signature) is plain to see.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conformance.core.apicrypt_mark import BEGIN, END, MODEL_HEADER
from conformance.core.vocabulary import MODEL_LABEL
from conformance.pki.apicrypt_keys import ApicryptKey, public_signing_key
from conformance.smime.b64 import encode_lines
from conformance.smime.mime_build import header_value_ok

RECIPIENTS_HEADER = "X-Apicrypt-Recipients"

Rng = Callable[[int], bytes]
NONCE_BYTES = 12  # the AES-GCM nonce of every block (RFC 5116 3.2's recommended length)


class WireError(Exception):
    """The block is not a well-formed Apicrypt-model block (or not for this key)."""

    def __init__(self, message: str, *, undecryptable: bool = False) -> None:
        super().__init__(message)
        self.undecryptable = undecryptable  # well formed, but not for this key / altered


@dataclass(frozen=True)
class Sealed:
    key_owner: str
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class Opened:
    sender: str | None  # who signed, when signed
    signature: bytes | None
    entity: bytes

    def signature_valid(self) -> bool | None:
        if self.signature is None or self.sender is None:
            return None
        try:
            public_signing_key(self.sender).verify(
                self.signature, _signed_bytes(self.sender, self.entity)
            )
        except InvalidSignature:
            return False
        return True


def _signed_bytes(sender: str, entity: bytes) -> bytes:
    return sender.lower().encode() + b"\0" + entity


def _aad(key_owner: str, nonce: bytes) -> bytes:
    return f"Key-Owner: {key_owner}\r\nNonce: {base64.b64encode(nonce).decode()}".encode()


def seal(key: ApicryptKey, payload: bytes, rng: Rng) -> Sealed:
    nonce = rng(NONCE_BYTES)
    ct = AESGCM(key.envelope_key).encrypt(nonce, payload, _aad(key.owner, nonce))
    return Sealed(key.owner, nonce, ct)


def unseal(key: ApicryptKey, sealed: Sealed) -> bytes:
    if sealed.key_owner.lower() != key.owner.lower():
        raise WireError(
            f"encrypted for {sealed.key_owner}'s key, not {key.owner}'s", undecryptable=True
        )
    try:
        return AESGCM(key.envelope_key).decrypt(
            sealed.nonce, sealed.ciphertext, _aad(sealed.key_owner, sealed.nonce)
        )
    except InvalidTag:
        raise WireError(
            "the envelope does not decrypt (altered, or another key)", undecryptable=True
        ) from None


def make_payload(entity: bytes, signer: ApicryptKey | None) -> bytes:
    if signer is None:
        return b"Signature: none\r\n" + entity
    sig = signer.signing_key().sign(_signed_bytes(signer.owner, entity))
    return f"Signature: {signer.owner} {base64.b64encode(sig).decode()}\r\n".encode() + entity


def parse_payload(payload: bytes) -> Opened:
    line, sep, entity = payload.partition(b"\r\n")
    if not sep or not line.startswith(b"Signature: "):
        raise WireError("payload has no Signature line")
    value = line[len(b"Signature: ") :].decode("ascii", "replace").split()
    if value == ["none"]:
        return Opened(None, None, entity)
    if len(value) != 2:
        raise WireError("payload Signature line is malformed")
    try:
        sig = base64.b64decode(value[1], validate=True)
    except binascii.Error:
        raise WireError("payload signature is not base64") from None
    return Opened(value[0], sig, entity)


def armour(sealed: Sealed) -> bytes:
    body = encode_lines(sealed.ciphertext)
    return (
        BEGIN
        + f"\r\nKey-Owner: {sealed.key_owner}\r\n".encode()
        + f"Nonce: {base64.b64encode(sealed.nonce).decode()}\r\n\r\n".encode()
        + body
        + END
        + b"\r\n"
    )


_FIELD = re.compile(rb"^([A-Za-z-]+): (.*)$")


def dearmour(message: bytes) -> Sealed:
    start = message.find(BEGIN)
    end = message.find(END, start + 1)
    if start < 0 or end < 0:
        raise WireError("no APICRYPT MODEL block in the message")
    block = message[start + len(BEGIN) : end].replace(b"\r\n", b"\n").strip(b"\n")
    head, _, body = block.partition(b"\n\n")
    fields: dict[bytes, bytes] = {}
    for line in head.split(b"\n"):
        m = _FIELD.match(line)
        if not m:
            raise WireError(f"bad block header line {line[:60]!r}")
        fields[m.group(1).lower()] = m.group(2).strip()
    try:
        owner = fields[b"key-owner"].decode("ascii")
        nonce = base64.b64decode(fields[b"nonce"], validate=True)
        ct = base64.b64decode(b"".join(body.split()), validate=True)
    except KeyError as exc:
        raise WireError(f"block lacks the {exc.args[0].decode()} field") from None
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise WireError(f"block is not well encoded: {exc}") from None
    if len(nonce) != NONCE_BYTES:
        # AES-GCM itself refuses some lengths with a ValueError: malformed, not a crash.
        raise WireError(f"block Nonce is {len(nonce)} bytes, not {NONCE_BYTES}")
    return Sealed(owner, nonce, ct)


def mail(
    block: bytes,
    *,
    from_addr: str,
    to: list[str],
    subject: str,
    date: str,
    message_id: str,
    recipients_for_relay: list[str] | None = None,
) -> bytes:
    from email.header import Header

    for value, what in ((subject, "Subject"), (date, "Date"), (message_id, "Message-ID")):
        header_value_ok(value, what)
    # Encoded words for a non-ASCII subject, folded with CRLF as the rest of the header
    # (Header's default fold is a bare LF).
    written_subject = subject
    if not subject.isascii():
        written_subject = Header(subject, "utf-8").encode(linesep="\r\n")
    headers = [
        f"From: {from_addr}",
        f"To: {', '.join(to)}",
        f"Subject: {written_subject}",
        f"Date: {date}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "Content-Transfer-Encoding: 7bit",
        f"{MODEL_HEADER}: {MODEL_LABEL}",
    ]
    if recipients_for_relay:
        headers.append(f"{RECIPIENTS_HEADER}: {', '.join(recipients_for_relay)}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + block


def unfolded(value: str | None) -> str:
    """A header field's value as one line (RFC 5322 2.2.3: a line break before a blank is
    folding): what `mail` takes, which refuses any other line break."""
    return re.sub(r"\r?\n(?=[ \t])", "", value or "")


def headers_of(message: bytes) -> email.message.Message:
    head, _, _ = message.partition(b"\r\n\r\n")
    return email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(
        head + b"\r\n\r\n"
    )
