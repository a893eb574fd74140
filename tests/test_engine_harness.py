"""The engine harnesses against the command lines they stand for (a differential test).

Every message of the engine corpus (the golden messages, RFC 4134's objects, the
engine's other options, what openssl, NSS and gpgsm write, and openssl-made
messages from the defective identities of the test PKI, tampered ones included)
is received by each real engine (PKI.js among them) twice: once with every call a plain command
line (engine mode "cli"), once through the engine's harness. The two must agree
on every call (same argv, same exit code, the same messages once the
per-process parts are removed: OpenSSL's thread id, the instance's file
counter) and on the verdict (the status: errors with their reasons, services,
algorithms, signer). Sends are compared the same way, their messages being
random: same exit codes and messages, and the two messages read alike. The
agreement count is printed; an engine whose harness is not built is skipped with
the reason.
"""

from __future__ import annotations

import functools
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance.agents import identity_files as files
from conformance.agents import tools
from conformance.agents.base import Evidence, ReceiveRequest, SendRequest
from conformance.agents.gpgsm import GpgsmAgent
from conformance.agents.nss import NssAgent
from conformance.agents.openssl import OpenSSLAgent
from conformance.agents.pkijs import SCRIPT as PKIJS_SCRIPT
from conformance.agents.pkijs import PkijsAgent
from conformance.agents.tool_agent import ToolAgent
from conformance.agents.tools import ENGINE_MODE_ENV, harness_command
from conformance.core.vocabulary import Function, KeyTransport, Party
from conformance.errors import UserError
from conformance.fuzz.corpus import Seed, load_seeds
from conformance.paths import PKI_DIR
from conformance.smime.options import EncryptOptions, SendOptions, SignOptions
from conformance.token import softhsm

pytestmark = pytest.mark.engines

CA = PKI_DIR / "ca"
TRUST = (CA / "root.pem",)
CRLS = (CA / "root.crl.pem", CA / "intermediate.crl.pem")
RECIPIENT = "pro02"
SENDERS = ("pro01", "defect-revoked", "defect-expired", "defect-unknown-root", "defect-sha1")
FUNCTIONS: tuple[Function, ...] = ("sign", "encrypt", "sign-encrypt")
CONTENT = (
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"OBX|1|NM|GLU^Glyc\xc3\xa9mie||5.2|mmol/l\r\n"
)
# What openssl's send options turn into flags (sign and encrypt variants).
OPENSSL_OPTIONS = {
    "default": SendOptions(),
    "pss-opaque-ski-sha512": SendOptions(
        sign=SignOptions(
            algorithm="rsa-pss", format="opaque", signer_identifier="ski", digest="sha512"
        )
    ),
    "noattr-nocerts": SendOptions(
        sign=SignOptions(signed_attributes=frozenset(), certificates="none")
    ),
    "oaep256-gcm": SendOptions(
        encrypt=EncryptOptions(key_transport="rsa-oaep-sha256", content="aes256-gcm")
    ),
    "oaep1-des3-ski": SendOptions(
        encrypt=EncryptOptions(
            key_transport="rsa-oaep-sha1", content="des-ede3-cbc", recipient_identifier="ski"
        )
    ),
    "rc2-40": SendOptions(encrypt=EncryptOptions(content="rc2-40-cbc")),  # refused by 3.x
}
# engine -> (the tool its harness answers for, the agent); gpgsm-cps is gpgsm with its keys
# on the card (only received with: half its signatures are one octet longer, at random, so
# two sends could not be compared: tests/test_gpgsm_card.py).
ENGINES: dict[str, tuple[str, Callable[[SendOptions, Path], ToolAgent]]] = {
    "openssl": ("openssl", OpenSSLAgent),
    "gpgsm": ("gpgsm", GpgsmAgent),
    "gpgsm-cps": ("gpgsm", functools.partial(GpgsmAgent, keys="card")),
    "nss": ("cmsutil", NssAgent),
    "pkijs": ("node", PkijsAgent),
}
SENDS = [("openssl", v) for v in sorted(OPENSSL_OPTIONS)] + [
    ("gpgsm", "default"),
    ("nss", "default"),
    ("pkijs", "default"),
]
# The arguments after the tool that name a harness script (`node osm-pkijs.mjs ...`).
SCRIPTS = {"pkijs": [str(PKIJS_SCRIPT)]}
# Per-process parts of a tool's words: OpenSSL's thread id before each error line,
# the agent's file counter and work directory.
_NOISE = (
    (re.compile(r"\b[0-9A-F]{8,16}:error:"), "<tid>:error:"),
    (re.compile(r"\b\d{5}-"), "<n>-"),
)


