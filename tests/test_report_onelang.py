"""One language per page: the report of a real small run, read in French and in English.

The run is real (shipped profiles, software keys, the built-in engine); the pages are
rendered in both languages and every text a reader sees (text, title and aria-label
attributes) is checked for what does not belong to the page's language: a raw profile
field key, an enum or status value left untranslated or in the other language, a source
id instead of its title, English prose on a French page, a space before a comma or a
full stop. Technical identifiers (algorithm names, rule ids, file names) are shown in
<code> and are language-neutral; the receiver's and the source's own words are quoted
verbatim (<q>, <cite>) with their `lang`, and are skipped. What the suite wrote during
the run (a counterexample's description, a hostile message's variant) is checked like
the page's own text whatever `lang` it carries: it must be in the page's language.
"""

from __future__ import annotations

import re
import typing
from html import unescape as html_unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from pydantic import BaseModel

from conformance.cli import main
from conformance.paths import PROFILES_DIR
from conformance.pki.people import NAMES
from conformance.profiles.schema import Receive, Send
from conformance.report import render_report
from conformance.report.i18n import CATALOGUE, LANGUAGES, Translator
from conformance.report.views import EvidenceLinks, Footnotes, ReportModel
from conformance.results import Counterexample, Fact, Results, RunInfo, load_results
from conformance.scenarios.model import Attachment, HprimPayload, Scenario
from conformance.status import ErrorCode

PROFILES = ["smm", "apimail-apicrypt", "sermentis-mms", "reference"]
SKIPPED = {"style", "script", "code"}
# The elements that quote someone else's words: skipped when they carry the other language.
QUOTES = {"q", "cite"}
VOID = {"meta", "link", "br", "hr", "img", "input", "col", "wbr", "source"}
# Words of one language that never occur in the other's prose on these pages.
STOPWORDS = {
    "fr": {"the", "does", "with", "not", "of", "and", "is", "receiver"},
    "en": {"le", "la", "les", "est", "du", "une", "pas", "aucune", "réussi", "échec"},
}
# What is no prose of either language: an e-mail address, a test professional's name (the
# PKI's "Pierre-Yves LE GALL" is no French article), a quotation of a source's title or words,
# a letter's text or subject quoted as written ('...', not an apostrophe inside a word), an
# identifier of the test PKI or a profile ("defect-not-yet-valid", "sign-encrypt").
NOT_PROSE = re.compile(
    r"\S+@\S+|\"[^\"]*\"|«[^»]*»|(?<!\w)'(?:[^'\\]|\\.)*'(?!\w)"
    r"|\b[a-z0-9]+(?:-[a-z0-9]+)+\b|\b("
    + "|".join(re.escape(part) for name in NAMES if isinstance(name, tuple) for part in name)
    + r")\b",
    re.IGNORECASE,
)
# Catalogue prefixes whose entries are values of results.json shown as words.
VALUE_PREFIXES = (
    "value.",
    "kind.",
    "homol.",
    "verdict.",
    "interop.",
    "fn.",
    "svc.",
    "pstatus.",
    "errcode.",
    "severity.",
)


