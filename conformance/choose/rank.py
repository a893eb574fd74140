"""The tools ranked for one practice, from the rules of choice and the matrix's verdicts.

Nothing here knows a product: every rule comes from the practice software table
(`rules:` and each editor's `integration:`, with the source's words), every fact
of a tool from its profile, every interoperability figure from results.json.
The advice of July 2008 (`advice:` in the same table, the source's answers) is
never read: the tests compare the ranking with it.

A tool is excluded when its profile says it does not run on the practice's
platform or needs more than the workstation has; the others are ranked,
lexicographically, by the criteria in `rules.order` (each a number, higher
first), then in the order of the source's comparison table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from conformance.choose.inputs import Correspondent, Practice
from conformance.core.vocabulary import PRODUCT_MEASUREMENTS, Function, measurement_of
from conformance.profiles.practice import Editor, PracticeSoftware, RankKey, Rules
from conformance.profiles.schema import Citation, Profile, Source
from conformance.results import Results

# The kinds of profile a practice can choose (not the reference engines, not the suite's agent).
CHOOSABLE_KINDS = ("client", "webmail", "relay-client")
COMPLIANCE_SCORE = {"yes": 2, "yes-but": 1, "no": 0}
INSTALLATION_SCORE = {"+": 1, "++": 2, "+++": 3}

Effect = Literal["excludes", "favours", "neutral", "warns", "unknown"]


@dataclass(frozen=True)
class Reason:
    """Why a rule excludes, favours or leaves a tool as it is: a message key of the
    report's catalogue (`choose.why.KEY`) with its values, and the rule's citation."""

    rule: str
    effect: Effect
    key: str
    params: Mapping[str, str | int] = field(default_factory=dict)
    cite: Citation | None = None
    # The `groups` of `interop_share_but`, which the view words: a verdict is a word of the
    # page's language, not results.json's identifier.
    unreached: tuple[Unreached, ...] = ()


@dataclass(frozen=True)
class Unreached:
    """The first cell with one group of correspondents that does not pass."""

    tool: str
    count: int
    way: str  # → from the tool to them, ← from them to the tool
    function: str
    verdict: str  # results.json's, or `missing`


@dataclass(frozen=True)
class Exchange:
    """The verdicts with one group of correspondents (a cell missing from the results
    is `missing`)."""

    correspondent: Correspondent
    to_them: dict[Function, str]
    from_them: dict[Function, str]

    @property
    def works(self) -> bool:
        verdicts = [*self.to_them.values(), *self.from_them.values()]
        return bool(verdicts) and all(v == "pass" for v in verdicts)


@dataclass(frozen=True)
class Choice:
    """One tool of the ranking, with its reasons and figures."""

    id: str
    name: str
    kind: str
    rank: int
    excluded: Reason | None
    scores: dict[RankKey, float]
    reasons: list[Reason]
    exchanges: list[Exchange]
    measurement: str  # results.json's measurement of the tool (else its profile's)

    @property
    def measured(self) -> bool:
        """Its interoperability is a measurement (the product itself ran), not simulated."""
        return self.measurement in PRODUCT_MEASUREMENTS

    @property
    def correspondents(self) -> int:
        return sum(e.correspondent.count for e in self.exchanges)

    @property
    def reached(self) -> int:
        return sum(e.correspondent.count for e in self.exchanges if e.works)


@dataclass(frozen=True)
class Ranking:
    practice: Practice
    editor: Editor | None
    rules: Rules
    choices: list[Choice]
    functions: tuple[Function, ...]
    sources: Mapping[str, Source]
    names: Mapping[str, str]  # profile id -> product name, for the correspondents' tools


def choosable(profiles: Mapping[str, Profile]) -> list[Profile]:
    """The profiles a practice may choose: the products (mail clients, webmails, relays)."""
    return [p for p in profiles.values() if p.identity.kind in CHOOSABLE_KINDS and not p.abstract]


def needed_functions(practice: Practice, rules: Rules) -> tuple[Function, ...]:
    """The functions the ranking reads from the matrix for this practice."""
    wanted = list(rules.interoperability.functions)
    hprim = rules.interoperability.hprim_function
    if any(c.hprim_net for c in practice.correspondents) and hprim not in wanted:
        wanted.append(hprim)
    return tuple(wanted)


def rank(
    practice: Practice,
    profiles: Mapping[str, Profile],
    table: PracticeSoftware,
    results: Results,
    sources: Mapping[str, Source],
    columns: Sequence[str] = (),
) -> Ranking:
    """The choosable tools, best first. `columns`: the comparison table's order (ties)."""
    if table.rules is None:
        raise ValueError("the practice software table has no rules: section")
    rules = table.rules
    editor = (
        None
        if practice.practice_software is None
        else table.editor_named(practice.practice_software)
    )
    measurement = {a.id: a.measurement for a in results.agents}
    unsorted: list[Choice] = []
    for tool in choosable(profiles):
        reasons: list[Reason] = []
        excluded = _platform(practice, tool, rules, reasons) or _configuration(
            practice, tool, rules, reasons
        )
        exchanges = [_exchange(tool.id, c, rules, results) for c in practice.correspondents]
        scores: dict[RankKey, float] = {
            "interoperability": _interoperability(exchanges, rules, reasons),
            "multi-site": _multi_site(practice, tool, rules, reasons),
            "integration": _integration(practice, editor, tool, rules, reasons),
            "compliance": _compliance(tool, rules, reasons),
            "installation": _installation(tool, rules, reasons),
        }
        unsorted.append(
            Choice(
                tool.id,
                tool.identity.name,
                tool.identity.kind,
                0,
                excluded,
                scores,
                reasons,
                exchanges,
                measurement.get(tool.id) or measurement_of(tool.engine.type, tool.identity.kind),
            )
        )
    order = {tool_id: i for i, tool_id in enumerate(columns)}

    def key(c: Choice) -> tuple[object, ...]:
        return (
            c.excluded is not None,
            *(-c.scores[k] for k in rules.order),
            order.get(c.id, len(order)),
            c.id,
        )

    ranked = sorted(unsorted, key=key)
    choices = [
        Choice(c.id, c.name, c.kind, i, c.excluded, c.scores, c.reasons, c.exchanges, c.measurement)
        for i, c in enumerate(ranked, start=1)
    ]
    names = {c.tool: profiles[c.tool].identity.name for c in practice.correspondents}
    functions = needed_functions(practice, rules)
    return Ranking(practice, editor, rules, choices, functions, sources, names)


