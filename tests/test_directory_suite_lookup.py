"""One rule for the real engines without a directory client, at a first contact.

Their profiles say `directory` as a project choice, the suite looks the recipient
up on their behalf, and the cell says so (results.json `suite_lookup`, the matrix
mark's tooltip and the pair's detail, in French and English): a reader never takes
the suite's lookup for the tool's. The verdict still measures the encryption and
the reading.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from agents_support import need_tools
from test_report_sample import sample_results

from conformance.directory import slapd
from conformance.matrix.cast import Cast
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.finish import summary
from conformance.profiles.loader import load_profiles
from conformance.profiles.schema import Profile
from conformance.report import render_report
from conformance.report.i18n import Translator
from conformance.report.views import ReportModel
from conformance.results import LookupFound, Results, SuiteLookup, load_results

MISSING = slapd.missing()
needs_slapd = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

# The real engines that find no certificate themselves (gpgsm asks dirmngr).
WITHOUT_CLIENT = ("openssl", "nss", "bouncycastle", "go-pkcs7", "pkijs")
NOTE = SuiteLookup(
    tool="bouncycastle",
    why="no-directory-client",
    directory="ldap://127.0.0.1:1234/o=TEST%20GIP-CPS,c=FR",
    found=[LookupFound(mail="agnes.renaud@osm-test.example", dn="uid=x", serial="1f")],
)


@pytest.fixture(scope="module")
def profiles() -> dict[str, Profile]:
    return load_profiles()


def test_every_engine_without_a_directory_client_follows_one_rule(
    profiles: dict[str, Profile],
) -> None:
    first_contact_engines = {
        pid
        for pid, p in profiles.items()
        if p.engine.type not in ("builtin", "apicrypt-model", "command", "gpgsm")
        and "first-contact" in p.capabilities().send
    }
    assert first_contact_engines == set(WITHOUT_CLIENT)
    for pid in WITHOUT_CLIENT:
        profile = profiles[pid]
        assert profile.send.recipient_certificate == "directory", pid
        cited = profile.provenance["send.recipient_certificate"]
        assert cited.source == "project-choice", pid
        assert cited.note is not None and "no directory client" in cited.note, pid
        assert "the suite looks the recipient up" in cited.note, pid


@pytest.fixture(scope="module")
def cast(profiles: dict[str, Profile], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    if MISSING is not None:
        pytest.skip(MISSING)
    chosen = ("reference", "openssl", "bouncycastle", "go-pkcs7", "pkijs")
    workdir = tmp_path_factory.mktemp("cast")
    cast = Cast({pid: profiles[pid] for pid in chosen}, workdir=workdir)
    try:
        yield cast
    finally:
        cast.close()


@needs_slapd
@pytest.mark.parametrize("sender", ["openssl", "bouncycastle", "go-pkcs7", "pkijs"])
def test_a_tools_first_contact_is_credited_to_the_suite_lookup(
    cast: Cast, profiles: dict[str, Profile], sender: str
) -> None:
    need_tools(profiles[sender])
    cell = run_cell(
        cast.seat(sender, "sender"),
        cast.seat("reference", "receiver"),
        "first-contact",
        cast.world(directory=True),
        CellSettings(examples=1),
    )
    # Measured: the tool encrypted to what the suite found, the reference read it.
    assert cell.verdict == "pass", cell.reason
    lookup = cell.suite_lookup
    assert lookup is not None and lookup.failure is None
    assert (lookup.tool, lookup.why) == (sender, "no-directory-client")
    (found,) = lookup.found
    assert found.mail == cast.seat("reference", "receiver").party.email
    assert found.dn.startswith("uid=") and int(found.serial, 16) > 0
    assert "ms" not in lookup.model_dump_json()  # results carry no timing


@needs_slapd
def test_a_product_that_looks_up_itself_is_not_marked(cast: Cast) -> None:
    cell = run_cell(
        cast.seat("reference", "sender"),
        cast.seat("reference", "receiver"),
        "first-contact",
        cast.world(directory=True),
        CellSettings(examples=1),
    )
    assert cell.verdict == "pass", cell.reason
    assert cell.suite_lookup is None


def _marked(root: Path) -> Results:
    results = sample_results(root)
    cell = results.cell("docteur-net-cps", "openssl", "sign-encrypt")
    assert cell is not None
    cell.suite_lookup = NOTE
    return results


@pytest.mark.parametrize(
    ("lang", "tooltip", "line"),
    [
        (
            "fr",
            "certificat du destinataire trouvé par la suite, pas par l'émetteur",
            "cherché dans l'annuaire par la suite pour le compte de",
        ),
        (
            "en",
            "recipient's certificate looked up by the suite, not by the sender",
            "looked up in the directory by the suite on behalf of",
        ),
    ],
    ids=["fr", "en"],
)
def test_the_page_says_the_suite_looked_up(
    tmp_path: Path, lang: str, tooltip: str, line: str
) -> None:
    results = _marked(tmp_path)
    render_report(results, tmp_path, lang=lang)
    model = ReportModel(results, Translator(lang))
    pv = model.pairs[("docteur-net-cps", "openssl")]
    marked = next(f for f in pv.functions if f.function == "sign-encrypt")
    assert tooltip in marked.title  # the matrix mark and the product sheets' marks
    assert all(tooltip not in f.title for f in pv.functions if f is not marked)
    html = (tmp_path / "index.html").read_text("utf-8")
    escaped = tooltip.replace("'", "&#39;")
    assert re.search(f'data-fn="sign-encrypt" title="[^"]*{re.escape(escaped)}', html)
    start = html.index(f'<section class="detail" id="{pv.id}"')
    detail = html[start : html.index("</section>", start)]
    assert detail.count('class="suite-lookup"') == 1
    assert line in detail.replace("&#39;", "'")
    found = {  # what the lookup found, worded from its facts in the page's language
        "en": "agnes.renaud@osm-test.example found in ldap://127.0.0.1:1234/",
        "fr": "agnes.renaud@osm-test.example trouvé dans ldap://127.0.0.1:1234/",
    }
    assert found[lang] in detail
    sheet = (tmp_path / pv.sender.page).read_text("utf-8")
    assert re.search(f'data-fn="sign-encrypt" title="[^"]*{re.escape(escaped)}', sheet)
    # A pair whose sender looked up itself says nothing of it.
    other = model.pairs[("docteur-net-cps", "docteur-net-cps")]
    start = html.index(f'<section class="detail" id="{other.id}"')
    assert 'class="suite-lookup"' not in html[start : html.index("</section>", start)]


def test_results_json_keeps_who_looked_up(tmp_path: Path) -> None:
    results = _marked(tmp_path)
    results.dump(tmp_path / "results.json")
    again = load_results(tmp_path / "results.json")
    cell = again.cell("docteur-net-cps", "openssl", "sign-encrypt")
    assert cell is not None and cell.suite_lookup == NOTE
    assert all(c.suite_lookup is None for c in again.cells if c is not cell)


def test_the_run_summary_counts_the_suite_lookups(tmp_path: Path) -> None:
    assert "suite's lookup" not in summary(sample_results(tmp_path))
    printed = summary(_marked(tmp_path))
    assert "suite's lookup: 1 first-contact cell, on behalf of bouncycastle" in printed
