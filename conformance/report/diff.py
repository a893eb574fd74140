"""Cells whose verdict changed between two runs: regressions and improvements.

A regression is a cell that got worse on the pass > partial > fail scale; an
improvement one that got better. Anything else that changed (a cell now
unsupported, a harness error, a cell only in one run) is listed as `other`:
it is not a product's doing, yet a reader should see it.

A cell is keyed by its route too (transport and hops, Cell.key): the same sender,
receiver and function through `footer` is another cell than on the plain route, and a
run over SMTP is compared cell by cell with a run over SMTP (against a memory run, every
cell is "only in one run").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from conformance.results import Cell, CellKey, Results, cell_where, route_label

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
    transport: str = "memory"
    via: tuple[str, ...] = field(default=())

    def key(self) -> CellKey:
        return (self.sender, self.receiver, self.function, self.transport, "+".join(self.via))

    @property
    def route(self) -> str:
        return route_label(self.transport, self.via)

    def where(self) -> str:
        """sender -> receiver function, and the route when it is not the plain one."""
        return cell_where(self.sender, self.receiver, self.function, self.transport, self.via)

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["via"] = list(self.via)
        return found


def classify(before: str | None, after: str | None) -> ChangeKind:
    if before in _RANK and after in _RANK:
        return "regression" if _RANK[after] < _RANK[before] else "improvement"
    return "other"


def diff_results(old: Results, new: Results) -> list[Change]:
    """Every changed cell, in the new run's order, then cells that disappeared."""
    old_cells = {c.key(): c for c in old.cells}
    new_keys: set[CellKey] = set()
    changes: list[Change] = []
    for cell in new.cells:
        new_keys.add(cell.key())
        found = old_cells.get(cell.key())
        before = found.verdict if found is not None else None
        if before != cell.verdict:
            changes.append(_change(cell, before, cell.verdict, classify(before, cell.verdict)))
    for key, cell in old_cells.items():
        if key not in new_keys:
            changes.append(_change(cell, cell.verdict, None, "other"))
    return changes


def _change(cell: Cell, before: str | None, after: str | None, kind: ChangeKind) -> Change:
    return Change(
        cell.sender,
        cell.receiver,
        cell.function,
        before,
        after,
        kind,
        cell.transport,
        tuple(cell.via),
    )


def policy_note(old: Results, new: Results) -> str | None:
    """A warning when the runs judged under different policies (`run --policy`): a stricter
    policy fails what the other passed, so its "regressions" are not the products'."""
    before, after = (r.run.settings.get("policy") for r in (old, new))
    if before == after or before is None or after is None:
        return None
    return (
        f"the runs were judged under different policies ({before} -> {after}): "
        "a verdict that changed may be the policy's doing, not the product's"
    )


def summary(changes: list[Change]) -> dict[ChangeKind, int]:
    counts: dict[ChangeKind, int] = {"regression": 0, "improvement": 0, "other": 0}
    for change in changes:
        counts[change.kind] += 1
    return counts
