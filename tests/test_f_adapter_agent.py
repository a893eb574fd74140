"""`adapter check` and `agent`: the tester's mistakes are usage errors, never the adapter's.

`adapter check` refuses a bad `--out` or `--timeout` before calling the adapter, does
not pass "usage errors" for an adapter that never ran (its interpreter exits 2 too),
and says which contract version it checked apart from the one the adapter states.
`agent` refuses a key it cannot use (not a PKCS#11 URI, a token key it cannot find or
open, a key file it cannot read) with exit 2 before any work, for signing and for
decrypting alike. The example profile declares what the example adapters send.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from agents_support import run_agent

from conformance.adapters.check import AdapterReport, CheckSettings, Target, check_adapter
from conformance.cli import main
from conformance.matrix.cast import exported_pki
from conformance.matrix.sent import algorithms, declared, sent_algorithms
from conformance.paths import REPO_DIR
from conformance.pki.model import load_pki
from conformance.profiles.loader import load_profile
from conformance.status import CONTRACT_VERSION

EXAMPLES = REPO_DIR / "examples" / "adapters"
SHELL_EXAMPLE = EXAMPLES / "fictimail.sh"
ENTITY = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nBonjour.\r\n"
NO_TOKEN = "pkcs11:token=NOPE;object=x"
QUICK = CheckSettings(examples=1, functions=frozenset({"sign"}), cases=frozenset())


@pytest.fixture(autouse=True)
def _software_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


@pytest.fixture(scope="module")
def export() -> Path:
    return exported_pki(load_pki())


# --- adapter check ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--out", "FILE"], "--out FILE: exists and is not a directory"),
        (["--timeout", "0"], "argument --timeout: 0.0: expected a positive number of seconds"),
        (["--timeout", "-1"], "argument --timeout: -1.0: expected a positive number of seconds"),
        (["--timeout", "nan"], "argument --timeout: nan: expected a positive number of seconds"),
    ],
)
def test_a_bad_out_or_timeout_is_a_usage_error_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: list[str], said: str
) -> None:
    """Not `FAIL send ... harness error: NotADirectoryError` nor `FAIL version: no answer
    within -1s`, blaming the adapter with exit 1."""
    afile = tmp_path / "file"
    afile.write_text("mine\n")
    words = [str(afile) if w == "FILE" else w for w in option]
    argv = ["adapter", "check", str(EXAMPLES / "fictimail.yaml"), "--no-rejections", *words]
    code: int | str | None
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage error: --timeout is parsed as seconds
        code = exc.code
    out, err = capsys.readouterr()
    assert (code, out) == (2, ""), err
    assert said.replace("FILE", str(afile)) in err
    assert afile.read_text() == "mine\n"


def _slow_adapter(tmp_path: Path) -> tuple[str, ...]:
    script = tmp_path / "slow.py"
    script.write_text("import sys, time\ntime.sleep(5)\nsys.exit(2)\n")
    return (sys.executable, str(script))


def test_an_explicit_timeout_is_used_over_the_profiles(tmp_path: Path) -> None:
    """The profile's engine.timeout_s is the default, not a value that overrides --timeout."""
    target = Target(_slow_adapter(tmp_path), timeout=30.0)
    report = check_adapter(target, replace(QUICK, timeout=0.5))
    version = next(c for c in report.checks if c.name == "version")
    assert version.outcome == "fail" and version.detail.startswith("no answer within 0.5s")
    assert version.seconds < 5


def test_usage_errors_are_not_passed_for_an_adapter_that_never_ran(tmp_path: Path) -> None:
    """python3 exits 2 when it cannot open the script: no evidence of the adapter's own."""
    missing = (sys.executable, str(tmp_path / "examples" / "adapters" / "fictimail.py"))
    report = check_adapter(Target(missing), QUICK)
    outcomes = {c.name: (c.outcome, c.detail) for c in report.checks}
    assert outcomes["version"][0] == "fail" and outcomes["capabilities"][0] == "fail"
    outcome, detail = outcomes["usage errors"]
    assert outcome == "skip", detail
    assert "answered neither `version` nor `capabilities`" in detail
    assert not report.ok


