"""The report in a real browser: Debian's headless chromium driven by Playwright.

Never downloads a browser: Playwright launches /usr/bin/chromium. Skipped, with
the reason, when chromium or the playwright package is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_report_sample import sample_results

from conformance.report import render_report

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"chromium is not installed ({CHROMIUM}); apt-get install chromium")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is missing (pip install '.[dev]')"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[tuple[Any, list[str], Path]]:
    results = sample_results(tmp_path)
    index = render_report(results, tmp_path)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "request",
        lambda r: problems.append(f"request: {r.url}") if not r.url.startswith("file://") else None,
    )
    page.goto(index.as_uri())
    yield page, problems, tmp_path
    page.close()


def test_matrix_loads_without_errors_and_screenshot(page: tuple[Any, list[str], Path]) -> None:
    p, problems, out = page
    assert p.title().startswith("Matrice d'interopérabilité")
    assert p.locator("a.cell").count() == 25
    shot = out / "matrix.png"
    p.locator(".matrix-wrap").screenshot(path=str(shot))
    full = out / "index.png"
    p.screenshot(path=str(full), full_page=True)
    print(f"\nscreenshot of the matrix: {shot}\nscreenshot of the page: {full}")
    assert shot.stat().st_size > 10_000
    assert problems == []  # no console error, no network request


def test_clicking_a_cell_opens_its_detail(page: tuple[Any, list[str], Path]) -> None:
    p, problems, out = page
    dialog = p.locator("#detail-dialog")
    assert not dialog.is_visible()
    cell = p.locator("tbody tr").nth(3).locator("a.cell").nth(4)  # Docteur Net CPS -> OpenSSL
    cell.click()
    assert dialog.is_visible()
    assert "Docteur Net CPS → OpenSSL cms" in dialog.locator("h3").inner_text()
    assert "compte-rendu-échographie.pdf" in dialog.inner_text()
    link = dialog.locator("a", has_text="counterexample.eml")
    assert link.get_attribute("href").startswith("evidence/")
    # the summary (sent, the receiver's answer, the validator's findings) above the files
    fn = dialog.locator("[data-fn=attachments]")
    validator = fn.locator("dd.validator")
    assert "2 ERREUR" in validator.inner_text() and "MIME-001" in validator.inner_text()
    assert "checks.html" not in validator.inner_text()  # findings, not a file path
    evidence = fn.locator("ul.evidence").first
    assert validator.bounding_box()["y"] < evidence.bounding_box()["y"]
    shot = out / "dialog.png"
    dialog.screenshot(path=str(shot))
    print(f"\nscreenshot of the dialog: {shot}")
    p.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert problems == []


def test_filters_hide_what_they_should(page: tuple[Any, list[str], Path]) -> None:
    p, problems, _ = page
    marks = p.locator("#matrix .mark[data-fn='hprim-net']")
    assert marks.first.is_visible()
    p.locator("input[name=fn][value='hprim-net']").uncheck()
    assert marks.count() == 25 and all(not m.is_visible() for m in marks.all())
    assert p.locator("#matrix .mark[data-fn='sign']").first.is_visible()

    p.select_option("select[name=homologation]", "yes")
    rows = p.locator("#matrix tbody tr")
    visible = [r.locator("th").inner_text() for r in rows.all() if r.is_visible()]
    assert len(visible) == 2 and all("homologué OSM" in v for v in visible)
    heads = [h for h in p.locator("#matrix thead th.col").all() if h.is_visible()]
    assert len(heads) == 2

    p.select_option("select[name=homologation]", "all")
    p.locator("input[name=engines]").uncheck()
    assert not p.locator("#matrix thead th.col[data-engine='1']").is_visible()
    p.locator("input[name=engines]").check()

    p.locator("input[name=contradictions]").check()
    visible = [r for r in rows.all() if r.is_visible()]
    assert len(visible) == 1 and "Docteur Net CPS" in visible[0].locator("th").inner_text()
    assert problems == []


def test_comparison_table_fits_an_a4_landscape_page(browser: Any, tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    # the eleven products of the source document, with its longest texts
    model = results.agents[2]
    for i in range(8):
        extra = model.model_copy(deep=True)
        extra.id, extra.name = f"product-{i}", f"Security Box® Mail {i}"
        extra.criteria[
            "minimum_configuration"
        ].value = "Gourmand en RAM (512 Mo) et espace disque (100 Mo)"
        results.agents.insert(3, extra)
    render_report(results, tmp_path)
    # A4 landscape less the 8 mm margins: 281 x 194 mm = 1062 x 733 CSS pixels
    page = browser.new_page(viewport={"width": 1062, "height": 733})
    page.goto((tmp_path / "comparison.html").as_uri())
    page.emulate_media(media="print")
    box = page.locator("table.comparison").bounding_box()
    shot = tmp_path / "comparison-print.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nprint view of the comparison table: {shot}")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    page.close()
    (tmp_path / "comparison.pdf").write_bytes(pdf)
    assert box is not None and box["width"] <= 1062 and box["height"] <= 733, box
    assert b"/MediaBox [0 0 841.9" in pdf  # the page is A4 landscape (842 x 595 pt)


# --- what was measured, assumed facts, expected failures (issue 16), in both languages ------

WORDS = {
    "fr": {
        "simulated": "simulé",
        "real-engine": "moteur réel",
        "real-vectors": "produit réel (à la main)",
        "real_only": "implémentations réelles seulement",
        "interop_simulated": "simulée",
        "interop_measured": "mesurée",
        "note": "aucune copie des produits de 2008 n'existe",
        "assumed": "supposé",
        "expected": "attendu",
        "sends": "EASYCRYPT.net envoie",
        "plausible": "plausible en 2008",
        "digest_reason": "SHA-1 était le condensat des outils S/MIME de 2008",
    },
    "en": {
        "simulated": "simulated",
        "real-engine": "real engine",
        "real-vectors": "real product (by hand)",
        "real_only": "real implementations only",
        "interop_simulated": "simulated",
        "interop_measured": "measured",
        "note": "no copy of the 2008 products exists",
        "assumed": "assumed",
        "expected": "expected",
        "sends": "EASYCRYPT.net sends",
        "plausible": "plausible for 2008",
        "digest_reason": "SHA-1 was the digest of 2008",
    },
}
# the palette of report.css: a predicted failure is drawn as "unsupported" (neutral grey)
NEUTRAL_BG, FAIL_BG = "rgb(236, 239, 242)", "rgb(248, 212, 195)"
NEUTRAL_BORDER, FAIL_BORDER = "rgb(154, 163, 173)", "rgb(213, 94, 0)"


@pytest.fixture(params=["fr", "en"])
def rendered(browser: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The sample rendered in one language; a page with the problems it met."""
    lang: str = request.param
    render_report(sample_results(tmp_path), tmp_path, lang=lang)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
    )
    yield page, lang, tmp_path, problems
    page.close()


