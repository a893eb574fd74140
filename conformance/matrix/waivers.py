"""Known findings, waived: a YAML list that a CI keeps beside its `run --fail-on`.

In the spirit of x509-limbo's per-implementation exceptions: each waiver names
one cell (sender, receiver, function), one pair (sender, receiver, no
function) or one rejection case of a receiver (receiver, case), the verdict it
waives, why, and until when. A waived cell keeps its verdict in results.json and
the report, with the waiver beside it; the gates (gates.py) do not count it.
A waiver past its `expires` date fails the run: a known finding is re-examined,
not forgotten. The JSON Schema (docs/waivers.schema.json) is generated from
the models here.

Over SMTP (`run --via`) a cell exists once per route: a cell waiver without `via`
covers the cell on every route where it has the verdict waived; with `via` (hop ids
joined by "+", as --via writes them, or `plain` for the route without a rewriting hop)
only on that route.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints

from conformance.core.vocabulary import Function
from conformance.errors import UserError
from conformance.profiles.loader import Problem, display_path, read_yaml, validate
from conformance.rejections.model import load_cases
from conformance.results import Cell, Pair, RejectionCell, Results, WaiverNote

# What a waiver may waive: a cell's verdict (or its sent message's non-conformance),
# a pair's interoperability, a receiver accepting a rejection case.
CellVerdict = Literal["pass", "partial", "fail", "unsupported", "non-conformant"]
PairVerdict = Literal["full", "partial", "none"]
WaivedVerdict = Literal[
    "pass", "partial", "fail", "unsupported", "non-conformant", "full", "none", "accepts"
]
Text = Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]
Via = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*(\+[a-z0-9][a-z0-9-]*)*$")]
PLAIN = "plain"  # `via: plain`: the route without a rewriting hop
_CELL = ("pass", "partial", "fail", "unsupported", "non-conformant")
_PAIR = ("full", "partial", "none")


class Waiver(BaseModel):
    """One known finding: the cell it matches, the verdict waived, why, until when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sender: Text | None = Field(default=None, description="sender profile id (not with case)")
    receiver: Text = Field(description="receiver profile id")
    function: Function | None = Field(
        default=None, description="the function; omitted: the pair (sender, receiver)"
    )
    case: Text | None = Field(
        default=None, description="a rejection case id (conformance/rejections/cases.yaml)"
    )
    via: Via | None = Field(
        default=None,
        description="a cell's route over SMTP: hop ids joined by '+' as `run --via` writes "
        "them (8bit-to-qp, postfix+footer), or 'plain' (no rewriting hop); omitted: the "
        "cell on every route",
    )
    verdict: WaivedVerdict = Field(
        description="a cell: pass, partial, fail, unsupported or non-conformant (its basic "
        "message breaks an ERROR rule); a pair: full, partial or none; a case: accepts"
    )
    reason: Text = Field(description="why it is known and tolerated (a ticket, a vendor's answer)")
    expires: date = Field(description="the last day the waiver holds (YYYY-MM-DD)")

    def problem(self) -> str | None:
        """What is inconsistent between the fields (a JSON Schema cannot say it simply)."""
        if self.via is not None and self.function is None:
            return "via: a route is a cell's (give sender, receiver and function)"
        if self.case is not None:
            if self.sender is not None or self.function is not None:
                return "a rejection case waiver names the receiver and the case only"
            if self.verdict != "accepts":
                return f"verdict: a rejection case waives 'accepts', not {self.verdict!r}"
        elif self.sender is None:
            return "give sender (and function) for a cell or a pair, or case for a rejection case"
        elif self.function is not None and self.verdict not in _CELL:
            return f"verdict: a cell waives one of {', '.join(_CELL)}, not {self.verdict!r}"
        elif self.function is None and self.verdict not in _PAIR:
            return (
                f"verdict: without function the waiver is for the pair, one of "
                f"{', '.join(_PAIR)}, not {self.verdict!r}"
            )
        return None

    def target(self) -> str:
        if self.case is not None:
            return f"{self.receiver} case {self.case}"
        route = f" via {self.via}" if self.via is not None else ""
        return f"{self.sender} -> {self.receiver} {self.function or 'pair'}{route}"

    def hops(self) -> tuple[str, ...] | None:
        """The route's hop ids (() for `plain`); None: every route."""
        if self.via is None:
            return None
        return () if self.via == PLAIN else tuple(self.via.split("+"))


class WaiversFile(RootModel[list[Waiver]]):
    """A waivers file: a YAML list of waivers (its JSON Schema's root)."""


@dataclass(frozen=True)
class Loaded:
    """A waiver and where it is written (FILE:LINE)."""

    waiver: Waiver
    where: str

    def note(self) -> WaiverNote:
        w = self.waiver
        return WaiverNote(
            verdict=w.verdict, reason=w.reason, expires=w.expires.isoformat(), where=self.where
        )

    def describe(self) -> str:
        return f"{self.waiver.target()}: {self.waiver.verdict}"


@dataclass(frozen=True)
class Unused:
    loaded: Loaded
    why: str

    def __str__(self) -> str:
        return f"{self.loaded.where}: unused waiver ({self.loaded.describe()}): {self.why}"


