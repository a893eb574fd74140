"""The progress estimate counts the rejection cells too: they mostly run after the interop
cells, during which an estimate from the interop cells alone read "eta 0s"."""

from __future__ import annotations

import io

import pytest

from conformance.matrix.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_eta_counts_the_rejection_cells_left(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("conformance.matrix.progress.time.time", lambda: 60.0)  # 60 s in
    log = io.StringIO()
    # 54 interop and 6 rejection cells in 60 s: one a second, 21 rejection cells to go.
    Progress(log, started=0.0).update(54, 54, 6, 27, "openssl refusals altered: refuses")
    assert log.getvalue() == (
        "osm-conformance: cells 54/54, rejection cells 6/27, 60s elapsed, eta 21s\n"
    )
    tty = Terminal()
    Progress(tty, started=0.0).update(30, 54, 0, 27, "cell 30")  # 24 + 27 left
    assert " 60s eta  102s rejections=0/27  cell 30" in tty.getvalue()


def test_the_eta_is_zero_before_any_cell_and_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("conformance.matrix.progress.time.time", lambda: 10.0)
    tty = Terminal()
    Progress(tty, started=0.0).update(0, 54, 0, 27, "starting")
    Progress(tty, started=0.0).update(54, 54, 27, 27, "last")
    assert tty.getvalue().count("eta    0s") == 2
