"""The agent contract tested by use: `osm-conformance agent ...` and CommandAgent.

A CommandAgent pointed at the built-in agent's command line must give the
same outcomes as the agent in process; the example adapter must work; the
receive verb's exit codes and status JSON must say what happened; and a
broken adapter must be a harness error (INTERNAL), never a verdict.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from agents_support import REPO, Ran, make_cast, run_agent, software_keys

from conformance.agents.base import ReceiveRequest, SendRequest
from conformance.agents.command import CommandAgent
from conformance.agents.factory import make_agent
from conformance.core.vocabulary import FUNCTIONS, Capabilities, Function, Party
from conformance.matrix.cast import Cast, exported_pki
from conformance.matrix.exchange import HarnessError, Observation, Seat, exchange
from conformance.pki.model import load_pki
from conformance.profiles.loader import load_profile, load_profiles
from conformance.scenarios import basic_scenario, build_entity
from conformance.status import EXIT_CODES, ErrorCode, Status

__all__ = ["software_keys"]

AGENT = [sys.executable, "-m", "conformance", "agent"]
ALL = Capabilities(send=frozenset(FUNCTIONS), receive=frozenset(FUNCTIONS))
ENTITY = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nBonjour, voici le compte rendu.\r\n"


@pytest.fixture(scope="module")
def export() -> Path:
    return exported_pki(load_pki())


@pytest.fixture(scope="module")
def cast(software_keys: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    profiles = load_profiles()
    wanted = ("smm", "reference", "apimail-apicrypt", "easycrypt-net", "openssl")
    made = make_cast({i: profiles[i] for i in wanted}, tmp_path_factory.mktemp("cli"))
    yield made
    made.close()


def reason_code(obs: Observation) -> str | None:
    return None if obs.reason is None else obs.reason.split(":")[0]


def through_command(cast: Cast, agent_id: str, role: str) -> Seat:
    seat = cast.seat(agent_id, role)
    caps = cast.profiles[agent_id].capabilities()
    command = CommandAgent(agent_id, [*AGENT, agent_id], caps)
    return Seat(seat.party, seat.encryption_certificate, command)


# --- 1. whole exchanges through `osm-conformance agent`, as in process -------------------

CASES: list[tuple[str, str, Function]] = [
    *[("smm", "reference", f) for f in ("sign", "encrypt", "sign-encrypt")],
    ("apimail-apicrypt", "easycrypt-net", "sign"),  # Apicrypt signs, EASYCRYPT cannot check
    ("easycrypt-net", "apimail-apicrypt", "encrypt"),  # EASYCRYPT.net chooses the Apicrypt model
]


@pytest.mark.parametrize("direction", ["command-sends", "command-receives"])
@pytest.mark.parametrize(("commanded", "builtin", "function"), CASES)
def test_command_agent_matches_the_agent_in_process(
    cast: Cast, commanded: str, builtin: str, function: Function, direction: str
) -> None:
    scenario = basic_scenario(function)
    if direction == "command-sends":
        sender, receiver = commanded, builtin
        via = exchange(
            scenario,
            through_command(cast, sender, "sender"),
            cast.seat(receiver, "receiver"),
            cast.world(),
        )
    else:
        sender, receiver = builtin, commanded
        via = exchange(
            scenario,
            cast.seat(sender, "sender"),
            through_command(cast, receiver, "receiver"),
            cast.world(),
        )
    direct = exchange(
        scenario, cast.seat(sender, "sender"), cast.seat(receiver, "receiver"), cast.world()
    )
    assert (via.ok, reason_code(via), via.services) == (
        direct.ok,
        reason_code(direct),
        direct.services,
    ), f"through the command: {via.reason}; in process: {direct.reason}"
    if direct.ok:
        assert via.reception is not None and via.reception.content == direct.reception.content  # type: ignore[union-attr]
    # Both outcomes occur among the cases: EASYCRYPT.net and Apicrypt do not sign for each other,
    # and S.M.M., a 2008 product, refuses reference's RSA-OAEP with SHA-256 (issue 16).
    refused = function != "sign" and (sender, receiver) == ("reference", "smm")
    assert direct.ok == (
        not refused and (function != "sign" or "apimail-apicrypt" not in (sender, receiver))
    )


# --- 2. the example adapter -------------------------------------------------------------------


@pytest.mark.engines
@pytest.mark.parametrize("function", ["sign", "encrypt", "sign-encrypt"])
def test_example_adapter_exchanges_with_builtin_agents(
    cast: Cast, function: Function, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("openssl") is None or shutil.which("python3") is None:
        pytest.skip("the example adapter needs openssl and python3 on PATH")
    monkeypatch.chdir(REPO)  # its profile names the script relative to the repository
    agent = make_agent(load_profile(REPO / "examples/adapters/fictimail.yaml"))
    assert isinstance(agent, CommandAgent) and agent.version().startswith("FictiMail")
    for partner in ("reference", "smm"):
        mine = cast.seat(partner, "sender")  # a user of its own for the adapter
        adapter = Seat(mine.party, mine.encryption_certificate, agent)
        there = exchange(
            basic_scenario(function), adapter, cast.seat(partner, "receiver"), cast.world()
        )
        back = exchange(
            basic_scenario(function), cast.seat(partner, "sender"), adapter, cast.world()
        )
        assert there.ok, f"fictimail -> {partner} {function}: {there.reason}"
        assert back.ok, f"{partner} -> fictimail {function}: {back.reason}"
        assert there.send is not None and "fictimail.py" in " ".join(there.send.evidence.command)


# --- 3. exit codes and status JSON of the receive verb ------------------------------------------
# In process through conformance.cli.main (the same code as the installed command, without
# a second's start-up each); one test runs the real process end to end.


def cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "OSM_CONFORMANCE_TOKEN": "software"}
    return subprocess.run(
        [*AGENT, *args],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )


class Pki:
    """Three users of the exported PKI, and the agent command line run in process for them."""

    def __init__(self, export: Path) -> None:
        ids = [i.id for i in load_pki().valid_identities()]
        self.sender, self.me, self.other = (export / "identities" / i for i in ids[:3])
        ca = export / "ca"
        self.trust = [
            "--trust",
            str(ca / "root.pem"),
            "--crl",
            str(ca / "root.crl.pem"),
            "--crl",
            str(ca / "intermediate.crl.pem"),
        ]

    def send(self, profile: str, function: str, to: Path) -> bytes:
        ran = run_agent(
            profile,
            "send",
            "--function",
            function,
            "--from",
            str(self.sender),
            "--to",
            str(to / "encrypt.pem"),
            "--subject",
            "CR",
            stdin=ENTITY,
        )
        assert ran.code == 0, ran.stderr
        return ran.stdout

    def receive(self, profile: str, message: bytes, me: Path, status: Path) -> tuple[Ran, Status]:
        ran = run_agent(
            profile,
            "receive",
            "--identity",
            str(me),
            *self.trust,
            "--status-out",
            str(status),
            stdin=message,
        )
        parsed = Status.from_json(json.loads(status.read_text()))
        assert ran.code == parsed.exit_code(), "the exit code agrees with the status"
        return ran, parsed


@pytest.fixture
def pki(export: Path, software_keys: None) -> Pki:
    return Pki(export)


def test_the_installed_command_sends_and_receives(pki: Pki, tmp_path: Path) -> None:
    sent = cli(
        "smm",
        "send",
        "--function",
        "sign-encrypt",
        "--from",
        str(pki.sender),
        "--to",
        str(pki.me / "encrypt.pem"),
        "--subject",
        "CR",
        stdin=ENTITY,
    )
    assert sent.returncode == 0, sent.stderr.decode()
    status = tmp_path / "status.json"
    got = cli(
        "reference",
        "receive",
        "--identity",
        str(pki.me),
        *pki.trust,
        "--status-out",
        str(status),
        stdin=sent.stdout,
    )
    assert got.returncode == 0, got.stderr.decode()
    assert got.stdout.replace(b"\r\n", b"\n").endswith(b"Bonjour, voici le compte rendu.\n")
    assert Status.from_json(json.loads(status.read_text())).ok


def test_receive_success_is_0_with_content_and_services(pki: Pki, tmp_path: Path) -> None:
    message = pki.send("smm", "sign-encrypt", pki.me)
    ran, status = pki.receive("reference", message, pki.me, tmp_path / "s.json")
    assert ran.code == 0 and status.ok and ran.stderr == ""
    assert ran.stdout.replace(b"\r\n", b"\n").endswith(b"Bonjour, voici le compte rendu.\n")
    assert status.services.as_set() == {
        "authentication",
        "integrity",
        "non_repudiation",
        "confidentiality",
    }
    assert "des-ede3-cbc" in status.algorithms.content_encryption
    assert status.signer is not None and status.signer.non_repudiation


def _flip_signature_byte(message: bytes) -> bytes:
    """Flip the last byte of the CMS (inside the RSA signature) of the
    application/pkcs7-signature part, keeping every other byte as it was."""
    parsed = email.message_from_bytes(message, policy=email.policy.compat32)
    assert parsed.get_content_type() == "multipart/signed"
    delimiter = b"\r\n--" + parsed.get_boundary().encode() + b"\r\n"  # type: ignore[union-attr]
    signature_part = message.split(delimiter)[2].split(delimiter[:-2] + b"--")[0]
    head, body = signature_part.split(b"\r\n\r\n", 1)
    assert b"pkcs7-signature" in head
    body = body.rstrip(b"\r\n")
    der = bytearray(base64.b64decode(body))
    der[-1] ^= 0x01
    new = base64.encodebytes(bytes(der)).replace(b"\n", b"\r\n").rstrip(b"\r\n")
    assert len(new) == len(body) and message.count(body) == 1
    return message.replace(body, new)


def test_receive_bad_signature_is_11(pki: Pki, tmp_path: Path) -> None:
    message = pki.send("smm", "sign", pki.me)
    ran, status = pki.receive("smm", _flip_signature_byte(message), pki.me, tmp_path / "s.json")
    assert ran.code == EXIT_CODES[ErrorCode.BAD_SIGNATURE] == 11
    assert status.primary_error().code is ErrorCode.BAD_SIGNATURE  # type: ignore[union-attr]
    assert status.signature_valid is False and not status.services.integrity
    assert "bad-signature" in ran.stderr
    # The control: the same message unaltered verifies.
    assert pki.receive("smm", message, pki.me, tmp_path / "t.json")[0].code == 0


def test_receive_not_for_me_is_13(pki: Pki, tmp_path: Path) -> None:
    message = pki.send("smm", "encrypt", pki.me)
    ran, status = pki.receive("smm", message, pki.other, tmp_path / "s.json")
    assert ran.code == 13 and ran.stdout == b""
    assert [e.code for e in status.errors] == [ErrorCode.CANNOT_DECRYPT]
    assert "not for me" in status.errors[0].message


@pytest.mark.parametrize(
    "message",
    [
        b"not a mail at all",
        b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nMIIBogYJKoZIhvcNAQcD\r\n",
    ],
    ids=["not-mime", "truncated-cms"],
)
def test_receive_malformed_is_16(pki: Pki, tmp_path: Path, message: bytes) -> None:
    ran, status = pki.receive("smm", message, pki.me, tmp_path / "s.json")
    assert ran.code == 16 and ran.stdout == b""
    assert status.primary_error().code is ErrorCode.MALFORMED  # type: ignore[union-attr]
    assert "malformed" in ran.stderr


def test_a_message_over_the_configured_limit_is_too_large_17(pki: Pki, tmp_path: Path) -> None:
    # A valid message, only larger than the receiver takes: too-large, not malformed.
    message = pki.send("smm", "sign-encrypt", pki.me)
    common = ["reference", "receive", "--identity", str(pki.me), *pki.trust]
    status_file = tmp_path / "s.json"
    limit = str(len(message) - 1)
    ran = run_agent(*common, "--max-message-bytes", limit, "--status-out", str(status_file),
                    stdin=message)  # fmt: skip
    status = Status.from_json(json.loads(status_file.read_text()))
    assert ran.code == EXIT_CODES[ErrorCode.TOO_LARGE] == 17 and ran.stdout == b""
    assert [e.code for e in status.errors] == [ErrorCode.TOO_LARGE]
    # stdin is read up to the limit only: what is over it is not read at all
    assert f"more than {limit} bytes, over the limit of {limit}" in status.errors[0].message
    assert "too-large" in ran.stderr
    # The control: at exactly its size the same message is read; a size takes units.
    assert run_agent(*common, "--max-message-bytes", str(len(message)), stdin=message).code == 0
    assert run_agent(*common, "--max-message-bytes", "1K", stdin=message).code == 17
    bad = run_agent(*common, "--max-message-bytes", "lots", stdin=message)
    assert bad.code == 2 and "'lots' is not a size" in bad.stderr
    # A real engine is measured with its own limits: the option is refused for it.
    other = run_agent("openssl", *common[1:], "--max-message-bytes", "1K", stdin=message)
    assert other.code != 0 and "not the built-in engine" in other.stderr


def test_unsupported_function_is_15(pki: Pki) -> None:
    lacking = [p for p in load_profiles().values() if "hprim-net" not in p.capabilities().send]
    assert lacking, "a shipped profile lacks HPRIM-Net (Apicrypt does not speak it)"
    ran = run_agent(
        lacking[0].id,
        "send",
        "--function",
        "hprim-net",
        "--from",
        str(pki.sender),
        "--to",
        str(pki.me / "encrypt.pem"),
        stdin=ENTITY,
    )
    assert ran.code == 15 and ran.stdout == b""
    assert "unsupported-function" in ran.stderr


def test_missing_files_are_2_with_a_clear_message(pki: Pki, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "root.pem"
    runs = {
        "trust file": run_agent(
            "smm", "receive", "--identity", str(pki.me), "--trust", str(missing)
        ),
        "identity": run_agent(
            "smm", "receive", "--identity", str(tmp_path / "nobody"), "--trust", str(missing)
        ),
        "no --identity": run_agent("smm", "receive"),
        "no --from": run_agent("smm", "send", "--function", "sign"),
    }
    for what, ran in runs.items():
        assert ran.code == 2, (what, ran.stderr)
        assert "Traceback" not in ran.stderr and ran.stderr.strip(), what
    assert f"{missing}: no such file" in runs["trust file"].stderr
    assert "nobody: not an identity directory" in runs["identity"].stderr
    assert "--identity" in runs["no --identity"].stderr
    # And in a real process: a message, no traceback.
    real = cli("smm", "receive", "--identity", str(pki.me), "--trust", str(missing))
    assert real.returncode == 2 and b"Traceback" not in real.stderr
    assert f"{missing}: no such file".encode() in real.stderr


@pytest.mark.softhsm
def test_a_whole_exchange_with_keys_on_softhsm(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from conformance.agents import identity_files
    from conformance.token import softhsm
    from conformance.token.pkcs11 import Pkcs11Key

    if not softhsm.available():
        pytest.skip("SoftHSM2 is not installed (Debian package softhsm2)")
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "softhsm")
    identity_files._key.cache_clear()  # keys opened in software by other tests
    profiles = load_profiles()
    cast = make_cast({i: profiles[i] for i in ("smm", "sermentis-mms")}, tmp_path)
    try:
        sender = cast.seat("smm", "sender")
        assert isinstance(identity_files.key(sender.party, "sign"), Pkcs11Key)
        obs = exchange(
            basic_scenario("sign-encrypt"),
            sender,
            cast.seat("sermentis-mms", "receiver"),
            cast.world(),
        )
        assert obs.ok, obs.reason
    finally:
        cast.close()
        identity_files._key.cache_clear()


# --- 4. broken adapters are harness errors, never verdicts ----------------------------------


def adapter(tmp_path: Path, name: str, body: str) -> list[str]:
    script = tmp_path / f"{name}.py"
    script.write_text(
        "import json, sys, time\n"
        "args = sys.argv[1:]\n"
        "status_out = args[args.index('--status-out') + 1] if '--status-out' in args else None\n"
        "sys.stdin.buffer.read()\n" + textwrap.dedent(body)
    )
    return [sys.executable, str(script)]


OK_STATUS = json.dumps(
    {"decrypted": True, "encrypted": True, "errors": [], "services": {"confidentiality": True}}
)
BAD_SIG_STATUS = json.dumps(
    {
        "signed": True,
        "signature_valid": False,
        "errors": [{"code": "bad-signature", "message": "no"}],
    }
)
BROKEN = {
    "no-status": ("sys.stdout.write('hello')\n", "wrote no status"),
    "invalid-json": ("open(status_out, 'w').write('{not json')\n", "bad status"),
    "unknown-code": (
        "open(status_out, 'w').write(json.dumps({'errors': [{'code': 'oops'}]}))\n",
        "bad status",
    ),
    "exit-11-status-ok": (
        f"open(status_out, 'w').write({OK_STATUS!r})\nsys.exit(11)\n",
        "disagrees",
    ),
    "exit-0-status-bad": (f"open(status_out, 'w').write({BAD_SIG_STATUS!r})\n", "disagrees"),
    "timeout": ("time.sleep(30)\n", "timed out"),
}


def receive_with(argv: list[str], pki: Pki, timeout: float = 20.0) -> Status:
    agent = CommandAgent("broken", argv, ALL, timeout=timeout)
    request = ReceiveRequest(message=b"From: a@b\r\n\r\nx\r\n", recipient=_party(pki.me), trust=())
    return agent.receive(request).status


def _party(directory: Path) -> Party:
    data = json.loads((directory / "identity.json").read_text(encoding="utf-8"))
    return Party(directory, data["email"], data["name"])


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_adapter_is_an_internal_error(pki: Pki, tmp_path: Path, case: str) -> None:
    body, words = BROKEN[case]
    status = receive_with(adapter(tmp_path, case, body), pki, timeout=1.5)
    error = status.primary_error()
    assert error is not None and error.code is ErrorCode.INTERNAL, status.errors
    assert words in error.message


def test_a_well_behaved_adapter_gives_its_verdict(pki: Pki, tmp_path: Path) -> None:
    """The control of the test above: agreeing exit code and status are taken as they are."""
    good = adapter(
        tmp_path, "good", f"open(status_out, 'w').write({BAD_SIG_STATUS!r})\nsys.exit(11)\n"
    )
    status = receive_with(good, pki)
    assert [e.code for e in status.errors] == [ErrorCode.BAD_SIGNATURE]


def test_an_adapter_that_does_not_start_or_hangs_on_send_is_internal(
    pki: Pki, tmp_path: Path
) -> None:
    request = SendRequest(
        function="sign",
        content=ENTITY,
        sender=_party(pki.sender),
        recipients=(),
        recipient_emails=(),
    )
    for argv, words in (
        ([str(tmp_path / "no-such-adapter")], "did not start"),
        (adapter(tmp_path, "slow", "time.sleep(30)\n"), "timed out"),
        (adapter(tmp_path, "silent", "pass\n"), "no message"),
    ):
        result = CommandAgent("broken", argv, ALL, timeout=1.5).send(request)
        assert result.message is None and result.error is ErrorCode.INTERNAL, result
        assert words in result.reason


def test_a_broken_adapter_makes_the_exchange_a_harness_error(cast: Cast, tmp_path: Path) -> None:
    seat = cast.seat("smm", "receiver")
    broken = Seat(
        seat.party,
        seat.encryption_certificate,
        CommandAgent("broken", adapter(tmp_path, "b", BROKEN["invalid-json"][0]), ALL),
    )
    with pytest.raises(HarnessError, match="bad status"):
        exchange(basic_scenario("sign"), cast.seat("smm", "sender"), broken, cast.world())
    assert build_entity(basic_scenario("sign"))  # the scenario itself is fine


def test_bad_trust_crl_date_and_status_out_are_usage_errors(pki: Pki, tmp_path: Path) -> None:
    """The caller's mistakes are exit 2 with a message naming the option or file, before any
    work: not `internal` (the agent broken), not a traceback, not a --date silently replaced."""
    text = tmp_path / "notes.txt"
    text.write_text("not a certificate")
    receive = ["reference", "receive", "--identity", str(pki.me)]
    runs = {
        "trust": run_agent(*receive, "--trust", str(text)),
        "crl": run_agent(*receive, *pki.trust[:2], "--crl", str(text)),
        "status-out": run_agent(
            *receive, *pki.trust, "--status-out", str(tmp_path / "no" / "s.json"), stdin=ENTITY
        ),
        "date": run_agent(
            "reference", "send", "--function", "sign", "--from", str(pki.sender),
            "--date", "yesterday", stdin=ENTITY,
        ),
    }  # fmt: skip
    for what, ran in runs.items():
        assert (ran.code, ran.stdout) == (2, b""), (what, ran.stderr)
        assert "Traceback" not in ran.stderr, what
    assert f"{text}: not a PEM certificate" in runs["trust"].stderr
    assert f"{text}: not a PEM CRL" in runs["crl"].stderr
    assert f"--status-out {tmp_path / 'no' / 's.json'}: No such file" in runs["status-out"].stderr
    assert "--date 'yesterday': not an RFC 5322 date" in runs["date"].stderr


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--subject", "a\nBcc: x", "contains a line break"),
        ("--subject", "a\rb", "contains a line break"),
        ("--message-id", "<a\nb@x>", "contains a line break"),
        ("--message-id", "<é@x>", "not ASCII"),
    ],
)
def test_a_header_option_the_message_cannot_carry_is_a_usage_error(
    pki: Pki, option: str, value: str, said: str
) -> None:
    """The caller's mistake (exit 2, the option named), not the product declining the
    function (15, unsupported-function)."""
    send = ["reference", "send", "--function", "sign", "--from", str(pki.sender)]
    ran = run_agent(*send, option, value, stdin=ENTITY)
    assert (ran.code, ran.stdout) == (2, b""), ran.stderr
    assert f"{option} {value!r}: {said}" in ran.stderr
