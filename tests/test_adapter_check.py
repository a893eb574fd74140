"""`adapter check`: the shipped example adapters pass, three broken ones fail, each clearly.

The broken adapters are written here as thin wrappers around the Python example
(examples/adapters/fictimail.py), each breaking one rule of the contract: an exit
code the status contradicts, a status JSON with a misspelt key, a receiver that
accepts a message whose signature does not verify. The checks are restricted to
a few functions and rejection cases to keep the time small; the CLI's default runs
the whole contract.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from conformance.adapters.check import (
    AdapterReport,
    CheckSettings,
    Target,
    check_adapter,
    resolve_target,
)
from conformance.cli import main
from conformance.core.vocabulary import Function
from conformance.errors import UserError
from conformance.paths import REPO_DIR
from conformance.status import CONTRACT_VERSION, Status

EXAMPLES = REPO_DIR / "examples" / "adapters"
PYTHON_EXAMPLE = EXAMPLES / "fictimail.py"
SHELL_EXAMPLE = EXAMPLES / "fictimail.sh"
QUICK = CheckSettings(
    examples=1,
    functions=frozenset({"sign", "sign-encrypt"}),
    cases=frozenset(
        {"altered-content", "defective-revoked", "from-mismatch-header", "downgrade-micalg-md5"}
    ),
)
ONE_CASE = CheckSettings(
    examples=1, functions=frozenset({"sign"}), cases=frozenset({"altered-content"})
)

# A wrapper around the Python example that breaks one rule (BREAK) in `receive`.
WRAPPER = """\
import json, subprocess, sys
BREAK = {kind!r}
args = sys.argv[1:]
message = sys.stdin.buffer.read()
ran = subprocess.run([sys.executable, {example!r}, *args], input=message, capture_output=True)
code, out = ran.returncode, ran.stdout
if args[:1] == ["capabilities"] and code == 0:  # a one-shot adapter: no harness protocol
    caps = json.loads(out)
    caps.pop("protocols", None)
    out = json.dumps(caps).encode()
if args[:1] == ["receive"] and "--status-out" in args and code != 2:
    path = args[args.index("--status-out") + 1]
    status = json.load(open(path))
    if BREAK == "exit-code":  # exits 0 whatever its status says
        code = 0
    if BREAK == "status":  # a misspelt service name
        status["services"]["non-repudiation"] = status["services"].pop("non_repudiation")
    if BREAK == "accepts" and code == 11:  # a bad signature, delivered as good
        status["errors"] = []
        status["signature_valid"] = status["chain_valid"] = True
        status["services"] = dict.fromkeys(status["services"], True)
        status["coverage"] = {{name: ["message"] for name in status["services"]}}
        code, out = 0, message
    json.dump(status, open(path, "w"))
