"""`run` whose report cannot be written says so, names results.json as written, and exits
2; a closed output an earlier run in the same process met is not this run's (exit 141
was returned for every later run)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.signals import mute, output_closed

TINY = ["--sender", "reference", "--receiver", "reference", "--function", "sign"]
TINY += ["--examples", "1", "--no-rejections", "-q", "--jobs", "1"]


def test_a_report_that_cannot_be_written_is_named_and_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")
    mute(io.StringIO())  # an earlier in-process run's output closed
    assert output_closed()
    out = tmp_path / "out"
    (out / "index.html").mkdir(parents=True)  # where the report's page must go
    code = main(["run", *TINY, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "error: report not written: " in err and "results.json is)" in err
    assert "results.json not written" not in err
    assert (out / "results.json").is_file()
