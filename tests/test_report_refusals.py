"""The "Refus" page and the marks of a receiver that accepted a hostile message."""

from __future__ import annotations

from html import unescape as html_unescape
from pathlib import Path

from test_report import Elements
from test_report_sample import sample_results

from conformance.report import render_report
from conformance.report.i18n import Translator
from conformance.report.refusals import RefusalModel
from conformance.results import (
    RejectionCaseInfo,
    RejectionCaseResult,
    RejectionCell,
    Rejections,
    RejectionVerdict,
    Results,
    rejection_summaries,
)

CLASSES = ["altered", "from-mismatch", "not-for-me"]
MARK = 'class="tag tag-accepts"'  # the mark itself, not the style sheet's rule
HOSTILE_HTML = "<b>forged</b>"


def _info(case: str, cls: str, function: str) -> RejectionCaseInfo:
    return RejectionCaseInfo(
        id=case,
        cls=cls,
        function=function,
        title={"fr": f"Titre {case}", "en": f"Title {case}"},
        explanation={"fr": f"Phrase {case}.", "en": f"Sentence {case}."},
        spec="RFC 8551 §3.5",
        expected="refuse",
    )


def with_rejections(root: Path) -> Results:
    """The sample run plus a rejection matrix: openssl accepts a From: mismatch
    (with its hostile message as evidence), reference refuses everything,
    easycrypt-net does not do one class and broke on another."""
    results = sample_results(root)
    evidence = root / "evidence" / "rejections" / "openssl" / "from-mismatch"
    evidence.mkdir(parents=True)
    (evidence / "from-other.reference.hostile.eml").write_bytes(b"From: x@test.invalid\r\n\r\nx")
    cells = []
    for receiver in ("reference", "openssl", "easycrypt-net"):
        for cls in CLASSES:
            verdict: RejectionVerdict = "refuses"
            result = RejectionCaseResult(
                case=f"{cls}-one",
                producer="reference",
                outcome="refuses",
                expected="refuse",
                reason="bad-signature: digest mismatch",
                examples=4,
            )
            if (receiver, cls) == ("openssl", "from-mismatch"):
                verdict = "accepts"
                result.outcome = "accepts"
                result.claimed = ["authentication"]
                result.reason = f"delivered, services: authentication {HOSTILE_HTML}"
                result.variant = "From: replaced by another professional's address"
                result.seed = 1234
                result.evidence = [
                    "evidence/rejections/openssl/from-mismatch/from-other.reference.hostile.eml"
                ]
            elif (receiver, cls) == ("easycrypt-net", "not-for-me"):
                verdict = result.outcome = "not-applicable"
            elif (receiver, cls) == ("easycrypt-net", "altered"):
                verdict = result.outcome = "error"
            reason = result.reason if verdict != "refuses" else None
            cells.append(
                RejectionCell(
                    receiver=receiver, cls=cls, verdict=verdict, reason=reason, cases=[result]
                )
            )
    results.rejections = Rejections(
        policy="osm-2008",
        duration_s=12.5,
        classes=CLASSES,
        cases=[_info(f"{c}-one", c, "sign") for c in CLASSES],
        cells=cells,
        receivers=rejection_summaries(cells),
    )
    return results


def test_rejections_survive_results_json(tmp_path: Path) -> None:
    results = with_rejections(tmp_path)
    results.dump(tmp_path / "results.json")
    text = (tmp_path / "results.json").read_text(encoding="utf-8")
    assert '"class": "from-mismatch"' in text and '"cls"' not in text
    assert Results.model_validate_json(text) == results
    assert results.rejections is not None
    summary = {s.receiver: s for s in results.rejections.receivers}
    assert (summary["openssl"].accepts, summary["openssl"].refuses) == (1, 2)
    assert summary["openssl"].accepted_classes == ["from-mismatch"]
    assert (summary["easycrypt-net"].error, summary["easycrypt-net"].not_applicable) == (1, 1)
    assert results.rejections.accepting() == {"openssl"}


