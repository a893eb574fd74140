"""The refusals page and the product sheets say what was measured: a simulated receiver's
refusals are its profile's prediction, a real engine's interoperability is measured, a
false accept reads in the page's language, a case passed by delivering says so, and a
searched case's evidence tells the basic variant from the kept one."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from test_report import Elements
from test_report_onelang import _problems
from test_report_sample import sample_results

from conformance.report import render_report
from conformance.results import (
    RejectionCaseInfo,
    RejectionCaseResult,
    RejectionCell,
    Rejections,
    RejectionVerdict,
    Results,
    rejection_summaries,
)

CLASSES = ["from-mismatch", "defective-signer", "not-for-me"]
ACCEPTED = (
    "false accept (refuse under osm-2008): claimed authentication, non_repudiation; "
    "delivered, services: authentication, integrity, non_repudiation"
)
TOLERATED = "tolerated (warn under osm-2008): delivered, services: authentication, integrity"
WITHHELD = "withhold:non_repudiation under osm-2008: delivered, services: authentication"
STRIPPED = "refuse under osm-2008: delivered, services: integrity"
REFUSED = "refuse under osm-2008: bad-signature: part 2: signer 1: digest mismatch"
EVIDENCE = "evidence/rejections/openssl/not-for-me"


def _case(case: str, outcome: RejectionVerdict, expected: str, reason: str) -> RejectionCaseResult:
    claimed = ["authentication", "non_repudiation"] if outcome == "accepts" else []
    return RejectionCaseResult(
        case=case,
        producer="reference",
        outcome=outcome,
        expected=expected,
        claimed=claimed,
        reason=reason,
        examples=2,
    )


def _cell(receiver: str, cls: str, cases: list[RejectionCaseResult]) -> RejectionCell:
    outcomes = [c.outcome for c in cases]
    verdict: RejectionVerdict = (
        "accepts"
        if "accepts" in outcomes
        else "not-applicable"
        if all(o == "not-applicable" for o in outcomes)
        else "refuses"
    )
    reason = next((c.reason for c in cases if c.outcome == "accepts"), None)
    return RejectionCell(receiver=receiver, cls=cls, verdict=verdict, reason=reason, cases=cases)


def with_labelled_rejections(root: Path) -> Results:
    """The sample run (reference: the suite's; openssl: a real engine; easycrypt-net: a
    simulated product; docteur-net-cps: real vectors; apimail-apicrypt: the model) with a
    rejection matrix as the judge words it: openssl accepts a From: mismatch and, after a
    search, a truncated key (basic and kept evidence); every case passed by delivering."""
    results = sample_results(root)
    folder = root / EVIDENCE
    folder.mkdir(parents=True)
    basic = [f"{EVIDENCE}/truncated.reference.{s}" for s in ("hostile.eml", "status.json")]
    kept = [f"{EVIDENCE}/truncated.reference.shrunk.{s}" for s in ("hostile.eml", "status.json")]
    for path in basic + kept:
        (root / path).write_text("x", encoding="utf-8")
    passing = [
        _case("defective-sha1", "refuses", "warn", TOLERATED),
        _case("defective-no-nr", "refuses", "withhold:non_repudiation", WITHHELD),
        _case("stripped", "refuses", "refuse", STRIPPED),
        _case("refused", "refuses", "refuse", REFUSED),
    ]
    cells = []
    for receiver in ("reference", "openssl", "easycrypt-net", "docteur-net-cps"):
        for cls in CLASSES:
            cases = [c.model_copy() for c in passing]
            if receiver == "openssl" and cls == "from-mismatch":
                cases = [_case("from-mismatch-header", "accepts", "refuse", ACCEPTED)]
            elif receiver == "openssl" and cls == "not-for-me":
                found = _case("truncated", "accepts", "refuse", ACCEPTED)
                found.claimed, found.seed, found.evidence = ["confidentiality"], 42, basic + kept
                cases = [found]
            cells.append(_cell(receiver, cls, cases))
    for cls in CLASSES:
        said = "the receiver does not read the valid message: unsupported-format: no S/MIME"
        cells.append(_cell("apimail-apicrypt", cls, [_case("x", "not-applicable", "refuse", said)]))
    infos = [
        RejectionCaseInfo(
            id="from-mismatch-header",
            cls="from-mismatch",
            function="sign",
            title={"fr": "Champ From réécrit", "en": "From field rewritten"},
            expected="refuse",
        ),
        RejectionCaseInfo(
            id="truncated",
            cls="not-for-me",
            function="encrypt",
            title={"fr": "Clé chiffrée tronquée", "en": "Truncated encrypted key"},
            expected="refuse",
        ),
    ]
    results.rejections = Rejections(
        policy="osm-2008",
        classes=CLASSES,
        cases=infos,
        cells=cells,
        receivers=rejection_summaries(cells),
    )
    return results


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def _between(html: str, start: str, end: str) -> str:
    i = html.index(start)
    return html[i : html.index(end, i)]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run rendered once in each language, under `fr/` and `en/`."""
    run = tmp_path_factory.mktemp("labels")
    results = with_labelled_rejections(run)
    for lang in ("fr", "en"):
        render_report(results, run / lang, lang=lang, run_dir=run)
    return run


