"""The two path-validation rejection cases: a certificate issued by an end entity, and one
with an unknown critical extension. Each hostile certificate must be what its case says
(the one defect, everything else valid), and the suite's validator must refuse it for
that defect, not for another."""

from __future__ import annotations

import shutil

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.core import cms as core_cms
from conformance.core import mime, oids
from conformance.pki import TestPKI, load_pki
from conformance.rejections.hostile import Hostile, make_hostile
from conformance.rejections.model import load_cases
from conformance.smime import der
from conformance.smime.validate import validate_signer

BY_ID = {c.id: c for c in load_cases()}
SENDER, RECIPIENT, COLLEAGUE = "pro01", "pro02", "pro03"
PRODUCERS = ["reference"] + (["openssl"] if shutil.which("openssl") else [])
ISSUED = "wrong-signer-issued-by-end-entity"
CRITICAL = "defective-unknown-critical-extension"


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


def _signed(hostile: Hostile) -> core_cms.SignedParts:
    top = mime.read(hostile.message)
    entity = top.children[1] if top.content_type == "multipart/signed" else top
    data = entity.decoded()
    assert data is not None
    signed = core_cms.parse(data).content
    assert isinstance(signed, core_cms.SignedParts)
    return signed


def _carried(hostile: Hostile) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The signer's certificate (the one its SignerIdentifier names) and the others carried."""
    signed = _signed(hostile)
    certificates = [x509.load_der_x509_certificate(c) for c in signed.certificates]
    sid = signed.signers[0].sid
    (signer,) = [
        c
        for c in certificates
        if (c.serial_number, c.issuer.public_bytes()) == (sid.serial, sid.issuer)
    ]
    return signer, [c for c in certificates if c is not signer]


def _validate(pki: TestPKI, signer: x509.Certificate, others: list[x509.Certificate]) -> str:
    result = validate_signer(signer, trust=[pki.root], intermediates=others, crls=pki.crls)
    assert not result.valid and result.code is not None
    return result.message


def _email(certificate: x509.Certificate) -> list[str]:
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return names.get_values_for_type(x509.RFC822Name)


@pytest.mark.parametrize("producer", PRODUCERS)
def test_the_forged_certificate_is_issued_by_a_colleague_s_end_entity_key(
    producer: str, pki: TestPKI
) -> None:
    """The author's name and address for a fresh key, signed by the colleague's real
    signature key, whose certificate cannot issue: the message carries both, and the
    signature and the colleague's signature over the forgery are genuine, so the path
    rules are all that stops it."""
    hostile = make_hostile(
        BY_ID[ISSUED], producer=producer, pki=pki, sender=SENDER, recipient=RECIPIENT
    )
    author, colleague = pki.identity(SENDER), pki.identity(COLLEAGUE)
    real, issuer = author.certificate("sign"), colleague.certificate("sign")
    forged, others = _carried(hostile)
    assert hostile.sender == COLLEAGUE
    assert forged.subject == real.subject and _email(forged) == _email(real) == [author.email]
    assert forged.issuer == issuer.subject and forged.serial_number != real.serial_number
    assert forged.public_key() not in (real.public_key(), issuer.public_key())
    forged.verify_directly_issued_by(issuer)
    assert issuer in others
    constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
    assert not constraints.ca and not usage.key_cert_sign
    # The letter is in the author's name.
    assert author.email in str(mime.header_fields(hostile.message)["from"])
    assert "not a CA" in _validate(pki, forged, others)


@pytest.mark.parametrize("producer", PRODUCERS)
def test_the_reissued_certificate_differs_only_by_an_unknown_critical_extension(
    producer: str, pki: TestPKI
) -> None:
    """Same subject, address, key, validity and extensions as the author's certificate,
    issued by the same CA, plus one critical extension no one knows; the letter signed
    with the author's real key. The validator refuses it for that extension."""
    hostile = make_hostile(
        BY_ID[CRITICAL], producer=producer, pki=pki, sender=SENDER, recipient=RECIPIENT
    )
    real = pki.identity(SENDER).certificate("sign")
    reissued, others = _carried(hostile)
    assert reissued.public_key() == real.public_key()
    assert (reissued.subject, reissued.issuer) == (real.subject, real.issuer)
    assert reissued.serial_number != real.serial_number  # a store keys on issuer and serial
    assert (reissued.not_valid_before_utc, reissued.not_valid_after_utc) == (
        real.not_valid_before_utc,
        real.not_valid_after_utc,
    )
    reissued.verify_directly_issued_by(pki.intermediate)
    unknown = [e for e in reissued.extensions if e.oid.dotted_string == oids.TEST_UNKNOWN_EXTENSION]
    assert len(unknown) == 1 and unknown[0].critical
    assert isinstance(unknown[0].value, x509.UnrecognizedExtension)
    assert [e for e in reissued.extensions if e not in unknown] == list(real.extensions)
    message = _validate(pki, reissued, others)
    assert "critical extension" in message and oids.TEST_UNKNOWN_EXTENSION in message
    # Without that extension the certificate is the author's, valid: nothing else is wrong.
    assert validate_signer(real, trust=[pki.root], intermediates=others, crls=pki.crls).valid


def test_the_reissued_certificate_signs_with_the_author_s_real_key(pki: TestPKI) -> None:
    """The signature itself is the author's: only the certificate is wrong."""
    hostile = make_hostile(
        BY_ID[CRITICAL], producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT
    )
    signer = _signed(hostile).signers[0]
    assert signer.signed_attrs is not None
    public = pki.identity(SENDER).certificate("sign").public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    # Raises InvalidSignature unless the author's key made it (over the attributes' SET OF).
    public.verify(
        signer.signature, der.tlv(0x31, signer.signed_attrs), padding.PKCS1v15(), hashes.SHA256()
    )


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_drawn_issuers_are_other_colleagues_end_entity_keys(
    data: st.DataObject, pki: TestPKI
) -> None:
    """Hypothesis draws the colleague and which of their card's keys issues (signature or
    authentication): never the author, the reader or a CA, and always refused as such."""
    hostile = make_hostile(
        BY_ID[ISSUED], producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT, data=data
    )
    forged, others = _carried(hostile)
    colleague = pki.identity(hostile.sender)
    assert hostile.sender not in (SENDER, RECIPIENT) and colleague.is_valid
    issuer = next(c for c in others if c.subject == forged.issuer)
    assert issuer in (colleague.certificate("sign"), colleague.certificate("auth"))
    forged.verify_directly_issued_by(issuer)
    assert "not a CA" in _validate(pki, forged, others)
