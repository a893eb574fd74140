"""View models: results.json turned into what the templates lay out.

All the logic of the pages lives here (ordering, look-ups, the measured
interoperability of the comparison table, footnote numbering) so that the
templates stay plain loops and the logic is tested without parsing HTML.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conformance.core.vocabulary import PRODUCT_MEASUREMENTS, SERVICES
from conformance.directory.lookup import NO_CERTIFICATE
from conformance.replay_note import without_note
from conformance.report.diff import Change, diff_results
from conformance.report.i18n import Translator
from conformance.results import (
    SENDER_REFUSED,
    SENT_FORMAT,
    UNDELIVERED,
    URL_SCHEME,
    AgentInfo,
    Cell,
    Contradiction,
    Fact,
    FailedAt,
    KeyTransportChange,
    NotObserved,
    Pair,
    Provenance,
    RejectionCaseResult,
    RejectionCell,
    Results,
    relative_evidence,
    suite_engine_version,
)
from conformance.status import ErrorCode

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
KNOWN_FUNCTIONS = ("sign", "encrypt", "sign-encrypt", "hprim-net", "attachments", "first-contact")
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
    "untried": "◌",  # a receiver tried on no hostile message (refusals.Untried)
}
SEVERITIES = ("ERROR", "WARNING", "INFO")  # the validator's, most severe first
SERVICE_SYMBOLS = {"held": "✓", "lost": "✗", "not_required": "–"}
HOMOLOGATED = "osm"
# A line of the validator's text report: rule id, status (conformance.check.render).
_CHECK_LINE = re.compile(r"^([A-Z]+-\d+) +(SUCCESS|ERROR|WARNING|INFO)\b", re.M)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")


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
    if not relative_evidence(path):
        return None
    return root + quote(path.replace("\\", "/"))


class EvidenceLinks:
    """Evidence paths of results.json (relative to its folder, the run folder) as links
    from the pages of a report written to `out`, wherever that is.

    results.json is data from elsewhere: a path is linked only when it names a file
    under the run folder once `..` and symbolic links are resolved. An absolute path or
    one that escapes the run folder is dropped and reported in `warnings`, naming the
    cell; a URL (`javascript:`, `https:`) is shown as text, never linked, and so is a
    path under the run folder that names no file (results.json copied without its
    evidence): a published page holds no dead link, and one warning counts them.
    """

    def __init__(self, results: Results, run_dir: Path, out: Path) -> None:
        self._run = os.path.realpath(run_dir)
        to_run = os.path.relpath(self._run, os.path.realpath(out)).replace(os.sep, "/")
        self._prefix = "" if to_run == "." else to_run + "/"  # from `out` to the run folder
        self._targets: dict[str, str | None] = {}  # path -> relative to `out`, or dropped
        self._out = Path(out)
        self._checks: dict[str, CheckSummary] = {}
        self._absent: set[str] = set()  # under the run folder, but no such file
        self.warnings: list[str] = []
        absent: list[str] = []  # "where: path" of each, for the one warning
        for where, paths in results.evidence_lists():
            self._judge(where, paths, absent)
        if absent:
            self.warnings.append(
                f"{len(absent)} evidence path(s) name no file under the run folder "
                f"{self._run} (first: {absent[0]}): shown without a link; was the run "
                "folder copied without its evidence?"
            )

    def _judge(self, where: str, paths: Iterable[str], absent: list[str]) -> None:
        for path in paths:
            if self.target(path) is not None or URL_SCHEME.match(path):
                continue
            if path in self._absent:
                absent.append(f"{where}: {path!r}")
            else:
                self.warnings.append(
                    f"{where}: evidence path {path!r} is not under the run folder "
                    f"{self._run}: dropped"
                )

    def _target(self, path: str) -> str | None:
        if evidence_href(path, "") is None:  # empty, absolute or a URL
            return None
        inside = self._run.rstrip(os.sep) + os.sep
        where = os.path.normpath(os.path.join(self._run, path.replace("\\", "/")))
        if os.path.lexists(where):  # links resolved too
            where = os.path.realpath(where)
        if not where.startswith(inside):
            return None
        if not os.path.isfile(where):
            self._absent.add(path)
            return None
        return self._prefix + where[len(inside) :].replace(os.sep, "/")

    def links(self, paths: Iterable[str], root: str) -> list[tuple[str, str | None]]:
        """(text, link or None) for each path listed on a page `root` below the report
        directory ("" or "../"): escaping paths are dropped, URLs and absent files shown
        as text."""
        shown: list[tuple[str, str | None]] = []
        for path in paths:
            target = self.target(path)
            if target is not None:
                shown.append((path, root + quote(target)))
            elif URL_SCHEME.match(path) or path in self._absent:
                shown.append((path, None))
        return shown

    def checks(self, path: str | None, root: str) -> CheckSummary | None:
        """The validator's findings on a cell's basic message: `path` is its report (the
        cell's `checks`), read from the JSON written beside it, under the run folder."""
        if not path:
            return None
        if "\n" in path or not path.endswith(".html"):  # the report itself, as text
            return _summarise([(m[1], m[2]) for m in _CHECK_LINE.finditer(path)], None)
        report = self.target(path)
        data_path = self.target(path.removesuffix(".html") + ".json")
        if report is None or data_path is None:  # `target` links existing files only
            return CheckSummary([], 0, None, unreadable=True)
        link = root + quote(report)
        if data_path not in self._checks:
            self._checks[data_path] = _check_summary(self._out / data_path)
        found = self._checks[data_path]
        return CheckSummary(found.findings, found.passed, link, found.unreadable)

    def target(self, path: str) -> str | None:
        """The path relative to the report directory, or None when it is not linked."""
        if path not in self._targets:  # each path resolved once, whatever the pages
            self._targets[path] = self._target(path)
        return self._targets[path]


def _check_summary(path: Path) -> CheckSummary:
    """Findings of a validator report (its JSON: `checks`, each with an id and a status),
    grouped by severity, rule ids in the report's order."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        checks = [(str(c["id"]), str(c["status"])) for c in data["checks"]]
    except (OSError, ValueError, KeyError, TypeError):
        return CheckSummary([], 0, None, unreadable=True)
    return _summarise(checks, None)


def _summarise(checks: list[tuple[str, str]], link: str | None) -> CheckSummary:
    """(rule id, status) pairs grouped by severity, rule ids in their order."""
    findings = []
    for severity in SEVERITIES:
        ids = [rule for rule, status in checks if status == severity]
        if ids:
            findings.append((severity, len(ids), list(dict.fromkeys(ids))))
    passed = sum(1 for _, status in checks if status == "SUCCESS")
    return CheckSummary(findings, passed, link, unreadable=not checks)


@dataclass
class AgentView:
    index: int
    info: AgentInfo
    page: str  # relative to the report directory
    engine_start: bool = False  # the first real engine, after the products
    name: str = ""  # in the page's language (AgentInfo.name_fr on French pages)

    def __post_init__(self) -> None:
        self.name = self.name or self.info.name

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
    # the assumed facts the verdict rests on (Cell.rests_on), in the page's language
    assumed: list[AssumedView] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return self.cell.verdict if self.cell else "missing"

    @property
    def symbol(self) -> str:
        """The verdict's symbol, marked assumed (*) when the verdict rests on an assumption."""
        return VERDICT_SYMBOLS[self.verdict] + (MARK_SYMBOLS["assumed"] if self.assumed else "")

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
    source: str | None = None  # the cited source's title, in the page's language
    footnote: int | None = None
    assumed: bool = False
    claim: FactView | None = None  # the published claim, when it differs from the matrix
    measured: bool = False  # the interoperability the matrix found
    interop: str | None = None  # the matrix's interoperability, for its badge
    # what that interoperability measured, its word and help (ReportModel.interop_measure)
    measure: InteropMeasure | None = None
    quoted: bool = False  # the source table's own words (French), not a value we translate
    reason: str | None = None  # why an assumed value was chosen, in the page's language

    @property
    def simulated(self) -> bool:
        """The interoperability is between profiles played by the suite, not real products."""
        return self.measure is not None and self.measure.css == "simulated"


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
class PracticeView:
    """One editor of the practice software table: the source's answer (a quote in French),
    the status in the page's language."""

    editor: str
    statement: str
    status: str
    source: str | None
    footnote: int | None


@dataclass
class SummaryLine:
    """One field of what an agent sends or accepts: its label, its values either as words
    of the page's language or as identifiers (algorithm names, shown in <code>), and where
    it comes from (its profile's citation)."""

    path: str  # sends.signature.digest
    label: str
    words: list[str]
    codes: list[str]
    provenance: Provenance | None = None
    reason: str | None = None  # why an assumed value was chosen, in the page's language
    source: str | None = None  # the cited source's title, in the page's language
    # recipient_certificate of a tool the suite looked up for (Cell.suite_lookup), in words
    by_suite: str | None = None

    @property
    def assumed(self) -> bool:
        return bool(self.provenance and self.provenance.assumed)


@dataclass
class Said:
    """What the receiver said: the status code in the page's language, and its own words
    (a program's message, quoted verbatim in English)."""

    text: str
    words: str | None = None
    # `words` are the suite's own (why a cell was not observed, how the harness broke),
    # never a product's: shown as the suite's reason, not as "its words"
    by_suite: bool = False
    # the suite's reason worded in the page's language (why a cell was not observed, from
    # Cell.not_observed); `words` then quotes the English detail, if any
    worded: str | None = None
    # the answer did not come again when the same example was replayed (replay_note)
    not_repeated: bool = False


@dataclass(frozen=True)
class AssumedView:
    """An assumed fact a verdict rests on (Cell.rests_on), in the page's language: whose fact
    and its value (`text`), why it was chosen (`reason`, none on a French page without
    French), or the assumed parts of the suite directory's tree (`parts`, English)."""

    text: str
    reason: str | None = None
    parts: tuple[str, ...] = ()

    def line(self, t: Translator) -> str:
        """It on one line (a tooltip), without its parts: they are the suite's English,
        listed in the cell's detail."""
        return self.text + (f" ({t('assumed.why', reason=self.reason)})" if self.reason else "")


@dataclass(frozen=True)
class LookupView:
    """The suite's lookup on a sender's behalf at a first contact (Cell.suite_lookup), in
    the page's language: what it means for the verdict (`text`), what it found (`found`),
    and a failure's reason (`reason`, the suite's English, quoted)."""

    text: str
    found: list[str]
    reason: str | None = None


@dataclass(frozen=True)
class InteropMeasure:
    """What a sheet's interoperability "from the matrix" measured (ReportModel.interop_measure):
    the word beside it, its help, and which peers it was measured against when they are not
    all real (`against`, in the page's language)."""

    css: str  # real, reference or simulated
    word: str
    help: str
    against: str | None = None


@dataclass(frozen=True)
class Written:
    """A text the suite wrote during the run (a counterexample, a hostile variant) as a
    page shows it: in the page's language, or in English with `lang` saying so when
    results.json has no French (a file written before it carried both)."""

    text: str
    lang: str


@dataclass
class CheckSummary:
    """The validator's findings on a cell's basic message, by severity then rule id."""

    findings: list[tuple[str, int, list[str]]]  # severity, count, rule ids
    passed: int
    report: str | None  # link to the full report
    unreadable: bool = False


@dataclass
class ComparisonView:
    products: list[AgentView]
    rows: list[tuple[str, list[FactView]]]  # criterion, one fact per product
    practice: list[PracticeView]
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
        # The matrix shows the plain route's cells (all of them on the memory transport);
        # the cells through a gateway are on the gateways page (gateways.py).
        # (the rejection cells' changes are listed in the baseline section only)
        change_of = {c.key()[:3]: c for c in self.changes if not c.via and c.matrix == "interop"}
        self.functions = _functions(results)
        self.agents = _ordered_agents(results.agents, t.lang)
        by_id = {a.info.id: a for a in self.agents}
        self.by_id = by_id
        # The tools the suite looked a recipient up for in this run, and why (SuiteLookup).
        self.looked_up_for = {
            c.suite_lookup.tool: c.suite_lookup.why for c in results.cells if c.suite_lookup
        }
        cells = {(c.sender, c.receiver, c.function): c for c in results.plain_cells()}
        pairs = {(p.sender, p.receiver): p for p in results.pairs}
        senders = {c.sender for c in results.cells} | {p.sender for p in results.pairs}
        receivers = {c.receiver for c in results.cells} | {p.receiver for p in results.pairs}
        self.receivers = receivers  # those with a receiving verdict (refusals.untried)
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
        return view.name if view else agent_id

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
        if cell is not None and cell.suite_lookup:
            failed = cell.suite_lookup.failure is not None
            parts.append(t("mark.suite_lookup_failed" if failed else "mark.suite_lookup"))
        view.assumed = self.assumptions(cell) if cell is not None else []
        if view.assumed:
            facts = "; ".join(a.line(t) for a in view.assumed)
            parts.append(f"{t('mark.rests_assumed')}{t('sep')}{facts}")
        if change is not None:
            before = t(f"verdict.{change.before or 'missing'}")
            after = t(f"verdict.{change.after or 'missing'}")
            parts.append(f"{t('mark.changed')} ({before} → {after})")
        view.title = " · ".join(parts)
        return view

    # -- numbers for the header ------------------------------------------------
    def verdict_counts(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for cell in self.results.plain_cells():
            counts[cell.verdict] = counts.get(cell.verdict, 0) + 1
        return [(v, counts[v]) for v in VERDICT_SYMBOLS if v in counts]

    def expected_cells(self) -> int:
        return len(self.rows) * len(self.columns) * len(self.functions)

    # -- the comparison table --------------------------------------------------
    def _interop_pairs(self, agent: AgentView) -> list[tuple[AgentView, str]]:
        """(peer, interoperability) of each observed pair, both ways, of `agent` with a
        homologated OSM product: what `measured_interop` sums up."""
        seen: list[tuple[AgentView, str]] = []
        for other in self.agents:
            if other is agent or not other.homologated or other.engine:
                continue
            for key in ((agent.info.id, other.info.id), (other.info.id, agent.info.id)):
                pv = self.pairs[key]
                if pv.pair is not None and pv.pair.interop != "not-observed":
                    seen.append((other, pv.pair.interop))
        return seen

    def measured_interop(self, agent: AgentView) -> str:
        """full if every pair (both ways) with a homologated OSM product is full,
        none if every one is none, partial otherwise; unknown without such pairs."""
        seen = [interop for _, interop in self._interop_pairs(agent)]
        if not seen:
            return "unknown"
        if all(v == "full" for v in seen):
            return "full"
        if all(v == "none" for v in seen):
            return "none"
        return "partial"

    def interop_measure(self, agent: AgentView) -> InteropMeasure:
        """What an agent's interoperability on its sheet measured, by its measurement: a
        simulated profile's is simulated, the reference agent's is the suite's own, a real
        engine's or product's is measured, against peers that are mostly simulated
        profiles (said when any is)."""
        t = self.t
        if agent.measurement in ("simulated", "model"):
            return InteropMeasure("simulated", t("cmp.simulated"), t("cmp.simulated_help"))
        peers = {other.info.id: other for other, _ in self._interop_pairs(agent)}.values()
        simulated = sum(1 for p in peers if not p.real)
        real = len(peers) - simulated
        against = None
        if simulated:
            key = "prod.interop_against_mixed" if real else "prod.interop_against_simulated"
            against = t(key, simulated=simulated, real=real)
        if agent.measurement == "suite-reference":
            word, help_ = t("prod.interop_reference"), t("prod.interop_reference_help")
            return InteropMeasure("reference", word, help_, against)
        help_key = "cmp.measured_help" if agent.product_ran else "prod.interop_engine_help"
        return InteropMeasure("real", t("cmp.measured"), t(help_key), against)

    def engine_versions(self) -> list[tuple[str, str]]:
        """(agent id, version) of the run's engines, by id: a profile played by the suite's
        engine in the page's language (results.json records the English the agent wrote,
        `ProfileAgent.version`: `suite_engine_version`), any other version as its tool
        printed it."""
        run = self.results.run
        out = []
        for agent_id, version in sorted(run.engines.items()):
            if version == suite_engine_version(run.suite_version, agent_id):
                version = self.t("run.engine_suite", version=run.suite_version, profile=agent_id)
            out.append((agent_id, version))
        return out

    def fact_view(self, fact: Fact | None, notes: Footnotes) -> FactView:
        if fact is None:
            return FactView(self.t("cmp.no_fact"))
        return FactView(
            self.fact_text(fact.value),
            source=self.source_title(fact.source),
            footnote=notes.number(fact.source),
            assumed=fact.assumed,
            quoted=_words(fact.value) and not self.t.has(f"value.{fact.value}"),
            reason=self.assumed_reason(fact),
        )

    def assumed_reason(self, fact: Fact | Provenance) -> str | None:
        """Why an assumed value was chosen, in the page's language: a profile gives the
        French in `reason_fr`; without it a French page shows no reason (never English)."""
        if not fact.assumed:
            return None
        if isinstance(fact, Provenance):
            return fact.reason_fr if self.t.lang == "fr" else fact.reason
        return fact.note_fr if self.t.lang == "fr" else fact.note

    def interop_fact(self, agent: AgentView, notes: Footnotes) -> FactView:
        """The matrix's interoperability of a product: a measurement only when real
        software ran (the product's adapter or its own messages, a real engine); simulated
        otherwise; the suite's own for its reference agent. Worded as the sheet's line
        (`interop_measure`)."""
        measured = self.measured_interop(agent)
        view = FactView(
            self.t(f"interop.{measured}"),
            measured=True,
            interop=measured,
            measure=self.interop_measure(agent),
        )
        claim = agent.info.criteria.get("interoperability")
        if claim is not None and _claimed_interop(claim.value) != measured:
            view.claim = self.fact_view(claim, notes)
        return view

    def comparison_products(self) -> list[AgentView]:
        """The products with criteria, in the order of the source table's columns (a source
        of results.json that lists columns); products it does not list come after."""
        columns = next((s.columns for s in self.results.sources.values() if s.columns), [])
        products = [a for a in self.agents if a.info.criteria and not a.engine]
        order = {agent_id: i for i, agent_id in enumerate(columns)}
        return sorted(products, key=lambda a: order.get(a.info.id, len(order)))

    def comparison(self) -> ComparisonView:
        notes = Footnotes()
        products = self.comparison_products()
        rows: list[tuple[str, list[FactView]]] = []
        for criterion in CRITERIA:
            if criterion == "interoperability":
                facts = [self.interop_fact(a, notes) for a in products]
            else:
                facts = [self.fact_view(a.info.criteria.get(criterion), notes) for a in products]
            rows.append((criterion, facts))
        practice = [
            PracticeView(
                p.editor,
                _typography(p.statement),
                self.t.label("pstatus", p.status) if p.status else self.t("detail.none"),
                self.source_title(p.source),
                notes.number(p.source),
            )
            for p in self.results.practice_software
        ]
        assumed = any(f.assumed or (f.claim and f.claim.assumed) for _, fs in rows for f in fs)
        simulated = any(f.simulated for _, fs in rows for f in fs)
        return ComparisonView(products, rows, practice, self.notes(notes), assumed, simulated)

    # -- sources -----------------------------------------------------------------
    def source_title(self, source: str | None) -> str | None:
        """A cited source by its title in the page's language (English when the source
        gives no title in it); a source unknown to results.json as it is written."""
        if not source:
            return None
        ref = self.results.sources.get(source)
        if ref is None:
            return source
        return ref.title.get(self.t.lang) or ref.title.get("en") or source

    def notes(self, notes: Footnotes) -> list[tuple[int, str]]:
        return [(n, self.source_title(s) or s) for n, s in notes.items()]

    def source_text(self, text: str | None) -> tuple[str, str | None]:
        """A claim's or a contradiction's source, `<source id>: <the source's words>` or
        `profile <id>: <field>`, as (what it is in the page's language, the quote)."""
        if not text:
            return self.t("detail.none"), None
        sid, sep, quote = text.partition(": ")
        if sep and sid in self.results.sources:
            return self.source_title(sid) or sid, quote
        found = _PROFILE_SOURCE.match(text)
        if found:
            agent, path = found.groups()
            field = self.t.label("field", path)
            return self.t("src.profile", agent=self.agent_name(agent), field=field), None
        return text, None

    def claim_value(self, value: str) -> tuple[str, str | None]:
        """A contradiction's expected or observed value: a verdict or an interoperability
        in words, or `<sent kind> <algorithm>` as (the kind's label, the algorithm)."""
        for prefix in ("verdict", "interop"):
            if self.t.has(f"{prefix}.{value}"):
                return self.t(f"{prefix}.{value}"), None
        kind, _, names = value.partition(" ")
        if names and self.t.has(f"sent.{kind}"):
            return self.t(f"sent.{kind}"), names
        return value, None

    # -- texts the suite wrote during the run ------------------------------------------
    def written(self, english: str, french: str | None) -> Written:
        """`english` or `french`, whichever the page reads, as results.json gives them."""
        if self.t.lang == "fr" and french:
            return Written(french, "fr")
        return Written(english, "en")

    # -- the cell's dialog -----------------------------------------------------------
    def said_label(self, cell: Cell) -> str:
        """Whose answer `said` gives: the receiver's, or the sender's or the route's when the
        basic example stopped there (`Cell.failed_at`), or the sender's when it does not send
        the function (what `said` then gives)."""
        side = cell.failed_at if cell.observed else None  # not observed: no side answered
        if cell.observed and self.not_sent(cell):
            side = "sender"
        return self.t("detail.said" if side in (None, "receiver") else f"detail.said.{side}")

    def not_sent(self, cell: Cell) -> bool:
        """An unsupported cell whose sender does not send the function (its profile's list):
        the sender's answer, not the receiver's."""
        if cell.verdict != "unsupported":
            return False
        sender = self.by_id.get(cell.sender)
        return sender is not None and cell.function not in sender.info.sends.get("functions", [])

    def said(self, cell: Cell) -> Said | None:
        """What the receiver answered (or the side the example stopped at: `said_label`), in
        the page's language, with its own words."""
        if cell.verdict in ("pass", "partial"):  # the basic example; a partial's failing
            return Said(self.t("said.delivered"))  # answer is its counterexample's reason
        reason = cell.reason
        if not reason:
            return None
        if not cell.observed:  # the suite could not run it here: its reason, not a product's
            if cell.suite_lookup is not None and cell.suite_lookup.failure is not None:
                return Said(self.t("said.not_observed"))  # its line above says what failed
            if cell.not_observed is not None:
                return self.not_observed_said(cell.not_observed, cell)
            return Said(self.t("said.not_observed"), reason, by_suite=True)  # an older file
        if cell.verdict == "unsupported":
            if self.not_sent(cell):
                return Said(self.t("said.not_sent", agent=self.agent_name(cell.sender)))
            return Said(self.t("said.not_received", agent=self.agent_name(cell.receiver)))
        said = self.answer(reason, cell, cell.failed_at)
        if cell.verdict == "error" and said.words == reason:
            return Said(self.t("said.harness"), reason, by_suite=True)
        return said

    def answer(self, reason: str, cell: Cell, side: FailedAt | None) -> Said:
        """`reason` as the answer of `side` of `cell` (None: the receiver's): the sender's
        refusal to send, the route's refusal (the transport's words, the suite's), or what
        the receiver said (`said_text`)."""
        if side == "sender":
            rest = reason.removeprefix(SENDER_REFUSED)
            if rest.startswith(f"{NO_CERTIFICATE}: "):  # the suite's summary of a lookup
                words = rest.removeprefix(f"{NO_CERTIFICATE}: ")
                return Said(self.t("errcode.no-recipient-certificate"), words, by_suite=True)
            text = self.t("said.sender_refused", agent=self.agent_name(cell.sender))
            return Said(text, rest, by_suite=not self.said_by_real(cell.sender))
        return self.said_text(reason, cell.receiver if side in (None, "receiver") else None)

    def counterexample_said(self, reason: str, cell: Cell) -> Said:
        """A failing example's reason (Counterexample.reason) as the answer of the side it
        stopped at (Counterexample.failed_at), its replay said apart (`_replayed`). In a
        results.json written before the side was recorded, it is read from what `exchange`
        writes before the reason."""
        ce = cell.counterexample
        side = ce.failed_at if ce is not None else None
        if side is None:
            side = "receiver"
            if reason.startswith(SENDER_REFUSED):
                side = "sender"
            elif reason.startswith(UNDELIVERED):
                side = "route"
        repeated = ce.repeated if ce is not None else None
        return self._replayed(reason, repeated, lambda r: self.answer(r, cell, side))

    def case_said(self, result: RejectionCaseResult, receiver: str) -> Said:
        """What the receiver said of a rejection case's message, its replay said apart
        (RejectionCaseResult.repeated, `_replayed`)."""
        return self._replayed(result.reason, result.repeated, lambda r: self.said_text(r, receiver))

    @staticmethod
    def _replayed(reason: str, repeated: bool | None, say: Callable[[str], Said]) -> Said:
        """`say(reason)`, saying apart when what it tells did not happen again on replay
        (`repeated` false; the reason's English note then left out). With `repeated` None (a
        results.json written before it was recorded) `say` reads the note (`said_text`)."""
        if repeated is None:
            return say(reason)
        said = say(reason if repeated else without_note(reason)[0])
        said.not_repeated = not repeated
        return said

    def said_by_real(self, agent_id: str | None) -> bool:
        """Whether `agent_id`'s answers are real software's words (an engine's, an
        adapter's, the product's): a simulated, model or reference agent's are the
        suite's engine's."""
        view = self.by_id.get(agent_id) if agent_id else None
        return view is not None and view.real

    def not_observed(self, why: NotObserved, cell: Cell | None = None) -> str:
        """Why a cell was not observed, worded from its facts in the page's language (`cell`:
        an interop cell's route names a hop; a rejection cell has none)."""
        return self.t(
            f"not_observed.{why.kind}",
            agent=self.agent_name(why.agent or ""),
            hop=why.hop or (cell.route if cell is not None else ""),
            size=why.size,
            limit=why.limit,
        )

    def not_observed_said(self, why: NotObserved, cell: Cell | None = None) -> Said:
        """A cell not observed, as its answer: the suite's reason worded from its facts
        (`not_observed`), the English detail quoted; interop and rejection cells alike."""
        worded = self.not_observed(why, cell)
        return Said(self.t("said.not_observed"), why.detail, by_suite=True, worded=worded)

    def rejection_said(self, cell: RejectionCell) -> Said | None:
        """A rejection cell's reason: why its receiver did not run here, worded as an interop
        cell's (RejectionCell.not_observed), else what the receiver said (`said_text`)."""
        if cell.not_observed is not None:
            return self.not_observed_said(cell.not_observed)
        return self.said_text(cell.reason, cell.receiver) if cell.reason else None

    def assumptions(self, cell: Cell) -> list[AssumedView]:
        """The assumed facts `cell`'s verdict rests on (Cell.rests_on), in the page's language:
        a profile fact its agent's provenance marks assumed, with its value and reason; the
        suite directory's layout, with its assumed parts. A sourced fact is not listed."""
        found: list[AssumedView] = []
        parts = tuple(r.fact or "" for r in cell.rests_on if r.kind == "directory-layout")
        if parts:
            found.append(AssumedView(self.t("rests.directory"), parts=parts))
        for r in cell.rests_on:
            agent = self.by_id.get(r.agent or "")
            provenance = agent.info.provenance.get(r.fact or "") if agent else None
            if agent is None or provenance is None or not provenance.assumed or not r.fact:
                continue
            side, _, path = r.fact.partition(".")
            value: Any = agent.info.sends if side == "sends" else agent.info.accepts
            for key in path.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            section = "send" if side == "sends" else "receive"
            text = self.t(
                "rests.profile",
                agent=agent.name,
                field=self.t.label("field", f"{section}.{path}"),
                value=self.fact_text(value),
            )
            found.append(AssumedView(text, self.assumed_reason(provenance)))
        return found

    def suite_lookup(self, cell: Cell, sender: str) -> LookupView | None:
        """The suite's lookup for `sender` (its display name), worded from its facts in the
        page's language; a failed one says nothing of the sender was measured."""
        lookup = cell.suite_lookup
        if lookup is None:
            return None
        t = self.t
        why = t(f"lookup.why.{lookup.why}")
        found = [
            t(
                "detail.suite_lookup_found",
                mail=f.mail,
                url=lookup.directory,
                dn=f.dn,
                serial=f.serial,
            )
            for f in lookup.found
        ]
        if lookup.failure is not None:
            kind = t.label("lookup_failure", lookup.failure)
            text = t("detail.suite_lookup_failed", sender=sender, why=why, kind=kind)
            return LookupView(text, found, lookup.reason)
        return LookupView(t("detail.suite_lookup_text", sender=sender, why=why), found)

    def key_transport(self, change: KeyTransportChange) -> str:
        """Why a rejection case's envelopes took another key transport, in the page's
        language: the suite's choice, shown apart from what the receiver said."""
        status = self.t.label("errcode", change.usual_status)
        key = "ref.key_transport_text" if change.read else "ref.key_transport_broke"
        return self.t(key, used=change.used, usual=change.usual, code=status)

    def said_text(self, reason: str, speaker: str | None = None) -> Said:
        """A reason that ends with what a receiver answered (`<status code>: <its words>`
        or `delivered, services: ...`) in the page's language, its words quoted: as
        `speaker`'s own only when real software said them (`said_by_real`), otherwise as
        the suite's (`by_suite`: a profile's engine, the judge, the harness, no speaker
        known). A replay note (replay_note.NOT_REPEATED) is taken off first, said apart."""
        reason, not_repeated = without_note(reason)
        said = self._said_text(reason, speaker)
        said.not_repeated = not_repeated
        return said

    def _said_text(self, reason: str, speaker: str | None) -> Said:
        found = _STATUS_ANSWER.search(reason)
        if found:
            text = self.t(f"errcode.{found.group(1)}")
            return Said(text, found.group(2), by_suite=not self.said_by_real(speaker))
        found = _NOT_RECEIVED.search(reason)
        if found and (speaker or found.group(1)):
            agent = self.agent_name(speaker or found.group(1))
            return Said(self.t("said.not_received", agent=agent))
        found = _NOT_HELD.search(reason)
        if found:
            services = [s.replace("-", "_") for s in found.group(1).split(", ") if s]
            words = ", ".join(self.t.label("svc", s) for s in services)
            return Said(self.t("said.not_held", services=words))
        delivered = delivered_services(reason)
        if delivered is not None:
            words = ", ".join(self.t.label("svc", s) for s in delivered) or self.t("value.empty")
            return Said(self.t("said.delivered_services", services=words))
        # a product's words come only in its status answer: any other text is the suite's
        return Said(self.t("said.other"), reason, by_suite=True)

    def expectation(self, expected: str) -> str:
        """A rejection case's expectation (refuse, withhold:<service>, warn) in words."""
        what, _, service = expected.partition(":")
        if what == "withhold" and service:
            return self.t("expect.withhold", service=self.t.label("svc", service))
        return self.t.label("expect", expected)

    def sent_format(self, cell: Cell) -> str | None:
        """The format the basic message was in (S/MIME, the Apicrypt model), in words, as
        read from it (Cell.sent's SENT_FORMAT); none when it was not read (nothing could be,
        or a results.json written before it was recorded): the format the sender's profile
        declares is not what the message used."""
        read = cell.sent.get(SENT_FORMAT)
        return self.t.label("value", read[0]) if read else None

    def message_sent(self, cell: Cell) -> bool | None:
        """Whether the basic example's message was made, from the cell's facts: not when
        no example ran (a function not sent or not received, a cell not run here), the
        sender refused, or the suite's lookup for it failed; None (not known) when the
        harness broke before an example was counted."""
        lookup = cell.suite_lookup
        if cell.failed_at == "sender" or (lookup is not None and lookup.failure is not None):
            return False
        if cell.examples == 0:
            return None if cell.verdict == "error" else False
        return True

    def sent_lines(self, cell: Cell) -> list[tuple[str, list[str]]]:
        """What the basic message really used (Cell.sent, its format apart): (label,
        algorithm names)."""
        return [
            (self.t.label("sent", kind), names)
            for kind, names in cell.sent.items()
            if names and kind != SENT_FORMAT
        ]

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
        sends = self.summary_lines(agent.info, "sends")
        why = self.looked_up_for.get(aid)
        for line in sends:
            if line.path == "sends.recipient_certificate" and why is not None:
                line.by_suite = self.t("prod.suite_looks_up", why=self.t(f"lookup.why.{why}"))
        return ProductView(
            agent,
            sends,
            self.summary_lines(agent.info, "accepts"),
            criteria,
            self.notes(notes),
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
        """An agent's sends or accepts summary (`side`), one line per field: its label in
        the page's language, its values (words translated, identifiers such as algorithm
        names as they are) and where it comes from (assumed, or its source)."""
        section = "send" if side == "sends" else "receive"  # the profile's field labels
        data = info.sends if side == "sends" else info.accepts
        # a sender's format words some values its own way (an Apicrypt sender's directory)
        message_format = data.get("format") if side == "sends" else None
        lines: list[SummaryLine] = []

        def walk(data: dict[str, Any], path: str) -> None:
            for key, value in data.items():
                if isinstance(value, dict) and value:
                    walk(value, f"{path}.{key}")
                    continue
                provenance = info.provenance.get(f"{side}{path}.{key}")
                line = SummaryLine(
                    f"{side}{path}.{key}",
                    self.t.label("field", f"{section}{path}.{key}"),
                    [],
                    [],
                    provenance,
                    self.assumed_reason(provenance) if provenance else None,
                    self.source_title(provenance.source) if provenance else None,
                )
                values = value if isinstance(value, list) else [value] if value != {} else []
                if not values:
                    line.words.append(self.t("value.empty"))
                for item in values:
                    word = self.value_word(key, item, message_format)
                    if word is None:
                        line.codes.append(str(item))
                    else:
                        line.words.append(word)
                lines.append(line)

        walk(data, "")
        return lines

    def value_word(
        self, field_name: str, value: Any, message_format: str | None = None
    ) -> str | None:
        """A profile value as a word of the page's language, None for an identifier."""
        if isinstance(value, bool):
            return self.t(f"value.{value}")
        own = (f"value.{message_format}.{field_name}.{value}",) if message_format else ()
        for key in (*own, f"value.{field_name}.{value}", f"value.{value}", f"fn.{value}"):
            if self.t.has(key):
                return self.t(key)
        return None


_STATUS_ANSWER = re.compile(
    r"(?:^|: )(" + "|".join(re.escape(code.value) for code in ErrorCode) + r"): (.*)$", re.S
)
# A receiver's answer that it delivered the message (judge, functions): the services held.
_DELIVERED = re.compile(r"(?:^|: |; )delivered, services: ([a-z_, ]*)$")
# What the judge says of a receiver without the case's function (rejections.judge), after
# its id (rejections.run), or the matrix of a cell (matrix.cell).
_NOT_RECEIVED = re.compile(r"^(?:([\w.-]+): )?(?:the receiver|[\w.-]+) does not receive [\w-]+$")
# What conformance.functions says when a message arrived without a promised service.
_NOT_HELD = re.compile(r"^services not held: ([a-z_, -]*)$")
_PROFILE_SOURCE = re.compile(r"^profile (\S+): ([a-z_.]+)")


def delivered_services(reason: str) -> list[str] | None:
    """The services a receiver delivered the message with, when `reason` ends with that
    answer (`delivered, services: a, b`; `none`: an empty list); None for any other answer.
    The one reading of it, for the cell dialogs and the refusals page."""
    found = _DELIVERED.search(reason)
    if found is None:
        return None
    return [s for s in found.group(1).split(", ") if s and s != "none"]


def _words(value: Any) -> bool:
    """A text with letters (not "++"): a source's words that a page quotes."""
    return isinstance(value, str) and any(ch.isalpha() for ch in value)


def _typography(text: str) -> str:
    """The source's words with its stray spaces before a comma or a full stop removed
    ("Oui , intégrée" reads "Oui, intégrée")."""
    return re.sub(r"\s+([,.])(?=\s|$)", r"\1", text)


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


def _ordered_agents(agents: Iterable[AgentInfo], lang: str) -> list[AgentView]:
    """Products first, in the results' order, then the real engines beside them."""
    infos = list(agents)
    ordered = [a for a in infos if not a.reference_engine] + [
        a for a in infos if a.reference_engine
    ]
    views = [
        AgentView(
            i,
            a,
            "products/" + product_filename(a.id),
            name=(a.name_fr if lang == "fr" and a.name_fr else a.name),
        )
        for i, a in enumerate(ordered)
    ]
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