def party(name: str) -> Party:
    directory = PKI_DIR / "identities" / name
    data = files.identity_json(directory)
    return Party(directory, str(data["email"]), str(data["name"]), frozenset({"cps"}))


class Tally:
    """Calls and verdicts compared, and the disagreements found."""

    def __init__(self) -> None:
        self.calls = 0
        self.harness_calls = 0
        self.verdicts = 0
        self.differences: list[str] = []
        self.known: list[str] = []  # the one documented difference (harnesses/gpgsm/README.md)


def _error_count_only(a: Sequence[tuple[str, ...]], b: Sequence[tuple[str, ...]]) -> bool:
    """The CLI's gpgsm exits 2 after a successful decryption when it logged an error on the
    way (e.g. "failed to find the certificate" for another recipient): its exit code
    counts logged errors, which a `gpgsm --server` does not report. The status lines,
    hence the verdict, are the same; the agent notes "exited 2 after DECRYPTION_OKAY"."""
    if len(a) != len(b):
        return False
    return all(
        x[:2] == y[:2] or (x[0] == y[0] and "--decrypt" in x[0] and (x[1], y[1]) == ("2", "0"))
        for x, y in zip(a, b, strict=True)
    )


def normalise(text: str, workdir: Path) -> str:
    text = text.replace(str(workdir), "<work>")
    for pattern, replacement in _NOISE:
        text = pattern.sub(replacement, text)
    return text


def _clean(value: Any, workdir: Path) -> Any:
    if isinstance(value, str):
        return normalise(value, workdir)
    if isinstance(value, dict):
        return {k: _clean(v, workdir) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, workdir) for v in value]
    return value


_NOTE = re.compile(r"^\$ (.*)  -> exit (-?\d+) in [0-9.]+s \[(.*)\]$")


def calls(evidence: Evidence, workdir: Path) -> list[tuple[str, str, str]]:
    """(command line, exit code, mode) of each tool call, normalised."""
    found = []
    for note in evidence.notes:
        match = _NOTE.match(note)
        if match:
            found.append((normalise(match[1], workdir), match[2], match[3]))
    return found


def compare_evidence(
    what: str, cli: Evidence, harness: Evidence, workdir: Path, tally: Tally
) -> None:
    a, b = calls(cli, workdir), calls(harness, workdir)
    tally.calls += len(a)
    tally.harness_calls += sum(1 for c in b if c[2] == "harness")
    if [c[:2] for c in a] != [c[:2] for c in b]:
        if _error_count_only(a, b):
            tally.known.append(f"{what}: gpgsm's logged-error exit 2 after decryption")
            return
        tally.differences.append(f"{what}: calls differ:\n  cli:     {a}\n  harness: {b}")
    out = (normalise(cli.stderr.decode(errors="replace"), workdir),)
    hout = (normalise(harness.stderr.decode(errors="replace"), workdir),)
    if out != hout:
        tally.differences.append(f"{what}: stderr differs:\n  cli:     {out}\n  harness: {hout}")


def both_modes(monkeypatch: pytest.MonkeyPatch, action: Callable[[], Any]) -> tuple[Any, Any]:
    """The action by the command lines, then through the harness. A first, uncompared
    run brings the agent to the state both then start from (its imports, trust list and
    CRLs done: later calls skip them)."""
    monkeypatch.setenv(ENGINE_MODE_ENV, "cli")
    action()
    first = action()
    monkeypatch.setenv(ENGINE_MODE_ENV, "harness")
    return first, action()


def compare_reception(
    what: str, agent: ToolAgent, message: bytes, monkeypatch: pytest.MonkeyPatch, tally: Tally
) -> None:
    request = ReceiveRequest(message, party(RECIPIENT), TRUST, CRLS)
    cli, harness = both_modes(monkeypatch, lambda: agent.receive(request))
    compare_evidence(what, cli.evidence, harness.evidence, agent.workdir, tally)
    tally.verdicts += 1
    a = _clean(cli.status.to_json(), agent.workdir)
    b = _clean(harness.status.to_json(), agent.workdir)
    if a != b or cli.content != harness.content:
        tally.differences.append(f"{what}: verdicts differ:\n  cli:     {a}\n  harness: {b}")


