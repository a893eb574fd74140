"""View models: results.json turned into what the templates lay out.

All the logic of the pages lives here (ordering, look-ups, the measured
interoperability of the comparison table, footnote numbering) so that the
templates stay plain loops and the logic is tested without parsing HTML.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conformance.core.vocabulary import PRODUCT_MEASUREMENTS, SERVICES
from conformance.report.diff import Change, diff_results
from conformance.report.i18n import Translator
from conformance.results import (
    AgentInfo,
    Cell,
    Contradiction,
    Fact,
    Pair,
    PracticeSoftware,
    Provenance,
    Results,
)

# The comparison table's rows, in the source document's order. These are the
# keys of AgentInfo.criteria the matrix runner fills from the profiles.
CRITERIA: tuple[str, ...] = (
    "interoperability",
    "compliance",
    "proprietary",
    "macintosh",
    "lgc_integration",
    "ease_of_installation",
    "ease_of_use",
    "minimum_configuration",
)
KNOWN_FUNCTIONS = ("sign", "encrypt", "sign-encrypt", "hprim-net", "attachments")
# One symbol per verdict, so that no mark relies on colour alone.
VERDICT_SYMBOLS = {
    "pass": "✓",
    "partial": "◐",
    "fail": "✗",
    "unsupported": "–",
    "error": "!",
    "missing": "·",
}
INTEROP_SYMBOLS = {"full": "●", "partial": "◐", "none": "○", "not-observed": "◌", "unknown": "?"}
# What an agent's cells measure (results.json `measurement`): a symbol each, as for verdicts.
MEASUREMENT_SYMBOLS = {
    "simulated": "≈",
    "model": "≈",
    "suite-reference": "◎",
    "real-engine": "⚙",
    "real-adapter": "⇄",
    "real-vectors": "✎",
}
# The facts of a profile the cell dialog recalls: what decides whether a message is read.
KEY_SENDS = (
    "sends.format",
    "sends.signature.format",
    "sends.signature.digest",
    "sends.signature.algorithm",
    "sends.encryption.content",
    "sends.encryption.key_transport",
)
KEY_ACCEPTS = (
    "accepts.smime.ciphers",
    "accepts.smime.key_transports",
    "accepts.smime.digests",
    "accepts.smime.signature_algorithms",
    "accepts.smime.formats",
)
MARK_SYMBOLS = {
    "contradiction": "≠",
    "nonconformant": "⚑",
    "by_machine": "⌨",
    "changed": "Δ",
    "assumed": "*",
}
SERVICE_SYMBOLS = {"held": "✓", "lost": "✗", "not_required": "–"}
HOMOLOGATED = "osm"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def product_filename(agent_id: str) -> str:
    """A file name for an agent's page that is safe whatever the id holds."""
    if _SAFE_NAME.match(agent_id):
        return f"{agent_id}.html"
    slug = re.sub(r"[^A-Za-z0-9]+", "-", agent_id).strip("-")[:40] or "agent"
    digest = hashlib.sha256(agent_id.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}.html"


def evidence_href(path: str, root: str) -> str | None:
    """A relative link to an evidence file, or None when the path is not a plain
    relative path (an absolute path or a URL must not become a live link)."""
    if not path or path.startswith(("/", "\\")) or _URL_SCHEME.match(path):
        return None
    return root + quote(path.replace("\\", "/"))


