"""gpgsm's own revocation check, measured: a dirmngr per GnuPG home with the CAs' CRLs loaded.

The agent loads the CRLs it is given into its home's dirmngr (`gpgsm
--call-dirmngr loadcrl`) and adds no check of its own: a signer that the
intermediate CA's CRL revokes is refused by gpgsm itself, which answers
"invalid certification chain: Certificate revoked" with the status
TRUST_NEVER 94; the agent reports it as revoked-signer. Given no CRL, gpgsm's CRL
checks are off for that reception and the same message is accepted, which
shows that the CRL is what refuses it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from smime_read_support import openssl

from conformance.agents.base import ReceiveRequest, Reception
from conformance.agents.gpgsm import GpgsmAgent
from conformance.agents.identity_files import identity_json
from conformance.core.vocabulary import Party
from conformance.matrix.cast import exported_pki
from conformance.pki.model import load_pki
from conformance.status import ErrorCode

pytestmark = [
    pytest.mark.engines,
    pytest.mark.skipif(
        any(
            shutil.which(t) is None
            for t in ("gpgsm", "gpg-agent", "dirmngr", "dirmngr-client", "openssl")
        ),
        reason="gpgsm, dirmngr and openssl are needed",
    ),
]

CONTENT = b"Content-Type: text/plain; charset=utf-8\r\n\r\nCompte rendu: normal.\r\n"


@pytest.fixture(scope="module")
def export() -> Path:
    return exported_pki(load_pki())


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GpgsmAgent]:
    made = GpgsmAgent(workdir=tmp_path_factory.mktemp("gpgsm"))
    yield made
    made.close()


def _party(export: Path, identity: str) -> Party:
    directory = export / "identities" / identity
    data = identity_json(directory)
    return Party(directory, str(data["email"]), str(data["name"]))


def _signed_by(export: Path, identity: str) -> bytes:
    directory = export / "identities" / identity
    return openssl(
        "cms",
        "-sign",
        "-crlfeol",
        "-signer",
        str(directory / "sign.pem"),
        "-inkey",
        str(directory / "sign.key.pem"),
        "-certfile",
        str(directory / "chain.pem"),
        "-from",
        str(identity_json(directory)["email"]),
        "-to",
        str(identity_json(export / "identities" / "pro02")["email"]),
        "-subject",
        "Compte rendu",
        data=CONTENT,
    )


def _receive(agent: GpgsmAgent, export: Path, message: bytes, crls: bool = True) -> Reception:
    ca = export / "ca"
    return agent.receive(
        ReceiveRequest(
            message,
            _party(export, "pro02"),
            (ca / "root.pem",),
            (ca / "root.crl.pem", ca / "intermediate.crl.pem") if crls else (),
        )
    )


def test_gpgsm_refuses_a_revoked_signer_with_the_crls_loaded(
    agent: GpgsmAgent, export: Path
) -> None:
    reception = _receive(agent, export, _signed_by(export, "defect-revoked"))
    status = reception.status
    assert [e.code for e in status.errors] == [ErrorCode.REVOKED_SIGNER]
    said = status.errors[0].message
    assert "certificate has been revoked" in said, said
    assert "invalid certification chain: Certificate revoked" in said, said
    assert not status.services.authentication
    notes = "\n".join(reception.evidence.notes)
    assert "CRL checks on; dirmngr holds 2 CRL(s)" in notes, notes


def test_gpgsm_accepts_a_valid_signer_with_the_crls_loaded(agent: GpgsmAgent, export: Path) -> None:
    reception = _receive(agent, export, _signed_by(export, "pro01"))
    status = reception.status
    assert status.errors == [], status.errors
    assert status.services.authentication and status.chain_valid


def test_without_crls_gpgsm_does_not_check_revocation(tmp_path: Path, export: Path) -> None:
    fresh = GpgsmAgent(workdir=tmp_path)  # a home whose dirmngr holds no CRL
    try:
        reception = _receive(fresh, export, _signed_by(export, "defect-revoked"), crls=False)
    finally:
        fresh.close()
    status = reception.status
    assert status.errors == [] and status.services.authentication
    assert any("no CRL given" in n for n in reception.evidence.notes)