class _Texts(HTMLParser):
    """What a reader sees: (text, where) outside code and outside verbatim quotes."""

    def __init__(self, lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = lang
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.texts: list[str] = []

    def _skipped(self) -> bool:
        return any(skipped for _, skipped in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        other_lang = a.get("lang") not in (None, self.lang) and tag in QUOTES
        skipped = tag in SKIPPED or other_lang
        if not self._skipped() and not skipped:
            for name in ("title", "aria-label"):
                if a.get(name):
                    self.texts.append(a[name] or "")
        if tag not in VOID:
            self.stack.append((tag, skipped))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self._skipped() and data.strip():
            self.texts.append(" ".join(data.split()))


def _texts(page: Path, lang: str) -> list[str]:
    parser = _Texts(lang)
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.texts


def _field_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every key of a profile's send/receive sections, as a page might show it raw."""
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        keys |= {name, name.replace("_", " "), f"{prefix}{name}"}
        for arg in [info.annotation, *get_args(info.annotation)]:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                keys |= _field_keys(arg, f"{prefix}{name}.")
    return keys


def _enum_words(model: type[BaseModel]) -> set[str]:
    """The Literal values of send/receive that are words (not algorithm identifiers)."""
    found: set[str] = set()

    def walk(tp: Any) -> None:
        if typing.get_origin(tp) is typing.Literal:
            found.update(str(v) for v in get_args(tp))
        for arg in get_args(tp):
            walk(arg)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            for info in tp.model_fields.values():
                walk(info.annotation)
                for meta in info.metadata:
                    walk(meta)

    walk(model)
    return {v for v in found if re.fullmatch(r"[a-z]+(-[a-z]+)*", v) and not v[-1].isdigit()}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Results, Path]:
    out = tmp_path_factory.mktemp("onelang") / "run"
    mp = pytest.MonkeyPatch()
    mp.setenv("OSM_CONFORMANCE_TOKEN", "software")
    try:
        argv = ["run", "--quiet", "--jobs", "1", "--examples", "2", "--seed", "16"]
        argv += ["--variants", "1", "--out", str(out)]
        for function in ("sign", "encrypt", "hprim-net"):
            argv += ["--function", function]
        for profile in PROFILES:  # these agents only, among the shipped profiles
            argv += ["--sender", profile, "--receiver", profile]
        assert main(argv) == 0
    finally:
        mp.undo()
    return load_results(out / "results.json"), out


@pytest.fixture(scope="module")
def rendered(run: tuple[Results, Path]) -> dict[str, Path]:
    results, out = run
    pages: dict[str, Path] = {}
    for lang in LANGUAGES:
        pages[lang] = out.parent / lang
        render_report(results, pages[lang], lang=lang, run_dir=out)
    return pages


def _pages(root: Path) -> list[Path]:
    return sorted(root.glob("*.html")) + sorted((root / "products").glob("*.html"))


def _problems(root: Path, lang: str) -> list[str]:
    other = LANGUAGES[1 - LANGUAGES.index(lang)]
    mine, theirs = LANGUAGES.index(lang), LANGUAGES.index(other)
    foreign = {
        pair[theirs]
        for key, pair in CATALOGUE.items()
        if key.startswith(VALUE_PREFIXES) and pair[theirs] != pair[mine]
    } - {pair[mine] for pair in CATALOGUE.values()}
    labels = {pair[mine] for pair in CATALOGUE.values()}
    # A label may be spelled like a key ("signature", "digest"): then it is a translation.
    keys = (_field_keys(Send, "send.") | _field_keys(Receive, "receive.")) - labels
    raw = _enum_words(Send) | _enum_words(Receive)
    practice = yaml.safe_load((PROFILES_DIR / "practice-software.yaml").read_text("utf-8"))
    raw |= {e["status"] for e in practice["editors"]}
    raw -= labels
    sources = yaml.safe_load((PROFILES_DIR / "sources.yaml").read_text("utf-8"))["sources"]
    source_ids = re.compile(r"\b(" + "|".join(re.escape(s["id"]) for s in sources) + r")\b")
    field_path = re.compile(r"\b(send|receive|criteria)\.[a-z_]+|\b([a-z_]+) › ")
    problems = []
    for page in _pages(root):
        where = f"{lang}/{page.relative_to(root)}"
        for text in _texts(page, lang):
            if text in keys or text.rstrip(" :") in keys:
                problems.append(f"{where}: raw field key {text!r}")
            found = field_path.search(text)
            if found and (found.group(2) is None or found.group(2) in keys):
                problems.append(f"{where}: raw field path in {text!r}")
            for part in re.split(r"\s*[,;·]\s*|\s+[→:]\s+", text):
                if part in foreign:
                    problems.append(f"{where}: {other} value {part!r} in {text!r}")
                elif part in raw:
                    problems.append(f"{where}: raw value {part!r} in {text!r}")
            if source_ids.search(text):
                problems.append(f"{where}: source id in {text!r}")
            prose = NOT_PROSE.sub(" ", text)
            words = set(re.findall(r"[a-zàâçéèêëîïôûùüÿœ]+", prose.lower()))
            if words & STOPWORDS[lang]:
                problems.append(f"{where}: {other} words {words & STOPWORDS[lang]} in {text!r}")
            if re.search(r"\s[,.](\s|$)", text):
                problems.append(f"{where}: a space before a comma or full stop in {text!r}")
    return problems


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_speaks_one_language(rendered: dict[str, Path], lang: str) -> None:
    problems = _problems(rendered[lang], lang)
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(sorted(set(problems)))


def test_every_status_code_and_profile_field_has_a_label() -> None:
    for code in ErrorCode:
        assert f"errcode.{code.value}" in CATALOGUE, code
    for section, model in (("send", Send), ("receive", Receive)):
        for key in _field_keys(model, f"{section}."):
            if key.startswith(f"{section}.") and not _is_section(model, key):
                assert f"field.{key}" in CATALOGUE, key


def _is_section(model: type[BaseModel], key: str) -> bool:
    """Whether a dotted key of `model` names a nested section (its fields are labelled)."""
    *parents, name = key.split(".")[1:]
    for parent in parents:
        info = model.model_fields[parent]
        model = next(a for a in [info.annotation, *get_args(info.annotation)] if _model(a))
    info = model.model_fields[name]
    return any(_model(a) for a in [info.annotation, *get_args(info.annotation)])


def _model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def test_comparison_columns_follow_the_source_table(
    run: tuple[Results, Path], rendered: dict[str, Path]
) -> None:
    results, _ = run
    columns = results.sources["comparison-table"].columns
    assert columns[:3] == ["apimail-apicrypt", "apimail-smime", "docteur-net-cps"]
    html = (rendered["fr"] / "comparison.html").read_text("utf-8")
    head = html[html.index('<table class="comparison"') : html.index("</thead>")]
    shown = re.findall(r'href="products/([a-z0-9-]+)\.html"', head)
    assert (
        shown == [c for c in columns if c in shown] == ["apimail-apicrypt", "sermentis-mms", "smm"]
    )


def test_the_cell_dialog_summarises_before_the_evidence(
    run: tuple[Results, Path], rendered: dict[str, Path]
) -> None:
    """What was sent, what the receiver said and what the validator found, read from a real
    run's cell (reference -> S.M.M. encrypt: OAEP, which the 2008 profile refuses)."""
    results, _ = run
    cell = results.cell("reference", "smm", "encrypt")
    assert cell is not None and cell.checks and cell.sent["key_transport"]
    for lang, said in (("fr", "algorithme non accepté"), ("en", "algorithm not accepted")):
        html = (rendered[lang] / "index.html").read_text("utf-8")
        start = html.index('data-fn="encrypt"', html.index('aria-label="' + _pair(results, lang)))
        detail = html[start : html.index("</div>", start)]
        order = [detail.index(f'class="{k}"') for k in ("sent", "said", "validator", "evidence")]
        assert order == sorted(order), "summary first, evidence last"
        sent = detail[order[0] : order[1]]
        assert f"<code>{cell.sent['key_transport'][0]}</code>" in sent
        assert said in detail[order[1] : order[2]]
        validator = detail[order[2] : order[3]]
        assert cell.checks not in validator.replace("%2F", "/").split('"')[::2]  # not as text
        assert ("<code>ENC-" in validator) or ("0 " not in validator)
        assert 'class="checks-report"' in validator


def _pair(results: Results, lang: str) -> str:
    names = {a.id: (a.name_fr if lang == "fr" and a.name_fr else a.name) for a in results.agents}
    return f"{names['reference']} → {names['smm']}"


def test_the_reference_agent_is_named_in_the_pages_language(
    run: tuple[Results, Path], rendered: dict[str, Path]
) -> None:
    results, _ = run
    reference = next(a for a in results.agents if a.id == "reference")
    assert reference.name_fr == "Agent de référence (osm-conformance)"
    for lang, shown, hidden in (
        ("fr", reference.name_fr, reference.name),
        ("en", reference.name, reference.name_fr),
    ):
        for page in ("index.html", "refusals.html", "products/reference.html"):
            html = (rendered[lang] / page).read_text("utf-8")
            assert shown in html and hidden not in html, (lang, page)


# A letter with every feature a description names: its French and English must each read
# as one language (the letter's own words are quoted as written).
LETTER = (
    "Cher confrère,\r\nFrom the lab: résultats  \r\n-- \r\n.\r\n"
    + "x" * 1000
    + "\r\nligne\nnue\rfin"
)


def _scenario() -> Scenario:
    return Scenario(
        function="hprim-net",
        subject="Résultats d'analyse",
        body=LETTER,
        charset="utf-8",
        transfer_encoding="base64",
        attachments=(Attachment("compte-rendu-échographie.pdf", "application/pdf", b"%PDF"),),
        hprim=HprimPayload("medecin", b"****LAB****\r\nRES|x\n"),
        extra_recipients=1,
    )


def test_a_scenario_is_described_in_both_languages() -> None:
    described = _scenario().description()
    assert described.en == _scenario().describe()
    for lang in LANGUAGES:
        text = NOT_PROSE.sub(" ", described.get(lang))
        words = set(re.findall(r"[a-zàâçéèêëîïôûùüÿœ]+", text.lower()))
        assert not words & STOPWORDS[lang], (lang, words & STOPWORDS[lang], text)
    # The same facts in both: every number and quoted value of one is in the other.
    assert re.findall(r"\d+", described.fr) == re.findall(r"\d+", described.en)
    assert "lettre de " in described.fr and "1 LF isolé(s)" in described.fr
    assert "objet non ASCII" in described.fr and "pièce jointe" in described.fr


def test_a_counterexample_reads_in_the_pages_language(
    run: tuple[Results, Path], tmp_path: Path
) -> None:
    """A partial cell of the real run with a counterexample described by the scenario
    model: each page shows it in its language (checked like the page's own text), and a
    results.json written before the French existed still shows the English, marked so."""
    results, out = run
    results = results.model_copy(deep=True)
    cell = results.cell("smm", "sermentis-mms", "sign")
    assert cell is not None and cell.verdict == "pass"
    described = _scenario().description()
    cell.verdict = "partial"
    cell.counterexample = Counterexample(
        description=described.en, description_fr=described.fr, reason="bad-signature: no"
    )
    for lang in LANGUAGES:
        render_report(results, tmp_path / lang, lang=lang, run_dir=out)
        shown = html_unescape((tmp_path / lang / "index.html").read_text("utf-8"))
        assert f'<pre lang="{lang}">{described.get(lang)}</pre>' in shown
        sheet = html_unescape((tmp_path / lang / "products/smm.html").read_text("utf-8"))
        assert f'<pre lang="{lang}">{described.get(lang)}</pre>' in sheet
        assert _problems(tmp_path / lang, lang) == []
    cell.counterexample.description_fr = None  # an older results.json
    render_report(results, tmp_path / "old", lang="fr", run_dir=out)
    shown = html_unescape((tmp_path / "old" / "index.html").read_text("utf-8"))
    assert f'<pre lang="en">{described.en}</pre>' in shown


def test_rejection_variants_read_in_the_pages_language(
    run: tuple[Results, Path], rendered: dict[str, Path]
) -> None:
    results, _ = run
    assert results.rejections is not None
    cases = [c for cell in results.rejections.cells for c in cell.cases if c.variant]
    assert cases and all(c.variant_fr and c.variant_fr != c.variant for c in cases)
    for lang in LANGUAGES:
        html = (rendered[lang] / "refusals.html").read_text("utf-8")
        shown = re.findall(r'<span class="variant" lang="([a-z]+)">([^<]*)</span>', html)
        assert shown and {found for found, _ in shown} == {lang}
        written = {(c.variant_fr if lang == "fr" else c.variant) for c in cases}
        assert {html_unescape(text) for _, text in shown} == written
        specs = re.findall(r'<cite class="spec" lang="([a-z]+)">', html)
        assert specs and set(specs) == {lang}, "the case's references in the page's language"


def test_an_assumed_reason_is_shown_in_the_pages_language_only(
    run: tuple[Results, Path],
) -> None:
    results, _ = run
    both = Fact(value=True, assumed=True, note="a plausible value", note_fr="valeur plausible")
    english_only = Fact(value=True, assumed=True, note="a plausible value")
    for lang, expected, without in (
        ("fr", "valeur plausible", None),
        ("en", "a plausible value", "a plausible value"),
    ):
        model = ReportModel(results, Translator(lang))
        assert model.fact_view(both, Footnotes()).reason == expected
        assert model.fact_view(english_only, Footnotes()).reason == without


def test_every_shipped_source_has_a_french_title() -> None:
    sources = yaml.safe_load((PROFILES_DIR / "sources.yaml").read_text("utf-8"))["sources"]
    assert [s["id"] for s in sources if not s.get("title_fr")] == []


def test_a_validator_report_given_as_text_is_summarised(tmp_path: Path) -> None:
    """Vectors rows keep the validator's text report in `checks`: summarised the same way."""
    run = RunInfo(seed=1, examples=1, started="2026-01-01", complete=True, suite_version="0")
    links = EvidenceLinks(Results(run=run, agents=[], cells=[], pairs=[]), tmp_path, tmp_path)
    text = (
        "ID         STATUS   PART\n---------  -------  ----\n"
        "HDR-001    SUCCESS  1        From: a@b.example\n"
        "MIME-001   ERROR    1        bare LF\nMIME-001   ERROR    1.1      bare LF\n"
        "CMS-007    WARNING  1.2      sha1\n\npolicy osm-2008: 4 checks\n"
    )
    found = links.checks(text, "")
    assert found is not None and found.report is None and not found.unreadable
    assert found.findings == [("ERROR", 2, ["MIME-001"]), ("WARNING", 1, ["CMS-007"])]
    assert found.passed == 1
    missing = links.checks("evidence/x/basic.checks.html", "")
    assert missing is not None and missing.unreadable and missing.report is None


def test_claims_and_contradictions_name_their_source_in_words(run: tuple[Results, Path]) -> None:
    results, _ = run
    model = ReportModel(results, Translator("fr"))
    smm = model.agent_name("smm")
    declared = "profile smm: send.signature.digest (what its message really used)"
    assert model.source_text(declared) == (f"profil de {smm} : Condensat de la signature", None)
    assert model.claim_value("digest sha1") == ("condensat", "sha1")
    assert model.claim_value("pass") == ("réussi", None)
    title = "Interopérabilité des outils OSM et le cas d'Apicrypt"
    quote = "Toutes les Messageries OSM sont inter opérables de principe"
    assert model.source_text(f"interoperability-slide: {quote}") == (title, quote)
    english = ReportModel(results, Translator("en"))
    said = english.said_text("refuse under osm-2008: bad-signature: part 2: signer 1: no")
    assert (said.text, said.words) == ("bad signature", "part 2: signer 1: no")
    said = model.said_text("tolerated (warn under osm-2008): delivered, services: integrity")
    assert (said.text, said.words) == ("délivré, services : intégrité", None)
    assert model.expectation("withhold:non_repudiation") == "le délivrer sans non-répudiation"
    # The suite's own reasons in words too: a promised service missing, a false accept.
    said = model.said_text("services not held: integrity, non-repudiation")
    assert (said.text, said.words) == (
        "délivré sans ces services promis : intégrité, non-répudiation",
        None,
    )
    said = english.said_text(
        "false accept (refuse under osm-2008): claimed integrity; delivered, services: integrity"
    )
    assert (said.text, said.words) == ("delivered, services: integrity", None)
