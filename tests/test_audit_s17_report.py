"""The report words in the page's language what the suite itself did beside a verdict.

Two facts of the suite reach the pages inside results.json: its lookup on a tool's
behalf at a first contact (`Cell.suite_lookup`), and the key transport a rejection
case's envelopes took when not the usual one (`RejectionCaseResult.key_transport`).
Both are recorded as facts where they happen (never English read back): a French page
words them in French, the key transport is never quoted as the receiver's own words,
and a failed lookup on a tool's behalf never reads as a measure of the tool. The facts
are made here by the code that makes them in a run (recipients.looked_up and the cell's
conversion, rejections.run.control_status), so the pages follow what a run records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from test_report_refusals import with_rejections
from test_report_sample import sample_results

from conformance.agents import recipients
from conformance.agents.base import Evidence, SendRequest, SendResult
from conformance.directory.lookup import LookupFailure
from conformance.matrix.cell import _suite_lookup
from conformance.matrix.exchange import Observation
from conformance.matrix.finish import summary
from conformance.rejections import run as rejection_run
from conformance.rejections.hostile import KEY_TRANSPORT
from conformance.rejections.model import load_cases
from conformance.report import render_report
from conformance.report.i18n import Translator
from conformance.report.views import ReportModel
from conformance.results import KeyTransportChange, RejectionCaseResult, Results, SuiteLookup
from conformance.status import ErrorCode, Status

MAIL = "agnes.renaud@osm-test.example"
DIRECTORY = "ldap://127.0.0.1:1234/o=TEST%20GIP-CPS,c=FR"


@dataclass
class _Hit:
    certificate: Any
    dn: str = "uid=899700000286,ou=pharmacien,o=TEST GIP-CPS,c=FR"
    seconds: float = 0.0021
    notes: tuple[str, ...] = ()


@dataclass
class _Certificate:
    serial_number: int = 0x1F


class _Lookup:
    """The directory client, answering as `fail` says (a LookupFailure, or a hit)."""

    fail: LookupFailure | None = None

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> _Lookup:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def encryption_certificate(self, mail: str) -> _Hit:
        if self.fail is not None:
            raise self.fail
        return _Hit(_Certificate())


def _lookup(monkeypatch: pytest.MonkeyPatch, fail: LookupFailure | None = None) -> SuiteLookup:
    """What a run's cell carries: recorded by recipients.looked_up for a tool, and
    converted by the cell (matrix/cell.py) from the send's evidence."""
    monkeypatch.setattr(_Lookup, "fail", fail)
    monkeypatch.setattr(recipients, "Lookup", _Lookup)
    request = SendRequest(
        function="first-contact",
        content=b"",
        sender=cast(Any, None),
        recipients=(),
        recipient_emails=(MAIL,),
        directory=DIRECTORY,
    )
    ev = Evidence()
    recipients.looked_up(request, ev, recipients.OnBehalf("openssl", "no-directory-client"))
    sent = SendResult(None, evidence=ev)
    found = _suite_lookup(Observation(ok=False, reason=None, send=sent))
    assert found is not None
    return found


def _with_lookup(root: Path, lookup: SuiteLookup) -> Results:
    results = sample_results(root)
    cell = results.cell("docteur-net-cps", "openssl", "sign-encrypt")
    assert cell is not None
    cell.suite_lookup = lookup
    return results


def _detail(html: str, pair_id: str) -> str:
    start = html.index(f'<section class="detail" id="{pair_id}"')
    return html[start : html.index("</section>", start)].replace("&#39;", "'")


def test_the_lookup_is_recorded_as_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    lookup = _lookup(monkeypatch)
    assert (lookup.tool, lookup.why, lookup.directory) == (
        "openssl",
        "no-directory-client",
        DIRECTORY,
    )
    assert [(f.mail, f.serial) for f in lookup.found] == [(MAIL, "1f")]
    assert lookup.failure is None and lookup.reason is None
    assert "2.1" not in lookup.model_dump_json()  # the timing stays in the evidence's notes


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_page_words_the_suite_lookup_in_its_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    results = _with_lookup(tmp_path, _lookup(monkeypatch))
    render_report(results, tmp_path, lang=lang)
    pv = ReportModel(results, Translator(lang)).pairs[("docteur-net-cps", "openssl")]
    detail = _detail((tmp_path / "index.html").read_text("utf-8"), pv.id)
    found = {
        "fr": f"{MAIL} trouvé dans {DIRECTORY} : uid=899700000286,ou=pharmacien,o=TEST "
        "GIP-CPS,c=FR, certificat de chiffrement de numéro de série 1f",
        "en": f"{MAIL} found in {DIRECTORY}: uid=899700000286,ou=pharmacien,o=TEST "
        "GIP-CPS,c=FR, encryption certificate serial 1f",
    }
    assert found[lang] in detail
    why = {"fr": "(sans client d'annuaire)", "en": "(no directory client)"}
    assert why[lang] in detail
    # Never the evidence's English note, quoted or read back.
    assert "on behalf of openssl" not in detail and " ms)" not in detail


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_failed_suite_lookup_is_no_measure_of_the_tool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    failure = LookupFailure("timeout", f"{DIRECTORY}: no answer in 3 s")
    results = _with_lookup(tmp_path, _lookup(monkeypatch, failure))
    model = ReportModel(results, Translator(lang))
    cell = results.cell("docteur-net-cps", "openssl", "sign-encrypt")
    assert cell is not None and cell.suite_lookup is not None
    assert (cell.suite_lookup.failure, cell.suite_lookup.reason) == ("timeout", failure.reason)
    lookup = model.suite_lookup(cell, "OpenSSL")
    assert lookup is not None
    measures = {"fr": "le verdict mesure son chiffrement", "en": "the verdict measures its"}
    assert measures[lang] not in lookup.text
    failed = {
        "fr": "a échoué (l'annuaire n'a pas répondu à temps) : rien d'aucun des deux produits "
        "n'a été mesuré",
        "en": "failed (the directory did not answer in time): nothing of either product was "
        "measured",
    }
    assert failed[lang] in lookup.text
    assert lookup.found == [] and lookup.reason == failure.reason  # quoted: the suite's words
    # The matrix mark's tooltip does not say the certificate was found either.
    pv = model.pairs[("docteur-net-cps", "openssl")]
    title = next(f for f in pv.functions if f.function == "sign-encrypt").title
    assert Translator(lang)("mark.suite_lookup") not in title
    assert Translator(lang)("mark.suite_lookup_failed") in title


