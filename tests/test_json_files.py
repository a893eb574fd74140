"""A user's JSON file (results.json, identity.json, pki.json) that cannot be read is a
usage error naming the file, never a traceback: `report`, `diff`, `choose --results` and
`run --baseline` all read results.json this way."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe{}", "not UTF-8 text (invalid start byte at byte 0)"),
        (b"[" * 200_000, "not JSON this program reads: nested too deep"),
        (b'{"cells": [}', ":1:12: not JSON: Expecting value"),
        (None, "a directory, not a JSON file"),
    ],
    ids=["binary", "nested-too-deep", "syntax", "directory"],
)
def test_a_results_file_that_is_not_json_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    path = tmp_path / "results.json"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    assert main(["report", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"osm-conformance: error: {path}")
    assert message in err
    assert "Traceback" not in err
