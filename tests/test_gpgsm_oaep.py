"""gpgsm names RSAES-OAEP as the algorithm it lacks, not a key it has not.

gpgsm (2.2.40 here) has no RSAES-OAEP key transport: given a PKI.js envelope whose
recipient info for the reader uses OAEP, it answers "error getting encrypted session
key ... No secret key", which read as cannot-decrypt looked like a key problem. The
agent reads the reader's recipient info from the envelope (core.cms) and, when it
uses OAEP and gpgsm got no session key, reports unsupported-algorithm naming it,
gpgsm's words kept. An OAEP envelope that has no recipient info for the reader stays
cannot-decrypt: the algorithm is not what stopped gpgsm there.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from conformance.agents.base import ReceiveRequest, SendRequest
from conformance.agents.gpgsm import GpgsmAgent
from conformance.agents.pkijs import PkijsAgent, modules_dir
from conformance.pki import TestPKI, load_pki
from conformance.smime.options import EncryptOptions, SendOptions
from conformance.status import ErrorCode, Status

pytestmark = [
    pytest.mark.engines,
    pytest.mark.skipif(shutil.which("gpgsm") is None, reason="gpgsm is not installed"),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (nodejs)"),
    pytest.mark.skipif(
        not (modules_dir() / "pkijs" / "package.json").is_file(),
        reason=f"PKI.js is not installed in {modules_dir()} (make -C harnesses/pkijs)",
    ),
]

CONTENT = b"Content-Type: text/plain; charset=utf-8\r\n\r\nCompte rendu: normal.\r\n"
OAEP = SendOptions(encrypt=EncryptOptions(key_transport="rsa-oaep-sha256"))


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PkijsAgent, GpgsmAgent]]:
    with PkijsAgent(OAEP, tmp_path_factory.mktemp("pkijs")) as pkijs:
        gpgsm = GpgsmAgent(workdir=tmp_path_factory.mktemp("gpgsm"))
        try:
            yield pkijs, gpgsm
        finally:
            gpgsm.close()


def _read(agents: tuple[PkijsAgent, GpgsmAgent], pki: TestPKI, to: str) -> Status:
    """PKI.js encrypts pro01's letter to `to` with OAEP; gpgsm reads it as pro02."""
    pkijs, gpgsm = agents
    addressee = pki.identity(to)
    sent = pkijs.send(
        SendRequest(
            "encrypt",
            CONTENT,
            pki.identity("pro01").party(),
            (addressee.certificate("encrypt"),),
            (addressee.email,),
        )
    )
    assert sent.message is not None, (sent.error, sent.reason)
    reader = pki.identity("pro02").party()
    gpgsm.prepare(reader)
    request = ReceiveRequest(sent.message, reader, pki.trust_paths(), pki.crl_paths())
    return gpgsm.receive(request).status


def test_an_oaep_envelope_for_the_reader_is_an_unsupported_algorithm(
    agents: tuple[PkijsAgent, GpgsmAgent], pki: TestPKI
) -> None:
    status = _read(agents, pki, "pro02")
    assert [e.code for e in status.errors] == [ErrorCode.UNSUPPORTED_ALGORITHM]
    said = status.errors[0].message
    assert "recipient info uses rsa-oaep-sha256" in said, said
    assert "error getting encrypted session key" in said, said  # gpgsm's own words
    assert not status.services.confidentiality


def test_an_oaep_envelope_for_someone_else_stays_cannot_decrypt(
    agents: tuple[PkijsAgent, GpgsmAgent], pki: TestPKI
) -> None:
    status = _read(agents, pki, "pro03")
    assert [e.code for e in status.errors] == [ErrorCode.CANNOT_DECRYPT], status.errors
    assert "oaep" not in status.errors[0].message.lower()