class EvidenceLinks:
    """Evidence paths of results.json (relative to its folder, the run folder) as links
    from the pages of a report written to `out`, wherever that is.

    results.json is data from elsewhere: a path is linked only when it names a file
    under the run folder once `..` and symbolic links are resolved. An absolute path or
    one that escapes the run folder is dropped and reported in `warnings`, naming the
    cell; a URL (`javascript:`, `https:`) is shown as text, never linked.
    """

    def __init__(self, results: Results, run_dir: Path, out: Path) -> None:
        self._run = os.path.realpath(run_dir)
        to_run = os.path.relpath(self._run, os.path.realpath(out)).replace(os.sep, "/")
        self._prefix = "" if to_run == "." else to_run + "/"  # from `out` to the run folder
        self._targets: dict[str, str | None] = {}  # path -> relative to `out`, or dropped
        self.warnings: list[str] = []
        for cell in results.cells:
            where = f"cell {cell.sender} -> {cell.receiver} {cell.function}"
            self._judge(where, cell.evidence)
            if cell.counterexample is not None:
                self._judge(f"{where} (counterexample)", cell.counterexample.evidence)
        for rejection in results.rejections.cells if results.rejections else []:
            for case in rejection.cases:
                where = f"rejection cell {rejection.receiver} {rejection.cls} ({case.case})"
                self._judge(where, case.evidence)

    def _judge(self, where: str, paths: Iterable[str]) -> None:
        for path in paths:
            if self.target(path) is None and not _URL_SCHEME.match(path):
                self.warnings.append(
                    f"{where}: evidence path {path!r} is not under the run folder "
                    f"{self._run}: dropped"
                )

    def _target(self, path: str) -> str | None:
        if evidence_href(path, "") is None:  # empty, absolute or a URL
            return None
        inside = self._run.rstrip(os.sep) + os.sep
        where = os.path.normpath(os.path.join(self._run, path.replace("\\", "/")))
        if os.path.lexists(where):  # links resolved too (a missing file links nowhere)
            where = os.path.realpath(where)
        if not where.startswith(inside):
            return None
        return self._prefix + where[len(inside) :].replace(os.sep, "/")

    def links(self, paths: Iterable[str], root: str) -> list[tuple[str, str | None]]:
        """(text, link or None) for each path listed on a page `root` below the report
        directory ("" or "../"): escaping paths are dropped, URLs shown as text."""
        shown: list[tuple[str, str | None]] = []
        for path in paths:
            target = self.target(path)
            if target is not None:
                shown.append((path, root + quote(target)))
            elif _URL_SCHEME.match(path):
                shown.append((path, None))
        return shown

    def target(self, path: str) -> str | None:
        """The path relative to the report directory, or None when it is not linked."""
        if path not in self._targets:  # each path resolved once, whatever the pages
            self._targets[path] = self._target(path)
        return self._targets[path]


@dataclass
class AgentView:
    index: int
    info: AgentInfo
    page: str  # relative to the report directory
    engine_start: bool = False  # the first real engine, after the products

    @property
    def homologated(self) -> bool:
        return self.info.homologation == HOMOLOGATED

    @property
    def engine(self) -> bool:
        return self.info.reference_engine

    @property
    def measurement(self) -> str:
        return self.info.measurement

    @property
    def real(self) -> bool:
        """Real software ran: what the filter "real implementations only" keeps."""
        return self.info.real

    @property
    def product_ran(self) -> bool:
        """The product itself ran (adapter, its own messages): its interoperability is
        measured; otherwise it is simulated by its profile."""
        return self.info.measurement in PRODUCT_MEASUREMENTS


@dataclass
class FunctionView:
    function: str
    cell: Cell | None
    change: Change | None = None
    title: str = ""  # the mark's tooltip, in the page's language

    @property
    def verdict(self) -> str:
        return self.cell.verdict if self.cell else "missing"

    @property
    def symbol(self) -> str:
        return VERDICT_SYMBOLS[self.verdict]

    @property
    def contradiction(self) -> bool:
        return bool(self.cell and self.cell.contradiction)

    @property
    def expected_outcome(self) -> bool:
        """A failure the source predicts (the verdict is the claimed one): shown neutral."""
        return bool(
            self.cell
            and self.cell.verdict in ("fail", "partial")
            and self.cell.expected == self.cell.verdict
        )

    @property
    def nonconformant(self) -> list[str]:
        """The rules the sender's basic message breaks (the verdict does not count them)."""
        return list(self.cell.nonconformant) if self.cell else []

    @property
    def services(self) -> list[tuple[str, str, str]]:
        """(service, state, symbol); state is held, lost (required, not held) or
        not_required."""
        if self.cell is None:
            return []
        out: list[tuple[str, str, str]] = []
        for name in SERVICES:
            if self.cell.services.get(name):
                state = "held"
            elif name in self.cell.services_required:
                state = "lost"
            else:
                state = "not_required"
            out.append((name, state, SERVICE_SYMBOLS[state]))
        return out


