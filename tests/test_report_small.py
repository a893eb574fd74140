"""Four small things the pages say: a headline counts the cells as their marks read (a cell
that refused nothing apart, the intermittent acceptances among the accepts) and the
product sheet counts the same; the suite's engine string has one format; a French page
writes its decimals with a comma; an English reason quoting French marks it as French."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
import yaml
from test_report_refusals_labels import ACCEPTED, REFUSED, STRIPPED, TOLERATED, WITHHELD, _cell
from test_report_sample import sample_results

from conformance import __version__
from conformance import results as results_module
from conformance.agents.profiled import ProfileAgent
from conformance.matrix.assemble import agent_info
from conformance.paths import PROFILES_DIR
from conformance.profiles import load_profile
from conformance.report import render_report
from conformance.report.i18n import Translator
from conformance.report.views import ReportModel
from conformance.results import (
    Cell,
    RejectionCaseResult,
    RejectionCell,
    Rejections,
    RejectionVerdict,
    RestsOn,
    Results,
    RunInfo,
    rejection_summaries,
)

CLASSES = ["altered", "partial-signature", "stripped-signature", "weak", "not-for-me"]


def _case(case: str, outcome: RejectionVerdict, expected: str, reason: str) -> RejectionCaseResult:
    return RejectionCaseResult(
        case=case, producer="reference", outcome=outcome, expected=expected, reason=reason
    )


def _row(receiver: str, intermittent: bool) -> list[RejectionCell]:
    """One refused class, two passed by delivering (without the broken service), one
    tolerated by the policy, and one accepted (intermittently when asked)."""
    accepted = _case("truncated", "accepts", "refuse", ACCEPTED)
    accepted.repeated = not intermittent
    cases = {
        "altered": [_case("altered-body", "refuses", "refuse", REFUSED)],
        "partial-signature": [
            _case("no-nr", "refuses", "withhold:non_repudiation", WITHHELD),
            _case("stripped-part", "refuses", "refuse", STRIPPED),
        ],
        "stripped-signature": [_case("stripped", "refuses", "refuse", STRIPPED)],
        "weak": [_case("sha1", "refuses", "warn", TOLERATED)],
        "not-for-me": [accepted],
    }
    return [_cell(receiver, cls, cases[cls]) for cls in CLASSES]


def with_passed_rejections(root: Path) -> Results:
    """The sample run, its real engine (openssl) and its real product (docteur-net-cps)
    with the five classes of `_row`: openssl's acceptance intermittent, the other's not."""
    results = sample_results(root)
    cells = _row("openssl", intermittent=True) + _row("docteur-net-cps", intermittent=False)
    clean = [c for c in _row("reference", False) if c.cls != "not-for-me"]
    cells += clean
    results.rejections = Rejections(
        policy="osm-2008",
        classes=CLASSES,
        cells=cells,
        receivers=rejection_summaries(cells),
        duration_s=177.34,
    )
    return results


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run rendered once in each language, under `fr/` and `en/`."""
    run = tmp_path_factory.mktemp("small")
    results = with_passed_rejections(run)
    for lang in ("fr", "en"):
        render_report(results, run / lang, lang=lang, run_dir=run)
    return run


def _page(root: Path, name: str, lang: str = "fr") -> str:
    return (root / lang / name).read_text(encoding="utf-8")


