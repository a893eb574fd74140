"""Rejection cells in `diff` and `report --baseline`: a receiver that refused a hostile
message and now accepts it is a regression, unless the acceptance was intermittent (not
accepted again when replayed, as openssl decrypting with a random key)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.report.diff import INTERMITTENT_NOTE, diff_results, summary
from conformance.report.render import render_report
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


def _case(case: str, outcome: RejectionVerdict, repeated: bool | None) -> RejectionCaseResult:
    return RejectionCaseResult(
        case=case, producer="reference", outcome=outcome, expected="refuse", repeated=repeated
    )


def _rcell(
    receiver: str, cls: str, verdict: RejectionVerdict, repeated: bool | None = True
) -> RejectionCell:
    """A cell of one case (accepted with `repeated` when the verdict is accepts) beside a
    refused one."""
    first = _case(f"{cls}-one", verdict, repeated if verdict == "accepts" else None)
    return RejectionCell.model_validate(
        {
            "receiver": receiver,
            "class": cls,
            "verdict": verdict,
            "cases": [first, _case(f"{cls}-two", "refuses", None)],
        }
    )


def results(
    rejections: list[RejectionCell] | None, sign: Verdict = "pass", with_matrix: bool = True
) -> Results:
    agents = [
        AgentInfo(
            id=a,
            name=a.upper(),
            kind="client",
            homologation="none",
            engine="openssl" if a == "openssl" else "builtin",
            measurement="real-engine" if a == "openssl" else "simulated",
        )
        for a in ("openssl", "sim-a")
    ]
    return Results(
        run=RunInfo(
            seed=1,
            examples=1,
            started="2026-12-04T00:00:00+00:00",
            complete=True,
            suite_version="test",
        ),
        agents=agents,
        cells=[Cell(sender="sim-a", receiver="openssl", function="sign", verdict=sign)],
        pairs=[Pair(sender="sim-a", receiver="openssl", interop="full")],
        rejections=Rejections(
            policy="osm-2008",
            classes=sorted({c.cls for c in rejections or []}),
            cells=rejections or [],
        )
        if with_matrix
        else None,
    )


def old_and_new() -> tuple[Results, Results]:
    """openssl: altered refuses -> accepts (repeated), not-for-me refuses -> accepts (not
    repeated), downgrade accepts (not repeated) -> refuses; sim-a: altered accepts ->
    refuses, from-mismatch not-applicable -> error, stripped-signature only in the old run;
    and one interop regression."""
    old = results(
        [
            _rcell("openssl", "altered", "refuses"),
            _rcell("openssl", "not-for-me", "refuses"),
            _rcell("openssl", "downgrade", "accepts", repeated=False),
            _rcell("sim-a", "altered", "accepts"),
            _rcell("sim-a", "from-mismatch", "not-applicable"),
            _rcell("sim-a", "stripped-signature", "refuses"),
        ]
    )
    new = results(
        [
            _rcell("openssl", "altered", "accepts"),
            _rcell("openssl", "not-for-me", "accepts", repeated=False),
            _rcell("openssl", "downgrade", "refuses"),
            _rcell("sim-a", "altered", "refuses"),
            _rcell("sim-a", "from-mismatch", "error"),
        ],
        sign="fail",
    )
    return old, new


def test_rejection_cells_changed_are_listed_by_receiver_and_class() -> None:
    old, new = old_and_new()
    found = [
        (c.matrix, c.where(), c.before, c.after, c.kind, c.cases) for c in diff_results(old, new)
    ]
    assert found == [
        ("interop", "sim-a -> openssl sign", "pass", "fail", "regression", ()),
        ("rejections", "openssl rejection altered", "refuses", "accepts", "regression",
         ("altered-one",)),
        ("rejections", "openssl rejection not-for-me", "refuses", "accepts", "intermittent",
         ("not-for-me-one",)),
        ("rejections", "openssl rejection downgrade", "accepts", "refuses", "intermittent",
         ("downgrade-one",)),
        ("rejections", "sim-a rejection altered", "accepts", "refuses", "improvement",
         ("altered-one",)),
        ("rejections", "sim-a rejection from-mismatch", "not-applicable", "error", "other", ()),
        ("rejections", "sim-a rejection stripped-signature", "refuses", None, "other", ()),
    ]  # fmt: skip
    assert summary(diff_results(old, new)) == {
        "regression": 2,
        "improvement": 1,
        "intermittent": 2,
        "other": 2,
    }
    assert diff_results(new, new) == []
    # a run without the rejection matrix has nothing to compare it with
    bare = results(None, with_matrix=False)
    assert [c.matrix for c in diff_results(bare, new)] == ["interop"]


def test_a_cell_is_intermittent_only_when_no_acceptance_was_repeated() -> None:
    assert _rcell("r", "not-for-me", "accepts", repeated=False).intermittent
    assert not _rcell("r", "not-for-me", "accepts", repeated=True).intermittent
    # written before `repeated` existed: an acceptance, as it was then counted
    assert not _rcell("r", "not-for-me", "accepts", repeated=None).intermittent
    assert not _rcell("r", "not-for-me", "refuses").intermittent
    mixed = _rcell("r", "not-for-me", "accepts", repeated=False)
    mixed.cases[1] = _case("not-for-me-two", "accepts", True)
    assert not mixed.intermittent  # one acceptance happened again: the cell's is steady


def test_diff_command_prints_and_carries_rejection_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = old_and_new()
    old.dump(tmp_path / "old.json")
    new.dump(tmp_path / "new.json")
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "regression   sim-a -> openssl sign: pass -> fail",
        "regression   openssl rejection altered: refuses -> accepts (altered-one)",
        "intermittent openssl rejection not-for-me: refuses -> accepts (not-for-me-one)",
        "intermittent openssl rejection downgrade: accepts -> refuses (downgrade-one)",
        "improvement  sim-a rejection altered: accepts -> refuses (altered-one)",
        "other        sim-a rejection from-mismatch: not-applicable -> error",
        "other        sim-a rejection stripped-signature: refuses -> (absent)",
        "2 regression(s), 1 improvement(s), 2 intermittent, 2 other change(s)",
        INTERMITTENT_NOTE,
    ]
    assert main(["diff", "--json", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"] == {"regression": 2, "improvement": 1, "intermittent": 2, "other": 2}
    assert data["changes"][0] == {
        "matrix": "interop",
        "sender": "sim-a",
        "receiver": "openssl",
        "function": "sign",
        "before": "pass",
        "after": "fail",
        "kind": "regression",
        "transport": "memory",
        "via": [],
    }
    assert data["changes"][2] == {
        "matrix": "rejections",
        "receiver": "openssl",
        "class": "not-for-me",
        "before": "refuses",
        "after": "accepts",
        "kind": "intermittent",
        "cases": ["not-for-me-one"],
    }


def test_interop_output_is_unchanged_without_rejection_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = [_rcell("openssl", "altered", "refuses")]
    results(same).dump(tmp_path / "old.json")
    results(same, sign="partial").dump(tmp_path / "new.json")
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "regression   sim-a -> openssl sign: pass -> partial",
        "1 regression(s), 0 improvement(s), 0 other change(s)",
    ]


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("fr", ["OPENSSL, messages hostiles", "intermittent", "ni une régression"]),
        ("en", ["OPENSSL, hostile messages", "intermittent", "neither a regression"]),
    ],
)
def test_the_baseline_section_lists_rejection_changes(
    tmp_path: Path, lang: str, words: list[str]
) -> None:
    old, new = old_and_new()
    index = render_report(new, tmp_path, lang=lang, baseline=old).read_text("utf-8")
    section = index[index.index('id="changes"') : index.index('id="contradictions"')]
    rows = section.split("<tr class=")[1:]  # the header row has no class
    assert len(rows) == 7
    assert sum('data-matrix="rejections"' in r for r in rows) == 6
    altered = next(r for r in rows if "<code>altered-one</code>" in r and "k-regression" in r)
    assert 'href="refusals.html#r-0-' in altered  # the cell's detail on the refusals page
    assert "r-refuses" in altered and "r-accepts" in altered
    assert section.count('class="change-kind k-intermittent"') == 2
    assert 'class="intermittent-note"' in section
    for word in words:
        assert word in section, word
    # the matrix's change mark stays on the one interop cell that changed
    assert index.count('<span class="changed-flag" title=') == 1