# --- exclusions -----------------------------------------------------------------------


def _platform(practice: Practice, tool: Profile, rules: Rules, out: list[Reason]) -> Reason | None:
    """Excluded when the profile says it does not run on the platform; unknown is no
    exclusion. On a Macintosh the comparison table's row decides where it has one."""
    cite = rules.platform.cite
    platform = practice.platform
    platforms = tool.identity.platforms
    if platform == "macos" and tool.criteria.macintosh is not None:
        if tool.criteria.macintosh:
            out.append(Reason("platform", "neutral", "mac_yes", cite=cite))
            return None
        reason = Reason("platform", "excludes", "mac_no", cite=cite)
        out.append(reason)
        return reason
    if platform in platforms:  # runs there: nothing to say
        return None
    if "web" in platforms:
        out.append(Reason("platform", "neutral", "web", {"platform": platform}, cite))
        return None
    citation = tool.citation("identity.platforms")
    if citation is None or citation.assumed:
        out.append(Reason("platform", "unknown", "platform_unknown", {"platform": platform}, cite))
        return None
    reason = Reason("platform", "excludes", "platform_no", {"platform": platform}, cite)
    out.append(reason)
    return reason


def _configuration(
    practice: Practice, tool: Profile, rules: Rules, out: list[Reason]
) -> Reason | None:
    cite = rules.configuration.cite
    needs = tool.criteria.minimum_configuration
    station = practice.workstation
    if needs is None or (needs.ram_mb is None and needs.disk_mb is None):
        return None
    text = needs.text
    if station is None:
        out.append(Reason("configuration", "unknown", "config_no_station", {"text": text}, cite))
        return None
    short = [
        (what, need, have)
        for what, need, have in (
            ("RAM", needs.ram_mb, station.ram_mb),
            ("disk", needs.disk_mb, station.disk_mb),
        )
        if need is not None and have is not None and have < need
    ]
    if short:
        what, need, have = short[0]
        params: dict[str, str | int] = {"text": text, "need": need, "have": have}
        reason = Reason("configuration", "excludes", f"config_short_{what.lower()}", params, cite)
        out.append(reason)
        return reason
    out.append(Reason("configuration", "neutral", "config_ok", {"text": text}, cite))
    return None


# --- ranked criteria ---------------------------------------------------------------------


def _exchange(tool: str, c: Correspondent, rules: Rules, results: Results) -> Exchange:
    def verdict(sender: str, receiver: str, function: Function) -> str:
        cell = results.cell(sender, receiver, function)
        # A cell not observed here (an engine not installed...) is as good as missing.
        return "missing" if cell is None or not cell.observed else cell.verdict

    functions = rules.interoperability.functions
    to_them = {f: verdict(tool, c.tool, f) for f in functions}
    from_them = {f: verdict(c.tool, tool, f) for f in functions}
    if c.hprim_net:
        hprim = rules.interoperability.hprim_function
        from_them[hprim] = verdict(c.tool, tool, hprim)
    return Exchange(c, to_them, from_them)