def report(engine: str, tally: Tally) -> None:
    print(
        f"\n{engine}: harness vs CLI: {tally.calls} calls and {tally.verdicts} verdicts "
        f"compared, {len(tally.differences)} differences, {len(tally.known)} known "
        f"({tally.harness_calls} calls answered by the harness)"
    )


def need_harness(tool: str, script: list[str] | None = None) -> None:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed")
    if harness_command([path, *(script or [])]) is None:
        pytest.skip(f"the {tool} harness is not built (tools/setup.sh builds it under harnesses/)")


@pytest.fixture(scope="module")
def corpus() -> list[Seed]:
    return load_seeds()


@pytest.fixture(scope="module")
def openssl_made(tmp_path_factory: pytest.TempPathFactory) -> list[Seed]:
    """openssl-made messages from good and defective senders, plus tampered copies."""
    if shutil.which("openssl") is None:
        return []
    made: list[Seed] = []
    with OpenSSLAgent(SendOptions(), tmp_path_factory.mktemp("maker")) as agent:
        for sender in SENDERS:
            for function in ("sign", "sign-encrypt"):
                sent = agent.send(send_request(function, sender))
                if sent.message is not None:
                    made.append(Seed(f"openssl/{sender}/{function}", sent.message))
    made += [
        Seed(seed.name + "/tampered", seed.message.replace(b"5.2|mmol", b"9.2|mmol", 1))
        for seed in made
        if seed.name.endswith("/sign")
    ]
    # Without certificates, after messages carrying the same signer's: a harness that
    # kept a certificate from an earlier call would verify what the command line cannot.
    bare = SendOptions(sign=SignOptions(certificates="none"))
    with OpenSSLAgent(bare, tmp_path_factory.mktemp("bare")) as agent:
        for sender in ("pro01", "defect-revoked"):
            sent = agent.send(send_request("sign", sender))
            if sent.message is not None:
                made.append(Seed(f"openssl/{sender}/sign-without-certificates", sent.message))
    return made


