"""Small command-line answers: an unknown option shows its sub-command's usage, `check
--catalogue` never suggests overwriting a message, `directory export --ldif -` writes to
stdout, `token` refuses a wrong module path or an empty label, `run --baseline` without
its gate, and `run --help`'s hops say the widths the code uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.mail.gateways import BASE64_WIDTH, REFOLD_WIDTH


def _usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """argparse's refusal: exit 2, and what it printed on stderr."""
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    assert exited.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["run", "--bogus"], "osm-conformance run"),
        (["agent", "openssl", "version", "--bogus"], "osm-conformance agent PROFILE version"),
        (["profiles", "lint", "--bogus"], "osm-conformance profiles lint"),
        (["--bogus"], "osm-conformance"),
    ],
)
def test_an_unknown_option_shows_its_own_commands_usage(
    argv: list[str], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _usage_error(capsys, *argv)
    assert err.startswith(f"usage: {usage} [-h]")
    assert err.splitlines()[-1] == f"{usage}: error: unrecognized arguments: --bogus"


def test_catalogue_with_a_message_never_suggests_overwriting_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("basic.sent.eml").write_bytes(b"Subject: kept\r\n\r\nbody\r\n")
    assert main(["check", "basic.sent.eml", "--catalogue"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--catalogue takes no MESSAGE (basic.sent.eml given)" in captured.err
    assert "> basic.sent.eml" not in captured.err
    assert Path("basic.sent.eml").read_bytes() == b"Subject: kept\r\n\r\nbody\r\n"


def test_directory_export_to_a_dash_writes_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["directory", "export", "--ldif", "-"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# The CPS directory")
    assert "\ndn: " in captured.out and "wrote" not in captured.out
    assert captured.err.startswith("wrote the LDIF to standard output: ")
    assert list(tmp_path.iterdir()) == []  # no file named "-"


@pytest.mark.parametrize(
    ("action", "option"),
    [("export", "--ldif FILE"), ("faults", "--profiles PATH")],
)
def test_directory_options_are_described(
    action: str, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["directory", action, "--help"])
    text = capsys.readouterr().out
    assert re.search(rf"^  {re.escape(option)} +\S", text, re.MULTILINE), text
    if action == "export":
        assert "- writes the LDIF to standard output" in " ".join(text.split())


def test_token_init_refuses_a_module_path_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "path.so"
    err = _usage_error(capsys, "token", "init", "--module", str(wrong))
    assert err.splitlines()[-1].endswith(f"argument --module: {wrong}: no such PKCS#11 module")
    assert "not installed" not in err


@pytest.mark.parametrize("label", ["", "  ", "x" * 33])
def test_token_refuses_a_label_pkcs11_cannot_hold(
    label: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _usage_error(capsys, "token", "init", "--label", label)
    assert "argument --label" in err and "a token label has 1 to 32 characters" in err


def test_run_refuses_a_baseline_without_the_regression_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["run", "--sender", "reference", "--receiver", "reference", "--no-rejections"]
    baseline = tmp_path / "old.json"
    assert main([*argv, "--baseline", str(baseline), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--baseline {baseline}: used only by --fail-on regression" in err
    assert not out.exists()  # refused before any work


def test_run_help_gives_the_hops_widths(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"re-folds the header fields at {REFOLD_WIDTH} columns" in text
    assert f"breaks the lines at {BASE64_WIDTH} characters" in text
    assert "own width" not in text and "own length" not in text
