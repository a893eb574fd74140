"""`osm-conformance choose`: the source's situations of July 2008 reproduced from the rules
and a real (sub-)matrix run, never from the source's answers (`advice:` of the practice
software table, which the tests compare with and the ranking never reads).

One sub-matrix is run for the module (every choosable tool x the correspondents' tools
below, both ways, sign-encrypt and hprim-net, one example per cell): the profiles are
played by the suite's engine, the Apicrypt model by its own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conformance.choose.inputs import Practice, load_practice
from conformance.choose.rank import Ranking, choosable, rank
from conformance.cli import main
from conformance.errors import UserError
from conformance.paths import PROFILES_DIR, REPO_DIR
from conformance.profiles.loader import load_profiles, load_sources
from conformance.profiles.practice import load_practice_software
from conformance.results import Results, load_results

PROFILES = load_profiles()
TABLE = load_practice_software()
SOURCES, _ = load_sources([PROFILES_DIR / "sources.yaml"])
COLUMNS = next(s.columns for s in SOURCES.values() if s.columns)
EXAMPLES = REPO_DIR / "examples" / "practice"
SOURCE_TEXT = Path(__file__).parent / "data" / "source" / "comment-choisir.txt"
THEIR_TOOLS = ["apimail-apicrypt", "docteur-net-cps", "smm", "sign-and-mail", "nss"]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """results.json of the sub-matrix every test here ranks from."""
    out = tmp_path_factory.mktemp("choose-matrix")
    argv = ["run", "--no-rejections", "--jobs", "1", "--examples", "1", "-q", "--out", str(out)]
    argv += ["--function", "sign-encrypt", "--function", "hprim-net"]
    for tool in sorted({*(p.id for p in choosable(PROFILES)), *THEIR_TOOLS}):
        argv += ["--sender", tool, "--receiver", tool]
    for tool in THEIR_TOOLS:
        argv += ["--agent", tool]
    assert main(argv) == 0
    return out / "results.json"


@pytest.fixture(scope="module")
def results(matrix: Path) -> Results:
    return load_results(matrix)


def practice(**fields: Any) -> Practice:
    data: dict[str, Any] = {"platform": "windows", **fields}
    return Practice.model_validate(data)


def ranked(results: Results, **fields: Any) -> Ranking:
    return rank(practice(**fields), PROFILES, TABLE, results, SOURCES, COLUMNS)


def ids(ranking: Ranking) -> list[str]:
    return [c.id for c in ranking.choices]


def kept(ranking: Ranking) -> list[str]:
    return [c.id for c in ranking.choices if c.excluded is None]


def situation(editor: str) -> list[str]:
    """The source's answer for an editor's practice software (advice: of the table)."""
    assert TABLE.advice is not None
    return next(s.products for s in TABLE.advice.situations if editor in s.editors)


def folded(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- the source's three situations of July 2008 -------------------------------------------


def test_cegedim_with_smm_integrated_gets_smm(results: Results) -> None:
    """ "La solution la plus conviviale est dans ce cas-là S.M.M." (Crossway)."""
    answer = situation("Cegedim Logiciels Médicaux")
    assert answer == ["smm"]
    for them in ([], [{"tool": "docteur-net-cps", "count": 3}, {"tool": "nss", "count": 1}]):
        ranking = ranked(results, practice_software="Crossway", correspondents=them)
        assert ids(ranking)[:1] == answer
        top = ranking.choices[0]
        assert any(r.rule == "integration" and r.effect == "favours" for r in top.reasons)


@pytest.mark.parametrize("software", ["HelloDoc", "MédiStory", "medistory", "Prokov Editions"])
def test_hellodoc_medistory_get_apicrypt_or_easycrypt(results: Results, software: str) -> None:
    """ "la solution la plus conviviale est Apicrypt ou Easycrypt": with no correspondent,
    and with correspondents split between Apicrypt and the OSM tools."""
    answer = situation("IMAGINE Editions")
    assert answer == situation("Prokov Editions")
    mixed = [
        {"tool": "apimail-apicrypt", "count": 3},
        {"tool": "docteur-net-cps", "count": 2},
        {"tool": "smm", "count": 1},
    ]
    for them in ([], mixed):
        ranking = ranked(results, practice_software=software, correspondents=them)
        assert sorted(ids(ranking)[:2]) == sorted(answer), ids(ranking)
    # Apicrypt is ranked with a warning on compliance, never excluded for it.
    apicrypt = next(c for c in ranking.choices if c.id == "apimail-apicrypt")
    assert apicrypt.excluded is None
    assert any(r.rule == "compliance" and r.effect == "warns" for r in apicrypt.reasons)


@pytest.mark.parametrize("software", ["Axilog", "AxiSanté", "Sephira", "@medulo"])
def test_axilog_sephira_medulo_any_tool_apicrypt_included(results: Results, software: str) -> None:
    """ "identique quelle que soit la solution choisie": an OSM client, an OSM webmail or
    Apicrypt; the practice software favours none, so the correspondents decide."""
    assert situation("Axilog") == []
    osm = ranked(results, practice_software=software, correspondents=[{"tool": "smm"}])
    assert all(c.excluded is None for c in osm.choices)
    assert {c.scores["integration"] for c in osm.choices} == {0.0}
    kinds = {PROFILES[c].identity.kind for c in kept(osm)}
    assert {"client", "webmail"} <= kinds and "apimail-apicrypt" in kept(osm)
    assert ids(osm)[0] != "apimail-apicrypt"
    apicrypt = ranked(
        results, practice_software=software, correspondents=[{"tool": "apimail-apicrypt"}]
    )
    assert ids(apicrypt)[0] == "apimail-apicrypt"


def test_the_ranking_never_reads_the_sources_answers(results: Results) -> None:
    """The same ranking with the advice (the source's answers) taken out of the table."""
    bare = TABLE.model_copy(update={"advice": None})
    for software in ("Crossway", "HelloDoc", "Sephira"):
        p = practice(practice_software=software, correspondents=[{"tool": "smm"}])
        with_advice = rank(p, PROFILES, TABLE, results, SOURCES, COLUMNS)
        without = rank(p, PROFILES, bare, results, SOURCES, COLUMNS)
        assert ids(with_advice) == ids(without)


# --- multi-site, Macintosh, configuration, correspondents ----------------------------------


def test_a_multi_site_practice_gets_the_webmail_first(results: Results) -> None:
    them = [{"tool": "docteur-net-cps", "count": 3}, {"tool": "smm", "count": 2}]
    webmails = [p.id for p in choosable(PROFILES) if p.identity.kind == "webmail"]
    assert webmails
    multi = ranked(results, sites="multi", correspondents=them)
    assert ids(multi)[: len(webmails)] == webmails
    single = ranked(results, sites="single", correspondents=them)
    assert ids(single)[0] not in webmails
    # The practice software's rule comes after the multi-site rule.
    crossway = ranked(results, sites="multi", practice_software="Crossway", correspondents=them)
    assert ids(crossway)[: len(webmails) + 1] == [*webmails, "smm"]


def test_a_macintosh_practice_never_gets_a_tool_known_not_to_run_on_it(
    results: Results,
) -> None:
    for software in (None, "MédiStory", "Crossway"):
        them = [{"tool": "smm", "count": 5}, {"tool": "apimail-apicrypt"}]
        ranking = ranked(results, platform="macos", practice_software=software, correspondents=them)
        for c in ranking.choices:
            mac = PROFILES[c.id].criteria.macintosh
            if mac is False:
                assert c.excluded is not None and c.excluded.rule == "platform", c.id
            else:
                assert c.excluded is None, c.id
            if mac is None and PROFILES[c.id].identity.kind != "webmail":
                assert any(r.effect == "unknown" for r in c.reasons if r.rule == "platform")
        excluded = [c.rank for c in ranking.choices if c.excluded]
        assert excluded and min(excluded) > max(c.rank for c in ranking.choices if not c.excluded)
        assert ids(ranking)[0] != "smm"  # integrated in Crossway, but not on a Macintosh


def test_a_workstation_too_small_excludes_the_hungry_tool(results: Results) -> None:
    small = ranked(results, practice_software="Crossway", workstation={"ram_mb": 256})
    smm = next(c for c in small.choices if c.id == "smm")
    assert smm.excluded is not None and smm.excluded.rule == "configuration"
    assert smm.excluded.params["need"] == 512 and smm.excluded.params["have"] == 256
    big = ranked(results, practice_software="Crossway", workstation={"ram_mb": 2048})
    assert ids(big)[0] == "smm"
    unknown = ranked(results, practice_software="Crossway")
    assert ids(unknown)[0] == "smm"


def test_changing_the_correspondents_changes_the_ranking(results: Results) -> None:
    """The ranking comes from the verdicts of the practice's own correspondents: proof
    that nothing is looked up from a list of answers."""
    apicrypt_users = ranked(results, correspondents=[{"tool": "apimail-apicrypt", "count": 5}])
    osm_users = ranked(results, correspondents=[{"tool": "docteur-net-cps", "count": 5}])
    assert ids(apicrypt_users) != ids(osm_users)
    assert ids(apicrypt_users)[0] == "apimail-apicrypt"
    assert ids(osm_users)[-1] == "apimail-apicrypt"
    top = apicrypt_users.choices[0]
    assert (top.reached, top.correspondents) == (5, 5)
    # HPRIM-Net from a laboratory: Apicrypt does not read it.
    lab = ranked(
        results,
        correspondents=[
            {"tool": "apimail-apicrypt", "count": 2},
            {"tool": "smm", "count": 3, "hprim_net": True},
        ],
    )
    assert ids(lab)[0] != "apimail-apicrypt"
    smm_side = next(c for c in lab.choices if c.id == "docteur-net-cps")
    exchange = next(e for e in smm_side.exchanges if e.correspondent.tool == "smm")
    assert exchange.from_them["hprim-net"] == "pass" and exchange.works


def test_a_failing_cell_counts_against_the_tool(results: Results) -> None:
    """Turn one verdict of the matrix into a fail: the figures follow the cells."""
    cells = [
        c.model_copy(update={"verdict": "fail"})
        if (c.sender, c.receiver, c.function) == ("smm", "docteur-net-cps", "sign-encrypt")
        else c
        for c in results.cells
    ]
    broken = results.model_copy(update={"cells": cells})
    them = [{"tool": "docteur-net-cps", "count": 1}]
    before = ranked(results, practice_software="Crossway", correspondents=them)
    after = ranked(broken, practice_software="Crossway", correspondents=them)
    assert ids(before)[0] == "smm" and ids(after)[0] != "smm"
    assert next(c for c in after.choices if c.id == "smm").reached == 0


# --- the rules' data -----------------------------------------------------------------------


def test_every_rule_quotes_the_source_or_says_why_it_is_assumed() -> None:
    text = SOURCE_TEXT.read_text(encoding="utf-8").split("----- source text -----", 1)[1]
    assert TABLE.rules is not None
    cites = [c for _, c in TABLE.rules.cited()]
    cites += [e.integration.cite for e in TABLE.editors if e.integration is not None]
    assert len(cites) >= 12
    for cite in cites:
        if cite.assumed:
            assert cite.reason and cite.reason_fr and cite.source is None
        else:
            assert cite.source in SOURCES and cite.quote
            assert folded(cite.quote) in folded(text), cite.quote


def test_the_source_excerpt_is_the_sources_text() -> None:
    """The copy in tests/data says where it comes from and holds « Comment choisir ? »."""
    head, text = SOURCE_TEXT.read_text(encoding="utf-8").split("----- source text -----", 1)
    assert "000_bf221314829200a7.txt" in head
    assert text.count("Comment choisir ?") == 4 and "Il faut choisir..." in text


# --- the practice file --------------------------------------------------------------------


def test_every_example_practice_loads() -> None:
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert len(files) >= 5
    for path in files:
        load_practice(path, PROFILES, TABLE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("platform: amiga\n", r"practice\.yaml:1: platform: .*windows"),
        ("platform: windows\nsites: three\n", r"practice\.yaml:2: sites:"),
        (
            "platform: windows\ncorrespondents:\n  - {tool: outlook, count: 2}\n",
            r"practice\.yaml:3: correspondents\[0\]\.tool: unknown tool 'outlook'",
        ),
        (
            "platform: windows\ncorrespondents:\n  - {tool: smm, count: 0}\n",
            r"practice\.yaml:3: correspondents\[0\]\.count:",
        ),
        (
            "practice_software: Medilogiciel\nplatform: windows\n",
            r"practice\.yaml:1: practice_software: 'Medilogiciel' is not in the practice "
            r"software table \(known: Axilog, ",
        ),
        ("platform: windows\ncolour: blue\n", r"practice\.yaml:2: colour:"),
        ("- a list\n", r"practice\.yaml:1: expected a mapping"),
    ],
)
def test_a_bad_practice_file_names_its_file_line_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "practice.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_practice(path, PROFILES, TABLE)
    assert re.search(expected, str(caught.value)), str(caught.value)


