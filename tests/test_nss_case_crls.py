"""NSS takes the CRL of an issuer only the message carries, without keeping that issuer.

`crlutil -I` refuses a CRL whose issuer is not in the database
(SEC_ERROR_UNKNOWN_ISSUER): every rejection case that makes its own issuer left a
"crlutil could not import" note in NSS's receive log. Adding the issuer to the
database would let it help verify the next message (the harness keeps a message's
certificates temporary, harnesses/nss/README.md); the agent imports such a CRL
with -B instead, which stores it unchecked. NSS checks its signature when it uses
it, against the issuer it then has (the one the message carries): measured here, a
revoking CRL of that issuer refuses its certificate, the same CRL signed by another
key is ignored, and the issuer is in the database neither way.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from smime_read_support import openssl

from conformance.agents.base import ReceiveRequest, Reception
from conformance.agents.nss import NssAgent
from conformance.pki import TestPKI, load_pki
from conformance.pki.certs import crl, end_entity_certificate, intermediate_certificate
from conformance.pki.defects import CRL_NEXT_UPDATE, CRL_THIS_UPDATE
from conformance.rejections.hostile import make_hostile
from conformance.rejections.model import load_cases
from conformance.status import ErrorCode

pytestmark = [
    pytest.mark.engines,
    pytest.mark.skipif(
        any(shutil.which(t) is None for t in ("cmsutil", "certutil", "crlutil", "openssl")),
        reason="NSS's tools (libnss3-tools) and openssl are needed",
    ),
]

BY_ID = {c.id: c for c in load_cases()}
SENDER, RECIPIENT = "pro01", "pro02"
CA_NAME = "TEST AC hors base NSS (TEST ONLY)"


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.fixture
def nss(tmp_path: Path) -> Iterator[NssAgent]:
    with NssAgent(workdir=tmp_path / "nss") as agent:
        yield agent


def _receive(
    nss: NssAgent, pki: TestPKI, message: bytes, crls: list[bytes], tmp_path: Path
) -> Reception:
    paths = []
    tmp_path.mkdir(parents=True, exist_ok=True)
    for index, pem in enumerate(crls):
        path = tmp_path / f"given{index}.crl.pem"
        path.write_bytes(pem)
        paths.append(path)
    recipient = pki.identity(RECIPIENT).party()
    nss.prepare(recipient)
    request = ReceiveRequest(message, recipient, pki.trust_paths(), (*pki.crl_paths(), *paths))
    return nss.receive(request)


def _in_database(nss: NssAgent) -> str:
    listing = subprocess.run(
        ["certutil", "-L", "-d", nss.db], capture_output=True, check=True, text=True
    )
    return listing.stdout


def test_the_path_length_case_s_crl_is_imported(
    nss: NssAgent, pki: TestPKI, tmp_path: Path
) -> None:
    hostile = make_hostile(
        BY_ID["defective-path-length-exceeded"],
        producer="reference",
        pki=pki,
        sender=SENDER,
        recipient=RECIPIENT,
    )
    reception = _receive(nss, pki, hostile.message, list(hostile.crls), tmp_path)
    notes = "\n".join(reception.evidence.notes)
    assert "could not import" not in notes, notes
    assert "imported" in notes and "without its issuer" in notes, notes
    status = reception.status
    assert [e.code for e in status.errors] == [ErrorCode.UNTRUSTED_SIGNER]
    assert "SEC_ERROR_PATH_LEN_CONSTRAINT_INVALID" in status.errors[0].message
    assert "hors contrainte" not in _in_database(nss)  # the case's CA was not added


def _carried_ca(pki: TestPKI, tmp_path: Path) -> tuple[bytes, x509.Certificate, rsa.RSAPrivateKey]:
    """A message signed under a sound CA the root issued, which only the message carries:
    (the message, that CA, its key)."""
    root = pki.root
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    begins, ends = pki.intermediate.not_valid_before_utc, pki.intermediate.not_valid_after_utc
    ca = intermediate_certificate(
        name, ca_key.public_key(), root, pki.root_key(), 0x5EC0, begins, ends
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sender = pki.identity(SENDER)
    signer = end_entity_certificate(
        sender.certificate("sign").subject,
        "sign",
        sender.email,
        key.public_key(),
        ca,
        ca_key,
        0x5EC1,
        begins,
        ends,
    )
    files = {
        "signer.pem": signer.public_bytes(serialization.Encoding.PEM),
        "signer.key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        "ca.pem": ca.public_bytes(serialization.Encoding.PEM),
    }
    for file, data in files.items():
        (tmp_path / file).write_bytes(data)
    message = openssl(
        "cms",
        "-sign",
        "-crlfeol",
        *("-signer", str(tmp_path / "signer.pem"), "-inkey", str(tmp_path / "signer.key")),
        *("-certfile", str(tmp_path / "ca.pem")),
        *("-from", sender.email, "-to", pki.identity(RECIPIENT).email),
    )
    return message, ca, ca_key


def _revoking(ca: x509.Certificate, key: rsa.RSAPrivateKey) -> bytes:
    """The CA's CRL revoking serial 0x5EC1 (the signer), signed with `key`."""
    made = crl(ca, key, 1, CRL_THIS_UPDATE, CRL_NEXT_UPDATE, [(0x5EC1, CRL_THIS_UPDATE)])
    return made.public_bytes(serialization.Encoding.PEM)


