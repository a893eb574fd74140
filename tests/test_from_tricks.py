"""From: tricks (issue 15, point 6): a signature authenticates the author only when the
header names one author and that author is the signer (RFC 8550 3, RFC 8551 3.1, RFC 5322
3.6.2), for the strict receiver, every profile that checks the sender address, the agent
command line and the validator.

Every message is signed by the suite's own builder (`build_message`) with an identity of the
test PKI (vectors/pki); only the RFC 5322 header block, outside the signature, is then
rewritten as an attacker would (the "Johnny, you are fired" forgeries).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from agents_support import run_agent

from conformance.check import run_checks
from conformance.core.author import author
from conformance.matrix.cast import exported_pki
from conformance.pki.model import load_pki
from conformance.profiles.loader import load_profile, load_profiles
from conformance.smime.compose import Headers, build_message
from conformance.smime.options import ReceiveOptions, SendOptions
from conformance.smime.receive import read_message
from conformance.status import EXIT_CODES, ErrorCode, Status
from conformance.token.software import SoftwareKey

PKI = load_pki()
SIGNER = PKI.identities["pro01"]
OTHER = PKI.identities["pro03"]  # another professional, the one the forger names
RECIPIENT = PKI.identities["pro02"]
TEXT = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nCompte rendu: resultat normal.\r\n"


def _signed() -> bytes:
    key = SoftwareKey(SIGNER.private_key("sign"), SIGNER.certificate("sign"), SIGNER.id)
    headers = Headers(
        from_addr=SIGNER.email,
        to=[RECIPIENT.email],
        subject="Compte rendu",
        date=datetime.now(UTC) - timedelta(minutes=5),
    )
    chain = list(SIGNER.chain()[:1]) or [PKI.intermediate]
    return build_message(TEXT, "sign", SendOptions(), key, chain, [], headers)


MESSAGE = _signed()
FROM_LINE = f"From: {SIGNER.email}\r\n".encode()
assert MESSAGE.count(FROM_LINE) == 1, MESSAGE[:400]


def _rewrite(fields: str) -> bytes:
    """The signed message with its From: field replaced by `fields` (outside the signature)."""
    return MESSAGE.replace(FROM_LINE, fields.encode())


def _both(first: str, second: str) -> str:
    return f"{first}, {second}"


TRICKS: dict[str, bytes] = {
    "two mailboxes, the other first": _rewrite(f"From: {_both(OTHER.email, SIGNER.email)}\r\n"),
    "two From fields, the other first": _rewrite(
        f"From: {OTHER.email}\r\nFrom: {SIGNER.email}\r\n"
    ),
    "no From field": _rewrite(""),
    "two mailboxes, Sender another": _rewrite(
        f"From: {_both(OTHER.email, SIGNER.email)}\r\nSender: {OTHER.email}\r\n"
    ),
}
ACCEPTED: dict[str, bytes] = {
    "one From, the signer": MESSAGE,
    "two mailboxes, Sender the signer": _rewrite(
        f"From: {_both(OTHER.email, SIGNER.email)}\r\nSender: {SIGNER.email}\r\n"
    ),
}


@pytest.fixture(autouse=True)
def _software_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


def receive(message: bytes, options: ReceiveOptions) -> Status:
    _, status = read_message(
        message,
        keys=[],
        trust=[PKI.root],
        crls=list(PKI.crls),
        directory=None,
        options=options,
        intermediates=PKI.intermediates(),
    )
    return status


STRICT = load_profile("reference").receive_options()


def test_the_author_rule() -> None:
    signer, other = SIGNER.email, OTHER.email
    assert author([signer]).address == signer
    assert author([f'"Dr X" <{signer.upper()}>']).address == signer
    assert author([]).problem == "no From: field"
    assert author([other, signer]).problem == "2 From: fields"
    assert author([f"{other}, {signer}"]).address is None
    assert author([f"{other}, {signer}"], [signer]).address == signer
    assert author([f"{other}, {signer}"], [signer, signer]).address is None
    assert author([f"{other}, {signer}"], [f"{other}, {signer}"]).address is None
    assert author(["undisclosed-recipients:;"]).problem == "From: holds no address"
    nested = "(" * 5000 + ")" * 5000 + f" {signer}"
    assert author([nested]).address in (None, signer)  # a classified answer, never an exception


@pytest.mark.parametrize("case", sorted(TRICKS))
def test_the_strict_receiver_does_not_authenticate_an_ambiguous_author(case: str) -> None:
    status = receive(TRICKS[case], STRICT)
    assert [e.code for e in status.errors] == [ErrorCode.SIGNER_MISMATCH], status.errors
    assert status.signature_valid and status.chain_valid
    services = status.services
    assert services.integrity and not services.authentication and not services.non_repudiation
    assert status.exit_code() == EXIT_CODES[ErrorCode.SIGNER_MISMATCH] == 12
    text = status.errors[0].message
    assert "integrity holds" in text, text
    assert ("ambiguous" in text) is (case != "two mailboxes, Sender another"), text


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_the_strict_receiver_authenticates_one_author_who_is_the_signer(case: str) -> None:
    status = receive(ACCEPTED[case], STRICT)
    assert status.errors == [] and status.ok
    services = status.services
    assert services.integrity and services.authentication and services.non_repudiation


def test_every_profile_that_checks_the_sender_refuses_the_tricks() -> None:
    checked = []
    for profile_id, profile in sorted(load_profiles().items()):
        if profile.receive.smime is None:
            continue  # reads no S/MIME
        options = profile.receive_options()
        if not options.check_sender_address or not receive(MESSAGE, options).ok:
            continue  # does not check From:, or does not read this message at all
        checked.append(profile_id)
        for case, message in TRICKS.items():
            codes = [e.code for e in receive(message, options).errors]
            assert codes == [ErrorCode.SIGNER_MISMATCH], (profile_id, case, codes)
        assert receive(ACCEPTED["two mailboxes, Sender the signer"], options).ok, profile_id
    print(f"{len(checked)} profiles checked: {', '.join(checked)}")
    assert "reference" in checked and len(checked) >= 5, checked


# --- the agent command line ------------------------------------------------------------


@pytest.fixture(scope="module")
def export() -> Path:
    return exported_pki(PKI)


def agent_receive(export: Path, message: bytes, status_out: Path) -> tuple[int, Status, str]:
    ca = export / "ca"
    args = ["reference", "receive", "--identity", str(export / "identities" / "pro02")]
    args += ["--trust", str(ca / "root.pem")]
    args += ["--crl", str(ca / "root.crl.pem"), "--crl", str(ca / "intermediate.crl.pem")]
    args += ["--status-out", str(status_out)]
    ran = run_agent(*args, stdin=message)
    return ran.code, Status.from_json(json.loads(status_out.read_text())), ran.stderr


@pytest.mark.parametrize(
    ("case", "expected"),
    [*((c, 12) for c in sorted(TRICKS)), *((c, 0) for c in sorted(ACCEPTED))],
)
def test_agent_receive_exit_code(export: Path, tmp_path: Path, case: str, expected: int) -> None:
    message = {**TRICKS, **ACCEPTED}[case]
    code, status, stderr = agent_receive(export, message, tmp_path / "s.json")
    assert code == expected == status.exit_code(), stderr
    assert status.services.authentication is (expected == 0)
    assert status.services.non_repudiation is (expected == 0)
    assert status.services.integrity
    if expected:
        assert "signer-mismatch" in stderr


# --- the validator ----------------------------------------------------------------------


def check_statuses(message: bytes, policy: str) -> dict[str, list[str]]:
    report = run_checks(
        message,
        identity_dir=None,
        trust=PKI.trust_paths(),
        crls=PKI.crl_paths(),
        policy=policy,
        expected_sender=SIGNER.email,
    )
    rules = ("HDR-001", "HDR-008", "CERT-007")
    return {rule: [c.status for c in report.by_id(rule)] for rule in rules}


@pytest.mark.parametrize("policy", ["osm-2008", "modern"])
@pytest.mark.parametrize("case", sorted(TRICKS))
def test_check_reports_an_ambiguous_author_as_error(policy: str, case: str) -> None:
    found = check_statuses(TRICKS[case], policy)
    assert found["CERT-007"] == found["HDR-008"] == ["ERROR"], found
    if case != "two mailboxes, Sender another":  # the header is well-formed, the author wrong
        assert found["HDR-001"] == ["ERROR"], found


@pytest.mark.parametrize("policy", ["osm-2008", "modern"])
@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_check_accepts_one_author_who_is_the_signer(policy: str, case: str) -> None:
    found = check_statuses(ACCEPTED[case], policy)
    assert found == {"HDR-001": ["SUCCESS"], "HDR-008": ["SUCCESS"], "CERT-007": ["SUCCESS"]}, found
