"""Where a run stands, on stderr: a bar redrawn in place on a terminal, plain lines elsewhere.

A CI log or a file gets no carriage returns: one line every tenth of the cells
(at most every 50), with the elapsed time, and one when a kind of cell is all done.
"""

from __future__ import annotations

import math
import time
from typing import TextIO

BAR_WIDTH = 30
LINE_WIDTH = 150
MAX_STEP = 50  # a plain line at least every this many cells


def step_of(total: int) -> int:
    """Cells between two plain lines: a tenth of the total, at most MAX_STEP, at least 1."""
    return max(1, min(MAX_STEP, math.ceil(total / 10)))


class Progress:
    """Told after every cell (interop or rejection); writes what is due on `stream`."""

    def __init__(self, stream: TextIO, started: float | None = None) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", None)
        self.terminal = bool(isatty()) if callable(isatty) else False
        self.started = time.time() if started is None else started
        self._told: tuple[int, int] = (0, 0)  # counts at the last plain line
        self._drawn = False

    def update(
        self, done: int, total: int, rejections: int, rejection_total: int, last: str
    ) -> None:
        elapsed = time.time() - self.started
        eta = _eta(
            elapsed, done + rejections, max(total - done, 0) + max(rejection_total - rejections, 0)
        )
        if self.terminal:
            self._bar(done, total, rejections, rejection_total, elapsed, eta, last)
            return
        told_done, told_rejections = self._told
        if _due(done, told_done, total) or _due(rejections, told_rejections, rejection_total):
            self._line(done, total, rejections, rejection_total, elapsed, eta)

    def close(self) -> None:
        """The bar's line ends; a plain log gets nothing more (its last line is up to date)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()

    def _bar(
        self,
        done: int,
        total: int,
        rejections: int,
        rejection_total: int,
        elapsed: float,
        eta: float,
        last: str,
    ) -> None:
        """One line: the interop cells' bar, then the rejection cells done (written
        `rejections=k/n`, so the bar's `done/total` stays the line's only count)."""
        total = max(total, done)
        filled = int(BAR_WIDTH * done / total) if total else BAR_WIDTH
        tail = f" rejections={rejections}/{rejection_total}" if rejection_total else ""
        line = (
            f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} "
            f"{elapsed:5.0f}s eta {eta:4.0f}s{tail}  {last}"
        )
        self.stream.write(line[:LINE_WIDTH].ljust(LINE_WIDTH))
        self.stream.flush()
        self._drawn = True

    def _line(
        self,
        done: int,
        total: int,
        rejections: int,
        rejection_total: int,
        elapsed: float,
        eta: float,
    ) -> None:
        tail = f", rejection cells {rejections}/{rejection_total}" if rejection_total else ""
        self.stream.write(
            f"osm-conformance: cells {done}/{max(total, done)}{tail}, "
            f"{elapsed:.0f}s elapsed, eta {eta:.0f}s\n"
        )
        self.stream.flush()
        self._told = (done, rejections)


def _eta(elapsed: float, finished: int, remaining: int) -> float:
    """The seconds left at the rate observed so far, over both kinds of cells: the
    rejection cells (171 in a default run) mostly run after the interop ones, and an
    estimate from the interop cells alone read 0 during all of them."""
    return elapsed / finished * remaining if finished else 0.0


def _due(count: int, told: int, total: int) -> bool:
    """A new count reaching a multiple of the step, or the total."""
    return count != told and count > 0 and (count % step_of(total) == 0 or count >= total)