@dataclass
class PairView:
    id: str  # the anchor of the cell's detail
    sender: AgentView
    receiver: AgentView
    pair: Pair | None
    functions: list[FunctionView]

    @property
    def interop(self) -> str:
        return self.pair.interop if self.pair else "unknown"

    @property
    def interop_symbol(self) -> str:
        return INTEROP_SYMBOLS[self.interop]

    @property
    def contradiction(self) -> bool:
        return bool(self.pair and self.pair.contradiction) or any(
            f.contradiction for f in self.functions
        )

    @property
    def changed(self) -> bool:
        return any(f.change for f in self.functions)

    @property
    def expected_outcome(self) -> bool:
        """The pair fails as the source says it does (e.g. Apicrypt and the OSM tools):
        shown neutral, as expected, unless a function contradicts the claims."""
        return bool(
            self.pair
            and self.pair.interop in ("none", "partial")
            and self.pair.expected == self.pair.interop
            and not self.contradiction
        )

    @property
    def coverage(self) -> tuple[int, int] | None:
        """(observed, functions) when some function of the pair was not observed."""
        pair = self.pair
        if pair is None or pair.observed is None or pair.functions is None:
            return None
        return (pair.observed, pair.functions) if pair.observed < pair.functions else None

    @property
    def nonconformant(self) -> bool:
        return any(f.nonconformant for f in self.functions)

    @property
    def has_data(self) -> bool:
        return self.pair is not None or any(f.cell for f in self.functions)


@dataclass
class FactView:
    text: str
    source: str | None = None
    footnote: int | None = None
    assumed: bool = False
    claim: FactView | None = None  # the published claim, when it differs from the matrix
    measured: bool = False  # the interoperability the matrix found
    interop: str | None = None  # the matrix's interoperability, for its badge
    simulated: bool = False  # ... between profiles played by the suite, not real products
    reason: str | None = None  # why an assumed value was chosen


@dataclass(frozen=True)
class SummaryLine:
    """One fact of what an agent sends or accepts, with where it comes from."""

    path: str  # sends.signature.digest
    label: str
    text: str
    provenance: Provenance | None = None

    @property
    def assumed(self) -> bool:
        return bool(self.provenance and self.provenance.assumed)


@dataclass
class Footnotes:
    """Sources numbered in order of first use."""

    numbers: dict[str, int] = field(default_factory=dict)

    def number(self, source: str | None) -> int | None:
        if not source:
            return None
        return self.numbers.setdefault(source, len(self.numbers) + 1)

    def items(self) -> list[tuple[int, str]]:
        return [(n, s) for s, n in self.numbers.items()]


@dataclass
class ComparisonView:
    products: list[AgentView]
    rows: list[tuple[str, list[FactView]]]  # criterion, one fact per product
    practice: list[tuple[PracticeSoftware, int | None]]  # with its footnote number
    footnotes: list[tuple[int, str]]
    any_assumed: bool
    any_simulated: bool = False


@dataclass
class ProductView:
    agent: AgentView
    sends: list[SummaryLine]
    accepts: list[SummaryLine]
    criteria: list[tuple[str, FactView]]
    footnotes: list[tuple[int, str]]
    row: list[PairView]  # as sender
    column: list[PairView]  # as receiver
    findings: list[tuple[PairView, FunctionView]]  # failures the source does not predict
    contradictions: list[Contradiction]
    measured_interop: str
    expected: list[tuple[PairView, FunctionView]] = field(default_factory=list)  # predicted

    @property
    def any_assumed(self) -> bool:
        return any(line.assumed for line in [*self.sends, *self.accepts])


