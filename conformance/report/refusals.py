"""View model of the "Refus" page: receivers x rejection classes, and each cell's cases.

Kept apart from views.py (the interop matrix) and computed from results.json's
`rejections` section alone, like every page of the report.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.report.i18n import Translator
from conformance.results import (
    RejectionCaseInfo,
    RejectionCaseResult,
    RejectionCell,
    Rejections,
    RejectionSummary,
)

PAGE = "refusals.html"
# One symbol per verdict, so that no mark relies on colour alone.
REFUSAL_SYMBOLS = {
    "refuses": "✓",
    "accepts": "✗",
    "not-applicable": "–",
    "error": "!",
    "missing": "·",
}
# The interop matrix's colours: a refusal is the good outcome here.
REFUSAL_CSS = {
    "refuses": "v-pass",
    "accepts": "v-fail",
    "not-applicable": "v-unsupported",
    "error": "v-error",
    "missing": "v-missing",
}


@dataclass
class CaseView:
    result: RejectionCaseResult
    info: RejectionCaseInfo | None
    title: str
    explanation: str


@dataclass
class RefusalCellView:
    id: str  # the anchor of the cell's detail
    receiver: str
    receiver_name: str
    cls: str
    cell: RejectionCell | None
    cases: list[CaseView]

    @property
    def verdict(self) -> str:
        return self.cell.verdict if self.cell else "missing"

    @property
    def symbol(self) -> str:
        return REFUSAL_SYMBOLS[self.verdict]

    @property
    def css(self) -> str:
        return REFUSAL_CSS[self.verdict]


@dataclass
class RefusalRow:
    receiver: str
    name: str
    page: str | None  # the receiver's product sheet, relative to the report directory
    cells: list[RefusalCellView]
    summary: RejectionSummary | None

    @property
    def accepts(self) -> bool:
        return any(c.verdict == "accepts" for c in self.cells)


class RefusalModel:
    """The rejection section laid out for the page, the matrix's marks and the sheets."""

    def __init__(
        self, rejections: Rejections | None, t: Translator, names: dict[str, tuple[str, str]]
    ) -> None:
        """`names`: agent id -> (display name, product page)."""
        self.rejections = rejections
        self.t = t
        self.rows: list[RefusalRow] = []
        self.classes: list[str] = []
        if rejections is None:
            return
        self.classes = list(rejections.classes) or list(
            dict.fromkeys(c.cls for c in rejections.cells)
        )
        infos = {i.id: i for i in rejections.cases}
        cells = {(c.receiver, c.cls): c for c in rejections.cells}
        summaries = {s.receiver: s for s in rejections.receivers}
        receivers = list(dict.fromkeys(c.receiver for c in rejections.cells))
        ordered = [r for r in names if r in receivers] + sorted(set(receivers) - set(names))
        for i, receiver in enumerate(ordered):
            name, page = names.get(receiver, (receiver, None))  # type: ignore[arg-type]
            views = []
            for j, cls in enumerate(self.classes):
                cell = cells.get((receiver, cls))
                cases = [self._case(r, infos.get(r.case)) for r in (cell.cases if cell else [])]
                views.append(RefusalCellView(f"r-{i}-{j}", receiver, name, cls, cell, cases))
            self.rows.append(RefusalRow(receiver, name, page, views, summaries.get(receiver)))
        self.by_receiver = {row.receiver: row for row in self.rows}

    def _case(self, result: RejectionCaseResult, info: RejectionCaseInfo | None) -> CaseView:
        lang = self.t.lang
        title = (info.title.get(lang) or next(iter(info.title.values()), "")) if info else ""
        explanation = (
            (info.explanation.get(lang) or next(iter(info.explanation.values()), ""))
            if info
            else ""
        )
        return CaseView(result, info, title or result.case, explanation)

    @property
    def present(self) -> bool:
        return self.rejections is not None

    def accepting(self) -> set[str]:
        """The receivers with any false accept (marked in the matrix and on their sheet)."""
        return {row.receiver for row in self.rows if row.accepts}

    def row(self, receiver: str) -> RefusalRow | None:
        return self.by_receiver.get(receiver) if self.rows else None

    def details(self) -> list[RefusalCellView]:
        return [c for row in self.rows for c in row.cells if c.cell is not None]

    def counts(self) -> list[tuple[str, int]]:
        found: dict[str, int] = {}
        for row in self.rows:
            for c in row.cells:
                if c.cell is not None:
                    found[c.verdict] = found.get(c.verdict, 0) + 1
        return [(v, found[v]) for v in REFUSAL_SYMBOLS if v in found]
