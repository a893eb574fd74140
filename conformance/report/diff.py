"""Cells whose verdict changed between two runs: regressions and improvements.

A regression is a cell that got worse on the pass > partial > fail scale; an
improvement one that got better. Anything else that changed (a cell now
unsupported, a harness error, a cell only in one run) is listed as `other`:
it is not a product's doing, yet a reader should see it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from conformance.results import Results

ChangeKind = Literal["regression", "improvement", "other"]
# Only these three verdicts describe the product; the others are not ranked.
_RANK = {"pass": 2, "partial": 1, "fail": 0}


@dataclass(frozen=True)
class Change:
    sender: str
    receiver: str
    function: str
    before: str | None  # None: the cell is not in the old run
    after: str | None  # None: the cell is not in the new run
    kind: ChangeKind

    def key(self) -> tuple[str, str, str]:
        return (self.sender, self.receiver, self.function)

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def classify(before: str | None, after: str | None) -> ChangeKind:
    if before in _RANK and after in _RANK:
        return "regression" if _RANK[after] < _RANK[before] else "improvement"
    return "other"


def diff_results(old: Results, new: Results) -> list[Change]:
    """Every changed cell, in the new run's order, then cells that disappeared."""
    old_cells = {(c.sender, c.receiver, c.function): c.verdict for c in old.cells}
    new_keys: set[tuple[str, str, str]] = set()
    changes: list[Change] = []
    for cell in new.cells:
        key = (cell.sender, cell.receiver, cell.function)
        new_keys.add(key)
        before = old_cells.get(key)
        if before != cell.verdict:
            changes.append(Change(*key, before, cell.verdict, classify(before, cell.verdict)))
    for key, before in old_cells.items():
        if key not in new_keys:
            changes.append(Change(*key, before, None, "other"))
    return changes


def summary(changes: list[Change]) -> dict[ChangeKind, int]:
    counts: dict[ChangeKind, int] = {"regression": 0, "improvement": 0, "other": 0}
    for change in changes:
        counts[change.kind] += 1
    return counts
