"""The suite's mailbox (Dovecot) there but not started: said once, and everywhere alike.

Its cells are `not run` with their own kind (`store-missing`, worded as the mailbox, not
as a hop of the route); the run's delivery fields (results.json, the terminal) and the
gateways page read that same fact from the cells, never "delivered by IMAP"; and the
store, like a hop that does not start (Postfix), is tried once per worker, not again for
each route. The failing servers are stand-in programs the modules are pointed at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from server_support import SmtpSpec, not_run_cell, smtp_cast, stand_in, starts
from test_report_sample import sample_results

from conformance.mail import dovecot, postfix
from conformance.matrix.finish import mail_settings, summary
from conformance.report import render_report
from conformance.report.gateways import STORE, hops_not_run
from conformance.report.i18n import Translator
from conformance.report.views import ReportModel
from conformance.results import Cell, NotObserved, Results

SAID = "Fatal: Invalid configuration in dovecot.conf line 7"
WHY = f"dovecot did not start: exited with status 89: {SAID}"
needs_dovecot = pytest.mark.skipif(dovecot.missing() is not None, reason=dovecot.missing() or "")
needs_postfix = pytest.mark.skipif(postfix.missing() is not None, reason=postfix.missing() or "")


def _dovecot_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failing = stand_in(tmp_path, "dovecot", SAID, version="2.3.99 (x)", status=89)
    monkeypatch.setattr(dovecot, "DOVECOT", failing)


# --- tried once per worker --------------------------------------------------------------


@needs_dovecot
def test_a_store_that_does_not_start_is_tried_once_for_every_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dovecot_fails(tmp_path, monkeypatch)
    cast = smtp_cast(tmp_path)
    routes = [(), ("footer",), ("subject-tag",), ("refold",)]
    try:
        cells = [not_run_cell(cast, f, r) for r in routes for f in ("sign", "encrypt")]
    finally:
        cast.close()
    assert starts(tmp_path) == 3  # one open of the store (its 3 attempts), not one per route
    for cell in cells:
        assert (cell["verdict"], cell["observed"]) == ("unsupported", False)
        assert cell["reason"] == f"not run: {WHY}"
        assert cell["not_observed"] == {
            "kind": "store-missing",
            "agent": None,
            "hop": None,
            "size": None,
            "limit": None,
            "detail": WHY,
        }


@needs_postfix
def test_a_hop_that_does_not_start_is_tried_once_for_every_route_through_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postfix, "POSTFIX", stand_in(tmp_path, "postfix", SAID))
    cast = smtp_cast(tmp_path)
    try:
        first = not_run_cell(cast, "sign", ("postfix",))
        started = starts(tmp_path)
        routes = (("postfix", "footer"), ("refold", "postfix"))
        later = [not_run_cell(cast, "sign", r) for r in routes]
    finally:
        cast.close()
    assert started and starts(tmp_path) == started  # not started again for another route
    for cell in (first, *later):
        assert cell["not_observed"]["kind"] == "hop-missing"
        assert cell["not_observed"]["hop"] == "postfix"
        assert cell["not_observed"]["detail"].startswith("postfix did not start: ")


# --- said everywhere alike ----------------------------------------------------------------


def _not_run(plain: Cell, via: list[str]) -> Cell:
    why = NotObserved(kind="store-missing", detail=WHY)
    update = {"via": via, "transport": "smtp", "verdict": "unsupported", "observed": False}
    return plain.model_copy(update={**update, "reason": f"not run: {WHY}", "not_observed": why})


def _run_without_store(tmp_path: Path, cells: list[Cell]) -> Results:
    """The sample run over SMTP whose Dovecot started in no worker: its delivery fields as
    finish writes them, from `cells` (the mail cells of the run)."""
    results = sample_results(tmp_path)
    plain = results.cell("docteur-net-cps", "openssl", "sign")
    assert plain is not None
    results.cells.remove(plain)
    results.cells += [_not_run(plain, []), _not_run(plain, ["footer"])]
    settings = mail_settings(SmtpSpec([(), ("footer",)]), [*results.cells, *cells])  # type: ignore[arg-type]
    results.run.settings.update(transport="smtp", via=[["footer"]], **settings)
    return results


@needs_dovecot
def test_the_delivery_fields_say_a_dovecot_that_did_not_start_delivered_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dovecot_fails(tmp_path, monkeypatch)  # installed, answers its version: then fails
    cast = smtp_cast(tmp_path)
    try:
        cell = Cell.model_validate(not_run_cell(cast, "sign", ()))
    finally:
        cast.close()
    results = _run_without_store(tmp_path / "run", [cell])
    settings = results.run.settings
    assert (settings["delivery"], settings["delivery_detail"]) == ("none", WHY)
    assert settings["delivery_note"] == f"nothing delivered: {WHY}"
    said = summary(results)
    assert f"time per exchange (nothing delivered: {WHY}):" in said
    assert "IMAP" not in said and "2.3.99" not in said


@pytest.mark.parametrize(
    ("lang", "worded", "said", "not_run"),
    [
        (
            "fr",
            "la boîte aux lettres de la suite (Dovecot), au bout de chaque route, ne peut pas "
            "tourner ici",
            "(motif de la suite : {worded} : ",
            "non exécuté",
        ),
        (
            "en",
            "the suite's mailbox (Dovecot), at the end of every route, cannot run here",
            "(the suite's reason: {worded}: ",
            "not run",
        ),
    ],
)
def test_the_pages_word_the_store_as_the_mailbox_and_deliver_nothing(
    tmp_path: Path, lang: str, worded: str, said: str, not_run: str
) -> None:
    results = _run_without_store(tmp_path, [])
    render_report(results, tmp_path, lang=lang)
    page = (tmp_path / "gateways.html").read_text("utf-8").replace("&#39;", "'")
    start = page.index('class="delivery')
    delivery = page[start : page.index("</dd>", start)]
    assert not_run in delivery and f"({WHY})" in delivery
    assert "IMAP" not in delivery and "Dovecot 2." not in delivery
    assert said.format(worded=worded) + f'<q lang="en">{WHY}</q>)' in page  # the cell's why
    assert "dovecot cannot run" not in page and "l'étape dovecot" not in page
    cell = results.cell("docteur-net-cps", "openssl", "sign")
    assert cell is not None and cell.not_observed is not None
    model = ReportModel(results, Translator(lang))
    assert model.not_observed(cell.not_observed, cell) == worded


def _observed_smtp(plain: Cell) -> Cell:
    return plain.model_copy(update={"transport": "smtp", "via": ["footer"], "observed": True})


def test_a_store_that_started_in_another_worker_delivered_by_imap(tmp_path: Path) -> None:
    """One worker's Dovecot did not start, another's did and carried cells: the run was
    delivered by IMAP (the not-run cells say why they were not)."""
    plain = sample_results(tmp_path).cell("docteur-net-cps", "openssl", "sign")
    assert plain is not None
    failed = _not_run(plain, [])
    assert hops_not_run([failed]) == {STORE: WHY}
    assert hops_not_run([failed, _observed_smtp(plain)]) == {}
    hop = NotObserved(kind="hop-missing", hop="postfix", detail="postfix did not start: x")
    postfix_cell = failed.model_copy(update={"via": ["postfix"], "not_observed": hop})
    assert hops_not_run([postfix_cell]) == {"postfix": "postfix did not start: x"}
