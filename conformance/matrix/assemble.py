"""From cells to results.json: expectations, contradictions, pairs, agent facts.

A pure function of what was observed and of the published claims; nothing
here decides a verdict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from conformance.core.vocabulary import REAL_TOOLS
from conformance.matrix.sent import sent_contradictions
from conformance.paths import PROFILES_DIR
from conformance.profiles.claims import Claims
from conformance.profiles.loader import load_sources
from conformance.profiles.practice import load_practice_software
from conformance.profiles.schema import Profile, Source
from conformance.results import (
    AgentInfo,
    Cell,
    Contradiction,
    Fact,
    Pair,
    PracticeSoftware,
    Results,
    RunInfo,
    SourceRef,
    interop_of,
)

# results.json criterion key -> profile field (the report's rows, in its order).
CRITERIA = {
    "interoperability": "interoperability",
    "compliance": "compliance",
    "proprietary": "proprietary",
    "macintosh": "macintosh",
    "lgc_integration": "integration",
    "ease_of_installation": "installation_ease",
    "ease_of_use": "ease_of_use",
    "minimum_configuration": "minimum_configuration",
}


def _sources() -> dict[str, Source]:
    sources, _ = load_sources([PROFILES_DIR / "sources.yaml"])
    return sources


def _fact(profile: Profile, name: str, value: Any) -> Fact:
    citation = profile.citation(f"criteria.{name}")
    if citation is None:
        return Fact(value=value)
    if citation.assumed:
        return Fact(value=value, assumed=True, note=citation.reason, note_fr=citation.reason_fr)
    return Fact(value=value, source=citation.source, note=citation.quote or citation.note)


def source_refs(sources: Mapping[str, Source], profiles: Iterable[Profile]) -> dict[str, SourceRef]:
    """Every source a page may cite, with its title in each language the source gives."""
    found = dict(sources)
    for profile in profiles:
        found.update({s.id: s for s in profile.sources if s.id not in found})
    refs = {}
    for sid, src in sorted(found.items()):
        title = {"en": src.title} | ({"fr": src.title_fr} if src.title_fr else {})
        refs[sid] = SourceRef(title=title, location=src.location, columns=list(src.columns or []))
    return refs


def agent_info(profile: Profile, sources: Mapping[str, Source]) -> AgentInfo:
    """The agent as results.json lists it; a fact cites its source by id (`sources`, with
    the profile's own, become Results.sources through source_refs)."""
    del sources  # the titles live once, in Results.sources
    criteria: dict[str, Fact] = {}
    # A draft (`profiles new`) has no column in the 2008 table: no criteria, so no row in it.
    for key, name in () if profile.draft else CRITERIA.items():
        value = getattr(profile.criteria, name)
        if value is None:
            continue
        if name == "minimum_configuration":
            value = value.text
        criteria[key] = _fact(profile, name, value)
    send = profile.send.model_dump(exclude_none=True, mode="json")
    receive = profile.receive.model_dump(exclude_none=True, mode="json")
    return AgentInfo(
        id=profile.id,
        name=profile.identity.name,
        vendor=profile.identity.vendor,
        kind=profile.identity.kind,
        homologation=profile.homologation.status,
        engine=profile.engine.type,
        reference_engine=profile.engine.type in REAL_TOOLS,
        sends=send,
        accepts=receive,
        criteria=criteria,
    )


def with_expectations(cells: Iterable[Cell], claims: Claims) -> list[Cell]:
    out = []
    for cell in cells:
        exp = claims.expected(cell.sender, cell.receiver, cell.function)  # type: ignore[arg-type]
        if exp is not None:
            cell.expected = exp.value
            cell.expected_source = f"{exp.source}: {exp.quote}"
            cell.contradiction = cell.verdict != "error" and cell.verdict != exp.value
        out.append(cell)
    return out


def pairs_of(cells: Iterable[Cell], claims: Claims) -> list[Pair]:
    verdicts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for cell in cells:
        verdicts[(cell.sender, cell.receiver)].append(cell.verdict)
    pairs = []
    for (sender, receiver), found in sorted(verdicts.items()):
        if "error" in found:
            interop = interop_of([v for v in found if v != "error"])
        else:
            interop = interop_of(found)
        pair = Pair(sender=sender, receiver=receiver, interop=interop)
        exp = claims.expected_pair(sender, receiver)
        if exp is not None:
            pair.expected = exp.value
            pair.expected_source = f"{exp.source}: {exp.quote}"
            pair.contradiction = interop != exp.value
        pairs.append(pair)
    return pairs


def contradictions_of(cells: Iterable[Cell], pairs: Iterable[Pair]) -> list[Contradiction]:
    found = [
        Contradiction(
            sender=p.sender,
            receiver=p.receiver,
            function=None,
            expected=p.expected or "",
            observed=p.interop,
            source=p.expected_source,
        )
        for p in pairs
        if p.contradiction
    ]
    found += [
        Contradiction(
            sender=c.sender,
            receiver=c.receiver,
            function=c.function,
            expected=c.expected or "",
            observed=c.verdict,
            source=c.expected_source,
        )
        for c in cells
        if c.contradiction
    ]
    return found


def practice_table() -> list[PracticeSoftware]:
    table = load_practice_software()
    return [
        PracticeSoftware(
            editor=e.editor,
            statement=e.answer,
            status=e.status,
            source=table.source,
        )
        for e in table.editors
    ]


def assemble(
    run: RunInfo, profiles: Mapping[str, Profile], cells: list[Cell], claims: Claims
) -> Results:
    sources = _sources()
    cells = with_expectations(
        sorted(cells, key=lambda c: (c.sender, c.receiver, run.functions.index(c.function))), claims
    )
    pairs = pairs_of(cells, claims)
    return Results(
        run=run,
        agents=[agent_info(p, sources) for _, p in sorted(profiles.items())],
        cells=cells,
        pairs=pairs,
        contradictions=contradictions_of(cells, pairs) + sent_contradictions(cells, profiles),
        practice_software=practice_table(),
        sources=source_refs(sources, profiles.values()),
    )
