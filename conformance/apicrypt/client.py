"""An Apicrypt-model user agent: what a product that speaks the model sends and reads.

How far a product goes is its profile's business (`receive.apicrypt`): a full
Apicrypt client checks the Apicrypt signature, an S/MIME product that holds an
Apicrypt key may only open the envelope.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from conformance.apicrypt import RELAY_ADDRESS
from conformance.apicrypt.wire import (
    WireError,
    armour,
    dearmour,
    headers_of,
    mail,
    make_payload,
    parse_payload,
    seal,
    unseal,
)
from conformance.core.author import author
from conformance.pki.apicrypt_keys import load_key
from conformance.status import ErrorCode, Status

ALGORITHM_ENVELOPE = "apicrypt-model-aes256-gcm"
ALGORITHM_SIGNATURE = "apicrypt-model-ed25519"


class ApicryptSendError(Exception):
    pass


def send(
    entity: bytes,
    *,
    identity_dir: Path,
    from_addr: str,
    recipients: list[str],
    subject: str,
    date: str,
    message_id: str,
    sign: bool,
    rng: Callable[[int], bytes] = os.urandom,
) -> bytes:
    """The mail to the relay: encrypted with the sender's own key, signed if asked."""
    key = load_key(identity_dir)
    if key is None:
        raise ApicryptSendError(f"{identity_dir}: no Apicrypt key issued to this user")
    block = armour(seal(key, make_payload(entity, key if sign else None), rng))
    return mail(
        block,
        from_addr=from_addr,
        to=[RELAY_ADDRESS],
        subject=subject,
        date=date,
        message_id=message_id,
        recipients_for_relay=recipients,
    )


def read(
    message: bytes,
    *,
    identity_dir: Path,
    reads: Literal["envelope-only", "full"],
    holds_key: bool,
    require_signature: bool,
) -> tuple[bytes | None, Status]:
    status = Status(layers=["apicrypt-model"])
    key = load_key(identity_dir) if holds_key else None
    if key is None:
        status.add_error(ErrorCode.CANNOT_DECRYPT, "no Apicrypt key: this user holds none")
        return None, status
    try:
        opened = parse_payload(unseal(key, dearmour(message)))
    except WireError as exc:
        # Well formed but not for this key, or altered: cannot-decrypt; else malformed.
        code = ErrorCode.CANNOT_DECRYPT if exc.undecryptable else ErrorCode.MALFORMED
        status.add_error(code, f"Apicrypt model: {exc}")
        return None, status
    status.encrypted = status.decrypted = True
    status.algorithms.content_encryption.append(ALGORITHM_ENVELOPE)
    status.services.confidentiality = True
    status.signed = opened.signature is not None
    if status.signed:
        status.algorithms.signature.append(ALGORITHM_SIGNATURE)
    if reads == "full" and status.signed:
        valid = opened.signature_valid()
        status.signature_valid = valid
        status.chain_valid = valid  # the association's directory vouches for the key
        if valid:
            status.services.integrity = True
            # The signature authenticates its signer; the author only when the header
            # names that signer (RFC 8550 3, as the S/MIME reader judges it).
            if _signer_is_author(message, opened.sender or "", status):
                status.services.authentication = True
                # An asymmetric signature the sender alone can make; not a CPS signature
                # (hence "compliant: yes but"), which the compliance criterion records.
                status.services.non_repudiation = True
        else:
            status.add_error(ErrorCode.BAD_SIGNATURE, "Apicrypt model signature does not verify")
    if require_signature and not status.signed:
        status.add_error(ErrorCode.NO_SIGNATURE, "Apicrypt message carries no Apicrypt signature")
    return opened.entity, status


def _signer_is_author(message: bytes, signer: str, status: Status) -> bool:
    """Whether the message's one author (From:, or Sender: beside several From:) is the
    Apicrypt signer; else a signer-mismatch error in `status`."""
    head = headers_of(message)
    written = author(head.get_all("From", []), head.get_all("Sender", []))
    if written.address is not None and written.address == signer.lower():
        return True
    why = written.problem or f"{written.describe()} differs from the Apicrypt signer"
    status.add_error(
        ErrorCode.SIGNER_MISMATCH,
        f"Apicrypt model: {why} (signer: {signer}); "
        "the signature itself verifies (integrity holds)",
    )
    return False
