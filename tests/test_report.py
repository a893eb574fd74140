"""The HTML report: pages, their content, escaping, languages, baseline and speed."""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from test_report_sample import (
    FUNCTIONS,
    HTML_SUBJECT,
    SCRIPT,
    hostile_results,
    large_results,
    sample_results,
)

from conformance.cli import main
from conformance.errors import UserError
from conformance.report import render_report
from conformance.report.i18n import CATALOGUE, Translator
from conformance.report.views import (
    VERDICT_SYMBOLS,
    ReportModel,
    evidence_href,
    product_filename,
)
from conformance.results import Results, load_results


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text; enough to query a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(
        self, tag: str | None = None, cls: str | None = None, **attrs: str
    ) -> list[dict[str, str]]:
        out = []
        for name, a in self.tags:
            if tag and name != tag:
                continue
            if cls and cls not in a.get("class", "").split():
                continue
            if all(a.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append(a)
        return out


@pytest.fixture
def report(tmp_path: Path) -> tuple[Results, Path]:
    results = sample_results(tmp_path)
    results.dump(tmp_path / "results.json")
    render_report(results, tmp_path)
    return results, tmp_path


def pages(out: Path) -> list[Path]:
    return [out / "index.html", out / "comparison.html", *sorted((out / "products").glob("*"))]


def test_every_page_is_written(report: tuple[Results, Path]) -> None:
    results, out = report
    assert (out / "index.html").is_file() and (out / "comparison.html").is_file()
    names = {p.name for p in (out / "products").iterdir()}
    assert names == {f"{a.id}.html" for a in results.agents}


def test_matrix_has_senders_as_rows_receivers_as_columns(report: tuple[Results, Path]) -> None:
    results, out = report
    page = Elements((out / "index.html").read_text("utf-8"))
    columns = page.find("th", cls="col")
    assert len(columns) == len(results.agents)
    # products first, the real engine after them, marked and separated
    assert columns[-1]["data-engine"] == "1" and "engine-start" in columns[-1]["class"]
    assert all(c["data-engine"] == "0" for c in columns[:-1])
    cells = page.find("a", cls="cell")
    assert len(cells) == len(results.agents) ** 2
    marks = page.find("span", cls="mark")
    in_cells = [m for m in marks if m.get("data-fn")]
    assert len(in_cells) >= len(results.agents) ** 2 * len(FUNCTIONS)


def test_each_verdict_has_a_symbol_and_a_class(report: tuple[Results, Path]) -> None:
    _, out = report
    html = (out / "index.html").read_text("utf-8")
    for verdict in ("pass", "partial", "fail", "unsupported", "error"):
        symbol = VERDICT_SYMBOLS[verdict]
        assert re.search(rf'class="mark v-{verdict}[^"]*"[^>]*>{re.escape(symbol)}</span>', html), (
            verdict
        )
    assert len(set(VERDICT_SYMBOLS.values())) == len(VERDICT_SYMBOLS)  # never colour alone


def test_cell_detail_holds_reason_services_counterexample_and_evidence(
    report: tuple[Results, Path],
) -> None:
    results, out = report
    model = ReportModel(results, Translator("fr"))
    pv = model.pairs[("docteur-net-cps", "openssl")]
    html = (out / "index.html").read_text("utf-8")
    start = html.index(f'<section class="detail" id="{pv.id}"')
    detail = html[start : html.index("</section>", start)]
    assert "compte-rendu-échographie.pdf" in detail  # the counterexample
    assert "the receiver re-encoded the file name" in detail
    assert "non-répudiation" in detail and "svc-lost" in detail and "svc-held" in detail
    # the summary (sent, the receiver's answer, the validator's findings) before the evidence
    summary = detail[detail.index('class="validator"') : detail.index('class="evidence"')]
    assert "2 ERREUR" in summary and "1 AVERTISSEMENT" in summary, summary
    assert "<code>MIME-001</code>" in summary and "<code>OSM-031</code>" in summary
    assert "basic.checks.html" not in "".join(Elements(summary).text)  # findings, not a path
    assert "rapport complet du validateur" in summary
    assert detail.index('class="said"') < detail.index('class="evidence"')
    assert detail.index('class="sent"') < detail.index('class="said"')
    links = Elements(detail).find("a")
    hrefs = [a["href"] for a in links]
    assert "evidence/docteur-net-cps__openssl__attachments-cx/counterexample.eml" in hrefs
    for href in hrefs:  # relative to the report directory, and the files exist
        assert (out / href).is_file(), href
    # the cell in the matrix opens that detail
    assert Elements(html).find("a", cls="cell", data_detail=pv.id)


def test_contradictions_are_marked_and_listed(report: tuple[Results, Path]) -> None:
    results, out = report
    html = (out / "index.html").read_text("utf-8")
    page = Elements(html)
    contra_cells = page.find("td", data_contra="1")
    pairs = {(c.sender, c.receiver) for c in results.cells if c.contradiction}
    assert len(contra_cells) == len(pairs) == 1
    assert page.find("span", cls="contra")  # the mark of the contradicting function
    section = html[html.index('id="contradictions"') :]
    assert "ESPS, liste des outils homologués OSM" in section
    assert section.count("<tr>") >= len(results.contradictions)


def test_run_info_and_incomplete_run(tmp_path: Path) -> None:
    complete = sample_results(tmp_path / "a")
    index = render_report(complete, tmp_path / "a").read_text("utf-8")
    assert "20080716" in index and "openssl <code>3.0.13" in index
    assert "INCOMPLÈTE" not in index
    partial = sample_results(tmp_path / "b", complete=False)
    index = render_report(partial, tmp_path / "b").read_text("utf-8")
    assert 'class="banner incomplete"' in index and "INCOMPLÈTE" in index
    # the cells that were not run are shown as such, not left out
    assert "v-missing" in index
    assert "INCOMPLÈTE" in (tmp_path / "b" / "comparison.html").read_text("utf-8")


def test_agents_observed_by_hand_and_engines_are_marked(report: tuple[Results, Path]) -> None:
    _, out = report
    html = (out / "index.html").read_text("utf-8")
    assert html.count('class="tag tag-measure m-real-vectors"') >= 2  # its row and its column
    assert html.count('class="tag tag-measure m-real-engine"') >= 2
    assert html.count('class="tag tag-measure m-simulated"') >= 4  # EASYCRYPT.net's row, column
    sheet = (out / "products" / "docteur-net-cps.html").read_text("utf-8")
    assert "produit réel (à la main)" in sheet


def test_measured_interop_follows_the_homologated_pairs(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    model = ReportModel(results, Translator("fr"))
    assert model.measured_interop(model.by_id["apimail-apicrypt"]) == "partial"
    # docteur-net-cps -> easycrypt-net is partial in the sample (hprim-net)
    assert model.measured_interop(model.by_id["easycrypt-net"]) == "partial"
    for pair in results.pairs:
        if {pair.sender, pair.receiver} <= {"easycrypt-net", "docteur-net-cps"}:
            pair.interop = "full"
    model = ReportModel(results, Translator("fr"))
    assert model.measured_interop(model.by_id["easycrypt-net"]) == "full"
    assert model.measured_interop(model.by_id["openssl"]) == "partial"  # none with Apicrypt
    # a product with no homologated peer is not assessed
    for agent in results.agents:
        agent.homologation = "none"
    model = ReportModel(results, Translator("fr"))
    assert model.measured_interop(model.by_id["easycrypt-net"]) == "unknown"


def test_comparison_table(report: tuple[Results, Path]) -> None:
    _, out = report
    html = (out / "comparison.html").read_text("utf-8")
    page = Elements(html)
    heads = [a for a in page.find("a") if a.get("href", "").startswith("products/")]
    # products as columns (not the engine, nor the reference without criteria)
    assert [h["href"] for h in heads] == [
        "products/apimail-apicrypt.html",
        "products/easycrypt-net.html",
        "products/docteur-net-cps.html",
    ]
    for criterion in (
        "crit-interoperability",
        "crit-compliance",
        "crit-proprietary",
        "crit-macintosh",
        "crit-lgc_integration",
        "crit-ease_of_installation",
        "crit-ease_of_use",
        "crit-minimum_configuration",
    ):
        assert page.find("tr", cls=criterion), criterion
    row = html[html.index('class="crit-interoperability"') : html.index('class="crit-compliance"')]
    # Apicrypt: measured partial = claimed partial, so no claim beside it;
    # the OSM products: measured partial, claimed "Oui": the claim is shown
    assert row.count("annoncé : Oui") == 2
    assert "Oui mais" in html and "Relais et intégré" in html and "Très sobre" in html
    # sources as hover and as footnotes; the assumed fact is marked
    assert 'title="source : ESPS, « Comment choisir ? », juillet 2008 (diapositive 31)"' in html
    assert 'id="note-1"' in html and 'href="#note-1"' in html
    assert 'class="fact assumed"' in html and "fait supposé" in html
    # the practice-software table beside it
    assert "Association @medulo" in html and "AxiSanté" in html
    assert "size: A4 landscape" in html and "@media print" in html


def test_product_sheet(report: tuple[Results, Path]) -> None:
    _, out = report
    html = (out / "products" / "docteur-net-cps.html").read_text("utf-8")
    assert "<code>des-ede3-cbc</code>, <code>rc2-128-cbc</code>" in html  # what it accepts
    assert "Condensat de la signature" in html  # what it sends, nested, by its label
    findings = html[html.index('class="findings"') : html.index("Comme expéditeur")]
    assert "receiver does not read S/MIME" in findings  # a fail as sender
    assert "receiver does not accept content encryption aes-256-cbc" in findings  # as receiver
    assert "compte-rendu-échographie.pdf" in findings  # a partial with its counterexample
    assert "ESPS, liste des outils homologués OSM" in findings  # its contradiction
    links = [a["href"] for a in Elements(html).find("a")]
    assert "../index.html" in links and "../comparison.html" in links
    assert any(h.startswith("../index.html#d-") for h in links)
    assert all((out / "products" / h).is_file() for h in links if h.startswith("../evidence/"))
    clean = (out / "products" / "reference.html").read_text("utf-8")
    assert "v-error" in clean  # its harness error shows in its row, not as a finding
    assert "Comme expéditeur" in clean


def test_pages_are_self_contained(report: tuple[Results, Path]) -> None:
    _, out = report
    for page in pages(out):
        html = page.read_text("utf-8")
        assert "<style>" in html and "@media print" in html
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), page
        assert "<link" not in html and "@import" not in html and "url(" not in html
        assert not re.search(r"<script[^>]*src=", html)


def test_everything_from_profiles_and_messages_is_escaped(tmp_path: Path) -> None:
    results = hostile_results(tmp_path)
    render_report(results, tmp_path)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for page in pages(tmp_path):
        html = page.read_text("utf-8")
        assert SCRIPT not in html, page
        assert "<img" not in html and "onerror=" not in html.replace("onerror=&#34;", ""), page
        assert not re.search(r"""href=["']?javascript:""", html), page
    index = (tmp_path / "index.html").read_text("utf-8")
    assert escaped in index and "&lt;b&gt;Résultats&lt;/b&gt;" in index
    assert "<code>javascript:alert(3)</code>" in index  # shown, not linked
    sheet = (tmp_path / "products" / product_filename(results.agents[2].id)).read_text("utf-8")
    assert escaped in sheet
    assert escaped in (tmp_path / "comparison.html").read_text("utf-8")
    assert HTML_SUBJECT not in index


def test_an_agent_id_never_escapes_the_products_directory() -> None:
    for hostile in ("../../etc/passwd", SCRIPT, "a/b", "", ".hidden"):
        name = product_filename(hostile)
        assert "/" not in name and not name.startswith(".") and name.endswith(".html")
    assert product_filename("docteur-net-cps") == "docteur-net-cps.html"


def test_evidence_href_refuses_what_is_not_a_relative_path() -> None:
    assert evidence_href("evidence/a b#c.eml", "../") == "../evidence/a%20b%23c.eml"
    for bad in ("javascript:alert(1)", "/etc/passwd", "file:///x", "https://x/y", ""):
        assert evidence_href(bad, "") is None


def test_english(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    render_report(results, tmp_path, lang="en")
    index = (tmp_path / "index.html").read_text("utf-8")
    assert '<html lang="en">' in index and "Interoperability matrix" in index
    assert "Matrice" not in index and "réussi" not in index
    cmp = (tmp_path / "comparison.html").read_text("utf-8")
    assert "Macintosh support" in cmp and "Relay and integrated" in cmp
    with pytest.raises(UserError, match="--lang"):
        render_report(results, tmp_path, lang="de")


def test_the_catalogue_is_complete() -> None:
    placeholder = re.compile(r"\{(\w+)\}")
    for key, (fr, en) in CATALOGUE.items():
        assert fr and en, key
        assert set(placeholder.findall(fr)) == set(placeholder.findall(en)), key


def test_templates_use_only_catalogue_keys() -> None:
    templates = Path(__file__).parent.parent / "conformance" / "report" / "templates"
    used = set()
    for path in templates.glob("*.j2"):
        used |= set(re.findall(r"""["']([a-z_]+\.[a-z_.-]+|sep|suite)["']\|tr""", path.read_text()))
    assert used and used <= set(CATALOGUE), used - set(CATALOGUE)


def test_baseline_marks_and_lists_changes(tmp_path: Path) -> None:
    old = sample_results(tmp_path)
    new = sample_results(tmp_path)
    regressed = new.cell("easycrypt-net", "docteur-net-cps", "sign")
    improved = new.cell("docteur-net-cps", "openssl", "attachments")
    assert regressed is not None and improved is not None
    regressed.verdict, improved.verdict = "fail", "pass"
    index = render_report(new, tmp_path, baseline=old).read_text("utf-8")
    section = index[index.index('id="changes"') : index.index('id="contradictions"')]
    assert "1 régression(s), 1 amélioration(s), 0 autre(s)" in section
    assert "k-regression" in section and "k-improvement" in section
    assert index.count('class="changed-flag"') >= 2
    # without a baseline, no section
    assert 'id="changes"' not in render_report(new, tmp_path).read_text("utf-8")


def test_diff_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = sample_results(tmp_path)
    new = sample_results(tmp_path)
    cell = new.cell("easycrypt-net", "docteur-net-cps", "encrypt")
    assert cell is not None
    cell.verdict = "partial"
    new.cells = [c for c in new.cells if c.function != "attachments" or c.sender != "openssl"]
    old.dump(tmp_path / "old.json")
    new.dump(tmp_path / "new.json")
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    text = capsys.readouterr().out
    assert "regression   easycrypt-net -> docteur-net-cps encrypt: pass -> partial" in text
    assert "1 regression(s), 0 improvement(s), 5 other change(s)" in text
    assert main(["diff", "--json", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"] == {"regression": 1, "improvement": 0, "intermittent": 0, "other": 5}
    assert {
        "matrix": "interop",
        "sender": "openssl",
        "receiver": "reference",
        "function": "attachments",
        "before": "pass",
        "after": None,
        "kind": "other",
        "transport": "memory",
        "via": [],
    } in data["changes"]


def test_report_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = sample_results(tmp_path)
    results.dump(tmp_path / "results.json")
    old = sample_results(tmp_path)
    old.dump(tmp_path / "old.json")
    assert (
        main(
            [
                "report",
                str(tmp_path / "results.json"),
                "--lang",
                "en",
                "--baseline",
                str(tmp_path / "old.json"),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == str(tmp_path / "index.html")
    assert "No verdict changed." in (tmp_path / "index.html").read_text("utf-8")
    out = tmp_path / "elsewhere"
    assert main(["report", str(tmp_path / "results.json"), "--out", str(out)]) == 0
    assert (out / "products" / "openssl.html").is_file()


def test_report_command_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "results.json"
    bad.write_text('{"format": "osm-conformance/results/1", "run": {}}')
    assert main(["report", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "results.json: run.seed" in err and "Traceback" not in err
    assert main(["report", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_stale_product_pages_are_removed(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    render_report(results, tmp_path)
    results.agents = [a for a in results.agents if a.id != "openssl"]
    results.cells = [c for c in results.cells if "openssl" not in (c.sender, c.receiver)]
    results.pairs = [p for p in results.pairs if "openssl" not in (p.sender, p.receiver)]
    render_report(results, tmp_path)
    assert not (tmp_path / "products" / "openssl.html").exists()
    assert (tmp_path / "products" / "reference.html").exists()


def test_roundtrip_through_results_json(report: tuple[Results, Path]) -> None:
    results, out = report
    loaded = load_results(out / "results.json")
    assert loaded == results


def test_a_15x15x5_matrix_renders_well_under_a_second(tmp_path: Path) -> None:
    results = large_results(15)
    render_report(results, tmp_path)  # templates compiled once per process
    # CPU time of this process: the machine is shared, wall time would measure the others
    best = min(_timed(results, tmp_path) for _ in range(3))
    print(f"15x15x5 render: {best * 1000:.0f} ms of CPU")
    assert best < 0.6
    assert (tmp_path / "index.html").read_text("utf-8").count('<a class="cell ') == 225


def _timed(results: Results, out: Path) -> float:
    start = time.process_time()
    render_report(results, out)
    return time.process_time() - start


# --- evidence links: only files of the run folder, from wherever the report is written ----


def local_links(page: Path) -> list[str]:
    """Every href and src of a page that is neither a URL nor a fragment of the page."""
    found = []
    for _, attrs in Elements(page.read_text("utf-8")).tags:
        for name in ("href", "src"):
            value = attrs.get(name)
            if value and not value.startswith(("#", "http:", "https:")):
                found.append(value)
    return found


def resolve_link(page: Path, link: str) -> Path:
    return (page.parent / unquote(link.split("#", 1)[0])).resolve()


@pytest.mark.parametrize("where", ["elsewhere", "run/nested/report", "."])
def test_a_report_rendered_to_another_folder_keeps_every_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    run = tmp_path / "run"
    results = sample_results(run)
    results.dump(run / "results.json")
    out = tmp_path / where
    assert main(["report", str(run / "results.json"), "--out", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err
    evidence = 0
    for page in pages(out):
        for link in local_links(page):
            target = resolve_link(page, link)
            assert target.is_file(), (page, link)
            evidence += target.is_relative_to(run.resolve() / "evidence")
    wanted = sum(len(c.evidence) for c in results.cells)
    assert evidence >= wanted > 10  # every evidence file linked from the matrix at least


def test_evidence_paths_that_leave_the_run_folder_are_dropped_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    results = sample_results(run)
    secret = tmp_path / "secret.txt"
    secret.write_text("not evidence")
    (run / "evidence" / "link.eml").symlink_to(secret)
    hostile = [
        "../../../../etc/passwd",
        "evidence/../../secret.txt",
        str(secret),
        "/etc/passwd",
        "evidence/link.eml",  # inside by name, outside once the link is followed
    ]
    cell = next(c for c in results.cells if c.evidence and c.counterexample)
    cell.evidence.extend(hostile)
    cell.counterexample.evidence.append("../secret.txt")  # type: ignore[union-attr]
    results.dump(run / "results.json")
    out = tmp_path / "report"
    assert main(["report", str(run / "results.json"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    where = f"cell {cell.sender} -> {cell.receiver} {cell.function}"
    for path in hostile:
        assert f"{where}: evidence path {path!r}" in err, err
    assert f"{where} (counterexample): evidence path '../secret.txt'" in err
    assert err.count("warning") == len(hostile) + 1
    for page in pages(out):
        html = page.read_text("utf-8")
        assert "passwd" not in html and "secret.txt" not in html and "link.eml" not in html
        for link in local_links(page):
            target = resolve_link(page, link)
            assert target.is_relative_to(run.resolve()) or target.is_relative_to(out.resolve())
    # the genuine evidence of that cell is still linked
    index = out / "index.html"
    assert any(
        resolve_link(index, link) == (run / cell.evidence[0]).resolve()
        for link in local_links(index)
    )


def test_an_apicrypt_senders_directory_is_its_networks(tmp_path: Path) -> None:
    """An Apicrypt sender finds its recipients in the Apicrypt directory (profile note,
    source: "utilisation des annuaires (Gip-cps, apicrypt)"), not the CPS one."""
    results = sample_results(tmp_path)
    for lang, apicrypt_word, cps_word in (
        ("fr", "dans l'annuaire Apicrypt", "dans l'annuaire CPS (LDAP)"),
        ("en", "in the Apicrypt directory", "in the CPS directory (LDAP)"),
    ):
        model = ReportModel(results, Translator(lang))
        for agent_id, sent, word in (
            ("apimail-apicrypt", "apicrypt", apicrypt_word),
            ("easycrypt-net", "smime", cps_word),
        ):
            info = model.by_id[agent_id].info
            info.sends.update(format=sent, recipient_certificate="directory")
            lines = model.summary_lines(info, "sends")
            (line,) = [x for x in lines if x.path == "sends.recipient_certificate"]
            assert line.words == [word], (agent_id, lang)
