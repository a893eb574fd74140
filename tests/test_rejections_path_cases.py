"""The path-validation rejection cases: a certificate issued by an end entity, one with an
unknown critical extension, and the author's certificate issued by a CA where none may be
(below the intermediate's pathLenConstraint 0, or without keyCertSign). Each hostile
certificate must be what its case says (the one defect, everything else valid), and the
suite's validator must refuse it for that defect, not for another."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rejections_support import carried, signed_parts

from conformance.agents.base import ReceiveRequest
from conformance.agents.factory import close_agent, make_agent
from conformance.core import mime, oids
from conformance.pki import TestPKI, load_pki
from conformance.profiles.loader import load_profile
from conformance.rejections.hostile import Hostile, make_control, make_hostile
from conformance.rejections.judge import judge
from conformance.rejections.model import load_cases
from conformance.smime import der
from conformance.smime.validate import validate_signer
from conformance.status import ErrorCode

BY_ID = {c.id: c for c in load_cases()}
SENDER, RECIPIENT, COLLEAGUE = "pro01", "pro02", "pro03"
PRODUCERS = ["reference"] + (["openssl"] if shutil.which("openssl") else [])
ISSUED = "wrong-signer-issued-by-end-entity"
CRITICAL = "defective-unknown-critical-extension"


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


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
    forged, others = carried(hostile.message)
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
    reissued, others = carried(hostile.message)
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
    signer = signed_parts(hostile.message).signers[0]
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
    forged, others = carried(hostile.message)
    colleague = pki.identity(hostile.sender)
    assert hostile.sender not in (SENDER, RECIPIENT) and colleague.is_valid
    issuer = next(c for c in others if c.subject == forged.issuer)
    assert issuer in (colleague.certificate("sign"), colleague.certificate("auth"))
    forged.verify_directly_issued_by(issuer)
    assert "not a CA" in _validate(pki, forged, others)
    # The receiver is given a CRL in the drawn issuer's name, signed with the drawn key.
    (crl,) = [x509.load_pem_x509_crl(pem) for pem in hostile.crls]
    public = issuer.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert crl.issuer == issuer.subject and crl.is_signature_valid(public)


# --- the path above the author's certificate: a CA where none may be ----------------------

PATH_LENGTH = "defective-path-length-exceeded"
NO_CERT_SIGN = "defective-ca-without-key-cert-sign"
# case id -> what pyhanko-certvalidator (reference's validator) says of the broken path.
BROKEN_PATHS = {
    PATH_LENGTH: "exceeds the maximum path length",
    NO_CERT_SIGN: "is not allowed to sign certificates",
}


def _under_own_ca(
    case_id: str, producer: str, pki: TestPKI
) -> tuple[Hostile, x509.Certificate, x509.Certificate, list[x509.Certificate]]:
    """The case's message, the author's certificate it signs under, the CA that issued it
    (carried in the message) and every certificate carried but the signer's. The case is a
    defective signer refused under both policies, the author its signer."""
    case = BY_ID[case_id]
    assert (case.cls, case.function, case.producers) == (
        "defective-signer",
        "sign",
        ("reference", "openssl"),
    )
    assert dict(case.expected) == {"osm-2008": "refuse", "modern": "refuse"}
    hostile = make_hostile(case, producer=producer, pki=pki, sender=SENDER, recipient=RECIPIENT)
    assert hostile.sender == SENDER
    author = pki.identity(SENDER)
    real = author.certificate("sign")
    signer, others = carried(hostile.message)
    (ca,) = [c for c in others if c.subject == signer.issuer]
    # The author's own key, name and address; a serial of its own; issued by a CA with a
    # name no real CA has, so that no other path exists.
    assert signer.public_key() == real.public_key()
    assert signer.subject == real.subject and _email(signer) == _email(real) == [author.email]
    assert signer.serial_number != real.serial_number
    assert ca.subject not in (pki.root.subject, pki.intermediate.subject)
    signer.verify_directly_issued_by(ca)
    constraints = signer.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert not constraints.ca
    assert author.email in str(mime.header_fields(hostile.message)["from"])
    return hostile, signer, ca, others


def _constraints(certificate: x509.Certificate) -> x509.BasicConstraints:
    extension = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert extension.critical
    return extension.value


def _usage(certificate: x509.Certificate) -> x509.KeyUsage:
    extension = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert extension.critical
    return extension.value


@pytest.mark.parametrize("producer", PRODUCERS)
def test_a_ca_follows_the_intermediate_whose_path_length_is_zero(
    producer: str, pki: TestPKI
) -> None:
    """The intermediate (pathLenConstraint 0) issued a CA that may issue (cA true,
    keyCertSign), which issued the author's certificate: a second CA where the first allows
    none (RFC 5280 6.1.4 (l), (m)), and nothing else is wrong."""
    _, signer, ca, others = _under_own_ca(PATH_LENGTH, producer, pki)
    assert _constraints(pki.intermediate).path_length == 0
    assert _constraints(ca).ca and _usage(ca).key_cert_sign
    assert ca.issuer == pki.intermediate.subject
    ca.verify_directly_issued_by(pki.intermediate)
    assert pki.intermediate in others
    assert BROKEN_PATHS[PATH_LENGTH] in _validate(pki, signer, others)
    # The CA itself is sound: the last certificate of a path is not counted by the
    # intermediate's constraint (RFC 5280 4.2.1.9), so only what it issued breaks it.
    assert validate_signer(
        ca, trust=[pki.root], intermediates=others, crls=pki.crls, check_key_usage=False
    ).valid


@pytest.mark.parametrize("producer", PRODUCERS)
def test_the_issuing_ca_lacks_key_cert_sign(producer: str, pki: TestPKI) -> None:
    """The root issued a CA (cA true, no pathLenConstraint) whose key usage is cRLSign
    alone, which issued the author's certificate (RFC 5280 6.1.4 (n)): the intermediate's
    profile, extension by extension, but for those two values."""
    _, signer, ca, others = _under_own_ca(NO_CERT_SIGN, producer, pki)
    assert ca.issuer == pki.root.subject
    ca.verify_directly_issued_by(pki.root)
    constraints, usage = _constraints(ca), _usage(ca)
    assert constraints.ca and constraints.path_length is None
    assert not usage.key_cert_sign and usage.crl_sign
    assert not (usage.digital_signature or usage.content_commitment or usage.key_encipherment)
    assert [(e.oid, e.critical) for e in ca.extensions] == [
        (e.oid, e.critical) for e in pki.intermediate.extensions
    ]
    policies = x509.CertificatePolicies
    assert (
        ca.extensions.get_extension_for_class(policies).value
        == pki.intermediate.extensions.get_extension_for_class(policies).value
    )
    assert BROKEN_PATHS[NO_CERT_SIGN] in _validate(pki, signer, others)


@pytest.mark.parametrize("case_id", sorted(BROKEN_PATHS))
@pytest.mark.parametrize("producer", PRODUCERS)
def test_the_letter_under_a_broken_path_is_signed_with_the_author_s_real_key(
    case_id: str, producer: str, pki: TestPKI
) -> None:
    """Only the path is wrong: the signature is the author's, over the attributes' SET OF."""
    hostile, _, _, _ = _under_own_ca(case_id, producer, pki)
    signer = signed_parts(hostile.message).signers[0]
    assert signer.signed_attrs is not None and signer.digest_oid == oids.SHA256
    public = pki.identity(SENDER).certificate("sign").public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        signer.signature, der.tlv(0x31, signer.signed_attrs), padding.PKCS1v15(), hashes.SHA256()
    )


# ... and of the path a colleague's end-entity certificate heads.
REFUSED_PATHS = {**BROKEN_PATHS, ISSUED: "is not a CA"}


@pytest.mark.parametrize("case_id", sorted(REFUSED_PATHS))
def test_reference_refuses_a_broken_path_for_its_path(
    case_id: str, pki: TestPKI, tmp_path: Path
) -> None:
    """reference reads the valid message and refuses the hostile one as an untrusted
    signer, naming the path rule it breaks (not a revocation or usage defect), given the
    CRL of the case's issuer beside the PKI's as the rejection runner gives it."""
    agent = make_agent(load_profile("reference"))
    try:
        case = BY_ID[case_id]
        party, trust, crls = pki.identity(RECIPIENT).party(), pki.trust_paths(), pki.crl_paths()
        control = make_control(
            case, producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT
        )
        assert agent.receive(ReceiveRequest(control.message, party, trust, crls)).status.ok
        hostile = make_hostile(
            case, producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT
        )
        (given,) = hostile.crls
        (tmp_path / "case.crl.pem").write_bytes(given)
        crls = (*crls, tmp_path / "case.crl.pem")
        status = agent.receive(ReceiveRequest(hostile.message, party, trust, crls)).status
    finally:
        close_agent(agent)
    assert not status.ok
    assert [e.code for e in status.errors] == [ErrorCode.UNTRUSTED_SIGNER]
    assert REFUSED_PATHS[case_id] in status.errors[0].message, status.errors
    assert judge(case, status, "osm-2008", receives=True).outcome == "refuses"
