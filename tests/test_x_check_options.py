"""`check`'s options are refused as usage errors (exit 2) when they are not what they name,
before any work: an expected address that is not one address (it used to become an ERROR
of HDR-008 "expected: not an address", exit 1, for the tester's typo), and a path that is
there but of the wrong kind (a file for --identity used to be "no such identity
directory"). The same validators serve `agent`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from agents_support import run_agent

from conformance.cli import main
from conformance.errors import UserError
from conformance.matrix.cast import exported_pki
from conformance.paths import REPO_DIR
from conformance.pki.model import load_pki
from conformance.token.files import check_identity_dir

GOLDEN_SIGNED = REPO_DIR / "vectors" / "golden" / "reference" / "sign.eml"


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Exit code, and stderr then stdout (the usage error, or the report)."""
    code = main(["check", "--lang", "en", *args])
    said = capsys.readouterr()
    return code, said.err + said.out


@pytest.mark.parametrize("option", ["--sender", "--recipient"])
@pytest.mark.parametrize(
    "value",
    ["not an address", "camille", "@osm-test.example", "camille@", "a@b@c", "Camille <c@d.fr>"],
)
def test_an_expected_address_that_is_not_one_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    code, err = _check(capsys, option, value, str(GOLDEN_SIGNED))
    assert code == 2, err
    assert f"{option} {value!r}: not one mail address" in err


@pytest.mark.parametrize("option", ["--sender", "--recipient"])
def test_an_empty_address_is_still_refused(capsys: pytest.CaptureFixture[str], option: str) -> None:
    code, err = _check(capsys, option, " ", str(GOLDEN_SIGNED))
    assert code == 2 and f"{option}: an empty address" in err


def test_an_address_is_checked_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    """One addr-spec (blanks around it allowed): the rule runs, a wrong one is its ERROR."""
    wrong = " someone.else@osm-test.example "
    code, said = _check(capsys, "--sender", wrong, str(GOLDEN_SIGNED))
    assert code == 1 and "HDR-008" in said, said


@pytest.fixture(scope="module")
def identity() -> Path:
    first = load_pki().valid_identities()[0].id
    return exported_pki(load_pki()) / "identities" / first


def test_a_file_given_as_identity_directory_is_named_so(
    capsys: pytest.CaptureFixture[str], identity: Path, tmp_path: Path
) -> None:
    code, err = _check(capsys, "--identity", str(identity / "sign.pem"), str(GOLDEN_SIGNED))
    assert code == 2 and f"{identity / 'sign.pem'}: is a file, not an identity directory" in err
    code, err = _check(capsys, "--identity", str(tmp_path / "nobody"), str(GOLDEN_SIGNED))
    assert code == 2
    assert f"{tmp_path / 'nobody'}: not an identity directory (no such directory)" in err


def test_the_token_layer_tells_missing_from_wrong_kind(identity: Path, tmp_path: Path) -> None:
    assert check_identity_dir(identity) == identity
    with pytest.raises(UserError, match=r"sign\.pem: is a file, not an identity directory$"):
        check_identity_dir(identity / "sign.pem")
    with pytest.raises(UserError, match=r"/dev/null: is a character device, not an identity"):
        check_identity_dir(Path("/dev/null"))
    with pytest.raises(UserError, match=r"nobody: not an identity directory \(no such directory"):
        check_identity_dir(tmp_path / "nobody")


def test_agent_paths_of_the_wrong_kind_are_named_so(identity: Path, tmp_path: Path) -> None:
    sent = run_agent(
        "reference", "send", "--function", "sign", "--from", str(identity / "sign.pem")
    )
    assert sent.code == 2 and "sign.pem: is a file, not an identity directory" in sent.stderr
    received = run_agent(
        "reference", "receive", "--identity", str(identity), "--trust", str(tmp_path)
    )
    assert received.code == 2 and f"{tmp_path}: a directory, not a file" in received.stderr
    fifo = tmp_path / "crl.fifo"  # read twice (checked, then by the agent): it would hang
    os.mkfifo(fifo)
    received = run_agent("reference", "receive", "--identity", str(identity), "--crl", str(fifo))
    assert received.code == 2 and f"{fifo}: a pipe, not a file" in received.stderr
