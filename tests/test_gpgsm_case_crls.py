"""gpgsm loads the CRL of an issuer only the hostile message carries, and refuses for the path.

The three rejection cases that make the signer's issuer (a colleague's end-entity
certificate, a CA the intermediate issued despite pathLenConstraint 0, a CA the root
issued without keyCertSign) give that issuer's CRL with the message. dirmngr asks
for a CRL's issuer (SENDCERT_SKI) when it loads it, which `gpgsm --call-dirmngr`
cannot answer: the agent hands it the certificates the message carries first, as a
verifying gpgsm would answer it from them. Without that, every case CRL failed to
load and gpgsm refused the path-length case for the CRL ("checking the CRL failed:
Not supported"), not for the path.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.agents.base import ReceiveRequest, Reception
from conformance.agents.gpgsm import GpgsmAgent
from conformance.pki import TestPKI, load_pki
from conformance.rejections.hostile import make_hostile
from conformance.rejections.model import load_cases
from conformance.status import ErrorCode

pytestmark = [
    pytest.mark.engines,
    pytest.mark.skipif(
        any(shutil.which(t) is None for t in ("gpgsm", "gpg-agent", "dirmngr", "dirmngr-client")),
        reason="gpgsm and dirmngr are needed",
    ),
]

BY_ID = {c.id: c for c in load_cases()}
SENDER, RECIPIENT = "pro01", "pro02"
# gpgsm's words for the path rule each case breaks.
PATH_RULES = {
    "defective-path-length-exceeded": "certificate chain longer than allowed by CA (0)",
    "defective-ca-without-key-cert-sign": "certificate should not have been used for certification",
    "wrong-signer-issued-by-end-entity": "issuer certificate is not marked as a CA",
}


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GpgsmAgent]:
    made = GpgsmAgent(workdir=tmp_path_factory.mktemp("gpgsm"))
    yield made
    made.close()


def _receive(agent: GpgsmAgent, pki: TestPKI, case_id: str, tmp_path: Path) -> Reception:
    hostile = make_hostile(
        BY_ID[case_id], producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT
    )
    crls = []
    for index, pem in enumerate(hostile.crls):
        path = tmp_path / f"case{index}.crl.pem"
        path.write_bytes(pem)
        crls.append(path)
    assert crls, case_id
    request = ReceiveRequest(
        hostile.message,
        pki.identity(RECIPIENT).party(),
        pki.trust_paths(),
        (*pki.crl_paths(), *crls),
    )
    return agent.receive(request)


def test_the_path_length_case_is_refused_for_the_path_with_its_crl_loaded(
    agent: GpgsmAgent, pki: TestPKI, tmp_path: Path
) -> None:
    reception = _receive(agent, pki, "defective-path-length-exceeded", tmp_path)
    status = reception.status
    assert [e.code for e in status.errors] == [ErrorCode.UNTRUSTED_SIGNER]
    said = status.errors[0].message
    assert PATH_RULES["defective-path-length-exceeded"] in said, said
    assert "CRL" not in said, said
    notes = "\n".join(reception.evidence.notes)
    assert "did not load" not in notes, notes
    assert "dirmngr holds 3 CRL(s)" in notes, notes  # the root's, the intermediate's, the case's


@pytest.mark.parametrize("case_id", sorted(PATH_RULES))
def test_dirmngr_has_the_issuer_of_every_case_crl(
    agent: GpgsmAgent, pki: TestPKI, case_id: str, tmp_path: Path
) -> None:
    """No case CRL fails for want of its issuer; dirmngr may still refuse one on its own
    terms (a colleague's end-entity certificate has no cRLSign: "Wrong key usage"), and
    gpgsm refuses each case for the path rule it breaks."""
    reception = _receive(agent, pki, case_id, tmp_path)
    notes = "\n".join(reception.evidence.notes)
    assert "SENDCERT" not in notes and "Unknown IPC inquire" not in notes, notes
    status = reception.status
    assert [e.code for e in status.errors] == [ErrorCode.UNTRUSTED_SIGNER]
    assert PATH_RULES[case_id] in status.errors[0].message, status.errors[0].message
