"""`run --agent X`: a vendor's loop, every cell where X sends or receives, and X's refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main
from conformance.errors import UserError
from conformance.matrix.spec import MatrixSpec
from conformance.rejections.model import CLASSES
from conformance.results import load_results

# Three agents of the shipped set, selected as senders and receivers (files named one by
# one join the shipped set, so the selection is what narrows the matrix).
IDS = ("reference", "smm", "mmua")


def test_agent_selects_its_row_and_column() -> None:
    spec = MatrixSpec(agents=("smm",), functions=("sign", "encrypt"), senders=IDS, receivers=IDS)
    cells = spec.cells()
    assert len(cells) == (3 + 3 - 1) * 2  # its row and column, smm -> smm once
    assert all("smm" in (s, r) for s, r, _ in cells)
    assert ("reference", "mmua", "sign") not in cells
    assert {(s, r) for s, r, _ in cells} == {
        ("smm", "smm"),
        ("smm", "reference"),
        ("smm", "mmua"),
        ("reference", "smm"),
        ("mmua", "smm"),
    }
    # its refusals only: the rejection matrix is about receivers
    assert spec.rejection_cells() == [("smm", c) for c in CLASSES]
    # a sender selection still applies: smm's column as read from reference only
    narrowed = MatrixSpec(agents=("smm",), senders=("reference",), receivers=IDS)
    assert {(s, r) for s, r, _ in narrowed.cells()} == {("reference", "smm")}
    # without --agent: the whole matrix, as before
    assert len(MatrixSpec(functions=("sign",), senders=IDS, receivers=IDS).cells()) == 9


def test_unknown_agent_is_a_user_error() -> None:
    with pytest.raises(UserError, match="--agent: unknown profile nobody"):
        MatrixSpec(agents=("nobody",), senders=IDS, receivers=IDS).cells()


def test_run_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")
    out = tmp_path / "out"
    argv = ["run", "--quiet", "--jobs", "1", "--examples", "1", "--no-rejections"]
    argv += ["--function", "sign", "--agent", "reference", "--out", str(out)]
    for agent in IDS:
        argv += ["--sender", agent, "--receiver", agent]
    assert main(argv) == 0
    results = load_results(out / "results.json")
    assert sorted((c.sender, c.receiver) for c in results.cells) == [
        ("mmua", "reference"),
        ("reference", "mmua"),
        ("reference", "reference"),
        ("reference", "smm"),
        ("smm", "reference"),
    ]
    assert results.run.settings["agents"] == ["reference"]
    assert results.run.settings["cells_planned"] == 5