def _shot(page: Any, path: Path, what: str, locator: Any = None) -> None:
    (locator or page).screenshot(path=str(path), **({} if locator else {"full_page": True}))
    print(f"\n{what}: {path}")
    assert path.stat().st_size > 5_000


def test_matrix_headers_say_what_ran_and_the_real_only_filter(rendered: Any) -> None:
    p, lang, out, problems = rendered
    w = WORDS[lang]
    p.goto((out / "index.html").as_uri())
    heads = {
        h.locator(".agent-name").inner_text(): h for h in p.locator("#matrix thead th.col").all()
    }
    assert heads["EASYCRYPT.net"].locator(".tag-measure").inner_text().endswith(w["simulated"])
    assert heads["OpenSSL cms"].locator(".tag-measure").inner_text().endswith(w["real-engine"])
    docteur = heads["Docteur Net CPS"].locator(".tag-measure")
    assert docteur.inner_text().endswith(w["real-vectors"])
    assert docteur.get_attribute("title")  # the explanation on hover
    _shot(p, out / f"matrix-{lang}.png", f"matrix ({lang})", p.locator(".matrix-wrap"))

    p.get_by_label(w["real_only"]).check()
    rows = [r.locator("th .agent-name").inner_text() for r in p.locator("#matrix tbody tr").all()]
    shown = [
        r.locator("th .agent-name").inner_text()
        for r in p.locator("#matrix tbody tr").all()
        if r.is_visible()
    ]
    assert len(rows) == 5 and shown == ["Docteur Net CPS", "OpenSSL cms"]
    cols = [h for h in p.locator("#matrix thead th.col").all() if h.is_visible()]
    assert [h.locator(".agent-name").inner_text() for h in cols] == shown
    _shot(p, out / f"matrix-real-{lang}.png", f"real implementations only ({lang})")
    assert problems == []


