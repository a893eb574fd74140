"""Test support for the validator: a letter signed by an identity of the test PKI."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography import x509

from conformance.paths import PKI_DIR, REPO_DIR
from conformance.pki.model import load_pki
from conformance.smime.compose import Headers, build_message
from conformance.smime.options import ReceiveOptions, SendOptions
from conformance.token.software import SoftwareKey

PKI = load_pki()
TEXT = b"Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n"
# The reference's signed golden vector, a header block to build messages on, and the test
# PKI's root and CRLs as trust: what the tests of hostile and malformed messages start from.
SIGNED = (REPO_DIR / "vectors" / "golden" / "reference" / "sign.eml").read_bytes()
HEADER = (
    b"From: a@b.example\r\nTo: c@d.example\r\nDate: Tue, 15 Jul 2025 10:00:00 +0200\r\n"
    b"Message-ID: <x@y.example>\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
)
TRUST = {
    "trust": [PKI_DIR / "ca" / "root.pem"],
    "crls": [PKI_DIR / "ca" / "root.crl.pem", PKI_DIR / "ca" / "intermediate.crl.pem"],
}


def signed_letter(
    sender: str = "pro01",
    carried: Sequence[x509.Certificate] | None = None,
    subject: str = "Compte rendu",
) -> bytes:
    """`TEXT` signed by `sender` for pro02 on 1 March 2025, carrying its signature
    certificate and `carried` (by default the intermediate CA), the same bytes each time."""
    who, to = PKI.identities[sender], PKI.identities["pro02"]
    headers = Headers(
        from_addr=who.email,
        to=[to.email],
        subject=subject,
        date=datetime(2025, 3, 1, 12, tzinfo=UTC),
    )
    signer = SoftwareKey(who.private_key("sign"), who.certificate("sign"), sender)
    chain = [PKI.intermediate] if carried is None else list(carried)
    return build_message(
        TEXT, "sign", SendOptions(), signer, chain, [], headers, rng=random.Random(1).randbytes
    )


def pro02_key() -> SoftwareKey:
    """pro02's encryption key, in software: the recipient of the messages built here."""
    pro02 = PKI.identities["pro02"]
    return SoftwareKey(pro02.private_key("encrypt"), pro02.certificate("encrypt"), "pro02")


# What the reference receiver is given besides the message and pro02's key: the test PKI.
AS_PRO02 = {
    "trust": [PKI.root],
    "crls": list(PKI.crls),
    "directory": None,
    "options": ReceiveOptions(),
    "intermediates": [PKI.intermediate],
}
