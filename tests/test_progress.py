"""Progress output: a bar on a terminal, plain lines without carriage returns in a log."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from conformance.matrix.progress import MAX_STEP, Progress, step_of


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _feed(progress: Progress, total: int, rejection_total: int) -> None:
    for done in range(1, total + 1):
        progress.update(done, total, 0, rejection_total, f"cell {done}")
    for rejections in range(1, rejection_total + 1):
        progress.update(total, total, rejections, rejection_total, f"refusal {rejections}")
    progress.close()


def test_a_log_gets_a_plain_line_every_tenth_of_the_cells() -> None:
    log = io.StringIO()
    _feed(Progress(log, started=0.0), total=120, rejection_total=30)
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    cells = [line for line in lines if "rejection cells 0/30" in line]
    assert [line.split()[2] for line in cells] == [f"{n}/120," for n in range(12, 121, 12)]
    refusals = [line for line in lines if "cells 120/120, rejection cells" in line]
    assert refusals[-1].startswith("osm-conformance: cells 120/120, rejection cells 30/30, ")
    assert "s elapsed" in lines[-1]
    assert len(lines) == 10 + 10  # a tenth of each kind


def test_a_long_run_gets_a_line_at_least_every_max_step_cells() -> None:
    assert step_of(5000) == MAX_STEP
    assert step_of(7) == 1
    log = io.StringIO()
    _feed(Progress(log, started=0.0), total=5000, rejection_total=0)
    lines = log.getvalue().splitlines()
    assert len(lines) == 5000 // MAX_STEP
    assert lines[-1].startswith("osm-conformance: cells 5000/5000, ")


def test_a_terminal_gets_the_bar_redrawn_in_place() -> None:
    tty = Terminal()
    _feed(Progress(tty, started=0.0), total=4, rejection_total=2)
    text = tty.getvalue()
    assert text.count("\r") == 6
    assert "[##############################] 4/4" in text
    assert "rejections=2/2" in text
    assert text.endswith("\n") and text.count("\n") == 1


def test_run_writes_no_carriage_return_into_a_log(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--sender", "reference", "--receiver",
         "reference", "--function", "sign", "--function", "encrypt", "--examples", "1",
         "--no-rejections", "--jobs", "1", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr
    assert "osm-conformance: cells 2/2, " in done.stderr
