"""A receiver tried on no hostile message is not shown passing: its column header, its sheet
and the refusals page say that its refusals were not tried in this run, and why (the whole
rejection matrix skipped by --no-rejections or --large-attachment, --agent leaving it out,
an interrupted run, or every cell of its row not applicable or broken)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from test_report_refusals import with_rejections
from test_report_sample import sample_results

from conformance.report import render_report
from conformance.report.i18n import Translator
from conformance.report.refusals import RefusalModel
from conformance.results import Results, rejection_summaries

UNTRIED = 'class="tag tag-untried"'  # the mark itself, not the legend's or the style's
EVERYONE = ["reference", "apimail-apicrypt", "easycrypt-net", "docteur-net-cps", "openssl"]


def _headers(html: str) -> dict[str, str]:
    """The matrix's column headers, by the product sheet each links to."""
    thead = html[html.index("<thead>") : html.index("</thead>")]
    found = {}
    for part in thead.split("<th ")[2:]:  # the corner first
        page = re.search(r'href="products/([^"]+)\.html"', part)
        assert page is not None, part
        found[page.group(1)] = unescape(part)
    return found


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _section(html: str, start: str, end: str = "</section>") -> str:
    at = html.index(start)
    return html[at : html.index(end, at)]


def _only_openssl(root: Path) -> Results:
    """`run --agent openssl`: the rejection matrix ran for openssl alone, the others are
    receivers of its interop cells only."""
    results = with_rejections(root)
    assert results.rejections is not None
    results.rejections.cells = [c for c in results.rejections.cells if c.receiver == "openssl"]
    results.rejections.receivers = rejection_summaries(results.rejections.cells)
    results.run.settings.update(agents=["openssl"], rejections=True)
    return results


def _render(results: Results, out: Path, lang: str) -> dict[str, str]:
    render_report(results, out, lang=lang)
    pages = {"index": "index.html", "refusals": "refusals.html"}
    pages |= {agent: f"products/{agent}.html" for agent in EVERYONE}
    return {k: (out / v).read_text(encoding="utf-8") for k, v in pages.items()}


@pytest.mark.parametrize(
    ("lang", "why", "line"),
    [
        ("fr", "hors de la sélection (--agent openssl", "Refus non essayés dans cette exécution"),
        ("en", "outside the selection (--agent openssl", "Refusals not tried in this run"),
    ],
)
def test_a_selection_marks_the_receivers_it_left_out(
    tmp_path: Path, lang: str, why: str, line: str
) -> None:
    pages = _render(_only_openssl(tmp_path), tmp_path / lang, lang)
    headers = _headers(pages["index"])
    untried = sorted(a for a, h in headers.items() if UNTRIED in h)
    assert untried == sorted(set(EVERYONE) - {"openssl"})
    assert why in headers["reference"] and 'href="refusals.html#untried"' in headers["reference"]
    assert UNTRIED not in headers["openssl"] and "tag-accepts" in headers["openssl"]
    # the sheet's refusal section says so, with the reason; openssl's keeps its row
    sheet = _text(_section(pages["docteur-net-cps"], 'class="refusals-row"'))
    assert f"{line}: {why}" in sheet.replace(" :", ":")
    assert "refusal-untried" not in pages["openssl"] and "refusal-findings" in pages["openssl"]
    # the refusals page names them under the reason, linked to their sheets
    listed = _section(pages["refusals"], 'id="untried"', "</div>")
    assert why in unescape(listed) and "products/openssl.html" not in listed
    for agent in ("reference", "apimail-apicrypt", "easycrypt-net", "docteur-net-cps"):
        assert f'href="products/{agent}.html"' in listed


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_rejections_marks_every_receiver_one_way(tmp_path: Path, lang: str) -> None:
    pages = _render(sample_results(tmp_path), tmp_path / lang, lang)
    headers = _headers(pages["index"])
    assert all(UNTRIED in h and "(--no-rejections)" in h for h in headers.values()), headers
    for agent in EVERYONE:
        assert "(--no-rejections)" in _section(pages[agent], 'class="refusals-row"')
    listed = _text(_section(pages["refusals"], 'id="untried"', "</div>"))
    assert "(--no-rejections)" in listed
    names = ["Référence (moteur intégré)", "Apimail (Apicrypt)", "EASYCRYPT.net", "OpenSSL cms"]
    assert all(name in listed for name in names)


def test_large_attachment_is_named_not_no_rejections(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    results.run.settings.update(large_attachment=200_000_000, rejections=False)
    pages = _render(results, tmp_path / "en", "en")
    assert "--no-rejections" not in pages["refusals"] + pages["index"]
    assert (
        "These results have no rejection matrix: the rejection matrix does not run with "
        "--large-attachment." in pages["refusals"]
    )
    assert "does not run with --large-attachment" in _headers(pages["index"])["openssl"]


def test_a_row_that_refused_nothing_is_not_tried_either(tmp_path: Path) -> None:
    results = with_rejections(tmp_path)
    assert results.rejections is not None
    for cell in results.rejections.cells:
        if cell.receiver == "easycrypt-net":
            cell.verdict = "not-applicable"
    pages = _render(results, tmp_path / "fr", "fr")
    headers = _headers(pages["index"])
    assert "aucun message hostile n'a pu lui être essayé" in headers["easycrypt-net"]
    # the receivers of the run absent from a complete rejection matrix, without --agent
    assert "absent de la matrice des refus" in headers["apimail-apicrypt"]
    assert UNTRIED not in headers["reference"] and UNTRIED not in headers["openssl"]


def test_an_interrupted_run_says_so(tmp_path: Path) -> None:
    results = with_rejections(tmp_path)
    results.run.complete = False
    model = RefusalModel(
        results.rejections,
        Translator("en"),
        {"openssl": ("OpenSSL", "products/openssl.html")},
        run=results.run,
        receivers=EVERYONE,
    )
    assert model.untried == {
        "apimail-apicrypt": "interrupted",
        "docteur-net-cps": "interrupted",
    }
    assert model.untried_why("openssl") is None
    assert model.untried_why("apimail-apicrypt") == (
        "the run was interrupted before its rejection cells"
    )


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_results_not_made_by_run_name_no_option(tmp_path: Path, lang: str) -> None:
    """vectors verify's results have no rejection matrix and no `rejections` setting: the
    pages say they are not a run's, never that --no-rejections was given."""
    results = sample_results(tmp_path)
    results.run.settings.pop("rejections", None)
    results.run.settings["mode"] = "vectors verify"
    pages = _render(results, tmp_path / lang, lang)
    assert "--no-rejections" not in pages["refusals"] + pages["index"]
    said = "ne viennent pas d'un run" if lang == "fr" else "are not a run's"
    assert said in unescape(pages["refusals"]) and "vectors verify" in pages["refusals"]
    assert all(said in unescape(h) for h in _headers(pages["index"]).values())
