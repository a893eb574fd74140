"""Test support for the validator: a letter signed by an identity of the test PKI, and the
helpers the tests of hostile messages share (check, edit, read the CMS object)."""

from __future__ import annotations

import base64
import random
from collections.abc import Sequence
from datetime import UTC, datetime

from asn1crypto import cms
from cryptography import x509

from conformance.check import CheckReport, run_checks
from conformance.check.model import Check
from conformance.fuzz.mutate import pkcs7_bodies
from conformance.paths import PKI_DIR, REPO_DIR
from conformance.pki.model import load_pki
from conformance.smime.compose import Headers, build_message
from conformance.smime.options import ReceiveOptions, SendOptions
from conformance.status import ErrorCode, Status
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
# An OID whose third arc is 14,707 bits long, past what the reader reads, and how it is named.
HUGE = b"\x2a" + b"\xff" * 2100 + b"\x7f"  # 1.2.<an arc of 14 707 bits>
SHOWN = f"1.2.[...] ({len(HUGE)} octets)"


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


def checked(message: bytes, identity: str | None = None) -> CheckReport:
    """`check`'s report on `message` with `TRUST`, as `identity` of the test PKI (its keys
    open an encrypted message) when one is named."""
    identity_dir = None if identity is None else PKI_DIR / "identities" / identity
    return run_checks(message, identity_dir=identity_dir, trust=TRUST["trust"], crls=TRUST["crls"])


def failures(report: CheckReport, rule_id: str) -> list[Check]:
    """The checks of `rule_id` that did not succeed."""
    return [c for c in report.by_id(rule_id) if c.status != "SUCCESS"]


def errors_of(status: Status) -> list[tuple[ErrorCode, str]]:
    """A receiver's errors as (code, message) pairs, to compare whole."""
    return [(e.code, e.message) for e in status.errors]


def edit_signed(old: bytes, new: bytes) -> bytes:
    """`SIGNED` with the first `old` replaced by `new` (which must be there)."""
    assert old in SIGNED
    return SIGNED.replace(old, new, 1)


def cms_der(message: bytes) -> bytes:
    """The DER of the message's (first) PKCS#7 part."""
    start, end, _ = pkcs7_bodies(message)[0]
    return base64.b64decode(b"".join(message[start:end].split()))


def data_part(content: bytes) -> bytes:
    """An application/pkcs7-mime part holding a CMS Data object: no key needed to read it."""
    der = cms.ContentInfo({"content_type": "data", "content": content}).dump()
    return (
        b"Content-Type: application/pkcs7-mime; smime-type=data; name=smime.p7m\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(der).replace(b"\n", b"\r\n")
    )


def base64_crlf(data: bytes) -> bytes:
    """`data` in base64 lines ended by CRLF, as a MIME body."""
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def imaging_letter(
    data: bytes, part_header: bytes = b"Content-Type: application/dicom\r\n"
) -> bytes:
    """A letter with one attachment, `data` in base64 under `part_header`, a MIME entity."""
    return (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCompte rendu.\r\n"
        b"--b\r\n" + part_header + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64_crlf(data) + b"--b--\r\n"
    )  # fmt: skip


def sent_by_pro01(
    operation: str, content: bytes, message_id: str = "<large@osm-test.example>"
) -> bytes:
    """`content` sent by pro01 to pro02 (software keys, a fixed date and randomness)."""
    sender, receiver = PKI.identities["pro01"], PKI.identities["pro02"]
    signer = SoftwareKey(sender.private_key("sign"), sender.certificate("sign"), "pro01")
    headers = Headers(
        from_addr=sender.email,
        to=[receiver.email],
        subject="Imagerie",
        date=datetime(2026, 12, 4, tzinfo=UTC),
        message_id=message_id,
    )
    return build_message(
        content, operation, SendOptions(), signer, PKI.intermediates(),  # type: ignore[arg-type]
        [receiver.certificate("encrypt")], headers, rng=random.Random(1).randbytes,
    )  # fmt: skip
