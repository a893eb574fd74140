"""View model of the "Refus" page: receivers x rejection classes, and each cell's cases.

Kept apart from views.py (the interop matrix) and computed from results.json's
`rejections` section alone, like every page of the report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from conformance.core.vocabulary import REAL_MEASUREMENTS, Measurement
from conformance.report.i18n import Translator
from conformance.report.views import AgentView, delivered_services
from conformance.results import (
    Passed,
    RejectionCaseInfo,
    RejectionCaseResult,
    RejectionCell,
    Rejections,
    RejectionSummary,
    RunInfo,
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
# The headline's groups, real receivers first: what a receiver's verdicts measure.
MEASURE_ORDER: tuple[Measurement, ...] = (
    "real-vectors",
    "real-adapter",
    "real-engine",
    "suite-reference",
    "simulated",
    "model",
)
# What the judge says of a warn case the receiver delivered with the services the attack
# breaks (rejections.judge): passed only because the policy tolerates it. Read only from a
# results.json written before RejectionCaseResult.passed.
_TOLERATED = re.compile(r"^tolerated \(warn under ")
# The file names of the evidence of the variant the search kept (rejections.run).
_KEPT = ".shrunk."
# How a cell passed none of whose cases was refused: every passing case delivered the
# message, one at least tolerated by the policy, or all without the broken services.
Delivered = Literal["tolerated", "withheld"]
# Why a receiver of the run's interop cells was tried on no hostile message, so that its ✓
# do not read as refusals (RefusalModel.untried): the run skipped the rejection matrix
# (--no-rejections, or --large-attachment, which runs without it), --agent left it out, the
# run stopped before its cells, or each of its cells was not applicable or broke.
Untried = Literal[
    "no-rejections",
    "large-attachment",
    "not-a-run",
    "selection",
    "interrupted",
    "absent",
    "nothing",
]
# The anchor of the refusals page's list of the receivers not tried.
UNTRIED_ANCHOR = "untried"


def measure_group(measurement: str | None) -> str:
    """What a receiver's refusals are: a real one's (measured), the suite's reference
    agent's (not a product), or a profile's prediction (simulated, model)."""
    if measurement in ("simulated", "model"):
        return "simulated"
    if measurement == "suite-reference":
        return "reference"
    return "real" if measurement in REAL_MEASUREMENTS else "unknown"


@dataclass
class CaseView:
    result: RejectionCaseResult
    info: RejectionCaseInfo | None
    title: str
    explanation: str
    # the badge's word when the case passed by delivering (tolerated by the policy, or
    # without the broken service): "refuses" would say the receiver refused; None otherwise
    passed_as: str | None = None
    # the badge's word for an acceptance that did not happen again on replay
    # (RejectionCaseResult.repeated false): it stands, but is intermittent; None otherwise
    intermittent_as: str | None = None
    # how the case passed (`passed`): what passed_as words; None when it did not pass
    passed: Passed | None = None

    @property
    def word(self) -> str | None:
        """The badge's own word, None for the verdict's usual one."""
        return self.passed_as or self.intermittent_as

    @property
    def evidence_sets(self) -> list[tuple[str | None, list[str]]]:
        """The evidence split into the basic variant's files and those of the variant the
        search kept (`.shrunk.`), each labelled; one unlabelled set when nothing was kept."""
        paths = self.result.evidence
        kept = [p for p in paths if _KEPT in p.rsplit("/", 1)[-1]]
        if not kept:
            return [(None, list(paths))]
        basic = [p for p in paths if p not in kept]
        return [(k, v) for k, v in (("basic", basic), ("kept", kept)) if v]


@dataclass
class HeadCount:
    """One count of a headline: cells of one verdict, with the word of those that refused
    nothing (how they passed: RefusalCellView.passed_as, none for a real refusal), and
    among the accepts those that were intermittent (RejectionCell.intermittent)."""

    verdict: str
    n: int
    word: str | None = None
    intermittent: int = 0


@dataclass
class MeasureCounts:
    """The headline's verdicts of the receivers of one measurement (real engine, simulated...)."""

    measurement: str  # "" for a receiver unknown to the run's agents
    group: str  # measure_group
    receivers: int
    counts: list[HeadCount] = field(default_factory=list)


