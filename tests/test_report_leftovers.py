"""What today's page fixes left: a refusing cell none of whose cases was refused says how
they passed; the criteria table's interoperability is worded as the sheet's line; an
intermittent acceptance says so on the refusals page, the sheet and the run's summary; a
mark resting on an assumption has a CSS hook; the answer of a function not sent is the
sender's; the replay note and the "delivered" answer each have one reader."""

from __future__ import annotations

import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from test_report_refusals_labels import (
    ACCEPTED,
    REFUSED,
    STRIPPED,
    TOLERATED,
    WITHHELD,
    with_labelled_rejections,
)
from test_report_refusals_labels import _case as case

from conformance.matrix.finish import rejection_summary
from conformance.report import render_report
from conformance.report.fragments import filters
from conformance.report.i18n import Translator
from conformance.report.views import AssumedView, FunctionView, ReportModel
from conformance.results import (
    AgentInfo,
    Cell,
    RejectionCaseResult,
    RejectionCell,
    Rejections,
    RejectionVerdict,
    Results,
    RunInfo,
)

CSS = Path(__file__).parent.parent / "conformance" / "report" / "static" / "report.css"


def _cell(
    receiver: str, cls: str, verdict: RejectionVerdict, cases: list[RejectionCaseResult]
) -> RejectionCell:
    reason = next((c.reason for c in cases if c.outcome == "accepts"), None)
    return RejectionCell(receiver=receiver, cls=cls, verdict=verdict, reason=reason, cases=cases)


def _intermittent() -> RejectionCell:
    """openssl accepted a truncated key once, not when the same message was replayed."""
    found = case("truncated", "accepts", "refuse", ACCEPTED)
    found.repeated = False
    return _cell("openssl", "not-for-me", "accepts", [found])


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The labelled run of test_report_refusals_labels, with: docteur-net-cps passing
    from-mismatch by delivering without the broken service only, and defective-signer by
    delivering only (tolerated and withheld); openssl's not-for-me acceptance intermittent
    (its from-mismatch one repeated)."""
    run = tmp_path_factory.mktemp("leftovers")
    results = with_labelled_rejections(run)
    assert results.rejections is not None
    changed = {
        ("docteur-net-cps", "from-mismatch"): _cell(
            "docteur-net-cps",
            "from-mismatch",
            "refuses",
            [case("s", "refuses", "refuse", STRIPPED)],
        ),
        ("docteur-net-cps", "defective-signer"): _cell(
            "docteur-net-cps",
            "defective-signer",
            "refuses",
            [
                case("defective-sha1", "refuses", "warn", TOLERATED),
                case("defective-no-nr", "refuses", "withhold:non_repudiation", WITHHELD),
            ],
        ),
        ("openssl", "not-for-me"): _intermittent(),
    }
    for c in results.rejections.cells:
        if c.receiver == "openssl" and c.cls == "from-mismatch":
            c.cases[0].repeated = True
    results.rejections.cells = [
        changed.get((c.receiver, c.cls), c) for c in results.rejections.cells
    ]
    for lang in ("fr", "en"):
        render_report(results, run / lang, lang=lang, run_dir=run)
    return run


def _page(root: Path, name: str, lang: str = "fr") -> str:
    return (root / lang / name).read_text(encoding="utf-8")


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def _marks(html: str) -> dict[tuple[str, str], str]:
    """(receiver, class) -> the refusals matrix's cell mark, as text."""
    table = html[html.index('id="refusals"') : html.index("</table>")]
    classes = re.findall(r'data-class="([^"]+)"', table)
    marks = {}
    for row in re.finditer(r'data-receiver="([^"]+)">(.*?)</tr>', table, re.S):
        cells = re.findall(r'<td class="cell-td">(.*?)</td>', row.group(2), re.S)
        for cls, cell in zip(classes, cells, strict=True):
            marks[(row.group(1), cls)] = _text(cell)
    return marks


