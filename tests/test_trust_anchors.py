"""Trusting more anchors never turns a valid signature into an untrusted one.

A message signed by `openssl cms -sign` with the test PKI (vectors/pki) is
judged by `check` (its chain and revocation rules) and by the strict receiver,
with the CRLs of both CAs given, under every way a user installs the anchors:
the root alone, root and intermediate in either order, the PKI export's
`ca/ca-bundle.pem`, and the intermediate alone (RFC 5280 6.1.1 (d): any CA can be
an anchor; revocation is then checked against that anchor's own CRL). In each
one a valid signer is trusted, a revoked one is refused as revoked, and one
under an unknown root is untrusted. The intermediate given as anchor once made
the receiver answer "the chain of trust for the CRL issuer could not be
determined" (smime/validate.py, `_AnchorPath`). Trusting the root as well, the
root's CRL is still asked about the intermediate when it is given (`_validate`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from agents_support import run_agent
from cryptography.hazmat.primitives import serialization
from smime_read_support import openssl_signed_by

from conformance.check.model import CheckReport
from conformance.check.runner import run_checks
from conformance.pki import certs
from conformance.pki.model import (
    TestPKI,
    load_pki,
    read_certificates,
    read_crl,
    read_private_key,
)
from conformance.smime.options import ReceiveOptions
from conformance.smime.receive import read_message
from conformance.status import ErrorCode, Status

pytestmark = pytest.mark.engines

PKI = load_pki()
CA = PKI.directory / "ca"
CONTENT = b"Content-Type: text/plain; charset=utf-8\r\n\r\nCompte rendu: normal.\r\n"

ANCHORS: dict[str, tuple[Path, ...]] = {
    "root": (CA / "root.pem",),
    "root+intermediate": (CA / "root.pem", CA / "intermediate.pem"),
    "intermediate+root": (CA / "intermediate.pem", CA / "root.pem"),
    "bundle": (PKI.ca_bundle_path(),),
    "intermediate": (CA / "intermediate.pem",),
}
BOTH_CRLS = PKI.crl_paths()
SIGNERS = {"valid": "pro01", "revoked": "defect-revoked", "unknown-root": "defect-unknown-root"}


def _sign(pki: TestPKI, identity_id: str) -> bytes:
    return openssl_signed_by(pki.identity(identity_id), pki.identity("pro02").email, CONTENT)


@pytest.fixture(scope="module")
def messages() -> dict[str, bytes]:
    return {kind: _sign(PKI, who) for kind, who in SIGNERS.items()}


@dataclass(frozen=True)
class Verdict:
    """What one side says of the signer: trusted, revoked, or untrusted (and why)."""

    signature_valid: bool | None
    outcome: str  # "trusted", "revoked", "untrusted"
    detail: str


def _receive(message: bytes, trust: tuple[Path, ...], crls: tuple[Path, ...]) -> Verdict:
    _, status = read_message(
        message,
        keys=[],
        trust=[c for p in trust for c in read_certificates(p)],
        crls=[read_crl(p) for p in crls],
        directory=None,
        options=ReceiveOptions(),
    )
    return _from_status(status)


def _from_status(status: Status) -> Verdict:
    codes = {e.code for e in status.errors}
    detail = "; ".join(e.message for e in status.errors)
    if ErrorCode.REVOKED_SIGNER in codes:
        return Verdict(status.signature_valid, "revoked", detail)
    if status.chain_valid is True and not codes:
        return Verdict(status.signature_valid, "trusted", detail)
    return Verdict(status.signature_valid, "untrusted", detail)


def _check(message: bytes, trust: tuple[Path, ...], crls: tuple[Path, ...]) -> Verdict:
    report = run_checks(message, trust=trust, crls=crls)
    return _from_report(report)


def _from_report(report: CheckReport) -> Verdict:
    """CMS-009 for the signature; CERT-001 (path) and CERT-003 (revocation) for the signer."""
    signature = [c.status == "SUCCESS" for c in report.by_id("CMS-009")]
    chain = report.by_id("CERT-001")
    revocation = report.by_id("CERT-003")
    detail = "; ".join(f"{c.id} {c.status}: {c.found}" for c in (*chain, *revocation))
    valid = all(signature) if signature else None
    if any(c.status == "ERROR" and "revoked" in c.found for c in revocation):
        return Verdict(valid, "revoked", detail)
    if chain and all(c.status == "SUCCESS" for c in (*chain, *revocation)):
        return Verdict(valid, "trusted", detail)
    return Verdict(valid, "untrusted", detail)


EXPECTED = {"valid": "trusted", "revoked": "revoked", "unknown-root": "untrusted"}


@pytest.mark.parametrize("anchors", list(ANCHORS))
@pytest.mark.parametrize("signer", list(SIGNERS))
@pytest.mark.parametrize("side", ["check", "receive"])
def test_every_way_of_trusting_the_pki(
    messages: dict[str, bytes], side: str, signer: str, anchors: str
) -> None:
    judge = _check if side == "check" else _receive
    verdict = judge(messages[signer], ANCHORS[anchors], BOTH_CRLS)
    assert verdict.signature_valid is True, verdict.detail
    assert verdict.outcome == EXPECTED[signer], verdict.detail


@pytest.mark.parametrize("signer", ["valid", "revoked"])
def test_the_intermediate_alone_is_checked_against_its_own_crl(
    messages: dict[str, bytes], signer: str
) -> None:
    """Without the intermediate's CRL the receiver cannot know; with it alone it can."""
    intermediate = ANCHORS["intermediate"]
    own_crl = (CA / "intermediate.crl.pem",)
    assert _receive(messages[signer], intermediate, own_crl).outcome == EXPECTED[signer]
    assert _check(messages[signer], intermediate, own_crl).outcome == EXPECTED[signer]
    unknown = _receive(messages[signer], intermediate, (CA / "root.crl.pem",))
    assert unknown.outcome == "untrusted"
    assert "revocation status unknown" in unknown.detail
    checked = run_checks(messages[signer], trust=intermediate, crls=(CA / "root.crl.pem",))
    assert [c.status for c in checked.by_id("CERT-003")] == ["INFO"]  # not checked, said so


