"""The page « Choisir pour mon cabinet »: the ranking for one practice, printable on one
A4 page for the practitioner (its own print style), self-contained like the report's
pages (no external font, script or style) and distinct from the comparison page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from conformance import __version__
from conformance.choose.rank import Choice, Ranking, Reason
from conformance.choose.view import (
    RULE_LABELS,
    Notes,
    citation_text,
    label,
    message,
    order_text,
)
from conformance.report.i18n import Translator

PAGE = "choose.html"
SUBMATRIX_DIR = "matrix"  # where choose --out keeps the sub-matrix run


@dataclass(frozen=True)
class WhyView:
    rule: str
    effect: str
    effect_label: str
    text: str
    note: int | None


@dataclass(frozen=True)
class ChoiceView:
    choice: Choice
    label: str
    why: list[WhyView]
    excluded: WhyView | None


def _why(reason: Reason, ranking: Ranking, t: Translator, notes: Notes) -> WhyView:
    return WhyView(
        t(RULE_LABELS[reason.rule]),
        reason.effect,
        t.label("effect", reason.effect) if reason.effect != "neutral" else "",
        message(reason, t),
        notes.number(citation_text(reason.cite, ranking, t)),
    )


def _matrix_link(out: Path) -> str | None:
    """The sub-matrix's own report beside the page (choose --out without --results)."""
    index = out / SUBMATRIX_DIR / "index.html"
    return f"{SUBMATRIX_DIR}/index.html" if index.is_file() else None


def render_page(ranking: Ranking, out: Path, t: Translator, results: str) -> Path:
    """Write OUT/choose.html; return its path."""
    notes = Notes()
    notes.number(citation_text(ranking.rules.order_cite, ranking, t))
    choices = []
    for c in ranking.choices:
        why = [_why(r, ranking, t, notes) for r in c.reasons]
        excluded = None if c.excluded is None else _why(c.excluded, ranking, t, notes)
        choices.append(ChoiceView(c, label(c, t), why, excluded))
    cost = notes.number(citation_text(ranking.rules.cost.cite, ranking, t))
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conformance.choose", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tr"] = t
    html = env.get_template("choose.html.j2").render(
        t=t,
        lang=t.lang,
        version=__version__,
        r=ranking,
        p=ranking.practice,
        choices=choices,
        order=order_text(ranking, t),
        order_note=1,
        cost_note=cost,
        notes=[(n, text) for text, n in notes.texts.items()],
        functions=", ".join(ranking.functions),
        results=results,
        matrix=_matrix_link(out),
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / PAGE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
