"""The functions a product offers, and the security services each must deliver.

A function is what a user does (send a signed letter, an HPRIM result, a
letter with attachments); the operation is what the S/MIME engine does for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Literal

from conformance.core.vocabulary import FUNCTIONS, SERVICES, Function, Service
from conformance.status import Services

Operation = Literal["sign", "encrypt", "sign-encrypt"]

REQUIRED_SERVICES: dict[Function, tuple[Service, ...]] = {
    "sign": ("authentication", "integrity", "non_repudiation"),
    "encrypt": ("confidentiality",),
    "sign-encrypt": SERVICES,
    "hprim-net": SERVICES,  # HPRIM-Net: HPRIM signed with the CPS card and encrypted
    "attachments": SERVICES,
    "first-contact": SERVICES,  # a letter as sign-encrypt, to a recipient never met
}

OPERATION: dict[Function, Operation] = {
    "sign": "sign",
    "encrypt": "encrypt",
    "sign-encrypt": "sign-encrypt",
    "hprim-net": "sign-encrypt",
    "attachments": "sign-encrypt",
    "first-contact": "sign-encrypt",
}
# The functions whose sender is handed no certificate for the recipient: it must find it.
FIRST_CONTACT: frozenset[Function] = frozenset({"first-contact"})
# The functions whose messages differ from one another: a first contact's message is a
# sign-encrypt one (what differs is how its sender found the certificate), so the
# vectors of a product the suite cannot drive, and the golden corpus, leave it out.
MESSAGE_FUNCTIONS: tuple[Function, ...] = tuple(f for f in FUNCTIONS if f not in FIRST_CONTACT)

__all__ = [
    "FIRST_CONTACT",
    "MESSAGE_FUNCTIONS",
    "OPERATION",
    "REQUIRED_SERVICES",
    "services_held",
    "shortfall",
]


def services_held(services: Services) -> dict[str, bool]:
    """The four services of a status, by name (what results and readings record)."""
    return asdict(services)


def shortfall(function: Function, held: Mapping[str, bool], content: bytes | None) -> str | None:
    """Why a reception without error still does not deliver `function`: a required
    service not held, or no content recovered; None when it does. The one rule the
    matrix and `vectors verify` judge by."""
    missing = [s for s in REQUIRED_SERVICES[function] if not held.get(s)]
    if missing:
        return "services not held: " + ", ".join(m.replace("_", "-") for m in missing)
    if content is None:
        return "receiver recovered no content"
    return None