sys.stdout.buffer.write(out)
sys.stderr.buffer.write(ran.stderr)
sys.exit(code)
"""


@pytest.fixture(autouse=True)
def _software_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


def broken(tmp_path: Path, kind: str) -> Target:
    script = tmp_path / f"broken-{kind}.py"
    script.write_text(WRAPPER.format(kind=kind, example=str(PYTHON_EXAMPLE)), encoding="utf-8")
    return Target((sys.executable, str(script)))


def outcome(report: AdapterReport, name: str) -> tuple[str, str]:
    found = [c for c in report.checks if c.name == name]
    assert found, f"no check {name!r} in {[c.name for c in report.checks]}"
    return found[0].outcome, found[0].detail


def failed(report: AdapterReport) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if c.outcome == "fail"}


@pytest.mark.parametrize(
    ("argv", "functions", "version"),
    [
        # Python starts slowly: one function; it speaks the harness protocol (version 3)
        # and knows too-large (version 4)
        ((sys.executable, str(PYTHON_EXAMPLE)), {"sign"}, 4),
        ((str(SHELL_EXAMPLE),), {"sign", "sign-encrypt"}, 4),
    ],
    ids=["python", "shell"],
)
def test_the_shipped_examples_pass(
    argv: tuple[str, ...], functions: set[Function], version: int
) -> None:
    report = check_adapter(Target(argv), replace(QUICK, functions=frozenset(functions)))
    assert report.ok, "\n".join(c.line() for c in report.checks)
    names = {c.name for c in report.checks}
    exchanges = {f"send {f} -> {r}" for f in functions for r in ("reference", "openssl")}
    assert exchanges | {f"receive {f} <- reference" for f in functions} <= names
    assert {
        "version",
        "capabilities",
        "usage errors",
        "rejections altered",
        "rejections defective-signer",
        "rejections from-mismatch",
        "rejections downgrade",
        "status JSON",
        "exit codes",
        "timing",
    } <= names
    assert report.contract_version == version and report.version and "FictiMail" in report.version
    assert outcome(report, "rejections altered") == ("pass", "2 refused")  # two producers
    assert all(c.seconds > 0 for c in report.calls)
    assert {c.verb for c in report.exchanges} == {"send", "receive"}


def test_the_profile_names_the_adapter_and_its_capabilities_are_compared() -> None:
    target = resolve_target([str(EXAMPLES / "fictimail.yaml")])
    assert target.profile is not None and target.profile.id == "fictimail"
    assert target.argv[-1] == str(PYTHON_EXAMPLE)
    with pytest.raises(UserError, match="engine type 'openssl'"):
        resolve_target(["openssl"])


def test_an_exit_code_the_status_contradicts_fails(tmp_path: Path) -> None:
    report = check_adapter(broken(tmp_path, "exit-code"), ONE_CASE)
    assert not report.ok
    fails = failed(report)
    assert (
        "adapter's exit code 0 disagrees with its status, whose errors give 11"
        in (fails["exit codes"])
    )
    assert "exit with the code of the first error" in fails["exit codes"]
    assert outcome(report, "status JSON")[0] == "pass"
    assert outcome(report, "receive sign <- reference")[0] == "pass"


def test_an_invalid_status_json_fails_naming_the_field(tmp_path: Path) -> None:
    report = check_adapter(broken(tmp_path, "status"), ONE_CASE)
    assert not report.ok
    expected = (
        "status.services: unexpected key 'non-repudiation' (expected one of "
        "authentication, integrity, non_repudiation, confidentiality)"
    )
    fails = failed(report)
    assert expected in fails["status JSON"]
    assert expected in fails["receive sign <- reference"]
    assert "docs/status.schema.json" in fails["status JSON"]
    assert "__init__" not in json.dumps(report.to_json())  # no Python message


def test_an_adapter_that_accepts_a_tampered_message_fails(tmp_path: Path) -> None:
    report = check_adapter(broken(tmp_path, "accepts"), ONE_CASE)
    assert not report.ok
    fails = failed(report)
    assert set(fails) == {"rejections altered"}, fails
    assert fails["rejections altered"].startswith(
        "accepts a hostile message: altered-content (Content altered after signing)"
    )
    assert (
        "from reference, openssl, claims integrity, authentication, non_repudiation"
        in (fails["rejections altered"])
    )


def test_an_adapter_that_does_not_start_fails_every_verb(tmp_path: Path) -> None:
    report = check_adapter(Target((str(tmp_path / "missing-adapter"),)), ONE_CASE)
    fails = failed(report)
    assert fails["version"].startswith("does not start")
    assert fails["capabilities"].startswith("does not start")
    assert outcome(report, "exchanges")[0] == "skip"


def test_a_program_that_cannot_run_is_a_usage_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong path is the tester's mistake (exit 2), not checks the adapter fails."""
    plain = tmp_path / "adapter.sh"
    plain.write_text("#!/bin/sh\n")
    cases = {
        str(tmp_path / "missing"): "no such file",
        str(tmp_path): "a directory, not a program",
        str(plain): "not executable (chmod +x",
        "no-such-adapter-on-path": "is not a program on PATH",
    }
    for program, said in cases.items():
        assert main(["adapter", "check", program]) == 2
        err = capsys.readouterr().err
        assert program in err and said in err, err


def test_the_command_line_prints_a_line_per_check_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--function", "sign", "--examples", "1", "--case", "altered-content"]
    code = main(["adapter", "check", str(SHELL_EXAMPLE), *common])
    out = capsys.readouterr().out.splitlines()
    assert code == 0, out
    assert out[0].startswith("PASS  version")
    assert out[-1].startswith("adapter conforms to the contract: ")
    assert out[-1].endswith(
        f"(checked against contract version {CONTRACT_VERSION}; "
        f"the adapter states version {CONTRACT_VERSION})"
    )
    code = main(["adapter", "check", "--json", *common, "--", *broken(tmp_path, "status").argv])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["ok"] is False
    assert {c["name"] for c in data["checks"] if c["outcome"] == "fail"} >= {"status JSON"}
    assert all(call["seconds"] >= 0 for call in data["calls"])
    assert main(["adapter", "check", str(SHELL_EXAMPLE), "--case", "no-such-case"]) == 2
    assert "unknown rejection case no-such-case" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ({"signed": "yes"}, 'status.signed: expected true or false, got a string "yes"'),
        (
            {"signature_valid": 1},
            "status.signature_valid: expected true or false, or null, got a number 1",
        ),
        ({"errors": [{"code": "oops", "message": ""}]}, 'status.errors[0].code: "oops" is not'),
        ({"errors": [{"code": "malformed"}]}, "status.errors[0].message: missing (required)"),
        ({"zzz": 1}, "status: unexpected key 'zzz' (expected one of decrypted, encrypted,"),
        ({"layers": "x"}, 'status.layers: expected an array, got a string "x"'),
        ({"contract_version": True}, "status.contract_version: expected an integer, got true"),
        ({"contract_version": 0}, "status.contract_version: expected a version (1 or more)"),
        ([1], "status: expected a JSON object, got an array"),
        (
            {"services": {"integrity": True}, "coverage": {"integrity": []}},
            "status.coverage.integrity and status.services.integrity disagree",
        ),
    ],
)
def test_a_bad_status_is_named_by_field_and_expected_value(status: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Status.from_json(status)
    assert message in str(caught.value)


def test_a_status_without_the_version_2_fields_reads_as_version_1() -> None:
    status = Status.loads(b'{"decrypted": true, "services": {"confidentiality": true}}')
    assert status.contract_version == 1 and status.encrypted
    assert status.coverage.confidentiality == ["message"]
    with pytest.raises(ValueError, match=r"status: not JSON \(expecting"):
        Status.loads(b"{nope")