def test_a_refusing_cell_with_no_case_refused_says_how_its_cases_passed(root: Path) -> None:
    marks = _marks(_page(root, "refusals.html"))
    assert marks[("docteur-net-cps", "from-mismatch")] == "✓ délivré sans le service cassé"
    # tolerated and withheld: the weakest of the two
    assert marks[("docteur-net-cps", "defective-signer")] == "✓ toléré (politique)"
    # one case was refused: the usual word
    assert marks[("docteur-net-cps", "not-for-me")] == "✓ refuse"
    assert marks[("openssl", "defective-signer")] == "✓ refuse"
    en = _marks(_page(root, "refusals.html", "en"))
    assert en[("docteur-net-cps", "from-mismatch")] == "✓ delivered without the broken service"
    # the cell's detail heading and the sheet's row read the same
    html = _page(root, "refusals.html")
    row = html[html.index('data-receiver="docteur-net-cps"') :]
    anchor = re.search(r'href="#(r-\d+-\d+)"', row)
    assert anchor is not None
    heading = re.search(rf'id="{anchor.group(1)}">\s*<h3>(.*?)</h3>', html)
    assert heading is not None and "délivré sans le service cassé" in _text(heading.group(1))
    sheet = _page(root, "products/docteur-net-cps.html")
    start = sheet.index('class="refusals-row"')
    row = sheet[start : sheet.index("</table>", start)]
    assert [_text(td) for td in re.findall(r"<td>(.*?)</td>", row)] == [
        "✓ délivré sans le service cassé",
        "✓ toléré (politique)",
        "✓ refuse",
    ]


def test_the_criteria_interoperability_is_worded_as_the_sheets_line(root: Path) -> None:
    def criterion(agent: str) -> str:
        sheet = _page(root, f"products/{agent}.html")
        criteria = sheet[sheet.index("Critères du tableau comparatif") :]
        found = re.search(r'<span class="measure-word ([a-z]+)" title="([^"]*)">([^<]*)<', criteria)
        assert found is not None
        return " | ".join(unescape(g) for g in found.groups())

    assert criterion("reference") == (
        "reference | l'agent de référence de la suite, pas un produit : cette "
        "interopérabilité est celle de la suite elle-même | référence de la suite"
    )
    assert criterion("openssl") == (
        "real | mesurée : ce vrai moteur a tourné ici, à chaque échange | mesurée"
    )
    assert criterion("easycrypt-net").startswith("simulated | simulée : aucune copie")
    # measured against which peers, as the sheet's own line says
    sheet = _page(root, "products/openssl.html")
    criteria = sheet[sheet.index("Critères du tableau comparatif") :]
    assert 'class="muted interop-against">(face aux profils simulés' in criteria


def test_an_intermittent_acceptance_says_so_on_the_refusals_page(root: Path) -> None:
    html = _page(root, "refusals.html")
    marks = _marks(html)
    assert marks[("openssl", "not-for-me")] == "✗ accepte (intermittent)"
    assert marks[("openssl", "from-mismatch")] == "✗ accepte"  # accepted again: as it was
    case_ = html[html.index('data-case="truncated"') :]
    case_ = case_[: case_.index("</div>")]
    assert "✗ accepte (intermittent)" in _text(case_[: case_.index("</h4>")])
    # the badge says it, and the answer's replay note (from RejectionCaseResult.repeated,
    # the reason here carrying none): once, no line of its own
    assert "Rejoué" not in _text(case_) and _text(case_).count("rejoué") == 1
    legend = _text(html[html.index('id="legend-title"') : html.index("</section>")])
    assert "accepte (intermittent) : accepté une fois, pas à nouveau" in legend
    en = _page(root, "refusals.html", "en")
    assert _marks(en)[("openssl", "not-for-me")] == "✗ accepts (intermittent)"
    sheet = _page(root, "products/openssl.html")
    findings = _text(sheet[sheet.index("refusal-findings") :][:4000])
    assert "truncated (intermittent)" in findings
    assert "from-mismatch-header (intermittent)" not in findings