def test_comparison_says_simulated_or_measured_and_why(rendered: Any) -> None:
    p, lang, out, problems = rendered
    w = WORDS[lang]
    p.goto((out / "comparison.html").as_uri())
    cells = p.locator("tr.crit-interoperability td").all()
    words = [c.locator(".measure-word").inner_text() for c in cells]
    # Apicrypt (the model) and EASYCRYPT.net are profiles; Docteur Net CPS ran (by hand)
    assert words == [w["interop_simulated"], w["interop_simulated"], w["interop_measured"]]
    assert w["note"] in p.locator(".simulated-note").inner_text()
    assumed = p.locator("tr.crit-minimum_configuration td .fact.assumed")
    assert assumed.count() == 1 and w["assumed"] in assumed.inner_text()
    assert assumed.get_attribute("title").endswith(w["plausible"])  # the page's language
    assert not assumed.locator(".assumed-reason").is_visible()
    _shot(p, out / f"comparison-{lang}.png", f"comparison ({lang})")
    p.emulate_media(media="print")
    assert assumed.locator(".assumed-reason").is_visible()  # paper has no hover
    assert w["plausible"] in assumed.inner_text()
    assert problems == []


def test_product_sheet_marks_assumed_facts(rendered: Any) -> None:
    p, lang, out, problems = rendered
    w = WORDS[lang]
    p.goto((out / "products" / "easycrypt-net.html").as_uri())
    summary = p.locator("dl.summary").first
    digest = summary.locator(".fact.assumed", has_text="sha1")
    assert digest.count() == 1
    assert w["assumed"] in digest.inner_text()
    assert w["digest_reason"] in digest.get_attribute("title")
    assert p.evaluate("e => getComputedStyle(e).fontStyle", digest.element_handle()) == "italic"
    sourced = summary.locator(".fact.sourced", has_text="S/MIME")
    assert sourced.count() == 1 and w["assumed"] not in sourced.inner_text()
    assert not digest.locator(".assumed-reason").is_visible()
    _shot(p, out / f"product-{lang}.png", f"product sheet ({lang})")
    p.emulate_media(media="print")
    assert digest.locator(".assumed-reason").is_visible()
    _shot(p, out / f"product-print-{lang}.png", f"product sheet in print ({lang})")
    assert problems == []


def _cell(page: Any, sender: str, receiver: str) -> Any:
    """The matrix cell of a pair, found by the names in the headers."""
    names = [h.inner_text() for h in page.locator("#matrix thead th.col .agent-name").all()]
    row = page.locator("#matrix tbody tr").filter(
        has=page.locator("th .agent-name", has_text=sender)
    )
    return row.locator("td").nth(names.index(receiver)).locator("a.cell")


def _style(page: Any, locator: Any, prop: str) -> str:
    return str(page.evaluate(f"e => getComputedStyle(e).{prop}", locator.element_handle()))


