"""The end of a run: results.json, the report, the summary in the terminal.

Called by the controlling process, also when the run was interrupted: what
was gathered is written, marked incomplete.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis

from conformance import __version__
from conformance.agents.factory import close_agent, make_agent
from conformance.agents.tools import built_harnesses, engine_mode
from conformance.errors import UserError, os_reason
from conformance.matrix.assemble import assemble, practice_table
from conformance.matrix.spec import MatrixSpec
from conformance.report.gateways import STORE, hops_not_run, survival_lines
from conformance.report.render import render_report
from conformance.results import (
    SUITE_LOOKUP_WHY,
    Cell,
    RejectionCell,
    Rejections,
    Results,
    RunInfo,
    rejection_summaries,
)
from conformance.signals import write

RESULTS_FILE = "results.json"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def engine_versions(spec: MatrixSpec, agent_ids: list[str]) -> dict[str, str]:
    versions: dict[str, str] = {}
    for agent_id in agent_ids:
        try:
            agent = make_agent(spec.profiles()[agent_id], policy=spec.policy)
        except UserError as exc:
            versions[agent_id] = f"unavailable: {exc}"
            continue
        try:
            versions[agent_id] = agent.version()
        except Exception as exc:  # a version probe must not lose a run's results
            versions[agent_id] = f"unknown ({type(exc).__name__})"
        finally:
            close_agent(agent)
    return versions


@dataclass(frozen=True)
class RejectionRun:
    """What the rejection matrix's items gave: the cells, how many were planned, the wall time."""

    cells: list[RejectionCell]
    planned: int
    wall_s: float


def rejections_section(spec: MatrixSpec, found: RejectionRun) -> Rejections:
    from conformance.rejections.model import CLASSES
    from conformance.rejections.run import case_infos

    order: dict[str, int] = {c: i for i, c in enumerate(CLASSES)}
    cells = sorted(found.cells, key=lambda c: (c.receiver, order.get(c.cls, len(order)), c.cls))
    return Rejections(
        policy=spec.rejection_policy(),
        duration_s=found.wall_s,
        classes=list(CLASSES),
        cases=case_infos(spec.rejection_policy()),
        cells=cells,
        receivers=rejection_summaries(cells),
    )


def finish_run(
    spec: MatrixSpec,
    cells: list[Cell],
    *,
    started: float,
    complete: bool,
    lang: str = "fr",
    rejections: RejectionRun | None = None,
) -> Results:
    finished = time.time()
    agent_ids = spec.agent_ids()
    run = RunInfo(
        seed=spec.seed,
        examples=spec.examples,
        started=_iso(started),
        finished=_iso(finished),
        complete=complete,
        duration_s=round(finished - started, 2),
        suite_version=__version__,
        engines=engine_versions(spec, agent_ids),
        functions=list(spec.functions),
        validation_time=_iso(finished),
        settings={
            "senders": list(spec.senders),
            "receivers": list(spec.receivers),
            "agents": list(spec.agents),
            "profiles": list(spec.profile_paths),
            "policy": spec.policy,
            "cells_planned": len(spec.routed_cells()),
            "cells_done": len(cells),
            "rejections": rejections is not None,
            "large_attachment": spec.large_attachment,
            "engine_mode": engine_mode(),
            "engine_harnesses": built_harnesses(),
            # The seed replays the same examples with the same hypothesis only.
            "hypothesis_version": hypothesis.__version__,
            "transport": spec.transport,
            "via": [list(r) for r in spec.routes() if r],
            "max_message_bytes": spec.max_message_bytes,
        },
    )
    if spec.transport == "smtp":
        run.settings.update(mail_settings(spec, cells))
    if rejections is not None:
        run.settings["rejection_cells_planned"] = rejections.planned
        run.settings["rejection_cells_done"] = len(rejections.cells)
        run.settings["rejection_variants"] = spec.variants
    profiles = {k: v for k, v in spec.profiles().items() if k in agent_ids}
    results = assemble(run, profiles, cells, spec.claims(), sources=spec.sources())
    if spec.profile_paths:  # a named profiles folder brings its own table, or none
        table = spec.practice()
        results.practice_software = practice_table(table) if table is not None else []
    if rejections is not None:
        results.rejections = rejections_section(spec, rejections)
    if spec.waivers is not None:
        _waive(results, spec.waivers)
    if spec.out_dir is not None:
        spec.out_dir.mkdir(parents=True, exist_ok=True)
        path = spec.out_dir / RESULTS_FILE
        results.dump(path)
        try:
            html = render_report(results, spec.out_dir, lang=lang)
        except OSError as exc:  # results.json is there: say which of the two is not
            raise UserError(f"report not written: {os_reason(exc)} ({path} is)") from exc
        write(f"results: {path}", sys.stderr)
        write(f"report:  {html}", sys.stderr)
    # A reader gone (`| head`) mutes its stream: the files are written, the servers still
    # to stop are stopped (an error here skipped that and left slapd running).
    write(summary(results), sys.stdout)
    return results


