"""A results.json that is not one (another JSON value, no `format`, another format) is
said so, naming the file and what was found, before any field; exit 2 for its readers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.errors import UserError
from conformance.results import FORMAT, load_results

RUN: dict[str, object] = {"run": {}, "agents": [], "cells": [], "pairs": []}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([RUN], "not a results.json (a JSON list, not an object)"),
        ("x", "not a results.json (a JSON string, not an object)"),
        (RUN, 'not a results.json (no "format")'),
        (
            {**RUN, "format": "osm-conformance/results/2"},
            f'format "osm-conformance/results/2", this suite reads "{FORMAT}"',
        ),
        ({**RUN, "format": 2}, f'format 2, this suite reads "{FORMAT}"'),
    ],
)
def test_not_this_suites_results_is_said(tmp_path: Path, data: object, expected: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_results(path)
    assert str(caught.value) == f"{path}: {expected}"


@pytest.mark.parametrize("command", [["report", "R", "--out", "OUT"], ["diff", "R", "R"]])
def test_its_readers_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(RUN), encoding="utf-8")
    argv = [{"R": str(path), "OUT": str(tmp_path / "out")}.get(a, a) for a in command]
    assert main(argv) == 2
    assert f'{path}: not a results.json (no "format")' in capsys.readouterr().err
