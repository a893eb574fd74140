"""`osm-conformance pki init|export` into a place it cannot write: one error line naming
the file, exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a directory\n", encoding="utf-8")
    return path


def test_export_under_a_file_names_where(a_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = a_file / "export"
    assert main(["pki", "export", str(out), "--identity", "pro01"]) == 2
    err = capsys.readouterr().err
    assert f"{out}: cannot write the export ({out}: Not a directory)" in err


def test_init_under_a_file_names_where(a_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = a_file / "pki"
    assert main(["pki", "init", "--dir", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"--dir {target}: cannot write ({a_file}" in err and "Traceback" not in err
