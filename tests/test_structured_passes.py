"""Facts the pages once read back from the suite's English text, recorded where they are
decided: how a rejection case passed (RejectionCaseResult.passed, by the judge), which side
a counterexample stopped at and whether it happened again on replay (Counterexample
failed_at and repeated, by the cell). The pages word the field; a results.json written
before it renders from the text as before; the English reasons are unchanged."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from test_matrix_cell import _made_to_fail
from test_rejections_judge import REFUSE, WARN_THEN_REFUSE, WITHHOLD, _status
from test_rejections_run import ADAPTER, _answered_once_by, lax_profiles
from test_report_words import _results

from conformance.mail.delivery import DeliveryError
from conformance.matrix.cast import Cast
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.test_rejections import receiver_of
from conformance.paths import PROFILES_DIR
from conformance.profiles.loader import load_profiles
from conformance.rejections.judge import judge
from conformance.rejections.model import load_cases
from conformance.rejections.run import RejectionSettings, run_rejection_cell
from conformance.replay_note import NOT_REPEATED, as_observed
from conformance.report.i18n import Translator
from conformance.report.refusals import RefusalModel
from conformance.report.render import render_report
from conformance.report.views import ReportModel
from conformance.results import Cell, RejectionCaseResult, RejectionCell, Rejections
from conformance.status import ErrorCode

# What the judge writes of a warn case delivered with the services the attack breaks, and
# of a refuse case delivered without them (rejections.judge).
TOLERATED = "tolerated (warn under osm-2008): delivered, services: authentication, integrity"
STRIPPED = "refuse under osm-2008: delivered, services: integrity"
REFUSED = "refuse under osm-2008: bad-signature: part 2: signer 1: digest mismatch"


@pytest.fixture(autouse=True)
def _software_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


@pytest.fixture(scope="module")
def cast() -> Iterator[Cast]:
    """The reference agent, and the lax adapter that accepts every hostile message."""
    with tempfile.TemporaryDirectory(prefix="osm-passes-") as tmp:
        profiles = load_profiles([PROFILES_DIR, lax_profiles(Path(tmp) / "profiles")])
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("OSM_CONFORMANCE_TOKEN", "software")
            found = Cast({k: profiles[k] for k in ("reference", ADAPTER)}, workdir=Path(tmp))
            yield found
            found.close()


# -- how a rejection case passed -------------------------------------------------------


def test_the_judge_records_how_a_case_passed() -> None:
    """Refused (an error), tolerated (warn, a broken service claimed), withheld (delivered
    without the broken services, or without the one withheld): what the reason says."""
    refused = judge(REFUSE, _status(error=ErrorCode.BAD_SIGNATURE), "osm-2008", receives=True)
    stripped = judge(REFUSE, _status(), "osm-2008", receives=True)
    withheld = judge(WITHHOLD, _status("authentication"), "osm-2008", receives=True)
    tolerated = judge(WARN_THEN_REFUSE, _status("authentication"), "osm-2008", receives=True)
    warned = judge(WARN_THEN_REFUSE, _status("integrity"), "osm-2008", receives=True)
    assert [j.passed for j in (refused, stripped, withheld, tolerated, warned)] == [
        "refused",
        "withheld",
        "withheld",
        "tolerated",
        "withheld",
    ]
    assert tolerated.reason.startswith("tolerated (warn under osm-2008): delivered")
    # not passed: no word of how
    accepted = judge(REFUSE, _status("authentication"), "osm-2008", receives=True)
    broke = judge(REFUSE, None, "osm-2008", receives=True, exception="boom")
    skipped = judge(REFUSE, None, "osm-2008", receives=False)
    assert (accepted.passed, broke.passed, skipped.passed) == (None, None, None)


def test_the_runner_keeps_how_each_case_passed(cast: Cast) -> None:
    """The judge's record reaches results.json, case by case."""
    cases = {c.id: c for c in load_cases()}
    picked = tuple(
        cases[i]
        for i in ("defective-sha1-certificate", "defective-no-nonrepudiation", "defective-revoked")
    )
    settings = RejectionSettings(policy="osm-2008", variants=1, seed=3)
    got = run_rejection_cell(
        receiver_of(cast, "reference"), "defective-signer", cast.pki, settings, cases=picked
    )
    passed = {c.case: c.passed for c in got.cases}
    assert passed == {
        "defective-sha1-certificate": "tolerated",
        "defective-no-nonrepudiation": "withheld",
        "defective-revoked": "refused",
    }, [c.reason for c in got.cases]
    lax = run_rejection_cell(
        receiver_of(cast, ADAPTER), "defective-signer", cast.pki, settings, cases=picked[2:]
    )
    assert {(c.outcome, c.passed) for c in lax.cases} == {("accepts", None)}


