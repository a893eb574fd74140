"""The CI gates of `run --fail-on`: what in a finished run fails a CI job.

Each gate is a question asked of results.json (with, for regressions, an
earlier one), so that a vendor's CI and ours fail for a reason written down
here and in docs/matrix.md:

- `contradiction`: a measured cell or pair disagrees with a published claim
  (profiles/claims.yaml), or a sender's message used another algorithm than its
  profile declares: every entry of results.json's `contradictions`;
- `regression`: against `--baseline OLD.json`, an interop cell that got worse on
  the pass > partial > fail scale, or a rejection cell that refused every case and
  now accepts one (as `osm-conformance diff` says); an intermittent acceptance (no
  accepted case accepted again when replayed, RejectionCell.intermittent) is not a
  regression of the product, though the `finding` gate counts it as any acceptance;
- `finding`: a `fail` or `partial` cell where at least one side is a real
  implementation (a real engine, a vendor's adapter, a product observed outside
  the matrix: `engine` one of the real tools, command or real-product; a
  profile-simulated pair is a prediction, which the contradiction gate checks),
  or a real receiver that accepts a rejection case;
- `non-conformant`: a real sender's basic message that breaks a rule with an
  ERROR under the run's policy (the cell's `nonconformant` rule ids).

Cells are keyed by their route (Cell.key): a regression or a finding through a gateway
(`run --via`) is named with its route; contradictions and non-conformant messages are
about the plain route's cells (the claims are; the sent message is the same on every
route).

A gate is answered only where the run produced what it asks about: `run` refuses before
the run a gate that a run of the large-attachment scenario cannot evaluate
(LARGE_ATTACHMENT_BLIND: no validator runs), and a gate answered in part says so on its
line (`partly`): on the interop cells only, without a rejection matrix; on the claims only,
with a large attachment (no sent message is read).

A waiver (waivers.py) covers an item when it names the same cell, pair or
rejection case and the verdict observed; a contradiction between a profile's
declaration and the message sent is never waived (the profile is to be fixed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from conformance.core.vocabulary import PROCESS_AGENTS
from conformance.report.diff import diff_results
from conformance.results import Results, WaiverNote

Gate = Literal["contradiction", "regression", "finding", "non-conformant"]
GATES: tuple[Gate, ...] = get_args(Gate)

# `run`'s exit code when a gate named in --fail-on holds an item no waiver covers,
# or a waiver has expired (1 is a harness error, 2 a usage error, 3 a missing component).
GATE_EXIT = 4
# The engine of a real product's entry in results.json (vectors verify and import).
REAL_PRODUCT = "real-product"
# The gates a run of the large-attachment scenario (`run --large-attachment`) cannot
# evaluate, and what it does not do that they need.
LARGE_ATTACHMENT_BLIND: dict[Gate, str] = {
    "non-conformant": "runs no validator (it reads messages in memory): no sent message is judged",
}


@dataclass(frozen=True)
class Item:
    """One thing a gate counts: where, what was observed, and the waiver covering it."""

    gate: Gate
    where: str
    detail: str
    waived: WaiverNote | None = None

    def __str__(self) -> str:
        text = f"{self.gate}: {self.where}: {self.detail}"
        if self.waived is not None:
            text += f" (waived, {self.waived.where}: {self.waived.reason})"
        return text


def parse_gates(text: str) -> list[Gate]:
    """`contradiction,finding` -> the gates; ValueError naming an unknown one."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in GATES]
    if unknown or not names:
        raise ValueError(
            f"unknown gate {', '.join(unknown) or '(none)'}; known: {', '.join(GATES)}"
        )
    return [g for g in GATES if g in names]


def _covering(notes: Iterable[WaiverNote], verdict: str) -> WaiverNote | None:
    return next((n for n in notes if n.verdict == verdict), None)


def real_agents(results: Results) -> set[str]:
    """The agents that are implementations, not profile simulations: real engines, adapters,
    and real products observed outside the matrix (vectors verify and import)."""
    return {
        a.id
        for a in results.agents
        if a.engine in PROCESS_AGENTS
        or a.engine == REAL_PRODUCT
        or a.observed
        or a.observed_by_hand
    }


def evaluate(
    results: Results, gates: Sequence[Gate], baseline: Results | None = None
) -> list[Item]:
    """Every item of the named gates, waived or not, in the order of GATES."""
    found: list[Item] = []
    if "contradiction" in gates:
        found += contradictions(results)
    if "regression" in gates:
        if baseline is None:
            raise ValueError("the regression gate needs a baseline")
        found += regressions(results, baseline)
    if "finding" in gates:
        found += findings(results)
    if "non-conformant" in gates:
        found += nonconformant(results)
    return found