def test_nss_uses_the_crl_of_an_issuer_only_the_message_carries(
    nss: NssAgent, pki: TestPKI, tmp_path: Path
) -> None:
    message, ca, ca_key = _carried_ca(pki, tmp_path)
    reception = _receive(nss, pki, message, [_revoking(ca, ca_key)], tmp_path)
    status = reception.status
    # cmsutil's signer status reads SigningCertNotTrusted, its error names the revocation
    assert len(status.errors) == 1 and not status.services.authentication, status.errors
    assert "SEC_ERROR_REVOKED_CERTIFICATE" in status.errors[0].message
    assert status.errors[0].code == ErrorCode.REVOKED_SIGNER
    assert CA_NAME not in _in_database(nss)


def test_nss_ignores_such_a_crl_signed_by_another_key(
    nss: NssAgent, pki: TestPKI, tmp_path: Path
) -> None:
    """-B skips the checks at import only: the signature is checked when NSS uses it."""
    message, ca, _ = _carried_ca(pki, tmp_path)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    reception = _receive(nss, pki, message, [_revoking(ca, other)], tmp_path)
    status = reception.status
    assert status.errors == [], status.errors
    assert status.services.authentication
    assert CA_NAME not in _in_database(nss)


def test_the_pki_s_revoked_signer_is_revoked_not_untrusted(
    nss: NssAgent, pki: TestPKI, tmp_path: Path
) -> None:
    """The rejection case defective-revoked: NSS refuses it as revoked, as it says."""
    hostile = make_hostile(
        BY_ID["defective-revoked"],
        producer="reference",
        pki=pki,
        sender=SENDER,
        recipient=RECIPIENT,
    )
    status = _receive(nss, pki, hostile.message, [], tmp_path).status
    assert [e.code for e in status.errors] == [ErrorCode.REVOKED_SIGNER], status.errors


def test_a_crl_given_again_in_another_file_is_not_imported_again(
    nss: NssAgent, pki: TestPKI, tmp_path: Path
) -> None:
    """A rejection case gives its CRL in a new file at each reception: NSS knows it by its
    content, so the second reception imports nothing."""
    message, ca, ca_key = _carried_ca(pki, tmp_path)
    crl_pem = _revoking(ca, ca_key)
    first = _receive(nss, pki, message, [crl_pem], tmp_path / "one")
    second = _receive(nss, pki, message, [crl_pem], tmp_path / "two")
    imported = "without its issuer"
    assert any(imported in n for n in first.evidence.notes), first.evidence.notes
    assert not any(imported in n for n in second.evidence.notes), second.evidence.notes
    assert second.status.errors[0].code == ErrorCode.REVOKED_SIGNER  # still used