def mail_settings(spec: MatrixSpec, cells: list[Cell]) -> dict[str, Any]:
    """What a run over SMTP records: how messages were delivered (what happened: a store
    that did not start in any worker delivered nothing, whatever is installed), and each
    hop of its routes with what it stands for (the report renders from results.json
    alone)."""
    from conformance.matrix.routes import delivery, delivery_note, hops

    known = hops()
    method, detail = delivery(hops_not_run(cells).get(STORE))
    used = sorted({h for r in spec.routes() for h in r})
    return {
        "delivery": method,
        # The server's version, or why there is no Dovecot, or why it did not start.
        "delivery_detail": detail,
        "delivery_note": delivery_note(method, detail),
        "hops": {
            h: {
                "stands_for": known[h].stands_for,
                "stands_for_fr": known[h].stands_for_fr,
                "simulated": known[h].simulated,
                "version": known[h].version,
            }
            for h in used
            if h in known
        },
    }


def _waive(results: Results, path: Path) -> None:
    """Record the waivers still in force (an expired one covers nothing: `run` refuses it
    before the run; the plugin alone lets the cell show unwaived)."""
    from conformance.matrix.waivers import apply_waivers, load_waivers, today

    on = today()
    try:
        loaded = load_waivers(path)
    except UserError as exc:  # checked before the run; changed since: the results still count
        write(f"osm-conformance: waivers not applied: {exc}", sys.stderr)
        return
    apply_waivers(results, [w for w in loaded if w.waiver.expires >= on])
    results.run.settings["waivers"] = str(path)


def _cells(count: int) -> str:
    return f"{count} first-contact cell{'s' if count != 1 else ''}"