def test_the_summary_tells_the_suites_contract_version_from_the_adapters() -> None:
    report = AdapterReport(("adapter",), contract_version=2)
    summary = report.summary()
    assert summary.startswith("adapter conforms to the contract: 0 passed, 0 failed")
    assert summary.endswith(
        f"(checked against contract version {CONTRACT_VERSION}; the adapter states version 2)"
    )
    assert "(version" not in summary
    silent = AdapterReport(("adapter",)).summary()
    assert silent.endswith("; the adapter stated no version)")


# --- the example profile declares what the example adapters send -----------------------


@pytest.mark.parametrize(
    "argv",
    [(sys.executable, str(EXAMPLES / "fictimail.py")), (str(SHELL_EXAMPLE),)],
    ids=["python", "shell"],
)
def test_the_example_profile_declares_what_its_adapters_send(
    export: Path, argv: tuple[str, ...]
) -> None:
    """Otherwise `run` lists contradictions (sha1 expected, sha256 observed) for the example."""
    if shutil.which("openssl") is None:
        pytest.skip("the example adapters drive openssl")
    sender, receiver = export / "identities" / "pro01", export / "identities" / "pro02"
    to = ["--to", str(receiver / "encrypt.pem")]
    sent = subprocess.run(
        [*argv, "send", "--function", "sign-encrypt", "--from", str(sender), *to],
        input=ENTITY,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    ca = export / "ca"
    used = sent_algorithms(
        sent.stdout,
        identity_dir=receiver,
        trust=[ca / "root.pem"],
        crls=[ca / "root.crl.pem", ca / "intermediate.crl.pem"],
        policy="osm-2008",
    )
    says = declared(load_profile(EXAMPLES / "fictimail.yaml"))
    assert algorithms(used) == {kind: [name] for kind, name in says.items()}


# --- agent -------------------------------------------------------------------------------


def _send(export: Path, *more: str) -> list[str]:
    sender = export / "identities" / "pro01"
    return ["reference", "send", "--function", "sign", "--from", str(sender), *more]


def _receive(export: Path, identity: Path | None = None) -> list[str]:
    me = identity or export / "identities" / "pro02"
    return ["reference", "receive", "--identity", str(me), "--trust", str(export / "ca/root.pem")]


def test_agent_help_lists_the_usage_error_exit_code() -> None:
    ran = run_agent("--help", stdin=ENTITY)
    text = ran.stdout.decode()
    assert ran.code == 0 and "0 done; 2 usage error (nothing done); 10 no-signature" in text


@pytest.mark.parametrize("option", ["--sign-key", "--decrypt-key"])
def test_a_key_that_is_no_pkcs11_uri_is_a_usage_error(export: Path, option: str) -> None:
    """Not `internal: /cwd/notauri: not an identity directory` (exit 70)."""
    verb = _send(export) if option == "--sign-key" else _receive(export)
    ran = run_agent(*verb, option, "notauri", stdin=ENTITY)
    assert (ran.code, ran.stdout) == (2, b""), ran.stderr
    assert f"{option}: 'notauri' is not a PKCS#11 URI" in ran.stderr
    assert "identity directory" not in ran.stderr


@pytest.mark.parametrize("option", ["--sign-key", "--decrypt-key"])
def test_a_token_key_for_another_engine_is_a_usage_error(export: Path, option: str) -> None:
    """openssl reads the identity directory's key: a token key it would silently ignore."""
    verb = _send(export) if option == "--sign-key" else _receive(export)
    ran = run_agent("openssl", *verb[1:], option, NO_TOKEN, stdin=ENTITY)
    assert (ran.code, ran.stdout) == (2, b""), ran.stderr
    assert f"{option}: openssl is not the built-in engine" in ran.stderr


@pytest.mark.softhsm
@pytest.mark.parametrize("option", ["--sign-key", "--decrypt-key"])
def test_a_token_key_that_cannot_be_found_is_a_usage_error_for_both_roles(
    export: Path, option: str
) -> None:
    """Was 15 (unsupported-function) for --sign-key and 70 (internal) for --decrypt-key."""
    from conformance.token import softhsm

    if not softhsm.available():
        pytest.skip("SoftHSM2 is not installed (Debian package softhsm2)")
    verb = _send(export) if option == "--sign-key" else _receive(export)
    ran = run_agent(*verb, option, NO_TOKEN, stdin=ENTITY)
    assert (ran.code, ran.stdout) == (2, b""), ran.stderr
    assert f"{option}: no token labelled 'NOPE'" in ran.stderr


@pytest.mark.softhsm
def test_a_token_key_that_opens_signs_and_decrypts(export: Path) -> None:
    """The up-front check leaves a good URI working, in a real process."""
    from conformance.token import softhsm

    if not softhsm.available():
        pytest.skip("SoftHSM2 is not installed (Debian package softhsm2)")
    setup = softhsm.provision(sorted(p for p in (export / "identities").iterdir() if p.is_dir()))
    env = {**os.environ, "SOFTHSM2_CONF": str(setup.conf), "OSM_CONFORMANCE_TOKEN": "softhsm"}
    command = [sys.executable, "-m", "conformance", "agent"]
    key = "pkcs11:token=OSM-TEST;object={}?pin-value=" + softhsm.USER_PIN
    identities, ca = export / "identities", export / "ca"
    # smm encrypts with RSA PKCS#1 v1.5, which SoftHSM decrypts (not OAEP with SHA-256).
    send = ["smm", "send", "--function", "sign-encrypt", "--from", str(identities / "pro01")]
    to = ["--to", str(identities / "pro02" / "encrypt.pem")]
    sent = subprocess.run(
        [*command, *send, *to, "--sign-key", key.format("pro01-sign")],
        input=ENTITY,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    receive = ["reference", "receive", "--identity", str(identities / "pro02")]
    trust = ["--trust", str(ca / "root.pem"), "--crl", str(ca / "root.crl.pem")]
    trust += ["--crl", str(ca / "intermediate.crl.pem")]
    got = subprocess.run(
        [*command, *receive, *trust, "--decrypt-key", key.format("pro02-encrypt")],
        input=sent.stdout,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert got.returncode == 0, got.stderr
    assert got.stdout == ENTITY


@pytest.mark.parametrize(("role", "verb"), [("sign", "send"), ("encrypt", "receive")])
def test_an_unreadable_key_file_is_a_usage_error(
    export: Path, tmp_path: Path, role: str, verb: str
) -> None:
    """As `check --identity` says of the same folder; was `internal` (70)."""
    broken = tmp_path / "broken"
    shutil.copytree(export / "identities" / ("pro01" if verb == "send" else "pro02"), broken)
    (broken / f"{role}.key.pem").write_text("garbage\n")
    if verb == "send":
        args = ["reference", "send", "--function", "sign", "--from", str(broken)]
    else:
        args = _receive(export, identity=broken)
    ran = run_agent(*args, stdin=ENTITY)
    assert (ran.code, ran.stdout) == (2, b""), ran.stderr
    assert f"{broken / f'{role}.key.pem'}: not an unencrypted PEM private key" in ran.stderr
    (broken / f"{role}.key.pem").unlink()
    ran = run_agent(*args, stdin=ENTITY)
    assert ran.code == 2 and f"no {role} private key in this identity directory" in ran.stderr


def test_an_email_that_is_not_a_string_is_named_so(export: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(export / "identities" / "pro01", broken)
    data = json.loads((broken / "identity.json").read_text(encoding="utf-8"))
    (broken / "identity.json").write_text(json.dumps({**data, "email": 5}), encoding="utf-8")
    ran = run_agent("reference", "send", "--function", "sign", "--from", str(broken), stdin=ENTITY)
    assert ran.code == 2
    assert f"{broken / 'identity.json'}: field 'email': not a string" in ran.stderr
