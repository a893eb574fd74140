"""What was measured, what was assumed, what the source predicted (issue 16).

Each agent says what its cells measure (a profile played by the suite, the
Apicrypt model, a real engine, a real product); each fact of what a profile
sends and accepts carries its provenance into results.json; a failure the
source predicts is shown as expected; a pair's interoperability counts only
what was observed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_report_sample import FUNCTIONS, sample_results

from conformance.core.vocabulary import MEASUREMENTS, REAL_MEASUREMENTS, measurement_of
from conformance.matrix.assemble import _sources, agent_info, pairs_of
from conformance.matrix.finish import summary
from conformance.paths import PROFILES_DIR
from conformance.profiles.claims import shipped_claims
from conformance.profiles.loader import load_profiles
from conformance.report import render_report
from conformance.report.i18n import Translator
from conformance.report.views import ReportModel
from conformance.results import (
    AgentInfo,
    Cell,
    Results,
    Verdict,
    interop_contradicts,
    interop_of,
    load_results,
)

EXAMPLE_ADAPTER = PROFILES_DIR.parent / "examples" / "adapters" / "fictimail.yaml"


# --- 1. measurement ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine", "kind", "by_hand", "expected"),
    [
        ("builtin", "client", False, "simulated"),
        ("builtin", "webmail", False, "simulated"),
        ("apicrypt-model", "client", False, "model"),
        ("builtin", "builtin", False, "suite-reference"),
        ("openssl", "reference-engine", False, "real-engine"),
        ("nss", "reference-engine", False, "real-engine"),
        ("gpgsm", "reference-engine", False, "real-engine"),
        ("pkijs", "reference-engine", False, "real-engine"),
        ("command", "client", False, "real-adapter"),
        ("real-product", "client", True, "real-vectors"),
        ("builtin", "client", True, "real-vectors"),  # observed by hand
    ],
)
def test_measurement_follows_what_runs_the_agent(
    engine: str, kind: str, by_hand: bool, expected: str
) -> None:
    assert measurement_of(engine, kind, by_hand) == expected
    info = AgentInfo.model_validate(
        {
            "id": "x",
            "name": "X",
            "kind": kind,
            "homologation": "none",
            "engine": engine,
            "observed_by_hand": by_hand,
        }
    )
    assert info.measurement == expected  # filled when absent (results.json of older runs)
    assert info.real == (expected in REAL_MEASUREMENTS)


def test_every_shipped_profile_and_the_example_adapter_say_what_they_measure() -> None:
    profiles = load_profiles([PROFILES_DIR, EXAMPLE_ADAPTER])
    sources = _sources()
    found = {pid: agent_info(p, sources).measurement for pid, p in profiles.items()}
    assert found["easycrypt-net"] == found["docteur-net-cps"] == "simulated"
    assert found["apimail-apicrypt"] == "model"
    assert found["reference"] == "suite-reference"
    assert found["openssl"] == found["nss"] == found["gpgsm"] == found["pkijs"] == "real-engine"
    assert found["fictimail"] == "real-adapter"
    assert set(found.values()) <= set(MEASUREMENTS)


def test_an_engine_doing_cms_only_is_shown_as_cms_by_it(tmp_path: Path) -> None:
    """engine.mime: suite reaches results.json and every place the measurement is shown."""
    profiles = load_profiles()
    infos = {pid: agent_info(p, _sources()) for pid, p in profiles.items()}
    assert infos["pkijs"].mime == "suite" and infos["openssl"].mime == "engine"
    results = sample_results(tmp_path)
    results.agents[0].mime = "suite"  # the reference agent, as if its MIME were the suite's
    name = results.agents[0].name
    for lang, words in (("fr", f"CMS par {name}"), ("en", f"CMS by {name}")):
        render_report(results, tmp_path / lang, lang=lang, run_dir=tmp_path)
        index = (tmp_path / lang / "index.html").read_text("utf-8")
        sheet = (tmp_path / lang / "products" / f"{results.agents[0].id}.html").read_text("utf-8")
        tag = 'class="tag tag-measure tag-cms-by"'
        assert tag in index and words in index and words in sheet
        other = (tmp_path / lang / "products" / f"{results.agents[1].id}.html").read_text("utf-8")
        assert "tag-cms-by" not in other.split("<dl", 1)[1].split("</dl>", 1)[0]


def test_a_stored_measurement_is_kept_and_a_wrong_one_refused(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    path = tmp_path / "results.json"
    results.dump(path)
    data = json.loads(path.read_text("utf-8"))
    assert [a["measurement"] for a in data["agents"]] == [
        "suite-reference",
        "model",
        "simulated",
        "real-vectors",
        "real-engine",
    ]
    del data["agents"][2]["measurement"]  # written before the field existed
    data["agents"][1]["measurement"] = "guessed"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(Exception, match=r"agents\.1\.measurement"):
        load_results(path)
    data["agents"][1]["measurement"] = "model"
    path.write_text(json.dumps(data), "utf-8")
    assert load_results(path).agents[2].measurement == "simulated"


def test_comparison_interop_is_measured_only_for_a_product_that_ran(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    for lang, measured, simulated in (
        ("fr", "mesurée", "simulée"),
        ("en", "measured", "simulated"),
    ):
        model = ReportModel(results, Translator(lang))
        cmp = model.comparison()
        interop = dict(cmp.rows)["interoperability"]
        ran = {a.info.id: not f.simulated for a, f in zip(cmp.products, interop, strict=True)}
        # Docteur Net CPS is observed by hand in the sample; the others are played by profiles
        assert ran == {"apimail-apicrypt": False, "easycrypt-net": False, "docteur-net-cps": True}
        assert cmp.any_simulated
        out = tmp_path / lang
        render_report(results, out, lang=lang, run_dir=tmp_path)
        html = (out / "comparison.html").read_text("utf-8")
        row = html[
            html.index('class="crit-interoperability"') : html.index('class="crit-compliance"')
        ]
        assert row.count(f">{simulated}</span>") == 2 and row.count(f">{measured}</span>") == 1
        assert 'class="note simulated-note"' in html
    # a run of profiles only: no "measured" anywhere in the row
    for agent in results.agents:
        agent.measurement = "simulated" if agent.engine == "builtin" else agent.measurement
    render_report(results, tmp_path / "sim", run_dir=tmp_path)
    html = (tmp_path / "sim" / "comparison.html").read_text("utf-8")
    row = html[html.index('class="crit-interoperability"') : html.index('class="crit-compliance"')]
    assert ">mesurée</span>" not in row


# --- 2. assumed facts ---------------------------------------------------------------------


def test_sends_and_accepts_carry_their_profiles_provenance() -> None:
    profiles = load_profiles()
    info = agent_info(profiles["easycrypt-net"], _sources())
    digest = info.provenance["sends.signature.digest"]
    assert digest.assumed and digest.reason and "2008" in digest.reason
    keys = info.provenance["accepts.smime.key_transports"]
    assert keys.assumed and keys.reason and "CPS2ter" in keys.reason
    fmt = info.provenance["sends.format"]
    assert not fmt.assumed and fmt.source and fmt.reason  # a slide, quoted
    # every key names a fact of the summary
    leaves = {k for k in info.provenance}
    assert all(k.startswith(("sends.", "accepts.")) for k in leaves)
    assert info.sends["signature"]["digest"] == "sha1"


def test_product_sheet_and_comparison_mark_assumed_values(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    render_report(results, tmp_path, lang="en")
    sheet = (tmp_path / "products" / "easycrypt-net.html").read_text("utf-8")
    assert (
        '<span class="fact assumed" title="assumed: SHA-1 was the digest of 2008 S/MIME tools">'
        "<code>sha1</code>" in sheet
    )
    assert '<span class="assumed-word">assumed</span>' in sheet
    assert '<span class="assumed-reason"> (SHA-1 was the digest of 2008 S/MIME tools)' in sheet
    assert '<span class="fact sourced" title="source: ESPS' in sheet  # sends.format: sourced
    assert "no source gives this fact" in sheet  # the note under the summary
    cmp = (tmp_path / "comparison.html").read_text("utf-8")
    assert 'title="assumed: plausible for 2008"' in cmp
    css = (tmp_path / "index.html").read_text("utf-8")
    assert ".assumed-reason { display: inline;" in css[css.index("@media print") :]


def test_a_french_page_gives_the_french_reason_only(tmp_path: Path) -> None:
    """An assumed fact's reason is in the page's language: reason_fr on a French page."""
    render_report(sample_results(tmp_path), tmp_path, lang="fr")
    sheet = (tmp_path / "products" / "easycrypt-net.html").read_text("utf-8")
    assert "SHA-1 était le condensat des outils S/MIME de 2008" in sheet
    assert "SHA-1 was the digest" not in sheet
    cmp = (tmp_path / "comparison.html").read_text("utf-8")
    assert "plausible en 2008" in cmp and "plausible for 2008" not in cmp


# --- 3. expected failures -----------------------------------------------------------------


def test_a_failure_the_source_predicts_is_expected_not_a_finding(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    model = ReportModel(results, Translator("fr"))
    pv = model.pairs[("apimail-apicrypt", "docteur-net-cps")]
    assert pv.expected_outcome and not pv.contradiction
    sign = next(f for f in pv.functions if f.function == "sign")
    assert sign.verdict == "fail" and sign.expected_outcome
    assert "attendu" in sign.title
    # a failure without a claim, and a contradiction, are not expected
    other = model.pairs[("apimail-apicrypt", "openssl")]
    assert not other.expected_outcome
    assert not any(f.expected_outcome for f in other.functions)
    contra = model.pairs[("docteur-net-cps", "easycrypt-net")]
    assert contra.contradiction and not contra.expected_outcome
    sheet = model.product(model.by_id["docteur-net-cps"])
    assert {(pv.sender.info.id, fv.function) for pv, fv in sheet.expected} == {
        (s, f)
        for s in ("apimail-apicrypt", "docteur-net-cps")
        for f in ("sign", "encrypt", "sign-encrypt", "attachments")
    }
    assert not any(fv.expected_outcome for _, fv in sheet.findings)
    render_report(results, tmp_path)
    index = (tmp_path / "index.html").read_text("utf-8")
    assert index.count('<span class="mark v-fail expected"') >= 8
    page = (tmp_path / "products" / "docteur-net-cps.html").read_text("utf-8")
    assert "Échecs attendus" in page and 'class="finding expected"' in page


# --- 8. pair interoperability over what was observed ---------------------------------------


def _cells(verdicts: list[Verdict], sender: str = "a", receiver: str = "b") -> list[Cell]:
    return [
        Cell(sender=sender, receiver=receiver, function=f, verdict=v)
        for f, v in zip(FUNCTIONS, verdicts, strict=False)
    ]


def test_interop_leaves_harness_errors_out() -> None:
    assert interop_of(["error"] * 5) == "not-observed"
    assert interop_of(["pass"] * 5) == "full"
    assert interop_of(["pass", "pass", "error", "pass", "pass"]) == "partial"  # not full
    assert interop_of(["fail", "error", "fail"]) == "none"
    assert interop_of(["pass", "unsupported"]) == "full"
    assert interop_of(["not-observed"] * 5) == "not-observed"  # e.g. an engine not installed
    assert interop_of(["pass", "not-observed"]) == "partial"  # not full: one not seen
    assert interop_of(["pass", "pass"], functions=5) == "partial"  # three not run
    # a claim is contradicted only by what was seen
    assert not interop_contradicts("full", ["pass", "error", "pass"])
    assert interop_contradicts("full", ["fail", "error", "pass"])
    assert not interop_contradicts("none", ["error", "error"])
    assert interop_contradicts("none", ["pass", "error"])
    assert not interop_contradicts("partial", ["pass", "error"])
    assert interop_contradicts("full", ["pass", "fail"])


def test_pairs_count_only_observed_functions() -> None:
    claims = shipped_claims()
    # easycrypt-net <-> docteur-net-cps is claimed full (the OSM tools interoperate)
    errors = _cells(["error"] * 5, "easycrypt-net", "docteur-net-cps")
    some = _cells(["pass", "error", "pass", "pass", "error"], "docteur-net-cps", "easycrypt-net")
    pairs = {(p.sender, p.receiver): p for p in pairs_of([*errors, *some], claims, FUNCTIONS)}
    only_errors = pairs[("easycrypt-net", "docteur-net-cps")]
    assert only_errors.interop == "not-observed" and only_errors.observed == 0
    assert only_errors.expected == "full" and not only_errors.contradiction
    partly = pairs[("docteur-net-cps", "easycrypt-net")]
    assert (partly.interop, partly.observed, partly.functions) == ("partial", 3, 5)
    assert not partly.contradiction  # the errors are the harness's, not the products'
    # an interrupted run: two cells of five
    cut = pairs_of(_cells(["pass", "pass"], "smm", "mmua"), claims, FUNCTIONS)[0]
    assert (cut.interop, cut.observed, cut.functions) == ("partial", 2, 5)


def test_a_pair_of_errors_reads_not_observed_with_its_coverage(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    for cell in results.cells:
        if (cell.sender, cell.receiver) == ("reference", "easycrypt-net"):
            cell.verdict, cell.reason = "error", "harness: adapter timed out"
    pairs = pairs_of(results.cells, shipped_claims(), FUNCTIONS)
    results = Results.model_validate({**results.model_dump(), "pairs": pairs})
    by = {(p.sender, p.receiver): p for p in results.pairs}
    assert by[("reference", "easycrypt-net")].interop == "not-observed"
    assert by[("reference", "docteur-net-cps")].interop == "partial"  # 4/5, all passing
    printed = summary(results)
    assert "not-observed 1" in printed and "? not observed" in printed
    for lang, words in (
        ("fr", ("non observée", "4/5 fonctions observées")),
        ("en", ("not observed", "4/5 functions observed")),
    ):
        render_report(results, tmp_path / lang, lang=lang, run_dir=tmp_path)
        index = (tmp_path / lang / "index.html").read_text("utf-8")
        assert '<span class="interop i-not-observed">' in index
        assert all(w in index for w in words), lang
        sheet = (tmp_path / lang / "products" / "reference.html").read_text("utf-8")
        assert words[1] in sheet


def test_a_pair_not_observed_does_not_count_in_a_products_interop(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    for pair in results.pairs:
        if (pair.sender, pair.receiver) == ("docteur-net-cps", "easycrypt-net"):
            assert pair.interop == "partial"
            pair.interop = "not-observed"
    model = ReportModel(results, Translator("fr"))
    # left: EASYCRYPT.net -> Docteur Net CPS, full (the only other homologated product)
    assert model.measured_interop(model.by_id["easycrypt-net"]) == "full"


def test_no_measured_or_simulated_word_without_a_pair_to_judge(tmp_path: Path) -> None:
    results = sample_results(tmp_path)
    for agent in results.agents:
        agent.homologation = "none"  # no homologated peer: the row cannot be judged
    render_report(results, tmp_path)
    html = (tmp_path / "comparison.html").read_text("utf-8")
    row = html[html.index('class="crit-interoperability"') : html.index('class="crit-compliance"')]
    assert row.count("non évaluée") == 3 and "measure-word" not in row
