"""`check MESSAGE`: only a file, a pipe or `-` (stdin) is read, and never more than
--max-message-bytes: /dev/zero once grew to 24 GB in ten seconds, and `-` was taken
for a file name."""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from check_support import SIGNED

from conformance.cli import main
from conformance.paths import REPO_DIR

GOLDEN_SIGNED = REPO_DIR / "vectors" / "golden" / "reference" / "sign.eml"


def _under_one_gigabyte() -> None:
    """The old code read /dev/zero until killed: here it fails fast instead."""
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_a_character_device_is_a_usage_error_named_before_any_read() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "check", "/dev/zero"],
        capture_output=True, text=True, timeout=120, check=False,
        preexec_fn=_under_one_gigabyte,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "osm-conformance: error: /dev/zero: a character device, not a message file "
        "(a file, or - to read stdin)"
    )


@pytest.mark.parametrize("option, what", [("--trust", "trust anchor"), ("--crl", "CRL")])
def test_a_device_as_trust_anchor_or_crl_is_a_usage_error(option: str, what: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "check", str(GOLDEN_SIGNED), option, "/dev/zero"],
        capture_output=True, text=True, timeout=120, check=False,
        preexec_fn=_under_one_gigabyte,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"/dev/zero: a character device, not a {what} file" in done.stderr


def test_a_file_over_the_limit_is_refused_from_its_size_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.eml"
    big.write_bytes(SIGNED)

    opened: list[Path] = []
    real_open = Path.open

    def watched_open(path: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", watched_open)  # read_bytes opens through it too
    code = main(["check", "--max-message-bytes", "1K", str(big)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert f"{big}: {len(SIGNED)} bytes, over --max-message-bytes (1024 bytes)" in err
    assert "a larger --max-message-bytes checks it" in err
    assert big not in opened


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def test_dash_reads_the_message_on_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(GOLDEN_SIGNED.read_bytes()))
    code = main(["check", "--json", "-"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert json.loads(out)["message"]["size"] == GOLDEN_SIGNED.stat().st_size


def test_stdin_is_read_no_further_than_the_limit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = _Stdin(b"x" * 5000)
    monkeypatch.setattr(sys, "stdin", stdin)
    code = main(["check", "--max-message-bytes", "1K", "-"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert "stdin: over --max-message-bytes (1024 bytes): not checked, read no further" in err
    assert stdin.buffer.tell() == 1025  # one byte past the limit tells it is over


def test_the_help_says_dash_and_the_limit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "or - to read it on stdin" in said
    assert "--max-message-bytes SIZE" in said
    assert "default 1G, the reference receiver's limit" in said


def test_a_file_named_dash_is_reached_as_dot_slash_dash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`./-` is the file, as for every tool that reads `-` as stdin."""
    (tmp_path / "-").write_bytes(GOLDEN_SIGNED.read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", _Stdin(b""))
    assert main(["check", "--json", "./-"]) == 0
    assert json.loads(capsys.readouterr().out)["message"]["size"] == GOLDEN_SIGNED.stat().st_size
