"""Cells whose verdict changed between two runs: regressions and improvements.

A regression is a cell that got worse on the pass > partial > fail scale; an
improvement one that got better. Anything else that changed (a cell now
unsupported, a harness error, a cell only in one run) is listed as `other`:
it is not a product's doing, yet a reader should see it.

A cell is keyed by its route too (transport and hops, Cell.key): the same sender,
receiver and function through `footer` is another cell than on the plain route, and a
run over SMTP is compared cell by cell with a run over SMTP (against a memory run, every
cell is "only in one run").

The rejection matrix's cells follow, keyed by receiver and class (`matrix` rejections,
the class in `function`, no sender): refuses -> accepts is a regression, accepts ->
refuses an improvement, the rest `other`. When the accepting side is intermittent
(RejectionCell.intermittent: no accepted case was accepted again when replayed, as
openssl decrypting with a random key), the change is `intermittent`: the acceptance was
real, but another run of the same product may refuse, so it is not the product's change.
When either run has no rejection matrix (`run --no-rejections`), there is nothing to
compare and no rejection change is listed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from conformance.results import (
    Cell,
    CellKey,
    RejectionCell,
    Rejections,
    Results,
    cell_where,
    route_label,
)

ChangeKind = Literal["regression", "improvement", "intermittent", "other"]
Matrix = Literal["interop", "rejections"]
# Only these three verdicts describe the product; the others are not ranked.
_RANK = {"pass": 2, "partial": 1, "fail": 0}
# The two rejection verdicts that describe the product (refusing is the good one).
_RANKED_REJECTION = ("refuses", "accepts")


@dataclass(frozen=True)
class Change:
    """One changed cell. A rejection cell's change (`matrix` rejections) names the class in
    `function`, has no sender (its hostile messages come from several producers) and lists
    in `cases` the accepted cases of the run that accepts."""

    sender: str
    receiver: str
    function: str
    before: str | None  # None: the cell is not in the old run
    after: str | None  # None: the cell is not in the new run
    kind: ChangeKind
    transport: str = "memory"
    via: tuple[str, ...] = field(default=())
    matrix: Matrix = "interop"
    cases: tuple[str, ...] = field(default=())

    def key(self) -> CellKey:
        return (self.sender, self.receiver, self.function, self.transport, "+".join(self.via))

    @property
    def route(self) -> str:
        return route_label(self.transport, self.via)

    def where(self) -> str:
        """sender -> receiver function, and the route when it is not the plain one; a
        rejection cell as `receiver rejection class`."""
        if self.matrix == "rejections":
            return f"{self.receiver} rejection {self.function}"
        return cell_where(self.sender, self.receiver, self.function, self.transport, self.via)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `diff --json`: an interop change as it always was, with `matrix`;
        a rejection change with its receiver, `class` and accepted `cases`."""
        if self.matrix == "rejections":
            return {
                "matrix": self.matrix,
                "receiver": self.receiver,
                "class": self.function,
                "before": self.before,
                "after": self.after,
                "kind": self.kind,
                "cases": list(self.cases),
            }
        found = asdict(self)
        del found["cases"]
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
    if old.rejections is not None and new.rejections is not None:
        changes += rejection_changes(old.rejections, new.rejections)
    return changes


def rejection_changes(old: Rejections, new: Rejections) -> list[Change]:
    """Every changed rejection cell (receiver and class), in the new run's order, then the
    cells that disappeared."""
    old_cells = {(c.receiver, c.cls): c for c in old.cells}
    changes: list[Change] = []
    for cell in new.cells:
        found = old_cells.pop((cell.receiver, cell.cls), None)
        if found is None or found.verdict != cell.verdict:
            changes.append(_rejection_change(found, cell))
    changes += [_rejection_change(cell, None) for cell in old_cells.values()]
    return changes


def _rejection_change(before: RejectionCell | None, after: RejectionCell | None) -> Change:
    old = before.verdict if before is not None else None
    new = after.verdict if after is not None else None
    accepting = after if new == "accepts" else before if old == "accepts" else None
    kind: ChangeKind = "other"
    if old in _RANKED_REJECTION and new in _RANKED_REJECTION:  # one of them accepts
        kind = "regression" if new == "accepts" else "improvement"
        if accepting is not None and accepting.intermittent:
            kind = "intermittent"
    cell = after or before
    assert cell is not None  # a change has a side in one run at least
    receiver, cls = cell.receiver, cell.cls
    cases = [c.case for c in accepting.cases if c.outcome == "accepts"] if accepting else []
    return Change(
        "",
        receiver,
        cls,
        old,
        new,
        kind,
        matrix="rejections",
        cases=tuple(dict.fromkeys(cases)),
    )


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


# What `intermittent` means, for the terminal (the report has its own words in i18n).
INTERMITTENT_NOTE = (
    "intermittent: a rejection cell whose acceptance did not happen again when the same "
    "hostile message was replayed (e.g. openssl decrypting with a random key); it is real, "
    "but another run of the same product may refuse, so it is neither a regression nor an "
    "improvement"
)


def summary(changes: list[Change]) -> dict[ChangeKind, int]:
    counts: dict[ChangeKind, int] = {
        "regression": 0,
        "improvement": 0,
        "intermittent": 0,
        "other": 0,
    }
    for change in changes:
        counts[change.kind] += 1
    return counts
