"""The real product in results.json: its agent entry, its claims, its cells.

The real product appears as `<profile>-real` beside the simulated `<profile>`,
so the report shows both; it is marked `observed_by_hand` (the suite did not
drive it: a person operated it). The published claims about its profile apply
to it too, so a real product that contradicts the 2008 document shows up.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from conformance import __version__
from conformance.core.vocabulary import FUNCTIONS, Function, measurement_of
from conformance.functions import REQUIRED_SERVICES
from conformance.matrix.assemble import (
    agent_info,
    assemble,
    contradictions_of,
    pairs_of,
    source_refs,
    with_expectations,
)
from conformance.matrix.sent import sent_contradictions
from conformance.paths import PROFILES_DIR
from conformance.profiles.claims import Claims, shipped_claims
from conformance.profiles.loader import load_sources
from conformance.profiles.schema import Profile
from conformance.results import (
    AgentInfo,
    Cell,
    NotObserved,
    Observed,
    Results,
    RunInfo,
    Verdict,
)
from conformance.vectors.common import real_id
from conformance.vectors.verify import VerifyReport


def product_agent(profile: Profile, note: str, observed: Observed) -> AgentInfo:
    """The agent entry of the real product (no comparison-table facts: those are the profile's)."""
    return AgentInfo(
        id=real_id(profile.id),
        name=f"{profile.identity.name} (real product)",
        vendor=profile.identity.vendor,
        kind=profile.identity.kind,
        homologation=profile.homologation.status,
        engine="real-product",
        measurement=measurement_of("real-product", profile.identity.kind, observed_by_hand=True),
        observed_by_hand=observed == "by-hand",
        observed=[observed],
        sends={"observed": note},
        accepts={"observed": note},
    )


def claims_with_product(product: str, claims: Claims | None = None) -> Claims:
    """The shipped claims, with every claim about `product` also made about its real copy."""
    base = claims or shipped_claims()
    real = real_id(product)

    def rename(key: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(real if part == product else part for part in key)

    cells = dict(base.cells)
    for key, exp in base.cells.items():
        if product in key[:2]:
            cells[rename(key)] = exp  # type: ignore[index]
    pairs = dict(base.pairs)
    for pair, pexp in base.pairs.items():
        if product in pair:
            pairs[rename(pair)] = pexp  # type: ignore[index]
    return Claims(cells=cells, pairs=pairs, compliance=base.compliance)


def aggregate(verdicts: Sequence[tuple[Verdict, str | None]]) -> tuple[Verdict, str | None]:
    """One cell from several messages of a function: all pass, all fail, or partial.

    Messages without a verdict (input errors, harness errors) do not count unless
    nothing else is there.
    """
    judged = [(v, r) for v, r in verdicts if v != "error"]
    if not judged:
        return "error", next((r for _, r in verdicts if r), None)
    kinds = {v for v, _ in judged}
    failing = next((r for v, r in judged if v != "pass"), None)
    if kinds == {"pass"}:
        return "pass", None
    if kinds == {"unsupported"}:
        return "unsupported", judged[0][1]
    if "pass" in kinds:
        return "partial", failing
    return "fail", failing


def verified_cells(report: VerifyReport, evidence: Mapping[int, list[str]]) -> list[Cell]:
    """The product's row: one cell per receiver and function the messages cover."""
    sender = real_id(report.product)
    cells = []
    for function in FUNCTIONS:
        items = [m for m in report.messages if m.function == function]
        if not items:
            continue
        for column, receiver in enumerate(report.receivers):
            # The receiver's engine is made once: missing for one message, for all of them.
            missing = items[0].readings[column].missing
            if missing is not None:
                cells.append(_not_observed(sender, receiver, function, missing))
                continue
            found: list[tuple[Verdict, str | None]] = []
            for item in items:
                reading = item.readings[column]
                if item.input_error:
                    found.append(("error", f"{item.entry.file}: {item.input_error}"))
                elif reading.reason:
                    found.append((reading.verdict, f"{item.entry.file}: {reading.reason}"))
                else:
                    found.append((reading.verdict, None))
            verdict, reason = aggregate(found)
            first = items[0]
            sent: dict[str, list[str]] = {}
            for item in items:
                for kind, names in item.sent.items():
                    sent.setdefault(kind, [])
                    sent[kind] += [n for n in names if n not in sent[kind]]
            cells.append(
                Cell(
                    sender=sender,
                    receiver=receiver,
                    function=function,
                    verdict=verdict,
                    examples=len(items),
                    reason=reason,
                    services=first.readings[column].services,
                    services_required=list(REQUIRED_SERVICES[function]),
                    evidence=[p for item in items for p in evidence.get(item.index, [])],
                    checks=first.validation.text or None,
                    sent=sent,
                    nonconformant=sorted({r for i in items for r in i.validation.error_ids}),
                )
            )
    return cells


def _not_observed(sender: str, receiver: str, function: Function, missing: str) -> Cell:
    """The cell of a receiver whose engine is not installed here: nothing of it was observed,
    no verdict on it (as `run` makes such a cell)."""
    return Cell(
        sender=sender,
        receiver=receiver,
        function=function,
        verdict="unsupported",
        observed=False,
        not_observed=NotObserved(kind="engine-missing", agent=receiver, detail=missing),
        reason=f"not installed here: {missing}",
        services_required=list(REQUIRED_SERVICES[function]),
    )


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def verified_results(
    report: VerifyReport,
    profiles: Mapping[str, Profile],
    evidence: Mapping[int, list[str]],
    started: float,
) -> Results:
    """results.json for the product's verified row, renderable by `osm-conformance report`."""
    cells = verified_cells(report, evidence)
    sender = real_id(report.product)
    functions: list[str] = [f for f in FUNCTIONS if any(c.function == f for c in cells)]
    finished = time.time()
    run = RunInfo(
        seed=0,
        examples=max((c.examples for c in cells), default=0),
        started=_iso(started),
        finished=_iso(finished),
        complete=True,
        duration_s=round(finished - started, 2),
        suite_version=__version__,
        functions=functions,
        validation_time=_iso(finished),
        settings={
            "mode": "vectors verify",
            "product": report.product,
            "directory": str(report.directory),
            "senders": [real_id(report.product)],
            "receivers": list(report.receivers),
            "note": f"row {real_id(report.product)}: messages the real product wrote, "
            "read by every receiver profile (not an adapter run)",
        },
    )
    claims = claims_with_product(report.product)
    shown = {k: profiles[k] for k in report.receivers}
    results = assemble(run, shown, cells, claims)
    # What the product's messages used against what its profile declares.
    results.contradictions += sent_contradictions(cells, {sender: profiles[report.product]})
    note = "messages the real product wrote, read by the suite's receivers (`vectors verify`)"
    results.agents.append(product_agent(profiles[report.product], note, "machine"))
    return results


def _observed_also(agent: AgentInfo, observed: Observed) -> AgentInfo:
    """The real product's entry, now also observed this way."""
    ways = [*agent.observed, *([] if observed in agent.observed else [observed])]
    update: dict[str, Any] = {
        "observed": ways,
        "measurement": measurement_of(agent.engine, agent.kind, observed_by_hand=True),
    }
    if observed == "by-hand":
        update["observed_by_hand"] = True
    return agent.model_copy(update=update)


def fold_cells(
    results: Results,
    new_cells: list[Cell],
    product: Profile,
    profiles: Mapping[str, Profile],
    note: str,
    settings: dict[str, Any],
    observed: Observed = "by-hand",
) -> Results:
    """Replace or add cells in a results.json, then recompute pairs and contradictions."""
    keys = {c.key() for c in new_cells}
    kept = [c for c in results.cells if c.key() not in keys]
    claims = claims_with_product(product.id)
    cells = with_expectations([*kept, *new_cells], claims)
    known = {a.id for a in results.agents}
    agents = list(results.agents)
    real = real_id(product.id)
    if real in known:
        agents = [_observed_also(a, observed) if a.id == real else a for a in agents]
    else:
        agents.append(product_agent(product, note, observed))
    sources, _ = load_sources([PROFILES_DIR / "sources.yaml"])
    for agent_id in sorted({c.sender for c in new_cells} | {c.receiver for c in new_cells}):
        if agent_id not in known and agent_id != real and agent_id in profiles:
            agents.append(agent_info(profiles[agent_id], sources))
            known.add(agent_id)
    functions = list(results.run.functions)
    used = {c.function for c in cells}
    functions += [f for f in FUNCTIONS if f not in functions and f in used]
    pairs = pairs_of(cells, claims, functions)
    order = {f: i for i, f in enumerate(functions)}
    cells.sort(key=lambda c: (c.sender, c.receiver, order.get(c.function, len(order))))
    run = results.run.model_copy(
        update={
            "functions": functions,
            "settings": {**results.run.settings, **settings},
        }
    )
    return results.model_copy(
        update={
            "run": run,
            "agents": agents,
            "cells": cells,
            "pairs": pairs,
            "contradictions": contradictions_of(cells, pairs),
            "sources": source_refs(sources, profiles.values()) | results.sources,
        }
    )


__all__ = [
    "aggregate",
    "claims_with_product",
    "fold_cells",
    "product_agent",
    "verified_cells",
    "verified_results",
]