@pytest.mark.parametrize("side", ["check", "receive"])
def test_a_valid_signer_under_an_unknown_root_alone_is_untrusted(
    messages: dict[str, bytes], side: str
) -> None:
    judge = _check if side == "check" else _receive
    verdict = judge(messages["valid"], (PKI.directory / "ca-unknown" / "root.pem",), BOTH_CRLS)
    assert verdict.outcome == "untrusted", verdict.detail


@pytest.mark.parametrize("anchors", ["intermediate", "bundle"])
@pytest.mark.parametrize("side", ["check", "receive"])
def test_a_crl_in_the_anchors_name_not_signed_by_its_key_clears_no_one(
    messages: dict[str, bytes], side: str, anchors: str, tmp_path: Path
) -> None:
    """The anchor signs its CRL only with its own key: an empty CRL in its name by another
    key must not hide the revoked signer."""
    other_key = read_private_key(PKI.directory / "ca-keys" / "unknown-intermediate.key.pem")
    now = dt.datetime.now(dt.UTC)
    forged = certs.crl(PKI.intermediate, other_key, 99, now - dt.timedelta(days=1), now)
    path = tmp_path / "forged.crl.pem"
    path.write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    judge = _check if side == "check" else _receive
    verdict = judge(messages["revoked"], ANCHORS[anchors], (CA / "root.crl.pem", path))
    assert verdict.outcome == "untrusted", verdict.detail


def _agent_receive(
    monkeypatch: pytest.MonkeyPatch, message: bytes, trust: tuple[Path, ...], status: Path
) -> tuple[int, Status]:
    """`osm-conformance agent reference receive`, in process, as the issue reported it."""
    args = ["reference", "receive", "--identity", str(PKI.identity("pro02").directory)]
    for path in trust:
        args += ["--trust", str(path)]
    for path in BOTH_CRLS:
        args += ["--crl", str(path)]
    with monkeypatch.context() as patch:
        patch.setenv("OSM_CONFORMANCE_TOKEN", "software")
        code = run_agent(*args, "--status-out", str(status), stdin=message).code
    return code, Status.from_json(json.loads(status.read_text()))


@pytest.mark.parametrize("anchors", ["root+intermediate", "bundle"])
def test_the_agent_command_trusts_the_whole_bundle(
    messages: dict[str, bytes], anchors: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, status = _agent_receive(
        monkeypatch, messages["valid"], ANCHORS[anchors], tmp_path / "s.json"
    )
    assert (code, status.errors) == (0, [])
    assert status.signature_valid and status.chain_valid and status.services.authentication
    code, status = _agent_receive(
        monkeypatch, messages["revoked"], ANCHORS[anchors], tmp_path / "r.json"
    )
    assert code == status.exit_code() != 0
    assert [e.code for e in status.errors] == [ErrorCode.REVOKED_SIGNER]


@pytest.mark.parametrize("anchors", list(ANCHORS))
@pytest.mark.parametrize("side", ["check", "receive"])
def test_an_intermediate_the_root_revoked_is_refused_whenever_the_root_is_trusted(
    messages: dict[str, bytes], side: str, anchors: str, tmp_path: Path
) -> None:
    """The root's CRL is asked about the intermediate even when the intermediate is trusted
    too (OpenSSL and NSS build the path to the root); trusted alone, the intermediate is an
    anchor, taken as given (RFC 5280 6.1.1 (d))."""
    root_key = read_private_key(PKI.directory / "ca-keys" / "root.key.pem")
    now = dt.datetime.now(dt.UTC)
    revoked = [(PKI.intermediate.serial_number, now - dt.timedelta(days=2))]
    crl = certs.crl(
        PKI.root, root_key, 9, now - dt.timedelta(days=1), now + dt.timedelta(days=9), revoked
    )
    path = tmp_path / "root.crl.pem"
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    judge = _check if side == "check" else _receive
    verdict = judge(messages["valid"], ANCHORS[anchors], (path, CA / "intermediate.crl.pem"))
    assert verdict.outcome == ("trusted" if anchors == "intermediate" else "revoked"), (
        verdict.detail
    )


@pytest.mark.parametrize("anchors", ["root+intermediate", "intermediate+root", "bundle"])
@pytest.mark.parametrize("signer", ["valid", "revoked"])
def test_trusting_the_root_as_well_asks_no_more_crls_than_the_intermediate_alone(
    messages: dict[str, bytes], anchors: str, signer: str
) -> None:
    """Without the root's CRL the path to the root cannot be judged; the intermediate, also
    trusted, still is an anchor: one more anchor never turns a valid chain into a refused one."""
    own_crl = (CA / "intermediate.crl.pem",)
    assert _receive(messages[signer], ANCHORS[anchors], own_crl).outcome == EXPECTED[signer]
    assert _check(messages[signer], ANCHORS[anchors], own_crl).outcome == EXPECTED[signer]
