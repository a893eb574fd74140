"""The contract, version 2: which MIME part each service covers, and the version itself.

A genuinely signed letter put beside an unsigned part in a multipart/mixed
(the "partial signature" of "Johnny, you are fired", 2019) must not be reported
as a wholly authenticated message: the strict receiver verifies the signed part,
lists it in `coverage`, and holds no service for the whole message.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from smime_read_support import openssl

from conformance.cli import main
from conformance.pki.model import load_pki, read_certificates, read_crl
from conformance.smime.options import ReceiveOptions
from conformance.smime.receive import read_message
from conformance.status import CONTRACT_VERSION, Coverage, Services, Status

pytestmark = pytest.mark.engines

PKI = load_pki()
MOMENT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
LETTER = b"Content-Type: text/plain; charset=utf-8\r\n\r\nCompte rendu: normal.\r\n"
SERVICES = ("authentication", "integrity", "non_repudiation", "confidentiality")


def _signed_entity() -> bytes:
    """A multipart/signed entity by pro01 (openssl, no message headers)."""
    who = PKI.identity("pro01")
    return openssl(
        "cms",
        "-sign",
        "-crlfeol",
        "-signer",
        str(who.certificate_path("sign")),
        "-inkey",
        str(who.key_path("sign")),
        "-certfile",
        str(who.directory / "chain.pem"),
        data=LETTER,
    )


def _headers(content_type: str) -> bytes:
    who = PKI.identity("pro01")
    return (
        f"From: {who.email}\r\nTo: {PKI.identity('pro02').email}\r\n"
        f"Subject: Compte rendu\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
    ).encode()


def _partial(signed_first: bool = True) -> bytes:
    unsigned = b"Content-Type: text/plain; charset=utf-8\r\n\r\nAjout non signe: tout va bien.\r\n"
    parts = [_signed_entity(), unsigned]
    if not signed_first:
        parts.reverse()
    body = b"".join(b"--B0UND\r\n" + part.rstrip(b"\r\n") + b"\r\n" for part in parts)
    return _headers('multipart/mixed; boundary="B0UND"') + b"\r\n" + body + b"--B0UND--\r\n"


def _whole() -> bytes:
    entity = _signed_entity()
    return _headers("x").split(b"MIME-Version")[0] + entity


def _read(message: bytes) -> Status:
    _, status = read_message(
        message,
        keys=[],
        trust=[c for p in PKI.trust_paths() for c in read_certificates(p)],
        crls=[read_crl(p) for p in PKI.crl_paths()],
        directory=None,
        options=ReceiveOptions(),
        validation_time=MOMENT,
        intermediates=PKI.intermediates(),
    )
    return status


def test_a_wholly_signed_message_covers_the_message() -> None:
    status = _read(_whole())
    assert status.ok, status.errors
    assert status.services.authentication and status.services.non_repudiation
    assert status.coverage.authentication == ["message"]
    assert status.coverage.integrity == ["message"]
    assert status.coverage.confidentiality == []
    assert status.layers == ["signed-data"]


@pytest.mark.parametrize("signed_first", [True, False])
def test_a_signed_part_beside_an_unsigned_one_covers_that_part_only(signed_first: bool) -> None:
    status = _read(_partial(signed_first))
    part = "part 1" if signed_first else "part 2"
    assert status.ok, status.errors
    assert status.signed and status.signature_valid
    assert status.services.as_set() == set()  # nothing holds for the whole message
    assert status.coverage.authentication == [part]
    assert status.coverage.integrity == [part]
    assert status.coverage.non_repudiation == [part]
    assert status.layers == []  # no S/MIME layer wraps the message
    data = status.to_json()
    assert data["coverage"]["authentication"] == [part]
    assert data["contract_version"] == CONTRACT_VERSION == 4


def test_a_receiver_requiring_signatures_refuses_a_partial_signature() -> None:
    _, status = read_message(
        _partial(),
        keys=[],
        trust=[c for p in PKI.trust_paths() for c in read_certificates(p)],
        crls=[read_crl(p) for p in PKI.crl_paths()],
        directory=None,
        options=ReceiveOptions(require_signature=True),
        validation_time=MOMENT,
        intermediates=PKI.intermediates(),
    )
    assert [e.code.value for e in status.errors] == ["no-signature"]
    assert "covers only a part" in status.errors[0].message


def test_a_tampered_signed_part_covers_nothing() -> None:
    message = _partial().replace(b"Compte rendu: normal.", b"Compte rendu: grave!!")
    status = _read(message)
    assert [e.code.value for e in status.errors] == ["bad-signature"]
    assert status.covered() == Coverage()


def test_status_json_round_trip_and_version_1_adapters() -> None:
    status = _read(_partial())
    again = Status.from_json(json.loads(status.dumps()))
    assert again.coverage == status.coverage and again.contract_version == CONTRACT_VERSION
    # Version 1: no coverage, no version; each service held covers the whole message.
    old = Status.from_json({"services": {"integrity": True}, "signed": True})
    assert old.contract_version == 1
    assert old.coverage.integrity == ["message"] and old.coverage.authentication == []


def test_a_tool_agent_setting_only_services_covers_the_whole_message() -> None:
    status = Status(services=Services(integrity=True, authentication=True))
    assert status.to_json()["coverage"] == {
        "authentication": ["message"],
        "integrity": ["message"],
        "non_repudiation": [],
        "confidentiality": [],
    }


def test_services_and_coverage_that_disagree_are_refused() -> None:
    for services, coverage in (
        ({"authentication": True}, {"authentication": ["part 1"]}),
        ({}, {"authentication": ["message"]}),
        ({}, {"authentication": "part 1"}),
    ):
        with pytest.raises(ValueError, match="coverage"):
            Status.from_json({"services": services, "coverage": coverage})
    with pytest.raises(ValueError, match="contract_version"):
        Status.from_json({"contract_version": "two"})


def test_capabilities_print_the_contract_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agent", "reference", "capabilities"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["contract_version"] == CONTRACT_VERSION
    assert "sign" in data["send"] and "sign" in data["receive"]