def _interoperability(exchanges: list[Exchange], rules: Rules, out: list[Reason]) -> float:
    cite = rules.interoperability.cite
    total = sum(e.correspondent.count for e in exchanges)
    if not total:
        out.append(Reason("interoperability", "unknown", "interop_none_given", cite=cite))
        return 0.0
    reached = sum(e.correspondent.count for e in exchanges if e.works)
    params: dict[str, str | int] = {
        "reached": reached,
        "total": total,
        "percent": round(100 * reached / total),
    }
    effect: Effect = "favours" if reached == total else "neutral" if reached else "warns"
    unreached = tuple(_why_not(e) for e in exchanges if not e.works)
    if unreached:
        out.append(Reason("interoperability", effect, "interop_share_but", params, cite, unreached))
    else:
        out.append(Reason("interoperability", effect, "interop_share", params, cite))
    missing = sorted({e.correspondent.tool for e in exchanges if _missing(e)})
    if missing:
        out.append(
            Reason("interoperability", "unknown", "interop_missing", {"tools": ", ".join(missing)})
        )
    return reached / total


def _why_not(e: Exchange) -> Unreached:
    """The first cell that does not pass, → from the tool to them, ← from them to the tool."""
    c = e.correspondent
    cells = [("→", f, v) for f, v in e.to_them.items()]
    cells += [("←", f, v) for f, v in e.from_them.items()]
    way, function, verdict = next(cell for cell in cells if cell[2] != "pass")
    return Unreached(c.tool, c.count, way, function, verdict)


def _missing(e: Exchange) -> bool:
    return "missing" in e.to_them.values() or "missing" in e.from_them.values()


def _multi_site(practice: Practice, tool: Profile, rules: Rules, out: list[Reason]) -> float:
    rule = rules.multi_site
    if practice.sites != "multi":
        return 0.0
    if tool.identity.kind in rule.kinds:
        out.append(Reason("multi-site", "favours", "multi_site_yes", cite=rule.cite))
        return 1.0
    out.append(Reason("multi-site", "neutral", "multi_site_no", cite=rule.cite))
    return 0.0


def _integration(
    practice: Practice, editor: Editor | None, tool: Profile, rules: Rules, out: list[Reason]
) -> float:
    """2: the practice software integrates it (the editor's rule, or the profile's
    `integrated_in`); 1: the comparison table says it integrates in practice software;
    0: relay only or unknown. Equal for every tool when the source says so, or when the
    practice names no software."""
    if editor is None:
        return 0.0
    rule = editor.integration
    software = practice.practice_software or editor.editor
    if rule is not None and rule.same_for_all:
        out.append(
            Reason("integration", "neutral", "same_for_all", {"software": software}, rule.cite)
        )
        return 0.0
    integrated_in = {n.casefold() for n in tool.criteria.integrated_in or ()}
    named = integrated_in & {n.casefold() for n in editor.names()}
    if rule is not None and tool.id in rule.tools:
        out.append(
            Reason("integration", "favours", "integrated", {"software": software}, rule.cite)
        )
        return 2.0
    if named:
        citation = tool.citation("criteria.integrated_in")
        out.append(Reason("integration", "favours", "integrated", {"software": software}, citation))
        return 2.0
    general = tool.criteria.integration
    cite = rules.integration.cite
    if general in ("integrated", "both"):
        out.append(Reason("integration", "neutral", f"general_{general}", cite=cite))
        return 1.0
    out.append(Reason("integration", "neutral", f"general_{general or 'unknown'}", cite=cite))
    return 0.0


def _compliance(tool: Profile, rules: Rules, out: list[Reason]) -> float:
    cite = rules.compliance.cite
    value = tool.criteria.compliance
    if value is None:
        out.append(Reason("compliance", "unknown", "compliance_unknown", cite=cite))
        return 0.0
    if value != "yes":  # the source's words for the "but" where the profile cites them
        said = tool.citation("criteria.compliance_note")
        words = said.quote if said and said.quote else tool.criteria.compliance_note
        params: dict[str, str | int] = {"words": words or "?"}
        out.append(Reason("compliance", "warns", f"compliance_{value}", params, cite))
    return float(COMPLIANCE_SCORE[value])


def _installation(tool: Profile, rules: Rules, out: list[Reason]) -> float:
    ease = tool.criteria.installation_ease
    if ease is None:
        return 0.0
    cite = rules.installation.cite
    out.append(Reason("installation", "neutral", "installation", {"ease": ease}, cite))
    return float(INSTALLATION_SCORE[ease])