def test_a_variant_the_search_found_accepted_replaces_how_the_basic_one_passed(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The basic variant refused, a drawn one accepted: the case accepts, and says no more
    that it was refused."""
    _answered_once_by(monkeypatch, 2, receiver_of(cast, ADAPTER))  # the first drawn variant
    settings = RejectionSettings(variants=3, seed=11)
    got = run_rejection_cell(receiver_of(cast, "reference"), "wrong-signer", cast.pki, settings)
    first = got.cases[0]
    assert first.outcome == "accepts" and first.passed is None, first.reason
    assert {c.passed for c in got.cases[1:]} == {"refused"}


def _case(case: str, expected: str, reason: str, passed: str | None) -> dict[str, Any]:
    data = {"case": case, "producer": "reference", "outcome": "refuses"}
    data |= {"expected": expected, "reason": reason}
    return data if passed is None else {**data, "passed": passed}


def _refusals(cells: dict[str, list[dict[str, Any]]], lang: str = "fr") -> RefusalModel:
    """The refusals page's model of results.json cells (class -> cases), one receiver."""
    rejections = Rejections.model_validate(
        {
            "policy": "osm-2008",
            "classes": list(cells),
            "cells": [
                {"receiver": "openssl", "class": cls, "verdict": "refuses", "cases": cases}
                for cls, cases in cells.items()
            ],
        }
    )
    return RefusalModel(rejections, Translator(lang), {"openssl": ("OpenSSL", "p.html")})


def _words(model: RefusalModel) -> tuple[list[str | None], list[list[str | None]]]:
    """Each cell's mark word, and each case's badge word."""
    (row,) = model.rows
    return [c.word for c in row.cells], [[k.word for k in c.cases] for c in row.cells]


def test_the_badges_word_the_field_whatever_the_reason_says() -> None:
    """A reason that reads tolerated, a case recorded withheld: the badge says withheld; a
    delivered answer recorded refused reads "refuses"; the headline counts by the field."""
    model = _refusals(
        {
            "a": [_case("one", "warn", TOLERATED, "withheld")],
            "b": [_case("two", "refuse", STRIPPED, "refused")],
            "c": [_case("three", "refuse", REFUSED, "tolerated")],
        }
    )
    cells, cases = _words(model)
    withheld, tolerated = "délivré sans le service cassé", "toléré (politique)"
    assert cases == [[withheld], [None], [tolerated]]
    assert cells == [withheld, None, tolerated]
    counts = [(c.verdict, c.word, c.n) for c in model.head_counts(model.rows[0].cells)]
    assert counts == [("refuses", None, 1), ("refuses", withheld, 1), ("refuses", tolerated, 1)]


def test_a_cell_of_mixed_passes_reads_the_weakest_and_counts_by_kind() -> None:
    """Two services withheld: the generic word; any tolerated case: tolerated, counted as
    such on the headline, in either language."""
    for lang, withheld, tolerated in (
        ("fr", "délivré sans le service cassé", "toléré (politique)"),
        ("en", "delivered without the broken service", "tolerated (policy)"),
    ):
        model = _refusals(
            {
                "a": [
                    _case("one", "withhold:non_repudiation", STRIPPED, "withheld"),
                    _case("two", "withhold:integrity", STRIPPED, "withheld"),
                ],
                "b": [
                    _case("three", "withhold:integrity", STRIPPED, "withheld"),
                    _case("four", "refuse", STRIPPED, "tolerated"),
                ],
            },
            lang,
        )
        cells, _ = _words(model)
        assert cells == [withheld, tolerated]
        counts = [(c.word, c.n) for c in model.head_counts(model.rows[0].cells)]
        assert counts == [(withheld, 1), (tolerated, 1)]


def test_a_results_json_without_the_field_renders_from_the_reason_as_before() -> None:
    model = _refusals(
        {
            "a": [_case("one", "warn", TOLERATED, None)],
            "b": [_case("two", "withhold:non_repudiation", STRIPPED, None)],
            "c": [_case("three", "refuse", STRIPPED, None), _case("four", "refuse", REFUSED, None)],
        }
    )
    cells, cases = _words(model)
    assert cases == [
        ["toléré (politique)"],
        ["délivré sans non-répudiation"],
        ["délivré sans le service cassé", None],
    ]
    assert cells == ["toléré (politique)", "délivré sans non-répudiation", None]
    assert {k.passed for c in model.rows[0].cells for k in c.cases} == {
        "tolerated",
        "withheld",
        "refused",
    }


def test_the_refusals_page_shows_the_fields_word(tmp_path: Path) -> None:
    cells = [
        RejectionCell.model_validate(
            {
                "receiver": "openssl",
                "class": "altered",
                "verdict": "refuses",
                "cases": [RejectionCaseResult(**_case("one", "warn", TOLERATED, "withheld"))],
            }
        )
    ]
    render_report(_results([], cells), tmp_path, "en")
    page = (tmp_path / "refusals.html").read_text(encoding="utf-8")
    badge = re.search(r'data-case="one">\s*<h4>.*?</span> ([^<]+)</span>', page, re.S)
    assert badge is not None and badge.group(1) == "delivered without the broken service"


# -- a counterexample's side and replay ------------------------------------------------


def _cell(cast: Cast, world_transport: Any = None) -> Cell:
    world = cast.world()
    if world_transport is not None:
        world = replace(world, transport=world_transport(world.transport))
    return run_cell(
        cast.seat("reference", "sender"),
        cast.seat("reference", "receiver"),
        "sign",
        world,
        CellSettings(examples=4, seed=7),
    )


def test_the_cell_records_the_side_a_counterexample_stopped_at(cast: Cast) -> None:
    """The route refuses every generated example (the basic one goes through): the
    counterexample stopped at the route, and did so again on replay."""

    def bouncing(carry: Any) -> Any:
        calls = 0

        def carried(message: bytes, recipient: str) -> bytes:
            nonlocal calls
            calls += 1
            if calls > 1:
                raise DeliveryError("554 rejected by the relay")
            return carry(message, recipient)  # type: ignore[no-any-return]

        return carried

    got = _cell(cast, bouncing)
    assert got.verdict == "partial" and got.counterexample is not None, got.reason
    ce = got.counterexample
    assert ce.reason == "not delivered: 554 rejected by the relay"
    assert (ce.failed_at, ce.repeated) == ("route", True)


def test_the_cell_records_whether_the_counterexample_happened_again(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    _made_to_fail(monkeypatch, lambda call: call == 2, "content differs: made to fail once")
    once = _cell(cast).counterexample
    assert once is not None and once.repeated is False
    assert once.reason == f"content differs: made to fail once ({NOT_REPEATED})"
    _made_to_fail(monkeypatch, lambda call: call >= 2, "content differs: made to fail")
    again = _cell(cast).counterexample
    assert again is not None and again.repeated is True
    assert again.reason == "content differs: made to fail"


def _partial(reason: str, **recorded: Any) -> Cell:
    return Cell.model_validate(
        {
            "sender": "openssl",
            "receiver": "gnutls",
            "function": "sign",
            "verdict": "partial",
            "examples": 3,
            "reason": reason,
            "counterexample": {"description": "a letter", "reason": reason, **recorded},
        }
    )


def _said(cell: Cell) -> tuple[str, str | None, bool]:
    assert cell.counterexample is not None
    model = ReportModel(_results([cell]), Translator("fr"))
    said = model.counterexample_said(cell.counterexample.reason, cell)
    return said.text, said.words, said.not_repeated


def test_a_counterexample_is_said_by_its_recorded_side_and_replay() -> None:
    """The side and the replay come from the fields, whatever the reason's text says."""
    sender = _partial("cannot-decrypt: no key", failed_at="sender", repeated=True)
    assert _said(sender) == ("OPENSSL n'a pas envoyé le message", "cannot-decrypt: no key", False)
    receiver = _partial("sender cannot send: gone", failed_at="receiver", repeated=True)
    assert _said(receiver) == ("autre motif", "sender cannot send: gone", False)
    # not repeated without the note in its text, and repeated with it
    quiet = _partial("cannot-decrypt: no key", failed_at="receiver", repeated=False)
    assert _said(quiet) == ("ne peut pas déchiffrer", "no key", True)
    noted = as_observed("cannot-decrypt: no key", False)
    assert _said(_partial(noted, failed_at="receiver", repeated=True))[2] is False
    # the sender's refusal not repeated: the note said apart, not in its words
    refused = as_observed("sender cannot send: no cipher", False)
    got = _said(_partial(refused, failed_at="sender", repeated=False))
    assert got == ("OPENSSL n'a pas envoyé le message", "no cipher", True)


def test_a_counterexample_without_the_fields_is_read_from_its_text_as_before() -> None:
    refused = _partial(as_observed("sender cannot send: no cipher", False))
    assert _said(refused)[0] == "OPENSSL n'a pas envoyé le message"
    assert _said(_partial(as_observed("cannot-decrypt: no key", False))) == (
        "ne peut pas déchiffrer",
        "no key",
        True,
    )
    assert _said(_partial("not delivered: 554"))[0] == "autre motif"


def test_the_matrix_dialog_says_the_replay_from_the_field(tmp_path: Path) -> None:
    cell = _partial("cannot-decrypt: no key", failed_at="receiver", repeated=False)
    render_report(_results([cell]), tmp_path, "fr")
    page = unescape((tmp_path / "index.html").read_text(encoding="utf-8"))
    shown = page[page.index('class="counterexample"') :]
    shown = shown[: shown.index("</dd>")]
    assert 'class="not-repeated"' in shown and '<q lang="en">no key</q>' in shown
    assert NOT_REPEATED not in shown
