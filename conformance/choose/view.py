"""The ranking as a person reads it (text, the page) and as a program does (`--json`),
in one language of the report's catalogue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.choose.rank import Choice, Ranking, Reason
from conformance.profiles.schema import Citation
from conformance.report.i18n import Translator

# The catalogue keys naming each rule (a ranked criterion or an exclusion).
RULE_LABELS = {
    "interoperability": "crit.interoperability_short",
    "multi-site": "crit.multi-site",
    "integration": "crit.integration",
    "compliance": "crit.compliance_short",
    "installation": "crit.installation",
    "platform": "crit.platform",
    "configuration": "crit.configuration",
}


@dataclass
class Notes:
    """The rules' citations, numbered in order of first use (one footnote per text)."""

    texts: dict[str, int] = field(default_factory=dict)

    def number(self, text: str | None) -> int | None:
        return None if text is None else self.texts.setdefault(text, len(self.texts) + 1)


def message(reason: Reason, t: Translator) -> str:
    params = dict(reason.params)
    if reason.unreached:  # `tool ×count (→ function verdict)`, the verdict in words
        params["groups"] = "; ".join(
            f"{u.tool} ×{u.count} ({u.way} {u.function} {t.label('verdict', u.verdict)})"
            for u in reason.unreached
        )
    return t(f"choose.why.{reason.key}", **params)


def citation_text(cite: Citation | None, ranking: Ranking, t: Translator) -> str | None:
    """The source's words with its title, or `assumed: why`, in the page's language."""
    if cite is None:
        return None
    if cite.assumed:
        reason = cite.reason_fr if t.lang == "fr" and cite.reason_fr else cite.reason
        return t("choose.assumed", reason=reason or "")
    source = ranking.sources.get(cite.source or "")
    title = cite.source or ""
    if source is not None:
        title = source.title_fr if t.lang == "fr" and source.title_fr else source.title
    return t("src.quote", title=title, quote=cite.quote) if cite.quote else title


def label(choice: Choice, t: Translator) -> str:
    """« simulée » or « mesurée », as the comparison page labels interoperability."""
    return t("choose.measured") if choice.measured else t("choose.simulated")


def order_text(ranking: Ranking, t: Translator) -> str:
    names = ", ".join(t(RULE_LABELS[k]) for k in ranking.rules.order)
    return t("choose.order", criteria=names)


def reason_json(reason: Reason, ranking: Ranking, t: Translator) -> dict[str, Any]:
    cite = reason.cite
    return {
        "rule": reason.rule,
        "effect": reason.effect,
        "message": message(reason, t),
        "source": None if cite is None else cite.source,
        "quote": None if cite is None else cite.quote,
        "assumed": None if cite is None else cite.assumed,
        "citation": citation_text(cite, ranking, t),
    }


def ranking_json(ranking: Ranking, t: Translator, results: str) -> dict[str, Any]:
    """`choose --json`: the practice, the rules' order and the ranking, best first."""
    practice = ranking.practice
    return {
        "format": "osm-conformance/choose/1",
        "lang": t.lang,
        "practice": practice.model_dump(mode="json"),
        "editor": None if ranking.editor is None else ranking.editor.editor,
        "order": ["not-excluded", *ranking.rules.order],
        "functions": list(ranking.functions),
        "results": results,
        "ranking": [
            {
                "rank": c.rank,
                "id": c.id,
                "name": c.name,
                "kind": c.kind,
                "excluded": False if c.excluded is None else reason_json(c.excluded, ranking, t),
                "measurement": c.measurement,
                "interoperability_label": "measured" if c.measured else "simulated",
                "scores": dict(c.scores),
                "figures": {
                    "correspondents": c.correspondents,
                    "reached": c.reached,
                    "share": c.scores["interoperability"] if c.correspondents else None,
                    "exchanges": [
                        {
                            "tool": e.correspondent.tool,
                            "count": e.correspondent.count,
                            "hprim_net": e.correspondent.hprim_net,
                            "to_them": e.to_them,
                            "from_them": e.from_them,
                            "works": e.works,
                        }
                        for e in c.exchanges
                    ],
                },
                "reasons": [reason_json(r, ranking, t) for r in c.reasons],
            }
            for c in ranking.choices
        ],
    }


def ranking_text(ranking: Ranking, t: Translator) -> str:
    """The ranking for a terminal: one block per tool, its reasons indented."""
    notes = Notes()
    first = notes.number(citation_text(ranking.rules.order_cite, ranking, t))
    head_lines = [f"{t('title.choose')} — {practice_line(ranking, t)}"]
    lines = [*head_lines, f"{order_text(ranking, t)} [{first}]", ""]
    for c in ranking.choices:
        state = f"  [{t('choose.excluded')}]" if c.excluded else ""
        lines.append(f"{c.rank:2}. {c.name} ({c.id}){state} · {label(c, t)}")
        for r in c.reasons:
            effect = t.label("effect", r.effect) if r.effect != "neutral" else ""
            head = f"{t(RULE_LABELS[r.rule])}{f' ({effect})' if effect else ''}"
            note = notes.number(citation_text(r.cite, ranking, t))
            mark = f" [{note}]" if note else ""
            lines.append(f"      {head}{t('sep')}{message(r, t)}{mark}")
    cost = notes.number(citation_text(ranking.rules.cost.cite, ranking, t))
    lines += ["", f"{t('choose.cost')} [{cost}] · {t('choose.revocable')}", ""]
    lines.append(t("choose.sources"))
    lines += [f"[{n}] {text}" for text, n in notes.texts.items()]
    return "\n".join(lines)


def practice_line(ranking: Ranking, t: Translator) -> str:
    p = ranking.practice
    software = p.practice_software or t("choose.software_none")
    if ranking.editor is not None and p.practice_software != ranking.editor.editor:
        software += f" ({ranking.editor.editor})"
    count = sum(c.count for c in p.correspondents)
    return (
        f"{software}, {p.platform}, {t(f'choose.sites.{p.sites}')}, "
        f"{t('choose.correspondents').lower()}{t('sep')}{count}"
    )