def test_the_run_summary_counts_the_intermittent_acceptances() -> None:
    refused = case("altered", "refuses", "refuse", REFUSED)
    steady = case("from-mismatch-header", "accepts", "refuse", ACCEPTED)
    steady.repeated = True
    cells = [
        _cell("openssl", "altered", "refuses", [refused]),
        _cell("openssl", "from-mismatch", "accepts", [steady]),
        _intermittent(),
    ]
    lines = rejection_summary(Rejections(policy="osm-2008", cells=cells))
    assert lines[1].endswith("refuses 1, accepts 2 (1 intermittent), not-applicable 0, error 0")
    assert lines[2].startswith("  openssl from-mismatch: accepts: ")
    assert lines[3].startswith("  openssl not-for-me: accepts (intermittent): ")
    steady_only = rejection_summary(Rejections(policy="osm-2008", cells=cells[:2]))
    assert steady_only[1].endswith("accepts 1, not-applicable 0, error 0")


def test_a_mark_resting_on_an_assumption_has_a_css_hook() -> None:
    cell = Cell.model_validate(
        {"sender": "a", "receiver": "b", "function": "sign", "verdict": "fail", "examples": 1}
    )
    mark = filters(Translator("fr"))["mark"]
    rests = FunctionView("sign", cell, title="t", assumed=[AssumedView("fact")])
    assert 'class="mark v-fail assumed"' in mark(rests) and ">✗*<" in mark(rests)
    assert 'class="mark v-fail"' in mark(FunctionView("sign", cell, title="t"))
    # the mark widens for its star rather than squeezing it
    rule = re.search(r"\n\.mark \{([^}]*)\}", CSS.read_text(encoding="utf-8"))
    assert rule is not None and "min-width:" in rule.group(1)
    assert not re.search(r"(?<![-\w])width:", rule.group(1))


def _model(cell: Cell) -> ReportModel:
    agents = [
        AgentInfo(
            id=a,
            name=a.upper(),
            kind="client",
            homologation="none",
            engine="builtin",
            measurement="simulated",
        )
        for a in ("a", "b")
    ]
    agents[0].sends = {"functions": ["sign"]}
    agents[1].sends = {"functions": ["sign", "encrypt"]}
    run = RunInfo(
        seed=1, examples=1, started="2026-12-05T00:00:00+00:00", complete=True, suite_version="t"
    )
    return ReportModel(Results(run=run, agents=agents, cells=[cell], pairs=[]), Translator("fr"))


def test_the_answer_on_a_function_not_sent_is_the_senders() -> None:
    def unsupported(sender: str, receiver: str) -> Cell:
        reason = f"{sender} does not send encrypt"
        return Cell.model_validate(
            {
                "sender": sender,
                "receiver": receiver,
                "function": "encrypt",
                "verdict": "unsupported",
                "reason": reason,
            }
        )

    not_sent = unsupported("a", "b")
    model = _model(not_sent)
    said = model.said(not_sent)
    assert said is not None and said.text == "A n'envoie pas cette fonction"
    assert model.said_label(not_sent) == "Réponse de l'émetteur"
    # the receiver does not read it: its answer
    not_read = unsupported("b", "a")
    assert model.said_label(not_read) == "Réponse du destinataire"


def test_the_report_reads_the_replay_note_without_loading_hypothesis() -> None:
    """The note has one text, written by the search and read by the pages from the same
    module; the report does not load hypothesis to read it."""
    code = (
        "import sys, conformance.report.views as v; "
        "print('hypothesis' in sys.modules, v.without_note('x (' + "
        "__import__('conformance.replay_note').replay_note.NOT_REPEATED + ')'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "('x',", "True)"]


def test_the_delivered_answer_has_one_public_reader() -> None:
    from conformance.report import refusals, views

    assert views.delivered_services("x: delivered, services: integrity, authentication") == [
        "integrity",
        "authentication",
    ]
    assert views.delivered_services("refuse under osm-2008: delivered, services: none") == []
    assert views.delivered_services("bad-signature: digest mismatch") is None
    assert not hasattr(refusals, "_DELIVERED")
