"""`adapter check`: what a path is, the rejection cases --function keeps, every call counted,
and the example adapters at the contract's current version.

A bare name that is not on PATH but is here, or a directory, is named for what it is. The
rejection corpus follows `--function` (a receiver is not told the function: a case counts
for the functions whose messages are protected as its own). The summary counts every call
made, `version`, `capabilities` and the usage tries included, and the check makes no call it
does not count. Both example adapters state version 4 and answer its additions: a send to
`--to-address` exits 18 (they do no directory lookup), `first-contact` exits 15.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance.adapters.check import CheckSettings, Target, _follows, check_adapter
from conformance.cli import main
from conformance.paths import REPO_DIR
from conformance.rejections.model import load_cases
from conformance.status import CONTRACT_VERSION

EXAMPLES = REPO_DIR / "examples" / "adapters"
SHELL_EXAMPLE = EXAMPLES / "fictimail.sh"
PYTHON_EXAMPLE = EXAMPLES / "fictimail.py"
NO_REJECTIONS = CheckSettings(examples=1, functions=frozenset({"sign"}), cases=frozenset())


@pytest.fixture(autouse=True)
def _software_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


# --- 1. a path that exists is named for what it is -----------------------------------------


def test_a_directory_or_a_file_here_is_named_not_called_missing_from_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    (tmp_path / "garbage.eml").write_text("not a program\n")
    _script(tmp_path / "mine.sh", "echo hello")
    cases = {
        "adir": "ADAPTER: adir: a directory, not a program",
        str(tmp_path / "adir"): f"ADAPTER: {tmp_path / 'adir'}: a directory, not a program",
        "garbage.eml": "ADAPTER: garbage.eml: not on PATH; ./garbage.eml is here but not "
        "executable (chmod +x garbage.eml)",
        "mine.sh": "ADAPTER: mine.sh: not on PATH; did you mean ./mine.sh?",
        "no-such-adapter-here": "ADAPTER: 'no-such-adapter-here' is not a program on PATH",
    }
    for program, said in cases.items():
        assert main(["adapter", "check", program]) == 2, program
        out, err = capsys.readouterr()
        assert out == "" and said in err, err


# --- 2. the rejection cases follow --function ----------------------------------------------


def test_the_rejection_cases_follow_the_function_checked() -> None:
    report = check_adapter(
        Target((str(SHELL_EXAMPLE),)), CheckSettings(examples=1, functions=frozenset({"encrypt"}))
    )
    # Not report.ok: the adapter's `openssl cms -decrypt` accepts a message whose content
    # key was encrypted to another key about once in 256 examples (OpenSSL then decrypts
    # with a random key, and the garbage's CBC padding can be valid), which the check
    # rightly reports as an intermittent false accept. The contract's checks must pass.
    contract = [c for c in report.checks if not c.name.startswith("rejections ")]
    assert contract and all(c.outcome != "fail" for c in contract), [c.line() for c in contract]
    rejections = {c.name for c in report.checks if c.name.startswith("rejections ")}
    # the encrypted-only cases; none of the signed ones (altered, from-mismatch, ...)
    assert rejections == {
        "rejections encrypt-malleability",
        "rejections not-for-me",
        "rejections downgrade",
    }


def test_a_case_counts_for_every_function_protected_as_its_own() -> None:
    kept = {
        function: {c.id for c in load_cases() if _follows(c, frozenset({function}))}
        for function in ("sign", "encrypt", "hprim-net")
    }
    assert "altered-content" in kept["sign"] and "efail-cbc-encrypt-only" not in kept["sign"]
    assert "efail-cbc-encrypt-only" in kept["encrypt"] and "altered-content" not in kept["encrypt"]
    assert kept["hprim-net"] == {"efail-cbc-signed-inside"}  # signed and encrypted
    assert all(_follows(c, None) for c in load_cases())


def test_a_case_the_function_leaves_out_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["adapter", "check", str(SHELL_EXAMPLE), "--function", "sign"]
    assert main([*argv, "--case", "efail-cbc-encrypt-only"]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # said before any call
    assert (
        "--case efail-cbc-encrypt-only: a case of function encrypt, which --function sign "
        "leaves out" in err
    )


# --- 3. every call counted -------------------------------------------------------------------


def test_every_call_is_counted_failed_and_timed_out_ones_included(tmp_path: Path) -> None:
    junk = check_adapter(Target((str(_script(tmp_path / "junk.sh", "echo hello")),)), NO_REJECTIONS)
    assert [c.verb for c in junk.calls] == ["version", "capabilities", "send --osm-no-such-option"]
    assert ", 3 calls in " in junk.summary()
    hang = Target((str(_script(tmp_path / "hang.sh", "sleep 60")),))
    late = check_adapter(hang, CheckSettings(timeout=0.5, cases=frozenset()))
    assert [(c.verb, c.breach) for c in late.calls] == [
        ("version", "timeout"),
        ("capabilities", "timeout"),
    ]
    assert all(c.seconds >= 0.5 for c in late.calls)
    assert ", 2 calls in " in late.summary()
    assert [c["verb"] for c in late.to_json()["calls"]] == ["version", "capabilities"]


def test_the_check_makes_no_call_it_does_not_count(tmp_path: Path) -> None:
    """A wrapper logs each call of the example: as many lines as calls counted."""
    log = tmp_path / "calls.log"
    wrapper = _script(tmp_path / "logged.sh", f'echo "$1" >> {log}\nexec {SHELL_EXAMPLE} "$@"')
    report = check_adapter(Target((str(wrapper),)), NO_REJECTIONS)
    assert report.ok, "\n".join(c.line() for c in report.checks)
    made = log.read_text().split()
    assert len(made) == len(report.calls), made
    assert made.count("capabilities") == 1
    assert f", {len(made)} calls in " in report.summary()


def test_a_version_of_several_lines_fails(tmp_path: Path) -> None:
    """The contract asks for one line; the matrix records the first and loses the rest."""
    two = _script(tmp_path / "two.sh", 'if [ "$1" = version ]; then echo FictiMail; echo 1.0; fi')
    report = check_adapter(Target((str(two),)), NO_REJECTIONS)
    version = next(c for c in report.checks if c.name == "version")
    assert version.outcome == "fail"
    assert version.detail.startswith("printed 2 lines: answer `version` with one line")
    usage = next(c for c in report.checks if c.name == "usage errors")
    assert usage.outcome != "skip"  # it did answer `version`


# --- 4. the example adapters implement the current contract ----------------------------------


def test_the_shell_example_states_the_current_version_without_a_note() -> None:
    report = check_adapter(Target((str(SHELL_EXAMPLE),)), NO_REJECTIONS)
    assert report.ok, "\n".join(c.line() for c in report.checks)
    assert report.contract_version == CONTRACT_VERSION
    capabilities = next(c for c in report.checks if c.name == "capabilities")
    assert "states contract_version" not in capabilities.detail
    assert report.summary().endswith(f"the adapter states version {CONTRACT_VERSION})")


@pytest.mark.parametrize(
    "argv", [(sys.executable, str(PYTHON_EXAMPLE)), (str(SHELL_EXAMPLE),)], ids=["python", "shell"]
)
@pytest.mark.parametrize(
    ("words", "code", "said"),
    [
        (
            ["--function", "sign-encrypt", "--to-address", "a@b.example"],
            18,
            "does not look a@b.example up in ldap://127.0.0.1:1/o=TEST",
        ),
        (["--function", "first-contact", "--to-address", "a@b.example"], 15, "first-contact"),
    ],
    ids=["to-address", "first-contact"],
)
def test_the_examples_answer_a_first_contact_as_version_4_asks(
    tmp_path: Path, argv: tuple[str, ...], words: list[str], code: int, said: str
) -> None:
    """No directory lookup: exit 18 (no-recipient-certificate), or 15 for first-contact,
    nothing sent; not exit 2 for options of the contract."""
    directory = ["--directory", "ldap://127.0.0.1:1/o=TEST"]
    ran = subprocess.run(
        [*argv, "send", *words, "--from", str(tmp_path), *directory],
        input=b"Content-Type: text/plain\r\n\r\nBonjour\r\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == code, ran.stderr
    assert ran.stdout == b"" and said in ran.stderr.decode()
    mixed = subprocess.run(
        [*argv, "send", *words, "--to", str(tmp_path / "x.pem"), "--from", str(tmp_path)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert mixed.returncode == 2  # --to and --to-address are not mixed (a usage error)