class WaiverError(UserError):
    """Problems in a waivers file, each at its line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_waivers(path: Path) -> list[Loaded]:
    """Every waiver of the file, validated; every problem named FILE:LINE at once."""
    parsed, problems = read_yaml(path)
    if parsed is None:
        raise WaiverError(problems)
    if parsed.data is None:
        parsed.data = []  # an empty file waives nothing
    if not isinstance(parsed.data, list):
        raise WaiverError([Problem(path, 1, "expected a list of waivers at the top level")])
    known_cases = {c.id for c in load_cases()}
    seen: dict[tuple[Any, ...], int] = {}
    loaded: list[Loaded] = []
    for index, item in enumerate(parsed.data):
        line = parsed.lines.get((index,))
        # Each item on its own, so that an unknown field gets the known ones as a hint.
        origins = {loc[1:]: (path, at) for loc, at in parsed.lines.items() if loc[:1] == (index,)}
        waiver, found = validate(Waiver, item, origins, path)
        problems += [Problem(p.file, p.line, f"waiver {index + 1}: {p.message}") for p in found]
        if waiver is None:
            continue
        inconsistent = waiver.problem()
        if inconsistent is not None:
            problems.append(Problem(path, line, f"waiver {index + 1}: {inconsistent}"))
        if waiver.case is not None and waiver.case not in known_cases:
            at = parsed.lines.get((index, "case"), line)
            message = f"waiver {index + 1}: case: unknown rejection case {waiver.case!r}"
            problems.append(Problem(path, at, message))
        key = (
            waiver.sender,
            waiver.receiver,
            waiver.function,
            waiver.via,
            waiver.case,
            waiver.verdict,
        )
        if key in seen:
            problems.append(Problem(path, line, f"duplicate of the waiver at line {seen[key]}"))
        seen.setdefault(key, line or 0)
        loaded.append(Loaded(waiver, f"{display_path(path)}:{line}"))
    if problems:
        raise WaiverError(problems)
    return loaded


def today() -> date:
    return datetime.now(UTC).date()


def expired(waivers: list[Loaded], on: date) -> list[Loaded]:
    """The waivers whose last day is before `on`."""
    return [w for w in waivers if w.waiver.expires < on]


def expired_message(waivers: list[Loaded], on: date) -> str:
    lines = [
        f"{w.where}: waiver expired on {w.waiver.expires.isoformat()} ({w.describe()}; "
        f"{w.waiver.reason}): re-examine the finding, then renew the date or remove the waiver"
        for w in waivers
    ]
    lines.append(f"{len(waivers)} expired waiver(s) (today is {on.isoformat()}, UTC)")
    return "\n".join(lines)


def apply_waivers(results: Results, waivers: list[Loaded]) -> list[Unused]:
    """Record each waiver on what it matches (replacing earlier records); the unused ones."""
    for cell in results.cells:
        cell.waived = []
    for pair in results.pairs:
        pair.waived = []
    rejection_cells = results.rejections.cells if results.rejections else []
    for rcell in rejection_cells:
        rcell.waived = []
        for case in rcell.cases:
            case.waived = []
    unused: list[Unused] = []
    for loaded in waivers:
        why = _apply_one(results, loaded, rejection_cells)
        if why is not None:
            unused.append(Unused(loaded, why))
    for rcell in rejection_cells:
        accepted = [c for c in rcell.cases if c.outcome == "accepts"]
        if accepted and all(c.waived for c in accepted):
            rcell.waived = list({n.where: n for c in accepted for n in c.waived}.values())
    return unused


def _apply_one(
    results: Results, loaded: Loaded, rejection_cells: list[RejectionCell]
) -> str | None:
    """Record one waiver; None when it matched, else why it matched nothing."""
    w = loaded.waiver
    if w.case is not None:
        cases = [
            c
            for rc in rejection_cells
            if rc.receiver == w.receiver
            for c in rc.cases
            if c.case == w.case
        ]
        if not cases:
            return "no such rejection case for this receiver in this run"
        accepted = [c for c in cases if c.outcome == "accepts"]
        if not accepted:
            outcomes = ", ".join(sorted({c.outcome for c in cases}))
            return f"the receiver no longer accepts it ({outcomes}): remove the waiver?"
        for case in accepted:
            case.waived.append(loaded.note())
        return None
    if w.function is not None:
        return _apply_cell(results, loaded)
    target: Pair | None = next(
        (p for p in results.pairs if (p.sender, p.receiver) == (w.sender, w.receiver)), None
    )
    if target is None:
        return "no such pair in this run"
    if target.interop != w.verdict:
        return f"it is {target.interop} in this run: remove or update the waiver?"
    target.waived.append(loaded.note())
    return None


def _apply_cell(results: Results, loaded: Loaded) -> str | None:
    """A cell waiver on each route it names (every route without `via`)."""
    w = loaded.waiver
    hops = w.hops()
    cells: list[Cell] = [
        c
        for c in results.cells
        if (c.sender, c.receiver, c.function) == (w.sender, w.receiver, w.function)
        and (hops is None or tuple(c.via) == hops)
    ]
    if not cells:
        return "no such cell in this run" + (f" (via {w.via})" if w.via is not None else "")
    if w.verdict == "non-conformant":
        matched = [c for c in cells if c.nonconformant]
        if not matched:
            return "its basic message is conformant now: remove the waiver?"
    else:
        matched = [c for c in cells if c.verdict == w.verdict]
        if not matched:
            now = ", ".join(sorted({c.verdict for c in cells}))
            return f"it is {now} in this run: remove or update the waiver?"
    for cell in matched:
        cell.waived.append(loaded.note())
    return None


def schema() -> dict[str, Any]:
    found = WaiversFile.model_json_schema()
    found["title"] = "osm-conformance waivers"
    found["description"] = (
        "Known findings a CI run tolerates until a date (run --waivers; docs/matrix.md)."
    )
    return found
