"""docs/reports.md's `diff` example is what `diff` prints for the change it describes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.report.diff import INTERMITTENT_NOTE
from conformance.results import (
    AgentInfo,
    Cell,
    Pair,
    RejectionCaseResult,
    RejectionCell,
    Rejections,
    RejectionVerdict,
    Results,
    RunInfo,
    Verdict,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "reports.md"
STARTED = "2026-12-06T00:00:00+00:00"


def _rejection(cls: str, case: str, repeated: bool | None) -> RejectionCell:
    """openssl against one class: refuses, or (`repeated` given) accepts `case`."""
    outcome: RejectionVerdict = "refuses" if repeated is None else "accepts"
    result = RejectionCaseResult(
        case=case, producer="reference", outcome=outcome, expected="refuse", repeated=repeated
    )
    return RejectionCell.model_validate(
        {"receiver": "openssl", "class": cls, "verdict": outcome, "cases": [result]}
    )


def _results(sign: Verdict, altered: bool | None, not_for_me: bool | None) -> Results:
    cells = [
        _rejection("altered", "altered-content", altered),
        _rejection("not-for-me", "not-for-me-truncated-key", not_for_me),
    ]
    return Results(
        run=RunInfo(seed=2008, examples=1, started=STARTED, complete=True, suite_version="test"),
        agents=[
            AgentInfo.model_validate(
                {"id": a, "name": a, "kind": "client", "homologation": "none", "engine": engine}
            )  # its measurement derived from the engine, as for a results.json read
            for a, engine in (("openssl", "openssl"), ("reference", "builtin"))
        ],
        cells=[Cell(sender="reference", receiver="openssl", function="sign", verdict=sign)],
        pairs=[Pair(sender="reference", receiver="openssl", interop="full")],
        rejections=Rejections(policy="osm-2008", classes=["altered", "not-for-me"], cells=cells),
    )


def _blocks(language: str) -> list[str]:
    """The fenced blocks of the section on `diff`, of this language ('' for plain)."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Comparing two runs") :]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    _results("pass", None, None).dump(old)
    # altered: accepted again on replay (a regression); not-for-me: not (intermittent)
    _results("fail", True, False).dump(new)
    return str(old), str(new)


def test_the_text_example_is_what_diff_prints(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", *files]) == 0
    printed = capsys.readouterr().out.splitlines()
    shown = _blocks("")[0].splitlines()
    assert shown[:-1] == printed[:-1]
    # the explanation is cut in the page
    assert shown[-1].endswith(" ...") and printed[-1] == INTERMITTENT_NOTE
    assert INTERMITTENT_NOTE.startswith(shown[-1].removesuffix(" ..."))


def test_the_json_example_is_what_diff_json_prints(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", "--json", *files]) == 0
    assert json.loads(_blocks("json")[0]) == json.loads(capsys.readouterr().out)
