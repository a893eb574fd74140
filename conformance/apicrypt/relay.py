"""The trusted relay of the Apicrypt model: a real step of every Apicrypt exchange.

The relay is this project's model choice, not a fact of the source document
(whose "Relais" column is about integration with practice software).

The sender encrypts with its own key and mails the relay; the relay, which
holds every user's key, decrypts and re-encrypts for each recipient's key.
The payload (content and Apicrypt signature) passes through unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from conformance.apicrypt import RELAY_ADDRESS
from conformance.apicrypt.wire import (
    RECIPIENTS_HEADER,
    WireError,
    armour,
    dearmour,
    headers_of,
    mail,
    seal,
    unfolded,
    unseal,
)
from conformance.core.apicrypt_mark import is_apicrypt
from conformance.mail.delivery import DeliveryError
from conformance.pki.apicrypt_keys import issue_key


def addressed_to_relay(message: bytes) -> bool:
    if RELAY_ADDRESS.encode("ascii") not in message.partition(b"\r\n\r\n")[0]:
        return False  # the address is nowhere in the header: no need to parse it
    head = headers_of(message)
    return RELAY_ADDRESS in (head.get("To") or "") and is_apicrypt(message)


def forward(message: bytes, recipient: str, rng: Callable[[int], bytes] = os.urandom) -> bytes:
    """The message the relay sends on to `recipient`."""
    head = headers_of(message)
    wanted = [
        a.strip().lower() for a in (head.get(RECIPIENTS_HEADER) or "").split(",") if a.strip()
    ]
    if recipient.lower() not in wanted:
        raise DeliveryError(f"relay: {recipient} is not a recipient of this message")
    try:
        sealed = dearmour(message)
        payload = unseal(issue_key(sealed.key_owner), sealed)
    except WireError as exc:
        raise DeliveryError(f"relay refused the message: {exc}") from None
    block = armour(seal(issue_key(recipient), payload, rng))
    return f"Received: by {RELAY_ADDRESS} (Apicrypt model relay)\r\n".encode() + mail(
        block,
        from_addr=unfolded(head.get("From")),
        to=[recipient],
        subject=unfolded(str(head.get("Subject") or "")),
        date=unfolded(head.get("Date")),
        message_id=unfolded(head.get("Message-ID")),
    )


def transport(message: bytes, recipient: str) -> bytes:
    """In-memory mail transport: through the relay when the message is addressed to it."""
    if addressed_to_relay(message):
        return forward(message, recipient)
    return message
