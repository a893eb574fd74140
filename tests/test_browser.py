"""The report in a real browser: Debian's headless chromium driven by Playwright.

Never downloads a browser: Playwright launches /usr/bin/chromium. Skipped, with
the reason, when chromium or the playwright package is missing.
"""

from __future__ import annotations

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
