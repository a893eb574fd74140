"""Whose words a page quotes: « ses mots » / "its words" only for what real software said
(a real engine's or an adapter's status answer, a real sender's refusal); the suite's
wording (a profile's engine, the judge, the harness, a lookup's summary) is the suite's
reason. The "Sent" line claims a message only when one was made; the gateways page lists
a cell not observed as not run, whatever its reason says."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from conformance.core.vocabulary import Measurement
from conformance.replay_note import as_observed
from conformance.report.gateways import GatewayModel
from conformance.report.i18n import Translator
from conformance.report.render import render_report
from conformance.report.views import ReportModel
from conformance.results import (
    AgentInfo,
    Cell,
    NotObserved,
    RejectionCaseResult,
    RejectionCell,
    Rejections,
    RejectionVerdict,
    Results,
    RunInfo,
)

MEASURED: dict[str, Measurement] = {
    "openssl": "real-engine",
    "gpgsm": "real-engine",
    "gnutls": "real-engine",
    "sim-a": "simulated",
    "sim-b": "simulated",
}
LOOKUP = (
    "sender cannot send: no certificate for the recipient: gpgsm's own lookup of "
    "chloe.dubois@osm-test.example in ldap://127.0.0.1:1/o=TEST (dirmngr LDAP) found 1 "
    "certificate(s), none for encryption (capabilities sS)"
)
FALSE_ACCEPT = (
    "not-for-me-truncated-key [reference] (claims confidentiality): false accept (refuse "
    "under osm-2008): claimed confidentiality; delivered, services: confidentiality"
)


def _results(cells: list[Cell], rejections: list[RejectionCell] | None = None) -> Results:
    agents = [
        AgentInfo(
            id=a,
            name=a.upper(),
            kind="client",
            homologation="none",
            engine=a if m == "real-engine" else "builtin",
            measurement=m,
        )
        for a, m in MEASURED.items()
    ]
    return Results(
        run=RunInfo(
            seed=1,
            examples=1,
            started="2026-12-05T00:00:00+00:00",
            complete=True,
            suite_version="test",
        ),
        agents=agents,
        cells=cells,
        pairs=[],
        rejections=Rejections(
            policy="osm-2008", classes=sorted({c.cls for c in rejections}), cells=rejections
        )
        if rejections
        else None,
    )


def _fail(sender: str, receiver: str, reason: str, failed_at: str = "receiver") -> Cell:
    return Cell.model_validate(
        {
            "sender": sender,
            "receiver": receiver,
            "function": "encrypt",
            "verdict": "fail",
            "examples": 1,
            "reason": reason,
            "failed_at": failed_at,
        }
    )


def _text(page: Path) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.read_text())))


@pytest.fixture
def fr() -> ReportModel:
    return ReportModel(_results([]), Translator("fr"))


def test_a_status_answer_is_its_words_only_when_real_software_said_it(fr: ReportModel) -> None:
    real = fr.said(_fail("sim-a", "openssl", "cannot-decrypt: openssl cms -decrypt: Error"))
    assert real is not None
    assert (real.text, real.words, real.by_suite) == (
        "ne peut pas déchiffrer",
        "openssl cms -decrypt: Error",
        False,
    )
    # a simulated receiver's answer is the suite's engine playing its profile
    engine = "receiver does not accept key transport rsa-oaep-sha256"
    simulated = fr.said(_fail("openssl", "sim-b", f"unsupported-algorithm: {engine}"))
    assert simulated is not None
    assert (simulated.text, simulated.words, simulated.by_suite) == (
        "algorithme non accepté",
        engine,
        True,
    )
    # no speaker known (the judge's text alone), or no status answer: the suite's words
    assert fr.said_text("bad-signature: part 2: signer 1: no").by_suite
    other = fr.said_text("content differs: body", "openssl")
    assert (other.text, other.by_suite) == ("autre motif", True)


def test_a_senders_refusal_is_the_senders_and_a_lookup_summary_the_suites(
    fr: ReportModel,
) -> None:
    said = fr.said(_fail("gpgsm", "sim-b", LOOKUP, failed_at="sender"))
    assert said is not None
    assert said.text == "aucun certificat pour le destinataire"
    assert said.by_suite and said.words and said.words.startswith("gpgsm's own lookup of ")
    tool = "openssl cms -encrypt failed: unknown cipher"
    real = fr.said(_fail("openssl", "sim-b", f"sender cannot send: {tool}", "sender"))
    assert real is not None
    assert (real.text, real.words, real.by_suite) == (
        "OPENSSL n'a pas envoyé le message",
        tool,
        False,
    )
    simulated = fr.said(_fail("sim-a", "openssl", f"sender cannot send: {tool}", "sender"))
    assert simulated is not None and simulated.by_suite
    # a failing example's reason carries no side: read from what precedes the answer
    cell = _fail("gpgsm", "openssl", "ok")
    assert fr.counterexample_said(LOOKUP, cell).text == said.text
    assert not fr.counterexample_said("cannot-decrypt: gpgsm: no key", cell).by_suite
    assert fr.counterexample_said("not delivered: 554 rejected", cell).by_suite


def test_the_replay_note_is_taken_off_and_said_apart(fr: ReportModel) -> None:
    reason = as_observed(FALSE_ACCEPT, False)  # the note the search adds
    said = fr.said_text(reason, "openssl")
    assert (said.text, said.words, said.not_repeated) == (
        "délivré, services : confidentialité",
        None,
        True,
    )
    assert not fr.said_text(as_observed(FALSE_ACCEPT, True), "openssl").not_repeated


def test_the_matrix_and_refusal_pages_quote_a_product_only_for_its_own_words(
    tmp_path: Path,
) -> None:
    rows: list[tuple[str, str, RejectionVerdict, str]] = [
        ("openssl", "not-for-me", "accepts", as_observed(FALSE_ACCEPT, False)),
        ("gnutls", "malleable", "not-applicable", "gnutls: the receiver does not receive encrypt"),
        ("sim-b", "altered", "refuses", "refuse under osm-2008: bad-signature: engine words"),
        ("openssl", "altered", "refuses", "refuse under osm-2008: bad-signature: tool words"),
    ]
    rejected = [
        RejectionCell.model_validate(
            {
                "receiver": receiver,
                "class": cls,
                "verdict": verdict,
                "reason": reason,
                "cases": [
                    RejectionCaseResult(
                        case=f"{cls}-one",
                        producer="reference",
                        outcome=verdict,
                        expected="refuse",
                        reason=reason,
                    )
                ],
            }
        )
        for receiver, cls, verdict, reason in rows
    ]
    cells = [
        _fail("gpgsm", "sim-b", LOOKUP, failed_at="sender"),
        _fail("openssl", "sim-a", "unsupported-format: sim-a does not read S/MIME"),
    ]
    render_report(_results(cells, rejected), tmp_path, "fr")
    index = _text(tmp_path / "index.html")
    assert "ses mots" not in index
    assert "aucun certificat pour le destinataire (motif de la suite : gpgsm's own" in index
    assert "(motif de la suite : sim-a does not read S/MIME )" in index
    refusals = _text(tmp_path / "refusals.html")
    assert "false accept" not in refusals and "does not receive" not in refusals
    assert "délivré, services : confidentialité (ne s'est pas reproduit" in refusals
    assert "GNUTLS ne reçoit pas cette fonction" in refusals
    assert "(motif de la suite : engine words )" in refusals
    assert "(ses mots : tool words )" in refusals
    assert refusals.count("ses mots") == 2  # the openssl cell's line and its case


def test_the_sent_line_claims_a_message_only_when_one_was_made(tmp_path: Path) -> None:
    def cell(sender: str, verdict: str, examples: int, **more: object) -> Cell:
        data = {"sender": sender, "receiver": "openssl", "function": "sign"}
        return Cell.model_validate({**data, "verdict": verdict, "examples": examples, **more})

    unsupported = cell("sim-a", "unsupported", 0, reason="openssl does not receive sign")
    refused = cell("gpgsm", "fail", 1, reason=LOOKUP, failed_at="sender")
    broke = cell("sim-b", "error", 0, reason="harness error: boom")
    sent = cell("gnutls", "pass", 3, sent={"digest": ["sha256"]})
    model = ReportModel(_results([unsupported, refused, broke, sent]), Translator("fr"))
    assert [model.message_sent(c) for c in (unsupported, refused, broke, sent)] == [
        False,
        False,
        None,
        True,
    ]
    render_report(_results([unsupported, refused, broke, sent]), tmp_path, "fr")
    page = (tmp_path / "index.html").read_text()
    lines = re.findall(r'<dt>Envoyé</dt><dd class="sent[^"]*">(.*?)</dd>', page)
    found = sorted(_plain(line) for line in lines)  # none for the harness's error
    assert found == ["aucun message", "aucun message", "condensat : sha256"]


def _plain(fragment: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", "", fragment))
    return re.sub(r"\s+", " ", text).strip()


def test_a_gateway_cell_not_observed_is_not_run_whatever_its_reason(tmp_path: Path) -> None:
    def cell(receiver: str, via: list[str], verdict: str, **more: object) -> Cell:
        data = {"sender": "sim-a", "receiver": receiver, "function": "sign", "via": via}
        return Cell.model_validate({**data, "verdict": verdict, "transport": "smtp", **more})

    # the plain route passed; through the hop, not observed for reasons other than "not run"
    hop = NotObserved(kind="hop-missing", hop="postfix")
    cells = [
        cell("openssl", [], "pass"),
        cell("openssl", ["postfix"], "unsupported", observed=False, not_observed=hop,
             reason="not installed here: postfix"),
        cell("sim-b", [], "pass"),
        cell("sim-b", ["postfix"], "unsupported", observed=False,
             reason="not observed: over the relays' size limit"),
    ]  # fmt: skip
    results = _results(cells)
    results.run.settings = {"transport": "smtp", "via": [["postfix"]]}
    model = GatewayModel(results, Translator("en"), {})
    (row,) = model.rows
    (crossing,) = row.crossings
    assert [c.receiver for c in crossing.not_run] == ["openssl", "sim-b"]
    assert (crossing.broken, crossing.outcome) == ([], "not-run")
    # its detail says it in words, the suite's reason quoted (never bare English)
    render_report(results, tmp_path, "fr")
    page = _text(tmp_path / "gateways.html")
    assert "(motif de la suite : not observed: over the relays' size limit )" in page