def _change(monkeypatch: pytest.MonkeyPatch) -> KeyTransportChange:
    """What control_status records for a receiver that reads OAEP envelopes only."""

    def read(*args: Any) -> Status:
        status = Status()
        if args[-1] == KEY_TRANSPORT:
            status.add_error(ErrorCode.UNSUPPORTED_ALGORITHM, "NotSupportedError")
        return status

    monkeypatch.setattr(rejection_run, "_read_control", read)
    case = next(c for c in load_cases() if c.function != "sign")
    control = rejection_run.control_status(case, "reference", cast(Any, None), cast(Any, None), {})
    assert isinstance(control, rejection_run.Control) and control.change is not None
    return control.change


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_refusals_page_shows_the_key_transport_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    change = _change(monkeypatch)
    assert change == KeyTransportChange(
        used="rsa-oaep-sha256",
        usual="rsa-pkcs1v15",
        usual_status="unsupported-algorithm",
        read=True,
    )
    results = with_rejections(tmp_path)
    assert results.rejections is not None
    case: RejectionCaseResult = results.rejections.cells[0].cases[0]
    case.reason, case.key_transport = "cannot-decrypt: OperationError", change
    render_report(results, tmp_path, lang=lang)
    html = (tmp_path / "refusals.html").read_text("utf-8").replace("&#39;", "'")
    # the receiver is the suite's reference agent: its answer is the suite's engine's words
    words = {"fr": "(motif de la suite : ", "en": "(the suite's reason: "}
    assert f'{words[lang]}<q lang="en">OperationError</q>)</span></dd>' in html
    wording = {
        "fr": "rsa-oaep-sha256, choisi par la suite : le message valide en rsa-pkcs1v15 n'est "
        "pas lu (algorithme non accepté), en rsa-oaep-sha256 il l'est",
        "en": "rsa-oaep-sha256, chosen by the suite: the valid message with rsa-pkcs1v15 is "
        "not read (algorithm not accepted), with rsa-oaep-sha256 it is",
    }
    assert f'<dd class="key-transport">{wording[lang]}</dd>' in html
    if lang == "fr":
        assert "envelopes with" not in html


def test_a_receiver_that_broke_on_the_oaep_message_is_said_so(tmp_path: Path) -> None:
    change = KeyTransportChange(
        used="rsa-oaep-sha256",
        usual="rsa-pkcs1v15",
        usual_status="unsupported-algorithm",
        read=False,
    )
    model = ReportModel(sample_results(tmp_path), Translator("fr"))
    assert model.key_transport(change) == (
        "rsa-oaep-sha256, essayé par la suite : le message valide en rsa-pkcs1v15 n'est pas lu "
        "(algorithme non accepté), et le harnais du destinataire a échoué sur celui en "
        "rsa-oaep-sha256 (une erreur interne, pas sa réponse)"
    )


def test_the_run_summary_counts_a_failed_suite_lookup_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = _lookup(monkeypatch)
    failed = _lookup(monkeypatch, LookupFailure("timeout", f"{DIRECTORY}: no answer"))
    results = _with_lookup(tmp_path, failed)
    other = results.cell("docteur-net-cps", "openssl", "sign")
    assert other is not None
    other.suite_lookup = found
    printed = summary(results)
    assert "suite's lookup: 1 first-contact cell, on behalf of openssl" in printed
    assert "suite's lookup failed: 1 first-contact cell, on behalf of openssl" in printed
    assert "(no directory client; the verdicts measure" in printed
    # gpgsm without dirmngr is looked up for too, and the summary says why.
    other.suite_lookup = found.model_copy(update={"tool": "gpgsm", "why": "no-dirmngr"})
    printed = summary(results)
    assert "on behalf of gpgsm (dirmngr is not installed; the verdicts measure" in printed


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_not_observed_cells_reason_is_the_suites_not_its_words(tmp_path: Path, lang: str) -> None:
    """Why a cell was not observed (an engine not installed here) is the suite's reason,
    never shown as a product's own words."""
    results = sample_results(tmp_path)
    cell = results.cell("docteur-net-cps", "openssl", "sign")
    assert cell is not None
    cell.verdict, cell.observed = "unsupported", False
    cell.reason = "not installed here: openssl is missing (apt-get install openssl)"
    render_report(results, tmp_path, lang=lang)
    pv = ReportModel(results, Translator(lang)).pairs[("docteur-net-cps", "openssl")]
    detail = _detail((tmp_path / "index.html").read_text("utf-8"), pv.id)
    suite = {"fr": "(motif de la suite : ", "en": "(the suite's reason: "}
    words = {"fr": "(ses mots : ", "en": "(its words: "}
    assert suite[lang] + '<q lang="en">not installed here: openssl' in detail
    assert words[lang] + '<q lang="en">not installed here' not in detail