class ReportModel:
    """Everything the pages need, computed once per render."""

    def __init__(self, results: Results, t: Translator, baseline: Results | None = None):
        self.results = results
        self.t = t
        self.baseline = baseline
        self.changes: list[Change] = diff_results(baseline, results) if baseline else []
        change_of = {c.key(): c for c in self.changes}
        self.functions = _functions(results)
        self.agents = _ordered_agents(results.agents)
        by_id = {a.info.id: a for a in self.agents}
        self.by_id = by_id
        cells = {(c.sender, c.receiver, c.function): c for c in results.cells}
        pairs = {(p.sender, p.receiver): p for p in results.pairs}
        senders = {c.sender for c in results.cells} | {p.sender for p in results.pairs}
        receivers = {c.receiver for c in results.cells} | {p.receiver for p in results.pairs}
        everyone = not results.cells and not results.pairs
        # An interrupted run shows every agent, so that what was not run is visible.
        self.rows = [
            a for a in self.agents if everyone or not results.run.complete or a.info.id in senders
        ]
        self.columns = [
            a for a in self.agents if everyone or not results.run.complete or a.info.id in receivers
        ]
        self.pairs: dict[tuple[str, str], PairView] = {}
        for s in self.agents:
            for r in self.agents:
                key = (s.info.id, r.info.id)
                fviews = [
                    self._function_view(f, cells.get((*key, f)), change_of.get((*key, f)))
                    for f in self.functions
                ]
                self.pairs[key] = PairView(f"d-{s.index}-{r.index}", s, r, pairs.get(key), fviews)
        self.grid = [[self.pairs[(s.info.id, r.info.id)] for r in self.columns] for s in self.rows]
        self.details = [pv for row in self.grid for pv in row if pv.has_data]
        self.unknown_agents = sorted((senders | receivers) - set(by_id))
        self._key_facts: dict[str, tuple[list[SummaryLine], list[SummaryLine]]] = {}

    def agent_name(self, agent_id: str) -> str:
        view = self.by_id.get(agent_id)
        return view.info.name if view else agent_id

    def _function_view(
        self, function: str, cell: Cell | None, change: Change | None
    ) -> FunctionView:
        t = self.t
        view = FunctionView(function, cell, change)
        parts = [t.label("fn", function) + t("sep") + t(f"verdict.{view.verdict}")]
        if view.expected_outcome:
            parts.append(t("expected.word"))
        if view.contradiction:
            parts.append(t("mark.contradiction"))
        if view.nonconformant:
            parts.append(f"{t('mark.nonconformant')} ({', '.join(view.nonconformant)})")
        if change is not None:
            before = t(f"verdict.{change.before or 'missing'}")
            after = t(f"verdict.{change.after or 'missing'}")
            parts.append(f"{t('mark.changed')} ({before} → {after})")
        view.title = " · ".join(parts)
        return view

    # -- numbers for the header ------------------------------------------------
    def verdict_counts(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for cell in self.results.cells:
            counts[cell.verdict] = counts.get(cell.verdict, 0) + 1
        return [(v, counts[v]) for v in VERDICT_SYMBOLS if v in counts]

    def expected_cells(self) -> int:
        return len(self.rows) * len(self.columns) * len(self.functions)

    # -- the comparison table --------------------------------------------------
    def measured_interop(self, agent: AgentView) -> str:
        """full if every pair (both ways) with a homologated OSM product is full,
        none if every one is none, partial otherwise; unknown without such pairs."""
        seen: list[str] = []
        for other in self.agents:
            if other is agent or not other.homologated or other.engine:
                continue
            for key in ((agent.info.id, other.info.id), (other.info.id, agent.info.id)):
                pv = self.pairs[key]
                if pv.pair is not None and pv.pair.interop != "not-observed":
                    seen.append(pv.pair.interop)
        if not seen:
            return "unknown"
        if all(v == "full" for v in seen):
            return "full"
        if all(v == "none" for v in seen):
            return "none"
        return "partial"

    def fact_view(self, fact: Fact | None, notes: Footnotes) -> FactView:
        if fact is None:
            return FactView(self.t("cmp.no_fact"))
        return FactView(
            self.fact_text(fact.value),
            source=fact.source,
            footnote=notes.number(fact.source),
            assumed=fact.assumed,
            reason=fact.note if fact.assumed else None,
        )

    def interop_fact(self, agent: AgentView, notes: Footnotes) -> FactView:
        """The matrix's interoperability of a product: a measurement only when the
        product itself ran (an adapter, its own messages); simulated otherwise."""
        measured = self.measured_interop(agent)
        view = FactView(
            self.t(f"interop.{measured}"),
            measured=True,
            interop=measured,
            simulated=not agent.product_ran,
        )
        claim = agent.info.criteria.get("interoperability")
        if claim is not None and _claimed_interop(claim.value) != measured:
            view.claim = self.fact_view(claim, notes)
        return view

    def comparison(self) -> ComparisonView:
        notes = Footnotes()
        products = [a for a in self.agents if a.info.criteria and not a.engine]
        rows: list[tuple[str, list[FactView]]] = []
        for criterion in CRITERIA:
            if criterion == "interoperability":
                facts = [self.interop_fact(a, notes) for a in products]
            else:
                facts = [self.fact_view(a.info.criteria.get(criterion), notes) for a in products]
            rows.append((criterion, facts))
        practice = [(p, notes.number(p.source)) for p in self.results.practice_software]
        assumed = any(f.assumed or (f.claim and f.claim.assumed) for _, fs in rows for f in fs)
        simulated = any(f.simulated for _, fs in rows for f in fs)
        return ComparisonView(products, rows, practice, notes.items(), assumed, simulated)

    # -- product sheets --------------------------------------------------------
    def product(self, agent: AgentView) -> ProductView:
        notes = Footnotes()
        criteria = []
        for criterion in CRITERIA:
            if criterion == "interoperability":
                criteria.append((criterion, self.interop_fact(agent, notes)))
            elif criterion in agent.info.criteria:
                criteria.append((criterion, self.fact_view(agent.info.criteria[criterion], notes)))
        aid = agent.info.id
        row = [
            self.pairs[(aid, r.info.id)]
            for r in self.columns
            if self.pairs[(aid, r.info.id)].has_data
        ]
        column = [
            self.pairs[(s.info.id, aid)] for s in self.rows if self.pairs[(s.info.id, aid)].has_data
        ]
        failures = [
            (pv, fv)
            for pv in [*row, *(c for c in column if c.sender is not agent)]
            for fv in pv.functions
            if fv.verdict in ("fail", "partial")
        ]
        findings = [(pv, fv) for pv, fv in failures if not fv.expected_outcome]
        expected = [(pv, fv) for pv, fv in failures if fv.expected_outcome]
        contradictions = [c for c in self.results.contradictions if aid in (c.sender, c.receiver)]
        return ProductView(
            agent,
            self.summary_lines(agent.info, "sends"),
            self.summary_lines(agent.info, "accepts"),
            criteria,
            notes.items(),
            row,
            column,
            findings,
            contradictions,
            self.measured_interop(agent),
            expected,
        )

    def key_facts(self, agent: AgentView) -> tuple[list[SummaryLine], list[SummaryLine]]:
        """What the cell dialog recalls of an agent: the algorithms it sends and accepts."""
        if agent.info.id not in self._key_facts:
            sends = {line.path: line for line in self.summary_lines(agent.info, "sends")}
            accepts = {line.path: line for line in self.summary_lines(agent.info, "accepts")}
            self._key_facts[agent.info.id] = (
                [sends[p] for p in KEY_SENDS if p in sends],
                [accepts[p] for p in KEY_ACCEPTS if p in accepts],
            )
        return self._key_facts[agent.info.id]

    # -- formatting of free-form values ------------------------------------------
    def fact_text(self, value: Any) -> str:
        if value is None:
            return self.t("cmp.no_fact")
        if isinstance(value, bool):
            return self.t(f"value.{value}")
        if isinstance(value, list | tuple):
            return ", ".join(self.fact_text(v) for v in value)
        if isinstance(value, dict):
            return "; ".join(f"{k}: {self.fact_text(v)}" for k, v in value.items())
        return self.t.label("value", value)

    def summary_lines(self, info: AgentInfo, side: str) -> list[SummaryLine]:
        """An agent's sends or accepts summary, flattened, each line with its provenance."""
        lines: list[SummaryLine] = []

        def walk(data: dict[str, Any], path: str, label: str) -> None:
            for key, value in data.items():
                if isinstance(value, dict) and value:
                    walk(value, f"{path}{key}.", f"{label}{key} › ")
                else:
                    lines.append(
                        SummaryLine(
                            f"{path}{key}",
                            f"{label}{key}".replace("_", " "),
                            self.fact_text(value),
                            info.provenance.get(f"{path}{key}"),
                        )
                    )

        walk(info.sends if side == "sends" else info.accepts, f"{side}.", "")
        return lines


def _functions(results: Results) -> list[str]:
    """The run's functions, in its declared order, else the usual order."""
    seen = list(dict.fromkeys(results.run.functions))
    for cell in results.cells:
        if cell.function not in seen:
            seen.append(cell.function)
    if results.run.functions:
        return seen
    return sorted(
        seen,
        key=lambda f: (
            KNOWN_FUNCTIONS.index(f) if f in KNOWN_FUNCTIONS else len(KNOWN_FUNCTIONS),
            f,
        ),
    )


def _ordered_agents(agents: Iterable[AgentInfo]) -> list[AgentView]:
    """Products first, in the results' order, then the real engines beside them."""
    infos = list(agents)
    ordered = [a for a in infos if not a.reference_engine] + [
        a for a in infos if a.reference_engine
    ]
    views = [AgentView(i, a, "products/" + product_filename(a.id)) for i, a in enumerate(ordered)]
    first_engine = next((v for v in views if v.engine), None)
    if first_engine is not None and first_engine is not views[0]:
        first_engine.engine_start = True
    return views


def _claimed_interop(value: Any) -> str | None:
    """A published interoperability claim on the full/partial/none scale."""
    text = str(value).strip().lower()
    if value is True or text in ("full", "yes", "oui", "true"):
        return "full"
    if text in ("partial", "partielle", "partiel"):
        return "partial"
    if value is False or text in ("none", "no", "non", "aucune", "false"):
        return "none"
    return None
