"""From cells to results.json: expectations, contradictions, pairs, agent facts.

A pure function of what was observed and of the published claims; nothing
here decides a verdict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from conformance.core.vocabulary import REAL_TOOLS, measurement_of
from conformance.matrix.sent import sent_contradictions
from conformance.paths import PROFILES_DIR
from conformance.profiles.claims import Claims
from conformance.profiles.loader import load_sources
from conformance.profiles.practice import PracticeSoftware as PracticeTable
from conformance.profiles.practice import load_practice_software
from conformance.profiles.schema import KEY_STORE_ENGINES, Profile, Source
from conformance.results import (
    NOT_SEEN,
    AgentInfo,
    Cell,
    Contradiction,
    Fact,
    Pair,
    PracticeSoftware,
    Provenance,
    Results,
    RunInfo,
    SourceRef,
    interop_contradicts,
    interop_of,
    pair_verdict,
    summary_key,
)
from conformance.token import token_kind

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


def _leaf_paths(data: Mapping[str, Any], prefix: str) -> list[str]:
    """The dotted paths of a summary's leaves, as the report flattens it."""
    paths: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            paths += _leaf_paths(value, f"{prefix}{key}.")
        else:
            paths.append(f"{prefix}{key}")
    return paths


def summary_provenance(
    profile: Profile, send: Mapping[str, Any], receive: Mapping[str, Any]
) -> dict[str, Provenance]:
    """Each fact of the sends/accepts summary with its profile's citation (send.* and
    receive.* in the profile become sends.* and accepts.* in results.json); a source is
    cited by id, its titles are in Results.sources."""
    found: dict[str, Provenance] = {}
    for section, data in (("send", send), ("receive", receive)):
        for path in _leaf_paths(data, ""):
            citation = profile.citation(f"{section}.{path}")
            if citation is None:
                continue
            if citation.assumed:
                found[summary_key(f"{section}.{path}")] = Provenance(
                    assumed=True, reason=citation.reason, reason_fr=citation.reason_fr
                )
            else:
                found[summary_key(f"{section}.{path}")] = Provenance(
                    source=citation.source, reason=citation.quote or citation.note
                )
    return found


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
        name_fr=profile.identity.name_fr,
        vendor=profile.identity.vendor,
        kind=profile.identity.kind,
        homologation=profile.homologation.status,
        engine=profile.engine.type,
        measurement=measurement_of(profile.engine.type, profile.identity.kind),
        reference_engine=profile.engine.type in REAL_TOOLS,
        keys=keys_of(profile),
        mime=profile.engine.mime,
        sends=send,
        accepts=receive,
        provenance=summary_provenance(profile, send, receive),
        criteria=criteria,
    )


def keys_of(profile: Profile) -> Literal["card", "software"] | None:
    """Where the agent's private keys are in this run: what `engine.keys` says for the
    engines that honour it (the built-in one keeps the card's keys in software when this run
    does, OSM_CONFORMANCE_TOKEN=software; gpgsm on the card does not run then); software for
    the other real tools, which read key files or their own store; None for what the suite
    does not drive (an adapter) and the Apicrypt model, whose keys are no CPS card's."""
    engine = profile.engine
    if engine.type == "builtin" and engine.keys == "card" and token_kind() == "software":
        return "software"
    if engine.type in KEY_STORE_ENGINES and engine.type != "apicrypt-model":
        return engine.keys
    return "software" if engine.type in REAL_TOOLS else None


def with_expectations(cells: Iterable[Cell], claims: Claims) -> list[Cell]:
    """The cells with what the published claims expect of them: the claims are about the
    plain route (memory, or SMTP without a rewriting hop), so only those are compared; a
    cell through a gateway is measured against its plain-route twin (the gateways page)."""
    out = []
    for cell in cells:
        exp = claims.expected(cell.sender, cell.receiver, cell.function)  # type: ignore[arg-type]
        if exp is not None and cell.plain:
            cell.expected = exp.value
            cell.expected_source = f"{exp.source}: {exp.quote}"
            seen = pair_verdict(cell) not in NOT_SEEN
            cell.contradiction = seen and cell.verdict != exp.value
        out.append(cell)
    return out


def pairs_of(
    cells: Iterable[Cell], claims: Claims, functions: Sequence[str] | None = None
) -> list[Pair]:
    """One pair per sender and receiver, over the observed cells: harness errors are
    left out, and a function of `functions` (the run's) without a cell counts as not
    observed (an interrupted run)."""
    verdicts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for cell in cells:
        verdicts[(cell.sender, cell.receiver)].append(pair_verdict(cell))
    pairs = []
    for (sender, receiver), found in sorted(verdicts.items()):
        total = max(len(found), len(functions or ()))
        interop = interop_of(found, total)
        pair = Pair(
            sender=sender,
            receiver=receiver,
            interop=interop,
            observed=sum(v not in NOT_SEEN for v in found),
            functions=total,
        )
        exp = claims.expected_pair(sender, receiver)
        if exp is not None:
            pair.expected = exp.value
            pair.expected_source = f"{exp.source}: {exp.quote}"
            pair.contradiction = interop_contradicts(exp.value, found, total)
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


def practice_table(table: PracticeTable | None = None) -> list[PracticeSoftware]:
    """The practice software table of results.json (default: the shipped one)."""
    table = load_practice_software() if table is None else table
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
    run: RunInfo,
    profiles: Mapping[str, Profile],
    cells: list[Cell],
    claims: Claims,
    *,
    sources: Mapping[str, Source] | None = None,
) -> Results:
    """results.json of a run; the sources default to the shipped ones."""
    sources = _sources() if sources is None else sources
    order = {f: i for i, f in enumerate(run.functions)}
    cells = with_expectations(
        sorted(
            cells,
            key=lambda c: (c.sender, c.receiver, order.get(c.function, len(order)), c.via),
        ),
        claims,
    )
    # The pairs, and the messages compared with their profile's declarations, are the
    # plain route's (a gateway's rewrite is not the sender's choice).
    plain = [c for c in cells if c.plain]
    pairs = pairs_of(plain, claims, run.functions)
    return Results(
        run=run,
        agents=[agent_info(p, sources) for _, p in sorted(profiles.items())],
        cells=cells,
        pairs=pairs,
        contradictions=contradictions_of(plain, pairs) + sent_contradictions(plain, profiles),
        practice_software=practice_table(),
        sources=source_refs(sources, profiles.values()),
    )
