"""The rejection matrix as pytest items: one test per cell (receiver, rejection class).

Runs beside the interop matrix when the osm-conformance plugin is asked for a matrix:
    pytest --pyargs conformance.matrix.test_rejections --osm-matrix [--osm-policy modern]
A cell's test passes when the receiver refuses every hostile message of its class,
fails on a false accept (naming the case and the services wrongly claimed) or on
a harness error, and is skipped when the receiver does not do the class's function
or is an engine not installed or built here (not-applicable, naming what is missing).
`osm-conformance run` includes it unless given --no-rejections.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.errors import MissingComponent
from conformance.matrix.cast import Cast
from conformance.matrix.spec import MatrixSpec, RejectionKey
from conformance.rejections.run import Receiver, RejectionSettings, run_rejection_cell
from conformance.results import NotObserved, RejectionCell


def receiver_of(cast: Cast, agent_id: str) -> Receiver:
    """The agent's receiving professional, its sending one as the (forged) writer, the world."""
    seat = cast.seat(agent_id, "receiver")
    world = cast.world(memory=True)  # the rejection matrix stays on the memory transport
    sender = cast.seat(agent_id, "sender").party
    return Receiver(seat.agent, seat.party, sender, world.trust, world.crls)


def test_rejection_cell(
    osm_rejection: RejectionKey,
    osm_cast: Cast,
    osm_spec: MatrixSpec,
    record_property: Callable[[str, object], None],
) -> None:
    receiver, cls = osm_rejection
    settings = RejectionSettings(
        policy=osm_spec.rejection_policy(),
        variants=osm_spec.variants,
        seed=osm_spec.seed,
        out_dir=osm_spec.out_dir,
    )
    try:
        measured = receiver_of(osm_cast, receiver)
    except MissingComponent as exc:
        # An engine not installed here: not applicable, the cell naming what to install.
        missing = RejectionCell(
            receiver=receiver,
            cls=cls,
            verdict="not-applicable",
            reason=f"not installed here: {exc}",
            not_observed=NotObserved(kind="engine-missing", agent=receiver, detail=str(exc)),
        )
        record_property("osm_rejection", missing.model_dump_json())
        pytest.skip(f"not installed here: {exc}")
    cell: RejectionCell = run_rejection_cell(measured, cls, osm_cast.pki, settings)
    record_property("osm_rejection", cell.model_dump_json())
    if cell.verdict == "error":
        pytest.fail(f"harness error: {cell.reason}", pytrace=False)
    if cell.verdict == "not-applicable":
        pytest.skip(cell.reason or "not applicable")
    if cell.verdict == "accepts":
        pytest.fail(f"false accept: {cell.reason}", pytrace=False)
