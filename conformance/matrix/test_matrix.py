"""The matrix as pytest items: one test per cell (sender, receiver, function, and over
SMTP its route: the plain one and each --via variant).

Runs when the osm-conformance plugin is asked for a matrix (skipped otherwise):
    pytest --pyargs conformance.matrix.test_matrix --osm-matrix [--osm-...] -n auto
A cell's test fails when its verdict is `error`, or `fail`/`partial` where the
published claims do not expect it (an expected finding is an xfail); it is
skipped when a side does not do the function, or when an engine is not installed or
built here (an `unsupported` cell naming what is missing: nothing ran).
`osm-conformance run` wraps this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import pytest

from conformance.errors import MissingComponent
from conformance.functions import FIRST_CONTACT, REQUIRED_SERVICES
from conformance.loopback import ServerNotStarted
from conformance.matrix.cast import Cast
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.spec import MatrixSpec, RoutedKey
from conformance.results import Cell, NotObserved


def test_cell(
    osm_cell: RoutedKey,
    osm_cast: Cast,
    osm_spec: MatrixSpec,
    record_property: Callable[[str, object], None],
) -> None:
    sender, receiver, function, route = osm_cell

    def not_run(reason: str, why: NotObserved) -> NoReturn:
        # Nothing of the product ran: not a verdict on it; the cell names what is missing.
        missing = Cell(
            sender=sender,
            receiver=receiver,
            function=function,
            transport=osm_spec.transport,
            via=list(route),
            verdict="unsupported",
            observed=False,
            not_observed=why,
            reason=reason,
            services_required=list(REQUIRED_SERVICES[function]),
        )
        record_property("osm_cell", missing.model_dump_json())
        pytest.skip(reason)

    seats = []
    for agent_id, role in ((sender, "sender"), (receiver, "receiver")):
        try:
            seats.append(osm_cast.seat(agent_id, role))
        except MissingComponent as exc:
            # An engine not installed or not built here: skipped, the cell naming what to
            # install.
            why = NotObserved(kind="engine-missing", agent=agent_id, detail=str(exc))
            not_run(f"not installed here: {exc}", why)
    hop_missing = osm_cast.route_missing(route)
    if hop_missing is not None:  # e.g. the real Postfix, not installed or not root here
        hop = next((h for h in route if osm_cast.route_missing((h,)) is not None), None)
        not_run(
            f"not run: {hop_missing}", NotObserved(kind="hop-missing", hop=hop, detail=hop_missing)
        )
    try:
        world = osm_cast.world(directory=function in FIRST_CONTACT, route=route)
    except ServerNotStarted as exc:  # there but did not start: missing, as if not installed
        if exc is osm_cast.store_not_started:  # the mailbox at every route's end, not a hop
            why = NotObserved(kind="store-missing", detail=str(exc))
        else:
            why = NotObserved(kind="hop-missing", hop=exc.server, detail=str(exc))
        not_run(f"not run: {exc}", why)
    cell: Cell = run_cell(
        seats[0],
        seats[1],
        function,
        world,
        CellSettings(
            examples=osm_spec.examples,
            seed=osm_spec.seed,
            out_dir=osm_spec.out_dir,
            lang=osm_spec.lang,
            large_attachment=osm_spec.large_attachment,
            transport=osm_spec.transport,
            route=route,
        ),
    )
    record_property("osm_cell", cell.model_dump_json())
    expected = osm_spec.claims().expected(sender, receiver, function)
    if cell.verdict == "error":
        pytest.fail(f"harness error: {cell.reason}", pytrace=False)
    if cell.verdict == "unsupported":
        pytest.skip(cell.reason or "unsupported")
    if cell.verdict in ("fail", "partial"):
        if expected is not None and expected.value == cell.verdict:
            # Without its traceback (pytrace=False), as the failures below: pytest would
            # otherwise render every frame's arguments, the scenarios' included, for
            # nothing that reads it (a few milliseconds per cell).
            raise pytest.xfail.Exception(
                f"{cell.verdict} as the claims expect: {cell.reason}", pytrace=False
            )
        pytest.fail(f"{cell.verdict}: {cell.reason}", pytrace=False)
