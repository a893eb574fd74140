"""A directory's own failures, each put in front of a sender: the fault cases.

Four live in the tree (one recipient each, so one slapd serves them all): the
recipient is absent; only the signature certificate is published; an expired
encryption certificate is published before its renewal; the published
certificate is revoked. Two are the directory itself: down (nothing listens),
slow (it accepts and never answers). What a sender must do is in EXPECTED: refuse
with a reason, or, beside a renewal, pick the renewal. Never encrypt to a wrong key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from cryptography import x509

from conformance.directory import slapd
from conformance.directory.tree import BASE_DN, Tree, build_tree, der, person_dn
from conformance.pki.certs import end_entity_certificate
from conformance.pki.model import Identity, TestPKI

Fault = Literal["absent", "signature-only", "expired-beside-renewal", "revoked", "down", "slow"]
FAULTS: tuple[Fault, ...] = get_args(Fault)

DESCRIPTION: dict[Fault, str] = {
    "absent": "the recipient has no entry in the directory",
    "signature-only": "the entry publishes the authentication and signature certificates only",
    "expired-beside-renewal": "an expired encryption certificate is published before its renewal",
    "revoked": "the only encryption certificate published is on its CA's CRL",
    "down": "nothing listens at the directory's address",
    "slow": "the directory accepts the connection and never answers",
}
# What a sender must do: refuse to send, or send to the valid renewal.
Expected = Literal["refuse", "renewal"]
EXPECTED: dict[Fault, Expected] = {
    f: ("renewal" if f == "expired-beside-renewal" else "refuse") for f in FAULTS
}


@dataclass(frozen=True)
class FaultTree:
    """The tree with the four entry faults, and who the recipient of each is."""

    tree: Tree
    recipients: dict[Fault, Identity]
    expired: x509.Certificate  # the expired certificate published before the renewal


def expired_predecessor(pki: TestPKI, identity: Identity) -> x509.Certificate:
    """An expired encryption certificate for `identity`: same subject and address, the
    intermediate CA's signature, validity 2015-2019, and a key the identity does not hold
    (the defect-expired identity's), so a message encrypted to it cannot be read."""
    current = identity.certificate("encrypt")
    old_key = pki.defective("expired").certificate("encrypt").public_key()
    return end_entity_certificate(
        current.subject,
        "encrypt",
        identity.email,
        old_key,  # type: ignore[arg-type]
        pki.intermediate,
        pki.intermediate_key(),
        serial=current.serial_number ^ 0x5A5A5A5A,
        not_before=datetime(2015, 1, 1, tzinfo=UTC),
        not_after=datetime(2019, 12, 31, 23, 59, 59, tzinfo=UTC),
    )


def fault_tree(pki: TestPKI, base: str = BASE_DN) -> FaultTree:
    valid = pki.valid_identities()
    absent, signature_only, renewed = valid[-3], valid[-2], valid[-1]
    recipients: dict[Fault, Identity] = {
        "absent": absent,
        "signature-only": signature_only,
        "expired-beside-renewal": renewed,
        "revoked": pki.defective("revoked"),
    }
    tree = build_tree(pki, base, [i for i in pki.identities.values() if i.id != absent.id])
    entry = tree.entry(person_dn(signature_only, base))
    assert entry is not None
    entry.attributes["userCertificate;binary"] = [
        der(signature_only.certificate(r)) for r in ("auth", "sign")
    ]
    expired = expired_predecessor(pki, renewed)
    entry = tree.entry(person_dn(renewed, base))
    assert entry is not None
    entry.attributes["userCertificate;binary"] = [
        der(renewed.certificate("auth")),
        der(renewed.certificate("sign")),
        der(expired),  # first of the two: a sender taking the first one takes the wrong one
        der(renewed.certificate("encrypt")),
    ]
    return FaultTree(tree, recipients, expired)


@contextlib.contextmanager
def fault_directories(pki: TestPKI) -> Iterator[tuple[FaultTree, dict[Fault, slapd.Endpoint]]]:
    """Every fault at once: one slapd with the fault tree, a dead port, a silent one."""
    faults = fault_tree(pki)
    with (
        slapd.serve(faults.tree) as served,
        slapd.down(faults.tree.base) as dead,
        slapd.silent(faults.tree.base) as mute,
    ):
        where: dict[Fault, slapd.Endpoint] = {f: served for f in faults.recipients}
        where |= {"down": dead, "slow": mute}
        yield faults, where
