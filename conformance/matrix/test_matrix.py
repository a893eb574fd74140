"""The matrix as pytest items: one test per cell (sender, receiver, function).

Runs when the osm-conformance plugin is asked for a matrix (skipped otherwise):
    pytest --pyargs conformance.matrix.test_matrix --osm-matrix [--osm-...] -n auto
A cell's test fails when its verdict is `error`, or `fail`/`partial` where the
published claims do not expect it (an expected finding is an xfail); it is
skipped when a side does not do the function. `osm-conformance run` wraps this.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.functions import FIRST_CONTACT
from conformance.matrix.cast import Cast
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.spec import CellKey, MatrixSpec
from conformance.results import Cell


def test_cell(
    osm_cell: CellKey,
    osm_cast: Cast,
    osm_spec: MatrixSpec,
    record_property: Callable[[str, object], None],
) -> None:
    sender, receiver, function = osm_cell
    cell: Cell = run_cell(
        osm_cast.seat(sender, "sender"),
        osm_cast.seat(receiver, "receiver"),
        function,
        osm_cast.world(directory=function in FIRST_CONTACT),
        CellSettings(
            examples=osm_spec.examples,
            seed=osm_spec.seed,
            out_dir=osm_spec.out_dir,
            lang=osm_spec.lang,
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
            pytest.xfail(f"{cell.verdict} as the claims expect: {cell.reason}")
        pytest.fail(f"{cell.verdict}: {cell.reason}", pytrace=False)
