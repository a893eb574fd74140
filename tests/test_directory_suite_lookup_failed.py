"""A failed lookup the suite made on a tool's behalf is not the tool's failure.

When the suite's own directory does not answer (down: nothing listens; silent: it
never replies) the tool was handed nothing to encrypt to: nothing of either product
was observed, as when the route's own size limit refuses a message. The basic
example's cell is `unsupported`, not observed, and counts in no pair; a generated
example whose suite lookup failed is not counted. A product that looks up itself and
fails refused: its own `fail`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from agents_support import need_tools
from cryptography import x509

from conformance.agents import recipients
from conformance.directory import slapd
from conformance.directory.lookup import LookupFailure
from conformance.matrix.assemble import pairs_of
from conformance.matrix.cast import Cast
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.exchange import World
from conformance.profiles.claims import Claims
from conformance.profiles.loader import load_profiles
from conformance.results import Cell

BASE = "o=TEST GIP-CPS,c=FR"


@pytest.fixture(scope="module")
def cast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    profiles = load_profiles()
    need_tools(profiles["openssl"])
    chosen = ("reference", "openssl")
    cast = Cast({pid: profiles[pid] for pid in chosen}, workdir=tmp_path_factory.mktemp("cast"))
    try:
        yield cast
    finally:
        cast.close()


def _cell(cast: Cast, sender: str, world: World, examples: int = 1) -> Cell:
    return run_cell(
        cast.seat(sender, "sender"),
        cast.seat("reference", "receiver"),
        "first-contact",
        world,
        CellSettings(examples=examples),
    )


@pytest.mark.parametrize(
    ("endpoint", "kind"), [(slapd.down, "unreachable"), (slapd.silent, "timeout")]
)
def test_a_failed_suite_lookup_observes_nothing(cast: Cast, endpoint: Any, kind: str) -> None:
    with endpoint(BASE) as broken:
        cell = _cell(cast, "openssl", replace(cast.world(), directory=broken.url))
    assert (cell.verdict, cell.observed) == ("unsupported", False), cell.reason
    assert cell.reason is not None and cell.reason.startswith("not observed: ")
    assert (
        f"the suite's lookup on behalf of openssl (no directory client): lookup failed ({kind})"
        in (cell.reason)
    )
    assert "the suite's failure, not the sender's" in cell.reason
    assert cell.suite_lookup is not None and cell.suite_lookup.failure == kind
    assert cell.not_observed is not None
    assert (cell.not_observed.kind, cell.not_observed.agent) == ("suite-lookup-failed", "openssl")
    (pair,) = pairs_of([cell], Claims({}, {}, {}), ["first-contact"])
    assert (pair.interop, pair.observed) == ("not-observed", 0)


def test_a_product_that_looks_up_itself_fails_its_own_lookup(cast: Cast) -> None:
    with slapd.down(BASE) as broken:
        cell = _cell(cast, "reference", replace(cast.world(), directory=broken.url))
    assert (cell.verdict, cell.observed) == ("fail", True), cell.reason
    assert cell.reason is not None and cell.reason.startswith("sender cannot send: ")
    assert cell.suite_lookup is None and cell.not_observed is None


@dataclass
class _Hit:
    certificate: x509.Certificate
    dn: str = "uid=x"
    seconds: float = 0.0
    notes: tuple[str, ...] = ()


def test_a_generated_example_whose_suite_lookup_failed_is_not_counted(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The basic example's lookup finds the receiver; every later one times out."""
    receiver = cast.seat("reference", "receiver")
    calls: list[str] = []

    class Once:
        def __init__(self, url: str) -> None:
            self.url = url

        def __enter__(self) -> Once:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def encryption_certificate(self, mail: str) -> _Hit:
            calls.append(mail)
            if len(calls) > 1:
                raise LookupFailure("timeout", f"{self.url}: no answer in 3 s")
            return _Hit(receiver.encryption_certificate)

    monkeypatch.setattr(recipients, "Lookup", Once)
    world = replace(cast.world(), directory="ldap://127.0.0.1:9/o=x")
    cell = _cell(cast, "openssl", world, examples=3)
    assert len(calls) >= 3  # the basic example, then the generated ones
    assert (cell.verdict, cell.observed, cell.examples) == ("pass", True, 1), cell.reason
    assert cell.reason is not None
    assert cell.reason.startswith("2 more generated example(s) not counted, not observed: ")
    assert "lookup failed (timeout)" in cell.reason
    assert cell.suite_lookup is not None and cell.suite_lookup.failure is None


def test_the_page_says_whose_answer_it_shows(cast: Cast, tmp_path: Any) -> None:
    """A sender's refusal is shown as the sender's answer, not the receiver's; an example
    that went through names no side."""
    from test_report_sample import sample_results

    from conformance.report.i18n import Translator
    from conformance.report.views import ReportModel

    with slapd.down(BASE) as broken:
        refused = _cell(cast, "reference", replace(cast.world(), directory=broken.url))
        suites = _cell(cast, "openssl", replace(cast.world(), directory=broken.url))
    assert refused.failed_at == "sender"
    # The suite's own failed lookup: no side answered, and its English is not quoted as
    # anyone's words (the lookup's line says what failed).
    assert (suites.observed, suites.failed_at) == (False, None)
    passed = run_cell(
        cast.seat("openssl", "sender"),
        cast.seat("reference", "receiver"),
        "sign",
        cast.world(),
        CellSettings(examples=1),
    )
    assert (passed.verdict, passed.failed_at) == ("pass", None)
    for lang, sender_said, receiver_said in (
        ("fr", "Réponse de l'émetteur", "Réponse du destinataire"),
        ("en", "What the sender said", "What the receiver said"),
    ):
        model = ReportModel(sample_results(tmp_path), Translator(lang))
        assert model.said_label(refused) == sender_said
        assert model.said_label(passed) == receiver_said
        assert model.said_label(suites) == receiver_said
        said = model.said(suites)
        assert said is not None and said.words is None