def _text(html: str) -> str:
    """What a reader sees, a space where a tag was (the counts are items of a list)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _between(html: str, start: str, end: str) -> str:
    i = html.index(start)
    return html[i : html.index(end, i)]


def _inside(html: str, start: str, end: str) -> str:
    """What follows the tag that `start` opens, up to `end`."""
    i = html.index(">", html.index(start)) + 1
    return html[i : html.index(end, i)]


def _headline(root: Path, measurement: str, lang: str = "fr") -> str:
    html = _page(root, "refusals.html", lang)
    return _text(_between(html, f'data-measurement="{measurement}"', "</ul></li>"))


def test_the_headline_counts_cells_as_their_marks_read(root: Path) -> None:
    # openssl's row: one class refused, two delivered without the broken service, one
    # tolerated by the policy, one accepted but not again on replay
    assert _headline(root, "real-engine").endswith(
        "✓ refuse 1 ✓ délivré sans le service cassé 2 ✓ toléré (politique) 1 "
        "✗ accepte 1 (dont 1 intermittente(s))"
    )
    assert _headline(root, "real-vectors").endswith(
        "✓ refuse 1 ✓ délivré sans le service cassé 2 ✓ toléré (politique) 1 ✗ accepte 1"
    )
    assert _headline(root, "real-engine", "en").endswith(
        "✓ refuses 1 ✓ delivered without the broken service 2 ✓ tolerated (policy) 1 "
        "✗ accepts 1 (1 intermittent)"
    )


def test_the_sheet_counts_its_row_as_the_headline_does(root: Path) -> None:
    sheet = _page(root, "products/docteur-net-cps.html")
    counts = _text(_inside(sheet, 'class="refusal-counts"', "</div>"))
    assert counts == (
        "✓ refuse 1 ✓ délivré sans le service cassé 2 ✓ toléré (politique) 1 ✗ accepte 1"
    )
    openssl = _page(root, "products/openssl.html", "en")
    assert _text(_inside(openssl, 'class="refusal-counts"', "</div>")).endswith(
        "✗ accepts 1 (1 intermittent)"
    )
    # a receiver that accepted nothing but did not refuse everything: never "refuses every"
    reference = _page(root, "products/reference.html")
    none = _text(_inside(reference, 'class="muted refusal-none"', "</p>"))
    assert none == "L'agent de référence de la suite (pas un produit) n'accepte aucun des " + (
        "messages hostiles essayés."
    )
    assert "refuse tous" not in _text(_between(reference, 'id="refusals"', "</section>"))


def test_the_suite_engine_string_has_one_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = ProfileAgent(load_profile("smm"))
    assert agent.version() == f"osm-conformance {__version__} engine, profile smm"  # as before
    results = sample_results(tmp_path)
    results.run.suite_version = __version__

    def shown(lang: str) -> dict[str, str]:
        results.run.engines = {"smm": agent.version(), "openssl": "3.0.13"}
        return dict(ReportModel(results, Translator(lang)).engine_versions())

    french = f"moteur d'osm-conformance {__version__}, profil smm"
    assert shown("fr") == {"smm": french, "openssl": "3.0.13"}
    assert shown("en")["smm"] == agent.version()
    # the agent writes it and the page recognises it from one format: change it, both follow
    monkeypatch.setattr(results_module, "SUITE_ENGINE_VERSION", "{profile} on suite {version}")
    assert agent.version() == f"smm on suite {__version__}"
    assert shown("fr")["smm"] == french


def test_a_french_page_writes_its_decimals_with_a_comma(root: Path) -> None:
    fr, en = _page(root, "refusals.html"), _page(root, "refusals.html", "en")
    assert _text(_inside(fr, 'class="kv refusal-run"', "</dl>")).endswith("Durée des refus 177,3 s")
    assert "Refusal run time 177.3 s" in _text(_inside(en, 'class="kv refusal-run"', "</dl>"))
    # the run's duration, in every page's footer
    for page in ("index.html", "products/openssl.html"):
        assert "Durée 72,4 s" in _text(_inside(_page(root, page), 'class="run-details"', "</dl>"))
        assert "72.4" not in _page(root, page)
    assert "Duration 72.4 s" in _text(_inside(en, 'class="run-details"', "</dl>"))


CPS3 = "Caractéristiques de la CPS3"


def test_an_english_reason_marks_the_french_it_quotes(tmp_path: Path) -> None:
    """apimail-smime's accepted key transports are assumed (profiles/osm-2008-base.yaml): the
    English reason quotes the ANS page's French title, marked French in the body; the title
    attribute, where no markup is possible, keeps it as written."""
    agents = [agent_info(load_profile(p), {}) for p in ("apimail-smime", "reference")]
    assumed = RestsOn(kind="profile", agent="apimail-smime", fact="accepts.smime.key_transports")
    cell = Cell(
        sender="reference",
        receiver="apimail-smime",
        function="encrypt",
        verdict="fail",
        failed_at="receiver",
        sent={"key_transport": ["rsa-oaep-sha256"]},
        reason="unsupported-algorithm: x",
        rests_on=[assumed],
    )
    run = RunInfo(seed=1, examples=1, started="2026", complete=True, suite_version="t")
    results = Results(run=run, agents=agents, cells=[cell], pairs=[])
    for lang in ("en", "fr"):
        render_report(results, tmp_path / lang, lang=lang)
    sheet = (tmp_path / "en" / "products" / "apimail-smime.html").read_text("utf-8")
    body = re.sub(r'\s(title|aria-label)="[^"]*"', "", sheet)
    # the sheet's accepted key transports, and the failure resting on them
    assert body.count(f'<q lang="fr">{CPS3}</q>') == 2
    assert '<q lang="fr">nouvelles fonctions cryptographiques</q>' in body
    assert f"&#34;{CPS3}&#34;" not in body and f'"{CPS3}"' not in body
    titles = re.findall(r'title="([^"]*Caract[^"]*)"', sheet)
    assert titles and all(f"&#34;{CPS3}&#34;" in t and "<q" not in t for t in titles)
    # a French page's reason is French: its « » quotes are the page's own words
    french = (tmp_path / "fr" / "products" / "apimail-smime.html").read_text("utf-8")
    assert f"« {CPS3} »" in french and f'<q lang="fr">{CPS3}' not in french


def test_the_profiles_english_reasons_quote_only_french() -> None:
    """The convention `reason_html` reads: a span an English `reason` quotes is the source's
    French. An English quotation there would be marked French: word it another way."""

    def reasons(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [v for k, v in node.items() if k == "reason" and isinstance(v, str)]
            return found + [r for v in node.values() for r in reasons(v)]
        if isinstance(node, list):
            return [r for v in node for r in reasons(v)]
        return []

    english = {"the", "does", "with", "not", "of", "and", "is", "to", "by"}
    quoted = [
        q
        for path in sorted(PROFILES_DIR.glob("*.yaml"))
        for r in reasons(yaml.safe_load(path.read_text("utf-8")))
        for q in re.findall(r'"([^"]+)"', r)
    ]
    assert CPS3 in quoted
    assert [q for q in quoted if set(re.findall(r"[a-z]+", q.lower())) & english] == []