def contradictions(results: Results) -> list[Item]:
    out = []
    for c in results.contradictions:
        waived = None
        if c.function is None:
            where = f"{c.sender} -> {c.receiver} pair"
            pair = next(
                (p for p in results.pairs if (p.sender, p.receiver) == (c.sender, c.receiver)),
                None,
            )
            if pair is not None:
                waived = _covering(pair.waived, c.observed)
        else:
            where = f"{c.sender} -> {c.receiver} {c.function}"
            cell = results.cell(c.sender, c.receiver, c.function)
            if cell is not None:  # a profile declaration's contradiction observes no verdict
                waived = _covering(cell.waived, c.observed)
        detail = f"expected {c.expected}, observed {c.observed}"
        out.append(
            Item("contradiction", where, detail + (f" ({c.source})" if c.source else ""), waived)
        )
    return out


def regressions(results: Results, baseline: Results) -> list[Item]:
    """The regressions `osm-conformance diff` lists, interop and rejection cells; an
    intermittent acceptance (diff's kind `intermittent`) is not one."""
    out = []
    for change in diff_results(baseline, results):
        if change.kind != "regression":
            continue
        detail = f"{change.before} -> {change.after}"
        waived = None
        if change.matrix == "rejections":
            rejections = results.rejections
            rcell = rejections.cell(change.receiver, change.function) if rejections else None
            waived = rcell.waived[0] if rcell is not None and rcell.waived else None
            detail += f" ({', '.join(sorted(change.cases))})"
        else:
            cell = results.cell(
                change.sender, change.receiver, change.function, change.via, change.transport
            )
            waived = _covering(cell.waived, change.after or "") if cell else None
        out.append(Item("regression", change.where(), detail, waived))
    return out


def findings(results: Results) -> list[Item]:
    real = real_agents(results)
    out = [
        Item(
            "finding",
            cell.where(),
            f"{cell.verdict}: {cell.reason or ''}".rstrip(": ")[:200],
            _covering(cell.waived, cell.verdict),
        )
        for cell in results.cells
        if cell.verdict in ("fail", "partial") and (cell.sender in real or cell.receiver in real)
    ]
    for rcell in results.rejections.cells if results.rejections else []:
        if rcell.receiver not in real:
            continue
        for case in rcell.cases:
            if case.outcome == "accepts":
                out.append(
                    Item(
                        "finding",
                        f"{rcell.receiver} case {case.case} ({case.producer})",
                        f"accepts: {case.reason}"[:200],
                        _covering(case.waived, "accepts"),
                    )
                )
    return out


def nonconformant(results: Results) -> list[Item]:
    real = real_agents(results)
    return [
        Item(
            "non-conformant",
            cell.where(),
            "breaks " + ", ".join(cell.nonconformant),
            _covering(cell.waived, "non-conformant"),
        )
        for cell in results.plain_cells()
        if cell.nonconformant and cell.sender in real
    ]


def partly(results: Results, baseline: Results | None = None) -> dict[Gate, str]:
    """The gates answered on part of what they cover in this run, and what they left out:
    without a rejection matrix (`--no-rejections`, `--large-attachment`; for a regression,
    in either run), `finding` and `regression` see the interop cells only; with a large
    attachment no sent message is read (`Cell.sent`), so `contradiction` sees the claims
    only, not a message's algorithms against its profile."""
    notes: dict[Gate, str] = {}
    if results.run.settings.get("large_attachment") is not None:
        notes["contradiction"] = "claims only: no sent message is read"
    if results.rejections is None:
        notes["finding"] = "interop cells only: this run has no rejection matrix"
    if results.rejections is None or (baseline is not None and baseline.rejections is None):
        notes["regression"] = "interop cells only: a run compared has no rejection matrix"
    return notes


def report(
    items: Sequence[Item], gates: Sequence[Gate], notes: Mapping[Gate, str] | None = None
) -> tuple[str, bool]:
    """The gates' lines for the terminal, and whether one failed (an item not waived);
    `notes`: what a gate left out (`partly`), said on its line."""
    lines = ["", "gates (--fail-on " + ",".join(gates) + "):"]
    failed = False
    for gate in gates:
        mine = [i for i in items if i.gate == gate]
        open_ = [i for i in mine if i.waived is None]
        failed = failed or bool(open_)
        state = "FAIL" if open_ else "ok"
        note = f" ({notes[gate]})" if notes and gate in notes else ""
        lines.append(
            f"  {gate}: {state}: {len(open_)} item(s), {len(mine) - len(open_)} waived{note}"
        )
        lines += [f"    {i}" for i in open_[:20]]
        if len(open_) > 20:
            lines.append(f"    ... and {len(open_) - 20} more (results.json has them all)")
    return "\n".join(lines), failed