def test_an_expected_failure_is_neutral_and_a_finding_is_not(rendered: Any) -> None:
    p, lang, out, problems = rendered
    w = WORDS[lang]
    p.goto((out / "index.html").as_uri())
    # Apimail -> Docteur Net CPS: "aucune interopérabilité", as the source says
    predicted = _cell(p, "Apimail (Apicrypt)", "Docteur Net CPS")
    unclaimed = _cell(p, "Apimail (Apicrypt)", "OpenSSL cms")  # no claim: a plain finding
    assert w["expected"] in predicted.locator(".cell-head").inner_text()
    assert w["expected"] not in unclaimed.locator(".cell-head").inner_text()
    mark = predicted.locator(".mark[data-fn='sign']")
    assert "expected" in mark.get_attribute("class")
    assert _style(p, mark, "backgroundColor") == NEUTRAL_BG
    assert _style(p, unclaimed.locator(".mark[data-fn='sign']"), "backgroundColor") == FAIL_BG

    predicted.click()
    dialog = p.locator("#detail-dialog")
    assert dialog.is_visible()
    sign = dialog.locator(".fn-detail[data-fn='sign']")
    assert w["expected"] in sign.locator("h4").inner_text()
    assert _style(p, sign, "borderLeftColor") == NEUTRAL_BORDER
    what_ran = dialog.locator(".measured-by").inner_text()
    assert {"fr": "modèle", "en": "model"}[lang] in what_ran and w["real-vectors"] in what_ran
    _shot(
        p, out / f"dialog-expected-{lang}.png", f"expected failure in the dialog ({lang})", dialog
    )
    p.keyboard.press("Escape")

    unclaimed.click()
    sign = dialog.locator(".fn-detail[data-fn='sign']")
    assert w["expected"] not in sign.locator("h4").inner_text()
    assert _style(p, sign, "borderLeftColor") == FAIL_BORDER
    p.keyboard.press("Escape")

    # the dialog recalls what the sender sends, assumed values marked
    _cell(p, "EASYCRYPT.net", "Docteur Net CPS").click()
    facts = dialog.locator(".measured-by")
    assert w["sends"] in facts.inner_text()
    digest = facts.locator(".fact.assumed", has_text="sha1")
    assert digest.count() == 1 and w["assumed"] in digest.inner_text()
    _shot(p, out / f"dialog-assumed-{lang}.png", f"assumed facts in the dialog ({lang})", dialog)
    assert problems == []


# --- the page « Choisir pour mon cabinet » (osm-conformance choose, issue 23) ---------------


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_choose_page_loads_and_prints_on_one_a4_page(
    browser: Any, tmp_path: Path, lang: str
) -> None:
    """The worked example of docs/choose.md, end to end: its own sub-matrix, the page, the
    browser, and the print view: one A4 portrait page."""
    from conformance.cli import main
    from conformance.paths import REPO_DIR

    practice = REPO_DIR / "examples" / "practice" / "hellodoc.yaml"
    args = ["choose", str(practice), "--examples", "1", "-q", "--out", str(tmp_path), "--lang"]
    assert main([*args, lang]) == 0
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on(
        "request",
        lambda r: problems.append(f"request: {r.url}") if not r.url.startswith("file://") else None,
    )
    page.goto((tmp_path / "choose.html").as_uri())
    title = {"fr": "Choisir pour mon cabinet", "en": "Choosing for my practice"}[lang]
    assert page.locator("h1").inner_text() == title
    rows = page.locator("table.ranking tbody tr")
    assert rows.count() == 11
    order = [r.get_attribute("data-tool") for r in rows.all()]
    assert order[:2] == ["apimail-apicrypt", "easycrypt-net"]  # the source's answer for HelloDoc
    classes = [r.get_attribute("class") for r in rows.all()]
    assert "excluded" in classes  # S.M.M. needs 512 MB, the workstation has 256
    assert classes.index("excluded") > classes.index("kept")
    assert all(c == "excluded" for c in classes[classes.index("excluded") :])
    smm = page.locator("tr[data-tool=smm]")
    assert "512" in smm.inner_text() and smm.locator(".effect-excludes").count() >= 1
    assert page.locator("ol.notes li").count() >= 5
    _shot(page, tmp_path / f"choose-{lang}.png", f"the page « Choisir pour mon cabinet » ({lang})")
    page.emulate_media(media="print")
    _shot(page, tmp_path / f"choose-{lang}-print.png", f"its print view ({lang})")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    page.close()
    (tmp_path / f"choose-{lang}.pdf").write_bytes(pdf)
    assert re.search(rb"/MediaBox \[0 0 59[45]\.9\d* 841\.9", pdf)  # A4 portrait
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1, "more than one A4 page"
    assert problems == []