def test_the_command_on_a_bad_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "practice.yaml"
    path.write_text("platform: windows\nsites: three\n", encoding="utf-8")
    assert main(["choose", str(path), "--results", str(path)]) == 2
    err = capsys.readouterr().err
    assert "practice.yaml:2: sites:" in err and "Traceback" not in err


# --- the command ---------------------------------------------------------------------------


def test_choose_json_from_results(matrix: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["choose", str(EXAMPLES / "hellodoc.yaml"), "--results", str(matrix), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    ranking = out["ranking"]
    assert [e["id"] for e in ranking[:2]] == ["apimail-apicrypt", "easycrypt-net"]
    assert out["order"][0] == "not-excluded"
    for entry in ranking:
        assert {"id", "excluded", "reasons", "figures", "interoperability_label"} <= set(entry)
        assert entry["interoperability_label"] in ("simulated", "measured")
    smm = next(e for e in ranking if e["id"] == "smm")  # 512 MB, the workstation has 256
    assert smm["excluded"]["rule"] == "configuration"
    assert smm["excluded"]["quote"] == "Configuration minimum du poste."
    assert ranking[0]["excluded"] is False
    assert ranking[0]["figures"]["correspondents"] == 6


def test_choose_english_text(matrix: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "choose",
            str(EXAMPLES / "cegedim-crossway.yaml"),
            "--results",
            str(matrix),
            "--lang",
            "en",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("Choosing for my practice")
    assert " 1. S.M.M. (Security Mail Message) (smm)" in out and "integrated in Crossway" in out


def test_choose_runs_its_own_submatrix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --results: the candidates x the correspondents' tools, both ways, through the
    matrix code, with its progress on stderr and the page written."""
    path = tmp_path / "practice.yaml"
    path.write_text(
        "practice_software: Crossway\nplatform: windows\ncorrespondents:\n"
        "  - {tool: docteur-net-cps, count: 2}\n",
        encoding="utf-8",
    )
    code = main(["choose", str(path), "--examples", "1", "--json", "--out", str(tmp_path / "o")])
    assert code == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)  # the run's summary kept off stdout
    assert out["ranking"][0]["id"] == "smm"
    assert "cells" in captured.err and (tmp_path / "o" / "choose.html").is_file()
    run = load_results(tmp_path / "o" / "matrix" / "results.json")
    candidates = {p.id for p in choosable(PROFILES)}
    pairs = {(c.sender, c.receiver) for c in run.cells}
    assert {("docteur-net-cps", t) for t in candidates} <= pairs
    assert {(t, "docteur-net-cps") for t in candidates} <= pairs
    assert all("docteur-net-cps" in pair for pair in pairs)  # nothing else was run
    assert {c.function for c in run.cells} == {"sign-encrypt"}


def test_the_page_in_both_languages(matrix: Path, tmp_path: Path) -> None:
    for lang, title in (("fr", "Choisir pour mon cabinet"), ("en", "Choosing for my practice")):
        out = tmp_path / lang
        args = ["choose", str(EXAMPLES / "medistory-mac.yaml"), "--results", str(matrix)]
        assert main([*args, "--out", str(out), "--lang", lang]) == 0
        html = (out / "choose.html").read_text(encoding="utf-8")
        assert f"<title>{title}" in html and "@page { size: A4" in html
        assert 'class="excluded"' in html and "Support de la plate-forme Macintosh" in html


def test_the_page_uses_only_catalogue_keys() -> None:
    """The page's words come from the report's catalogue, in both languages."""
    from conformance.report.i18n import CATALOGUE

    template = REPO_DIR / "conformance" / "choose" / "templates" / "choose.html.j2"
    used = set(re.findall(r"""["']([a-z_]+\.[a-z_.-]+|sep|suite)["']\|tr""", template.read_text()))
    assert used and used <= set(CATALOGUE), used - set(CATALOGUE)
    dynamic = {"choose.sites.single", "choose.sites.multi"}
    dynamic |= {f"effect.{e}" for e in ("excludes", "favours", "warns", "unknown")}
    assert dynamic <= set(CATALOGUE)


def test_every_reason_has_its_words(results: Results) -> None:
    """Every reason any example practice gets is in the catalogue, and the text output
    numbers the rules' sources."""
    from conformance.choose.view import ranking_text
    from conformance.report.i18n import CATALOGUE, Translator

    for path in sorted(EXAMPLES.glob("*.yaml")):
        ranking = rank(
            load_practice(path, PROFILES, TABLE), PROFILES, TABLE, results, SOURCES, COLUMNS
        )
        for c in ranking.choices:
            for r in c.reasons:
                assert f"choose.why.{r.key}" in CATALOGUE, r.key
        for lang in ("fr", "en"):
            text = ranking_text(ranking, Translator(lang))
            assert "\n[1] " in text and "Combien dans votre entourage?" in text


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    kinds: [webmail]\n    cite:\n      source: criteria-slide\n",
            "    kinds: [webmail]\n    cite:\n      note: from memory\n",
            r"rules\.multi-site\.cite: cite a source, or set assumed: true with a reason",
        ),
        (
            '      quote: "Un webmail si vous travaillez en multi-sites"\n',
            "",
            r"rules\.multi-site\.cite\.quote: a rule quotes the source's words",
        ),
        (
            "    integration:\n      tools: [smm]\n",
            "    integration:\n      tools: [smm, outlook]\n",
            r"editors\[1\]\.integration\.tools\[1\]: unknown profile 'outlook'",
        ),
        (
            "  order: [interoperability, multi-site, integration, compliance, installation]\n",
            "  order: [interoperability, integration, compliance, installation]\n",
            r"rules: .*order: missing multi-site",
        ),
    ],
)
def test_a_rule_without_its_words_is_a_lint_problem(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    from conformance.profiles.practice import lint_practice_software

    text = (PROFILES_DIR / "practice-software.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "practice-software.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        (PROFILES_DIR / "sources.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    problems = [str(p) for p in lint_practice_software(path, set(PROFILES))]
    assert any(re.search(r"practice-software\.yaml:\d+: " + expected, p) for p in problems), (
        problems
    )


def test_cells_missing_from_the_results_are_said(results: Results) -> None:
    """--results from a run without the correspondent's tool: no pass is invented."""
    kept_cells = [c for c in results.cells if "sign-and-mail" not in (c.sender, c.receiver)]
    partial = results.model_copy(update={"cells": kept_cells})
    ranking = ranked(partial, correspondents=[{"tool": "sign-and-mail", "count": 2}])
    for c in ranking.choices:
        assert c.reached == 0
        assert any(r.key == "interop_missing" for r in c.reasons)