def _page(root: Path, name: str, lang: str = "fr") -> str:
    return (root / lang / name).read_text(encoding="utf-8")


def test_each_row_carries_what_was_measured(root: Path) -> None:
    html = _page(root, "refusals.html")
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r'data-receiver="([^"]+)">\s*(<th .*?</th>)', html, re.S)
    }
    assert 'class="tag tag-measure m-real-engine"' in rows["openssl"]
    assert 'class="tag tag-measure m-simulated"' in rows["easycrypt-net"]
    assert 'class="tag tag-measure m-suite-reference"' in rows["reference"]
    assert "≈ simulé" in rows["easycrypt-net"]


def test_the_headline_splits_real_from_simulated_receivers(root: Path) -> None:
    html = _page(root, "refusals.html")
    headline = _between(html, '<ul class="counts-by-measure">', "</table>")
    page = Elements(headline)
    groups = [li["data-measurement"] for li in page.find("li") if "data-measurement" in li]
    # real receivers first, then the suite's reference, the profiles' predictions last
    assert groups == ["real-vectors", "real-engine", "suite-reference", "simulated", "model"]
    lines = {g: _text(_between(headline, f'data-measurement="{g}"', "</ul></li>")) for g in groups}
    assert "refuse 3" in lines["real-vectors"] and "mesuré" in lines["real-vectors"]
    assert "accepte 2" in lines["real-engine"] and "refuse 1" in lines["real-engine"]
    assert "prédiction de leurs profils" in lines["simulated"] and "refuse 3" in lines["simulated"]
    assert "pas un produit" in lines["suite-reference"]
    assert "sans objet 3" in lines["model"]


def test_the_sheets_none_line_says_what_was_measured(root: Path) -> None:
    def none_line(agent: str) -> str:
        sheet = _page(root, f"products/{agent}.html")
        return _text(_between(sheet, 'class="muted refusal-none"', "</p>"))

    # it delivered some cases (tolerated, or without the broken service) in every class:
    # it accepts none, but does not refuse them all
    assert none_line("docteur-net-cps").endswith(
        "Ce produit n'accepte aucun des messages hostiles essayés."
    )
    simulated = none_line("easycrypt-net")
    assert "Son profil prédit qu'il n'accepte aucun" in simulated and "simulé" in simulated
    assert "référence de la suite (pas un produit)" in none_line("reference")
    assert "Aucun message hostile n'a pu lui être essayé" in none_line("apimail-apicrypt")


