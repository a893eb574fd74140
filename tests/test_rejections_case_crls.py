"""A hostile path comes with its CAs' CRLs: the three cases whose signer's issuer is a
certificate of the case's own (a colleague's end-entity certificate, a CA the
intermediate issued despite pathLenConstraint 0, a CA the root issued without
keyCertSign) make that issuer's empty CRL, and the runner gives it to the receiver
beside the PKI's for the hostile message only. Without it a receiver that checks
revocation (PKI.js, gpgsm) refuses for want of a CRL, which says nothing of the path
rule the case tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from rejections_support import RecordingAgent, carried

from conformance.agents.factory import close_agent, make_agent
from conformance.pki import TestPKI, load_pki
from conformance.pki.defects import CRL_NEXT_UPDATE, CRL_THIS_UPDATE
from conformance.profiles.loader import load_profile
from conformance.rejections.hostile import Hostile, make_hostile
from conformance.rejections.model import RejectionClass, load_cases
from conformance.rejections.run import (
    Receiver,
    RejectionSettings,
    identity_id,
    run_rejection_cell,
)

BY_ID = {c.id: c for c in load_cases()}
SENDER, RECIPIENT = "pro01", "pro02"
PRODUCERS = ["reference"] + (["openssl"] if shutil.which("openssl") else [])
# The cases whose signer is issued by a certificate the case made, and the class of each.
CASES: dict[str, RejectionClass] = {
    "wrong-signer-issued-by-end-entity": "wrong-signer",
    "defective-path-length-exceeded": "defective-signer",
    "defective-ca-without-key-cert-sign": "defective-signer",
}


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


def _made(case_id: str, producer: str, pki: TestPKI) -> Hostile:
    return make_hostile(
        BY_ID[case_id], producer=producer, pki=pki, sender=SENDER, recipient=RECIPIENT
    )


def _issuer(hostile: Hostile) -> x509.Certificate:
    """The certificate that issued the signer's, carried in the message."""
    signer, others = carried(hostile.message)
    (issuer,) = [c for c in others if c.subject == signer.issuer]
    return issuer


@pytest.mark.parametrize("case_id", sorted(CASES))
@pytest.mark.parametrize("producer", PRODUCERS)
def test_the_case_s_issuer_comes_with_its_own_crl(
    case_id: str, producer: str, pki: TestPKI
) -> None:
    """One CRL, in the issuer's name, signed with its key (a colleague's end-entity key
    too: an attacker signs with what it holds), empty, dated as the PKI's own."""
    hostile = _made(case_id, producer, pki)
    issuer = _issuer(hostile)
    assert issuer.subject not in (pki.root.subject, pki.intermediate.subject)
    (pem,) = hostile.crls
    crl = x509.load_pem_x509_crl(pem)
    public = issuer.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert crl.issuer == issuer.subject
    assert crl.is_signature_valid(public)
    assert len(crl) == 0
    assert (crl.last_update_utc, crl.next_update_utc) == (CRL_THIS_UPDATE, CRL_NEXT_UPDATE)
    assert [c.last_update_utc for c in pki.crls] == [CRL_THIS_UPDATE] * len(pki.crls)
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_the_crl_is_the_same_in_every_making(case_id: str, pki: TestPKI) -> None:
    """Two makings give the same message and the same CRL bytes, so that two runs'
    evidence compare byte for byte."""
    one, two = _made(case_id, "reference", pki), _made(case_id, "reference", pki)
    assert one.crls and one.crls == two.crls
    assert one == two


def test_no_other_case_gives_a_crl(pki: TestPKI) -> None:
    """Every other case signs under the PKI's own CAs (a certificate re-issued by the
    intermediate, a defective identity) or signs nothing: the PKI's CRLs are all it needs."""
    others = [c for c in load_cases() if c.id not in CASES]
    assert "defective-unknown-critical-extension" in {c.id for c in others}
    for case in others:
        assert _made(case.id, case.producers[0], pki).crls == (), case.id


@pytest.fixture(scope="module")
def recording() -> Iterator[RecordingAgent]:
    agent = make_agent(load_profile("reference"))
    yield RecordingAgent(agent)
    close_agent(agent)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_the_receiver_gets_the_case_s_crl_with_the_hostile_message_only(
    case_id: str, pki: TestPKI, recording: RecordingAgent, tmp_path: Path
) -> None:
    """The valid message is read with the PKI's CRLs alone; the hostile one with the PKI's
    and the case's issuer's, whose file is gone once the receiver answered; the evidence
    keeps that CRL and says it was given. reference still refuses for the path."""
    receiver = Receiver(
        recording,
        pki.identity(RECIPIENT).party(),
        pki.identity(SENDER).party(),
        pki.trust_paths(),
        pki.crl_paths(),
    )
    recording.seen.clear()
    settings = RejectionSettings(variants=1, out_dir=tmp_path)
    cell = run_rejection_cell(receiver, CASES[case_id], pki, settings, cases=(BY_ID[case_id],))
    assert [(c.producer, c.outcome) for c in cell.cases] == [(p, "refuses") for p in PRODUCERS]
    assert all("CRL" not in c.reason and "revocation" not in c.reason for c in cell.cases)
    pki_crls = [p.read_bytes() for p in pki.crl_paths()]
    assert len(recording.seen) == 2 * len(PRODUCERS)  # a control, then the hostile message
    for producer, (control, hostile) in zip(
        PRODUCERS, zip(recording.seen[::2], recording.seen[1::2], strict=True), strict=True
    ):
        made = make_hostile(
            BY_ID[case_id],
            producer=producer,
            pki=pki,
            sender=identity_id(receiver.sender),
            recipient=identity_id(receiver.recipient),
        )
        assert control[0].crls == pki.crl_paths() and control[1] == pki_crls
        assert hostile[0].crls[:2] == pki.crl_paths()
        assert hostile[1] == [*pki_crls, *made.crls]
        assert not any(p.exists() for p in hostile[0].crls[2:])
        prefix = tmp_path / "evidence" / "rejections" / "reference" / CASES[case_id]
        prefix = prefix / f"{case_id}.{producer}"
        assert Path(f"{prefix}.crl1.pem").read_bytes() == made.crls[0]
        issuer = x509.load_pem_x509_crl(made.crls[0]).issuer.rfc4514_string()
        said = Path(f"{prefix}.txt").read_text(encoding="utf-8")
        assert f"crls given: the receiver's own and {case_id}.{producer}.crl1.pem" in said
        assert f"(issuer {issuer}; as {hostile[0].crls[2].name})" in said  # the log's name