def test_refusals_page(tmp_path: Path) -> None:
    results = with_rejections(tmp_path)
    render_report(results, tmp_path)
    html = (tmp_path / "refusals.html").read_text(encoding="utf-8")
    page = Elements(html)
    assert page.find("table", id="refusals")
    assert [h["data-class"] for h in page.find("th", cls="rcls")] == CLASSES
    rows = [r["data-receiver"] for r in page.find("tr") if "data-receiver" in r]
    assert sorted(rows) == ["easycrypt-net", "openssl", "reference"]
    verdicts = [a["data-verdict"] for a in page.find("a", cls="refusal")]
    assert verdicts.count("accepts") == 1 and verdicts.count("refuses") == 6
    assert verdicts.count("error") == 1 and verdicts.count("not-applicable") == 1
    # Click-through: each cell links to its detail, which holds the case explained,
    # what the receiver said and the hostile message.
    accepted = next(a for a in page.find("a", cls="refusal") if a["data-verdict"] == "accepts")
    anchor = accepted["href"].lstrip("#")
    assert page.find("section", id=anchor)
    detail = html[html.index(f'id="{anchor}"') :]
    detail = detail[: detail.index("</section>")]
    assert "Phrase from-mismatch-one." in detail and "RFC 8551 §3.5" in detail
    assert 'href="evidence/rejections/openssl/from-mismatch/from-other.reference.hostile.eml"' in (
        detail
    )
    assert "&lt;b&gt;forged&lt;/b&gt;" in detail and HOSTILE_HTML not in html
    assert "1234" in detail and "authentification" in detail
    assert "Refus des messages hostiles" in html and "osm-2008" in html


def test_index_links_the_page_and_marks_the_accepting_receiver(tmp_path: Path) -> None:
    results = with_rejections(tmp_path)
    render_report(results, tmp_path)
    index = Elements((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert index.find("a", href="refusals.html")
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    headers = html[html.index("<thead>") : html.index("</thead>")]
    marked = [part for part in headers.split("<th ")[1:] if MARK in part]
    assert len(marked) == 1 and "products/openssl.html" in marked[0]
    sheet = (tmp_path / "products" / "openssl.html").read_text(encoding="utf-8")
    assert MARK in sheet and 'href="../refusals.html#' in sheet
    clean = (tmp_path / "products" / "reference.html").read_text(encoding="utf-8")
    assert MARK not in clean
    # the reference agent is the suite's own, not a product (test_report_refusals_labels)
    assert "L'agent de référence de la suite (pas un produit) refuse" in html_unescape(clean)


def test_english_and_a_run_without_rejections(tmp_path: Path) -> None:
    results = with_rejections(tmp_path)
    render_report(results, tmp_path / "en", lang="en")
    html = (tmp_path / "en" / "refusals.html").read_text(encoding="utf-8")
    assert "Refusal of hostile messages" in html and "Sentence altered-one." in html
    assert "accepts hostile messages" in html
    bare = sample_results(tmp_path / "bare")
    render_report(bare, tmp_path / "bare")
    page = (tmp_path / "bare" / "refusals.html").read_text(encoding="utf-8")
    assert "--no-rejections" in page and MARK not in page
    index = (tmp_path / "bare" / "index.html").read_text(encoding="utf-8")
    assert MARK not in index


def test_the_model_orders_receivers_as_the_report_does(tmp_path: Path) -> None:
    results = with_rejections(tmp_path)
    names = {"openssl": ("OpenSSL", "products/openssl.html"), "reference": ("Ref", "p.html")}
    model = RefusalModel(results.rejections, Translator("en"), names)
    # Known agents in the report's order first, then the others.
    assert [r.receiver for r in model.rows] == ["openssl", "reference", "easycrypt-net"]
    assert model.rows[2].name == "easycrypt-net" and model.rows[2].page is None
    assert model.accepting() == {"openssl"}
    cells = [c for r in model.rows for c in r.cells if c.cell is not None]
    counts = {h.verdict: h.n for h in model.head_counts(cells) if h.word is None}
    assert counts == {"refuses": 6, "accepts": 1, "not-applicable": 1, "error": 1}
    assert RefusalModel(None, Translator("fr"), names).rows == []