def summary(results: Results) -> str:
    verdicts = Counter(c.verdict for c in results.cells)
    interop = Counter(p.interop for p in results.pairs)
    lines = [
        "",
        f"osm-conformance: {len(results.cells)} cells, {len(results.pairs)} pairs, "
        f"{results.run.duration_s}s, seed {results.run.seed}"
        + ("" if results.run.complete else "  (INCOMPLETE RUN)"),
        "verdicts: "
        + ", ".join(
            f"{k} {verdicts[k]}" for k in ("pass", "partial", "fail", "unsupported", "error")
        ),
        "pairs:    "
        + ", ".join(f"{k} {interop[k]}" for k in ("full", "partial", "none", "not-observed")),
    ]
    # Each sender's message once: its plain-route cells (a cell through a gateway judges the
    # same message again), as the non-conformant gate counts them.
    nonconformant = [c for c in results.plain_cells() if c.nonconformant]
    if nonconformant:
        lines.append(
            f"non-conformant messages: {len(nonconformant)} cells "
            f"(policy {results.run.settings.get('policy', 'osm-2008')}; verdicts unchanged)"
        )
    lookups = [cell.suite_lookup for cell in results.cells if cell.suite_lookup]
    found = [lookup for lookup in lookups if lookup.failure is None]
    failed = [lookup for lookup in lookups if lookup.failure is not None]
    if found:
        tools = ", ".join(sorted({lookup.tool for lookup in found}))
        whys = {lookup.why for lookup in found}
        why = "; ".join(SUITE_LOOKUP_WHY[w] for w in sorted(whys))
        lines.append(
            f"suite's lookup: {_cells(len(found))}, on behalf of {tools} "
            f"({why}; the verdicts measure their encryption and the reading)"
        )
    if failed:  # the suite's failure, never the tool's: its cells are not observed
        tools = ", ".join(sorted({lookup.tool for lookup in failed}))
        lines.append(
            f"suite's lookup failed: {_cells(len(failed))}, on behalf of {tools} "
            "(unsupported, not observed: nothing of the tool measured there)"
        )
    ids = sorted({p.sender for p in results.pairs} | {p.receiver for p in results.pairs})
    if 1 < len(ids) <= 30:
        mark = {"full": "●", "partial": "◐", "none": "○", "not-observed": "?"}
        grid = {(p.sender, p.receiver): mark[p.interop] for p in results.pairs}
        width = max(len(i) for i in ids)
        lines.append("")
        lines.append(" " * (width + 1) + " ".join(f"{n:>2}" for n in range(1, len(ids) + 1)))
        for n, s in enumerate(ids, 1):
            row = " ".join(f"{grid.get((s, r), ' '):>2}" for r in ids)
            lines.append(f"{s:>{width}} {row}   {n:>2}")
        lines.append(
            "● full  ◐ partial  ○ none  ? not observed   "
            "(rows send, columns receive, numbered as rows)"
        )
    if results.contradictions:
        lines.append("")
        lines.append(f"contradictions with the published claims: {len(results.contradictions)}")
        for c in results.contradictions[:15]:
            what = c.function or "pair"
            lines.append(
                f"  {c.sender} -> {c.receiver} {what}: expected {c.expected}, observed {c.observed}"
            )
    lines += route_times(results)
    lines += survival_lines(results)
    if results.rejections is not None:
        lines += rejection_summary(results.rejections)
    errors = [e for e in results.cells if e.verdict == "error"]
    if errors:
        lines.append("")
        lines.append(f"harness errors: {len(errors)}")
        for cell in errors[:10]:
            lines.append(f"  {cell.sender} -> {cell.receiver} {cell.function}: {cell.reason}")
    return "\n".join(lines)


def route_times(results: Results) -> list[str]:
    """Over SMTP: per route, the cells and the mean wall time per exchange (a cell's time
    over the examples it exchanged; cells that exchanged nothing left out)."""
    if results.run.settings.get("transport", "memory") == "memory":
        return []
    spent: dict[str, list[float]] = {}
    for cell in results.cells:
        if cell.examples:
            found = spent.setdefault(cell.route, [0.0, 0.0, 0.0])
            found[0] += 1
            found[1] += cell.duration_s
            found[2] += cell.examples
    lines = ["", f"time per exchange ({results.run.settings.get('delivery_note', 'smtp')}):"]
    for route, (cells, seconds, exchanges) in spent.items():
        lines.append(
            f"  {route}: {seconds / exchanges:.3f}s per exchange "
            f"({int(exchanges)} exchanges in {int(cells)} cells, {seconds:.1f}s)"
        )
    return lines


def rejection_summary(found: Rejections) -> list[str]:
    """The rejection matrix in the terminal: counts (the intermittent acceptances among the
    accepts: RejectionCell.intermittent), then each false accept."""
    verdicts = Counter(c.verdict for c in found.cells)
    counts = {k: f"{k} {verdicts[k]}" for k in ("refuses", "accepts", "not-applicable", "error")}
    intermittent = sum(1 for c in found.cells if c.intermittent)
    if intermittent:
        counts["accepts"] += f" ({intermittent} intermittent)"
    lines = [
        "",
        f"rejections ({found.policy}): {len(found.cells)} cells, {found.duration_s}s: "
        + ", ".join(counts.values()),
    ]
    for cell in found.cells:
        if cell.verdict in ("accepts", "error"):
            verdict = f"{cell.verdict} (intermittent)" if cell.intermittent else cell.verdict
            lines.append(f"  {cell.receiver} {cell.cls}: {verdict}: {cell.reason}"[:200])
    return lines