@dataclass
class RefusalCellView:
    id: str  # the anchor of the cell's detail
    receiver: str
    receiver_name: str
    cls: str
    cell: RejectionCell | None
    cases: list[CaseView]
    # refuses, yet no case was refused: how every passing case passed (CaseView.passed_as),
    # in a word and as the kind the headline counts
    passed_as: str | None = None
    passed: Delivered | None = None
    # accepts, but no accepted case was accepted again on replay (RejectionCell.intermittent)
    intermittent_as: str | None = None

    @property
    def verdict(self) -> str:
        return self.cell.verdict if self.cell else "missing"

    @property
    def word(self) -> str | None:
        """The mark's own word, None for the verdict's usual one."""
        return self.passed_as or self.intermittent_as

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
        self,
        rejections: Rejections | None,
        t: Translator,
        names: dict[str, tuple[str, str]],
        *,
        run: RunInfo | None = None,
        receivers: Iterable[str] = (),
    ) -> None:
        """`names`: agent id -> (display name, product page); `run` and `receivers` (those
        of the interop cells): to say which receivers were not tried, and why (`untried`)."""
        self.rejections = rejections
        self.t = t
        self.names = names
        self.rows: list[RefusalRow] = []
        self.classes: list[str] = []
        self.by_receiver: dict[str, RefusalRow] = {}
        self.settings = run.settings if run is not None else {}
        if rejections is not None:
            self._lay_out(rejections)
        self.untried = self._untried(run, receivers)

    def _lay_out(self, rejections: Rejections) -> None:
        """The rows: one per receiver, the report's agents first, each with every class."""
        t, names = self.t, self.names
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
                view = RefusalCellView(f"r-{i}-{j}", receiver, name, cls, cell, cases)
                view.passed, view.passed_as = self._cell_passed(view)
                if cell is not None and cell.intermittent:
                    view.intermittent_as = t("ref.intermittent")
                views.append(view)
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
        intermittent = result.outcome == "accepts" and result.repeated is False
        passed = passed_by(result)
        return CaseView(
            result,
            info,
            title or result.case,
            explanation,
            self._passed_as(result, passed),
            self.t("ref.intermittent") if intermittent else None,
            passed,
        )

    def _passed_as(self, result: RejectionCaseResult, passed: Passed | None) -> str | None:
        """The badge's word for a case passed by delivering the message (`passed_by`):
        tolerated by the policy, or without the service it withholds (`expected`), or
        without the broken services; None for a refusal."""
        if passed == "tolerated":
            return self.t("ref.case_tolerated")
        if passed != "withheld":
            return None
        what, _, service = result.expected.partition(":")
        if what == "withhold" and service:
            return self.t("ref.case_withheld_service", service=self.t.label("svc", service))
        return self.t("ref.case_withheld")

    def _cell_passed(self, view: RefusalCellView) -> tuple[Delivered | None, str | None]:
        """How a refusing cell none of whose cases was refused passed, and the mark's word:
        every passing case delivered the message (CaseView.passed), so "refuses" would say
        what did not happen. Tolerated by the policy if any case was (the weakest), else
        without the broken services; the word is their one word, else the kind's."""
        if view.verdict != "refuses":
            return None, None
        passing = [k for k in view.cases if k.result.outcome == "refuses"]
        if not passing or any(k.passed not in ("tolerated", "withheld") for k in passing):
            return None, None
        passed: Delivered = (
            "tolerated" if any(k.passed == "tolerated" for k in passing) else "withheld"
        )
        words = {k.passed_as for k in passing}
        if len(words) == 1:
            return passed, words.pop()
        return passed, self.t(f"ref.case_{passed}")

    @property
    def present(self) -> bool:
        return self.rejections is not None

    def accepting(self) -> set[str]:
        """The receivers with any false accept (marked in the matrix and on their sheet)."""
        return {row.receiver for row in self.rows if row.accepts}

    def _untried(self, run: RunInfo | None, receivers: Iterable[str]) -> dict[str, Untried]:
        """The receivers tried on no hostile message, and why: those of the interop cells
        without a row (the whole matrix skipped, or --agent, an interrupted run), and the
        rows none of whose cells refused or accepted (every class not applicable, or harness
        errors). In the report's order of agents."""
        found: dict[str, Untried] = {}
        for receiver in receivers:
            if receiver not in self.by_receiver:
                found[receiver] = self._not_sent(receiver, run)
        for row in self.rows:
            if not any(c.verdict in ("refuses", "accepts") for c in row.cells):
                found[row.receiver] = "nothing"
        order = [*self.names, *sorted(set(found) - set(self.names))]
        return {r: found[r] for r in order if r in found}

    def _not_sent(self, receiver: str, run: RunInfo | None) -> Untried:
        """Why a receiver of the interop cells has no rejection cell, from results.json
        alone: no `rejections` section (`large_attachment` in the settings, or not), the
        settings' `agents` (--agent), `run.complete`."""
        if self.rejections is None:
            return self._skipped
        if self.selected and receiver not in self.selected:
            return "selection"
        return "interrupted" if run is not None and not run.complete else "absent"

    @property
    def selected(self) -> list[str]:
        """The run's --agent values (settings `agents`), the only rejection receivers."""
        agents = self.settings.get("agents")
        return [str(a) for a in agents] if isinstance(agents, list) else []

    @property
    def _skipped(self) -> Untried:
        """Why the results have no rejection matrix: --large-attachment runs without it,
        --no-rejections (settings `rejections` false) skips it; results not made by `run`
        (`vectors verify`'s, settings `mode`) never had one."""
        if self.settings.get("large_attachment") is not None:
            return "large-attachment"
        return "no-rejections" if self.settings.get("rejections") is False else "not-a-run"

    @property
    def skipped_why(self) -> str:
        """Why the whole rejection matrix is missing, in the page's language."""
        return self._why(self._skipped)

    def _why(self, why: Untried) -> str:
        mode = self.settings.get("mode")
        return self.t(
            f"ref.untried.{why}",
            agents=", ".join(self.selected),
            mode=mode if isinstance(mode, str) else "?",
        )

    def untried_why(self, receiver: str) -> str | None:
        """Why the receiver was tried on no hostile message, in the page's language; None
        when it was (or it received nothing in this run)."""
        why = self.untried.get(receiver)
        return None if why is None else self._why(why)

    def untried_groups(self) -> list[tuple[str, list[tuple[str, str | None]]]]:
        """The receivers not tried, grouped by why (the refusals page's list): each reason
        in words, with the (name, product page) of its receivers."""
        groups: dict[str, list[tuple[str, str | None]]] = {}
        for receiver in self.untried:
            name, page = self.names.get(receiver, (receiver, None))  # type: ignore[arg-type]
            groups.setdefault(self.untried_why(receiver) or "", []).append((name, page))
        return list(groups.items())

    def row(self, receiver: str) -> RefusalRow | None:
        return self.by_receiver.get(receiver)

    def details(self) -> list[RefusalCellView]:
        return [c for row in self.rows for c in row.cells if c.cell is not None]

    def head_counts(self, cells: Iterable[RefusalCellView]) -> list[HeadCount]:
        """The cells' verdicts counted as their marks read: a cell that refused nothing (every
        case delivered) apart from the refusals, by how it passed (without the broken
        service, or tolerated by the policy), and the intermittent acceptances among the
        accepts. The refusals page's headline and a product sheet count alike."""
        found: dict[tuple[str, Delivered | None], HeadCount] = {}
        for c in cells:
            if c.cell is None:
                continue
            word = self.t(f"ref.case_{c.passed}") if c.passed is not None else None
            count = found.setdefault((c.verdict, c.passed), HeadCount(c.verdict, 0, word))
            count.n += 1
            count.intermittent += c.cell.intermittent
        order: list[tuple[str, Delivered | None]] = [(v, None) for v in REFUSAL_SYMBOLS]
        order[1:1] = [("refuses", "withheld"), ("refuses", "tolerated")]
        return [found[key] for key in order if key in found]

    def counts_by_measurement(self, agents: Mapping[str, AgentView]) -> list[MeasureCounts]:
        """`head_counts` per measurement of the receivers (`agents`: the report's, by id),
        real receivers first: a simulated receiver's refusals are its profile's prediction
        and are never added to a real one's."""
        groups: dict[str, MeasureCounts] = {}
        cells: dict[str, list[RefusalCellView]] = {}
        for row in self.rows:
            agent = agents.get(row.receiver)
            measurement = agent.measurement if agent is not None else ""
            if measurement not in groups:
                groups[measurement] = MeasureCounts(measurement, measure_group(measurement), 0)
            groups[measurement].receivers += 1
            cells.setdefault(measurement, []).extend(row.cells)
        for measurement, group in groups.items():
            group.counts = self.head_counts(cells[measurement])
        order = [*MEASURE_ORDER, ""]
        return sorted(groups.values(), key=lambda g: order.index(g.measurement))

    def product_none(self, row: RefusalRow, measurement: str | None) -> str:
        """The sheet's line for a receiver with no false accept, by what it measures: a real
        one refuses, a simulated one's profile predicts it, the reference is the suite's; a
        receiver that refused nothing (every class not applicable, or harness errors) was
        not tried."""
        refusing = [c for c in row.cells if c.verdict == "refuses"]
        if not refusing:
            return self.t("ref.product_none_untried")
        # some cases were passed by delivering (CaseView.passed_as): "refuses every hostile
        # message" would say what did not happen; the sheet's counts say how
        delivered = any(k.passed_as for c in refusing for k in c.cases)
        some = "_passed" if delivered else ""
        return self.t(f"ref.product_none{some}.{measure_group(measurement)}")


def passed_by(result: RejectionCaseResult) -> Passed | None:
    """How a case passed (outcome refuses), as the judge recorded it (RejectionCaseResult.passed);
    in a results.json written before it, as its reason says: a delivered answer (`delivered,
    services: ...`) that the judge said tolerated under a warn policy, or without the broken
    services; any other answer a refusal. None for a case that did not pass."""
    if result.outcome != "refuses":
        return None
    if result.passed is not None:
        return result.passed
    if delivered_services(result.reason) is None:
        return "refused"
    warn = result.expected.partition(":")[0] == "warn"
    return "tolerated" if warn and _TOLERATED.match(result.reason) else "withheld"
