"""The two key-usage rejection cases: the author's signature certificate re-issued by its own
CA for a purpose other than e-mail signature, extended key usage without emailProtection
(RFC 8550 4.4.4) or key usage without digitalSignature nor nonRepudiation (4.4.2). Each
hostile certificate must differ from the author's by that one extension, the letter be
signed with the author's real key, and reference must refuse it for that extension."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from rejections_support import carried, signed_parts

from conformance.agents.base import Agent, ReceiveRequest
from conformance.agents.factory import close_agent, make_agent
from conformance.core import oids
from conformance.pki import TestPKI, load_pki
from conformance.pki.certs import usage
from conformance.profiles.loader import load_profile
from conformance.rejections.hostile import Hostile, make_hostile
from conformance.rejections.judge import judge
from conformance.rejections.model import load_cases
from conformance.smime import der
from conformance.smime.validate import validate_signer

SENDER, RECIPIENT = "pro01", "pro02"
PRODUCED = ("reference", "openssl")
PRODUCERS = ["reference"] + (["openssl"] if shutil.which("openssl") else [])
TLS_ONLY = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
ENCIPHERMENT_ONLY = usage("key_encipherment")
# case id -> the extension it changes, and the validator's reason and words for it.
CASES: dict[str, tuple[x509.ExtensionType, str, str]] = {
    "defective-wrong-extended-key-usage": (
        TLS_ONLY,
        "extended-key-usage",
        "extended key usage lacks emailProtection (RFC 8550 4.4.4)",
    ),
    "defective-no-signature-key-usage": (
        ENCIPHERMENT_ONLY,
        "key-usage",
        "key usage allows neither digitalSignature nor nonRepudiation (RFC 8550 4.4.2)",
    ),
}
HASHES: dict[str, hashes.HashAlgorithm] = {oids.SHA256: hashes.SHA256()}


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.fixture(scope="module")
def reference() -> Iterator[Agent]:
    agent = make_agent(load_profile("reference"))
    yield agent
    close_agent(agent)


def _hostile(case_id: str, producer: str, pki: TestPKI) -> Hostile:
    """The case's basic variant; the case is a defective signer refused under both policies."""
    (case,) = [c for c in load_cases() if c.id == case_id]
    assert (case.cls, case.function, case.producers) == ("defective-signer", "sign", PRODUCED)
    assert dict(case.expected) == {"osm-2008": "refuse", "modern": "refuse"}
    return make_hostile(case, producer=producer, pki=pki, sender=SENDER, recipient=RECIPIENT)


@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("case_id", CASES)
def test_the_reissued_certificate_differs_only_by_its_usage(
    case_id: str, producer: str, pki: TestPKI
) -> None:
    """Same subject, issuer, key, validity, signature algorithm and extensions (in order,
    with their criticality) as the author's certificate but the one usage extension, which
    holds exactly the defect; the validator refuses it for that usage and for nothing else."""
    hostile = _hostile(case_id, producer, pki)
    assert hostile.sender == SENDER
    real = pki.identity(SENDER).certificate("sign")
    reissued, others = carried(hostile.message)
    assert reissued.public_key() == real.public_key()
    assert (reissued.subject, reissued.issuer) == (real.subject, real.issuer)
    assert reissued.serial_number != real.serial_number  # a store keys on issuer and serial
    assert (reissued.not_valid_before_utc, reissued.not_valid_after_utc) == (
        real.not_valid_before_utc,
        real.not_valid_after_utc,
    )
    assert reissued.signature_algorithm_oid == real.signature_algorithm_oid
    reissued.verify_directly_issued_by(pki.intermediate)
    wanted, reason, words = CASES[case_id]
    assert [(e.oid, e.critical) for e in reissued.extensions] == [
        (e.oid, e.critical) for e in real.extensions
    ]
    changed = [
        mine.value
        for mine, theirs in zip(reissued.extensions, real.extensions, strict=True)
        if mine.value != theirs.value
    ]
    assert changed == [wanted]
    refused = validate_signer(reissued, trust=[pki.root], intermediates=others, crls=pki.crls)
    assert not refused.valid and refused.reason == reason and words in refused.message
    # Without the usage rules it is valid: its path, validity and revocation are sound.
    assert validate_signer(
        reissued, trust=[pki.root], intermediates=others, crls=pki.crls, check_key_usage=False
    ).valid


@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("case_id", CASES)
def test_the_letter_is_signed_with_the_author_s_real_key(
    case_id: str, producer: str, pki: TestPKI
) -> None:
    """The signature itself is the author's, whoever produced the message: only the
    certificate's purpose is wrong."""
    hostile = _hostile(case_id, producer, pki)
    (signer,) = signed_parts(hostile.message).signers
    assert signer.signed_attrs is not None
    public = pki.identity(SENDER).certificate("sign").public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    # Raises InvalidSignature unless the author's key made it (over the attributes' SET OF).
    public.verify(
        signer.signature,
        der.tlv(0x31, signer.signed_attrs),
        padding.PKCS1v15(),
        HASHES[signer.digest_oid],
    )


@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("case_id", CASES)
def test_reference_refuses_it_for_its_usage(
    case_id: str, producer: str, pki: TestPKI, reference: Agent
) -> None:
    """reference reads the valid message and refuses the hostile one, naming the usage
    rule it breaks (not some other defect)."""
    hostile = _hostile(case_id, producer, pki)
    party = pki.identity(RECIPIENT).party()
    status = reference.receive(
        ReceiveRequest(hostile.message, party, pki.trust_paths(), pki.crl_paths())
    ).status
    assert not status.ok
    said = " ".join(e.message for e in status.errors)
    assert CASES[case_id][2] in said, said
    (case,) = [c for c in load_cases() if c.id == case_id]
    judgement = judge(case, status, "osm-2008", receives=True)
    assert judgement.outcome == "refuses", judgement.reason
