"""A refusal by the size limit the tester set on the suite's own relays (`run
--max-message-bytes`) is the route's, not the products': the cell is `unsupported` with
that reason ("not observed"), never `fail`, and a generated example refused so is not a
counterexample. A refusal on the road for any other cause stays a finding."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from conformance.mail.delivery import DeliveryError, OverRouteLimit
from conformance.mail.endpoint import HopSettings
from conformance.mail.gateways import GATEWAYS
from conformance.mail.maildir import MaildirStore
from conformance.mail.route import open_route
from conformance.mail.smtp_server import canonical_lines
from conformance.matrix.cast import Cast
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.exchange import Transport
from conformance.paths import PROFILES_DIR
from conformance.profiles.loader import load_profiles
from conformance.results import Cell

RECIPIENT = "helene.lefevre@osm-test.example"
MESSAGE = (
    "From: Camille Martin <camille.martin@osm-test.example>\r\n"
    f"To: {RECIPIENT}\r\nSubject: Compte rendu\r\nMessage-ID: <limit@osm-test.example>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    + "Compte rendu de consultation, ligne de texte.\r\n"
    * 20
).encode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MaildirStore]:
    with MaildirStore(tmp_path / "maildir") as opened:
        yield opened


def test_over_the_testers_limit_is_the_routes_refusal(store: MaildirStore) -> None:
    size = len(canonical_lines(MESSAGE))
    with (
        open_route((), store, HopSettings(max_message_bytes=size - 1)) as route,
        pytest.raises(OverRouteLimit) as caught,
    ):
        route.transport(MESSAGE, RECIPIENT)
    assert caught.value.code == 552 and caught.value.endpoint == route.entry
    assert (caught.value.size, caught.value.limit) == (size, size - 1)
    assert "route submission" in str(caught.value)


def test_a_message_a_gateway_grew_over_the_limit_is_the_gateways_finding(
    store: MaildirStore,
) -> None:
    """Under the limit as sent, over it once the footer gateway added its notice (the next
    hop, with the same limit, refuses it): the gateway's doing, a plain DeliveryError (the
    cell's `fail`, through that route)."""
    size = len(canonical_lines(MESSAGE))
    grown = len(GATEWAYS["footer"].rewrite(canonical_lines(MESSAGE)))
    assert grown > size + 2
    settings = HopSettings(max_message_bytes=size + 1)
    with (
        open_route(("footer", "subject-tag"), store, settings) as route,
        pytest.raises(DeliveryError) as caught,
    ):
        route.transport(MESSAGE, RECIPIENT)
    assert caught.value.code == 552
    assert not isinstance(caught.value, OverRouteLimit)


@pytest.fixture(scope="module")
def cast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    mp = pytest.MonkeyPatch()
    mp.setenv("OSM_CONFORMANCE_TOKEN", "software")
    made = Cast(
        load_profiles([PROFILES_DIR / "reference.yaml"]),
        workdir=tmp_path_factory.mktemp("agents"),
    )
    yield made
    made.close()
    mp.undo()


def _refusing(refuse: int, error: type[DeliveryError] = OverRouteLimit) -> Transport:
    """A transport that refuses the first `refuse` messages and carries the others; with
    `refuse` negative, it carries the first and refuses the rest."""
    calls = 0

    def carry(message: bytes, recipient: str) -> bytes:
        nonlocal calls
        calls += 1
        if (calls <= refuse) if refuse >= 0 else calls > 1:
            if error is OverRouteLimit:
                raise OverRouteLimit("answered 552", size=len(message), limit=1024, code=552)
            raise DeliveryError("127.0.0.1:1 answered 552 relay refused", code=552)
        return message

    return carry


def _cell(
    cast: Cast,
    transport: Transport,
    *,
    examples: int = 1,
    large: int | None = None,
    out_dir: Path | None = None,
) -> Cell:
    seats = cast.seat("reference", "sender"), cast.seat("reference", "receiver")
    world = replace(cast.world(), transport=transport)
    settings = CellSettings(
        examples=examples, seed=7, large_attachment=large, transport="smtp", out_dir=out_dir
    )
    return run_cell(*seats, "sign", world, settings)


def test_a_basic_example_over_the_routes_limit_is_not_the_products_failure(cast: Cast) -> None:
    got = _cell(cast, _refusing(1))
    assert got.verdict == "unsupported", got.reason
    assert got.reason is not None and got.reason.startswith("not observed: the message (")
    assert "(--max-message-bytes 1024), not a product's" in got.reason
    assert got.not_observed is not None and got.not_observed.kind == "route-size-limit"
    assert got.not_observed.limit == 1024 and got.not_observed.detail == "answered 552"
    assert got.not_observed.size is not None and f"({got.not_observed.size} bytes)" in got.reason
    # Any other refusal on the road stays the cell's failure.
    other = _cell(cast, _refusing(1, DeliveryError))
    assert other.verdict == "fail" and other.reason == (
        "not delivered: 127.0.0.1:1 answered 552 relay refused"
    )
    assert other.not_observed is None


def test_a_large_message_over_the_routes_limit_is_not_the_products_failure(
    cast: Cast, tmp_path: Path
) -> None:
    got = _cell(cast, _refusing(1), large=2000, out_dir=tmp_path)
    assert got.verdict == "unsupported", got.reason
    assert got.reason is not None and got.reason.startswith("not observed:")
    assert got.not_observed is not None and got.not_observed.kind == "route-size-limit"
    # The evidence does not claim one copy: over SMTP each hop holds its own (2 GB for a
    # 196 MB message, docs/matrix.md).
    kept = (tmp_path / "evidence/reference/reference/sign/large.txt").read_text("utf-8")
    assert "held in memory (over SMTP, a copy per hop)" in kept and "once" not in kept


def test_generated_examples_over_the_routes_limit_are_no_counterexample(cast: Cast) -> None:
    got = _cell(cast, _refusing(-1), examples=4)
    assert got.verdict == "pass", got.reason
    assert got.counterexample is None
    assert got.examples == 1  # only the basic example was observed
    assert got.reason is not None and got.reason.startswith(
        "3 more generated example(s) not counted, not observed: the message ("
    )