def test_a_real_engines_interoperability_is_measured_not_simulated(root: Path) -> None:
    def interop(agent: str, lang: str = "fr") -> str:
        sheet = _page(root, f"products/{agent}.html", lang)
        facts = _between(sheet, 'class="kv product-facts"', "</dl>")
        return facts[facts.index("prod") :]  # from the measurement on

    engine = _text(interop("openssl"))
    assert "mesurée" in engine and "simulée" not in engine
    # its peers are one simulated profile and one real product: said
    assert "face aux profils simulés de 1 produit(s) et à 1 produit(s) réel(s)" in engine
    assert 'class="measure-word real"' in interop("openssl")
    assert "référence de la suite" in _text(interop("reference"))
    assert "simulée" in _text(interop("easycrypt-net"))
    assert "measured" in _text(interop("openssl", "en"))
    # the criteria table's interoperability reads the same
    sheet = _page(root, "products/openssl.html")
    criteria = sheet[sheet.index("Critères du tableau comparatif") :]
    assert 'class="measure-word real"' in criteria and "simulée" not in _text(criteria)


def test_a_false_accept_on_the_sheet_reads_in_the_pages_language(root: Path) -> None:
    fr = _text(_between(_page(root, "products/openssl.html"), "refusal-findings", "</ul>"))
    assert "Champ From réécrit" in fr and "from-mismatch-header" in fr
    assert "prétend à tort : authentification, non-répudiation" in fr
    assert "délivré, services : authentification, intégrité, non-répudiation" in fr
    for english in ("false accept", "claimed", "delivered", "osm-2008"):
        assert english not in fr
    en = _text(_between(_page(root, "products/openssl.html", "en"), "refusal-findings", "</ul>"))
    assert "From field rewritten" in en and "wrongly claims: authentication" in en
    # the lines pass the one-language check of test_report_onelang (alone: the sample's
    # synthetic profiles have raw field keys of their own)
    for lang in ("fr", "en"):
        alone = root / "alone" / lang
        alone.mkdir(parents=True)
        sheet = _page(root, "products/openssl.html", lang)
        (alone / "findings.html").write_text(
            _between(sheet, '<ul class="refusal-findings', "</ul>")
        )
        assert _problems(alone, lang) == []


def test_a_case_passed_by_delivering_says_so(root: Path) -> None:
    html = _page(root, "refusals.html")
    detail = html[html.index('class="details"') :]
    badges = {
        m.group(1): m.group(2)
        for m in re.finditer(
            r'data-case="([^"]+)">\s*<h4>.*?<span class="verdict v-pass r-refuses">'
            r'<span class="sym" aria-hidden="true">✓</span> ([^<]+)</span>',
            detail,
            re.S,
        )
    }
    assert badges["defective-sha1"] == "toléré (politique)"
    assert badges["defective-no-nr"] == "délivré sans non-répudiation"
    assert badges["stripped"] == "délivré sans le service cassé"
    assert badges["refused"] == "refuse"  # refused: the usual word
    legend = _text(_between(html, 'id="legend-title"', "</section>"))
    assert "toléré (politique)" in legend and "délivré sans le service cassé" in legend
    assert "tolérés par la politique" in legend
    en = _page(root, "refusals.html", "en")
    assert "✓</span> tolerated (policy)</span>" in en


def test_a_searched_case_labels_its_two_sets_of_evidence(root: Path) -> None:
    html = _page(root, "refusals.html")
    case = _between(html, 'data-case="truncated"', "</dl>")
    basic = _between(case, "Preuves de la variante de base", "</dd>")
    kept = _between(case, "Preuves de la variante retenue par la recherche", "</dd>")
    assert "truncated.reference.hostile.eml" in basic and ".shrunk." not in basic
    assert "truncated.reference.shrunk.hostile.eml" in kept
    assert kept.count("<li>") == 2 and basic.count("<li>") == 2
    # a case without a kept variant keeps the one "Evidence" label
    assert "variante de base" not in _between(html, 'data-case="refused"', "</dl>")
