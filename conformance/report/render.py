"""Render results.json into self-contained HTML pages (no external fonts,
scripts or styles, so that the report opens from disk and can be mailed).

Pages: index.html (the matrix), comparison.html (the source document's table
"Comment choisir ?"), refusals.html (the rejection matrix), gateways.html (which gateways
the messages survive, for a run over SMTP only), products/<id>.html (one sheet per agent).
Jinja2 with autoescape on: everything that comes from profiles and messages is data.
"""

from __future__ import annotations

import functools
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from conformance import __version__
from conformance.core.vocabulary import SERVICES
from conformance.report import fragments, gateways, refusals, views
from conformance.report.diff import summary
from conformance.report.i18n import Translator
from conformance.results import Results
from conformance.signals import write


@functools.cache
def _environment(lang: str) -> jinja2.Environment:
    """One environment per language: the catalogue look-ups are filters (`"key"|tr`,
    `value|label("fn")`), which compiled templates call directly, fast."""
    t = Translator(lang)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conformance.report", "templates"),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tr"] = t
    env.filters["label"] = lambda value, prefix: t.label(prefix, value)
    env.filters["number"] = t.number  # `value|number(1)`: « 177,3 » on a French page
    env.filters.update(fragments.filters(t))
    return env


@functools.cache
def _static(name: str) -> Markup:
    """A file of static/ to inline; ours, so trusted markup (never user data)."""
    text = resources.files("conformance.report").joinpath("static", name).read_text("utf-8")
    return Markup(text)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a page


def render_report(
    results: Results,
    out: Path,
    lang: str = "fr",
    baseline: Results | None = None,
    run_dir: Path | None = None,
) -> Path:
    """Write index.html, comparison.html, refusals.html and products/*.html into `out`; return
    the path of index.html. Evidence paths in `results` are relative to `run_dir`
    (the folder of results.json; default `out`) and are linked relative to `out`;
    one that leaves the run folder is dropped with a warning on stderr."""
    t = Translator(lang)
    model = views.ReportModel(results, t, baseline)
    names = {a.info.id: (a.name, a.page) for a in model.agents}
    refused = refusals.RefusalModel(
        results.rejections, t, names, run=results.run, receivers=model.receivers
    )
    routed = gateways.GatewayModel(results, t, names)
    env = _environment(lang)
    out.mkdir(parents=True, exist_ok=True)
    evidence = views.EvidenceLinks(results, out if run_dir is None else run_dir, out)
    for warning in evidence.warnings:  # a closed stderr drops them, never the report
        write(f"osm-conformance report: warning: {warning}", sys.stderr)
    common: dict[str, Any] = {
        "t": t,
        "m": model,
        "run": results.run,
        "lang": lang,
        "version": __version__,
        "format": results.format,
        "css": _static("report.css"),
        "services": SERVICES,
        "symbols": views.VERDICT_SYMBOLS,
        "interop_symbols": views.INTEROP_SYMBOLS,
        "measure_symbols": views.MEASUREMENT_SYMBOLS,
        "marks": views.MARK_SYMBOLS,
        "evidence": evidence,
        "refusals": refused,
        "accepting": refused.accepting(),
        "refusal_symbols": refusals.REFUSAL_SYMBOLS,
        "refusal_css": refusals.REFUSAL_CSS,
        "untried_anchor": refusals.UNTRIED_ANCHOR,
        "gateways": routed,
        "survival_symbols": gateways.SURVIVAL_SYMBOLS,
        "survival_css": gateways.SURVIVAL_CSS,
    }
    index = out / "index.html"
    _write(
        index,
        env.get_template("index.html.j2").render(
            common,
            root="",
            page="matrix",
            js=_static("matrix.js"),
            change_counts=summary(model.changes),
        ),
    )
    _write(
        out / "comparison.html",
        env.get_template("comparison.html.j2").render(
            common, root="", page="comparison", cmp=model.comparison()
        ),
    )
    _write(
        out / refusals.PAGE,
        env.get_template("refusals.html.j2").render(common, root="", page="refusals"),
    )
    page = out / gateways.PAGE
    if routed.present:  # a run over SMTP only
        _write(page, env.get_template("gateways.html.j2").render(common, root="", page="gateways"))
    elif page.exists():  # an earlier run's
        page.unlink()
    product_template = env.get_template("product.html.j2")
    written = set()
    for agent in model.agents:
        written.add(out / agent.page)
        _write(
            out / agent.page,
            product_template.render(common, root="../", page="product", p=model.product(agent)),
        )
    for stale in (out / "products").glob("*.html"):
        if stale not in written:  # an agent of an earlier run, gone from this one
            stale.unlink()
    return index