def send_request(function: Function, sender: str = "pro01") -> SendRequest:
    to = party(RECIPIENT)
    return SendRequest(
        function,
        CONTENT,
        party(sender),
        (files.role_certificate(to.identity_dir, "encrypt"),),
        (to.email,),
        (to,),
        subject="harness",
    )


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_receives_the_corpus_alike(
    engine: str,
    corpus: list[Seed],
    openssl_made: list[Seed],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tool, kind = ENGINES[engine]
    need_harness(tool, SCRIPTS.get(engine))
    if engine == "gpgsm-cps" and not (shutil.which("gnupg-pkcs11-scd") and softhsm.available()):
        pytest.skip("gnupg-pkcs11-scd or SoftHSM2 is not installed")
    tally = Tally()
    with kind(SendOptions(), tmp_path) as agent:
        for seed in [*corpus, *openssl_made]:
            compare_reception(seed.name, agent, seed.message, monkeypatch, tally)
    with capsys.disabled():
        report(f"{engine} receive", tally)
    assert tally.harness_calls > 0, "no call went through the harness"
    assert not tally.differences, "\n".join(tally.differences)


@pytest.mark.parametrize(("engine", "variant"), SENDS)
def test_sends_alike(
    engine: str,
    variant: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tool, kind = ENGINES[engine]
    need_harness(tool, SCRIPTS.get(engine))
    # WebCrypto has no RSAES-PKCS1-v1_5: PKI.js sends with OAEP.
    transport: KeyTransport = "rsa-oaep-sha256" if engine == "pkijs" else "rsa-pkcs1v15"
    options = (
        OPENSSL_OPTIONS[variant]
        if engine == "openssl"
        else SendOptions(encrypt=EncryptOptions(key_transport=transport))
    )
    tally = Tally()
    with (
        kind(options, tmp_path / "sender") as sender,
        OpenSSLAgent(SendOptions(), tmp_path / "reader") as reader,
    ):
        for function in FUNCTIONS:
            request = send_request(function)
            cli, harness = both_modes(monkeypatch, functools.partial(sender.send, request))
            what = f"{variant}/{function}"
            compare_evidence(what, cli.evidence, harness.evidence, sender.workdir, tally)
            tally.verdicts += 1
            if (cli.error, normalise(cli.reason, sender.workdir)) != (
                harness.error,
                normalise(harness.reason, sender.workdir),
            ):
                tally.differences.append(
                    f"{what}: send results differ: {cli.error} {cli.reason!r} / "
                    f"{harness.error} {harness.reason!r}"
                )
            if cli.message is not None and harness.message is not None:
                monkeypatch.setenv(ENGINE_MODE_ENV, "cli")  # read both the same way
                _read_alike(what, reader, cli.message, harness.message, tally)
    with capsys.disabled():
        report(f"{engine} send {variant}", tally)
    assert tally.harness_calls > 0, "no call went through the harness"
    assert not tally.differences, "\n".join(tally.differences)


def _read_alike(what: str, reader: ToolAgent, a: bytes, b: bytes, tally: Tally) -> None:
    verdicts = []
    for message in (a, b):
        got = reader.receive(ReceiveRequest(message, party(RECIPIENT), TRUST, CRLS))
        verdicts.append((_clean(got.status.to_json(), reader.workdir), got.content))
    if verdicts[0] != verdicts[1]:
        tally.differences.append(f"{what}: the two messages read differently: {verdicts}")


# -- how tools.run routes a call ---------------------------------------------------------


def test_a_call_the_harness_declines_runs_as_a_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_harness("openssl")
    monkeypatch.setenv(ENGINE_MODE_ENV, "harness")
    cert = PKI_DIR / "ca" / "root.pem"
    argv = [shutil.which("openssl") or "openssl", "x509", "-noout", "-subject", "-in", str(cert)]
    ev = Evidence()
    declined = tools.run(argv, evidence=ev)
    assert declined.mode == "cli (harness declined)"
    assert declined.ok and b"subject=" in declined.stdout
    assert ev.notes[-1].endswith("[cli (harness declined)]")
    monkeypatch.setenv(ENGINE_MODE_ENV, "cli")
    plain = tools.run(argv)
    assert plain.mode == "cli" and plain.stdout == declined.stdout


def test_the_harness_answers_what_the_command_line_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    need_harness("openssl")
    argv = [shutil.which("openssl") or "openssl", "version"]
    monkeypatch.setenv(ENGINE_MODE_ENV, "harness")
    through = tools.run(argv)
    monkeypatch.setenv(ENGINE_MODE_ENV, "cli")
    plain = tools.run(argv)
    assert (through.mode, plain.mode) == ("harness", "cli")
    assert (through.returncode, through.stdout) == (plain.returncode, plain.stdout)


def test_only_the_system_tool_has_a_harness(tmp_path: Path) -> None:
    need_harness("openssl")
    system = shutil.which("openssl")
    assert system is not None
    assert harness_command([system, "version"]) is not None
    other = tmp_path / "openssl"  # another build of the tool, as a profile's `tool:`
    other.symlink_to("/bin/true")
    assert harness_command([str(other), "version"]) is None
    assert harness_command([shutil.which("sh") or "/bin/sh", "-c", "true"]) is None


def test_an_unknown_engine_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENGINE_MODE_ENV, "fast")
    with pytest.raises(UserError, match="harness or cli"):
        tools.engine_mode()


def test_a_broken_harness_is_a_hung_tool_not_a_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A harness that dies mid-request makes the call raise (the agent's INTERNAL error,
    an error cell), never an exit code read as the tool's answer."""
    script = tmp_path / "dies.py"
    script.write_text(
        "import sys\n"
        'print(\'{"protocol": "osm-harness/1", "implementation": "t", "version": "0"}\', '
        "flush=True)\n"
        "sys.stdin.readline()\n"
        "sys.exit(3)\n"
    )
    monkeypatch.setenv(ENGINE_MODE_ENV, "harness")
    monkeypatch.setattr(tools, "harness_command", lambda argv: [sys.executable, str(script)])
    ev = Evidence()
    with pytest.raises(tools.HarnessBroke, match="exited"):
        tools.run(["openssl", "version"], evidence=ev, timeout=10)
    assert ev.notes and ev.notes[-1].endswith("[harness]")
