"""An engine not installed or not built here: its cells are skipped with the reason.

The matrix's cell and rejection-cell tests record an `unsupported` cell (or a
`not-applicable` rejection cell) whose reason names what is missing and how to get
it, instead of an error cell with a traceback: nothing of the engine ran.
"""

from __future__ import annotations

import json

import pytest

from conformance.errors import MissingComponent
from conformance.matrix.assemble import pairs_of
from conformance.matrix.test_matrix import test_cell as matrix_cell
from conformance.matrix.test_rejections import test_rejection_cell as rejection_cell
from conformance.profiles.claims import Claims
from conformance.results import Cell

REASON = "the engine is not built: run make -C harnesses/x"


class _NoEngine:
    """A cast whose agent cannot be made, as make_agent says for a missing engine."""

    def seat(self, agent_id: str, role: str) -> object:
        raise MissingComponent(REASON)


class _Spec:
    transport = "memory"
    seed = 1
    variants = 1
    out_dir = None

    def rejection_policy(self) -> str:
        return "osm-2008"


def test_interop_cell_of_a_missing_engine_is_skipped_with_the_reason() -> None:
    recorded: dict[str, object] = {}
    with pytest.raises(pytest.skip.Exception, match="not installed here"):
        matrix_cell(("x", "reference", "sign", ()), _NoEngine(), _Spec(), recorded.__setitem__)  # type: ignore[arg-type]
    cell = json.loads(str(recorded["osm_cell"]))
    assert cell["verdict"] == "unsupported" and cell["observed"] is False
    assert cell["reason"] == f"not installed here: {REASON}"
    assert cell["not_observed"]["kind"] == "engine-missing"
    assert (cell["not_observed"]["agent"], cell["not_observed"]["detail"]) == ("x", REASON)
    assert (cell["sender"], cell["receiver"], cell["function"]) == ("x", "reference", "sign")
    # Counted in no pair: the published matrix does not say "none" of an engine not here.
    pairs = pairs_of([Cell.model_validate(cell)], Claims({}, {}, {}))
    assert [p.interop for p in pairs] == ["not-observed"]


def test_rejection_cell_of_a_missing_engine_is_not_applicable() -> None:
    recorded: dict[str, object] = {}
    with pytest.raises(pytest.skip.Exception, match="not installed here"):
        rejection_cell(("x", "altered"), _NoEngine(), _Spec(), recorded.__setitem__)  # type: ignore[arg-type]
    cell = json.loads(str(recorded["osm_rejection"]))
    assert cell["verdict"] == "not-applicable" and REASON in cell["reason"]
    assert cell["class"] == "altered"


def test_every_real_tool_has_its_agent_class() -> None:
    """make_agent's table names an agent class for each real tool of the vocabulary."""
    import importlib

    from conformance.agents.factory import _REAL_ENGINES
    from conformance.core.vocabulary import REAL_TOOLS

    assert set(_REAL_ENGINES) == set(REAL_TOOLS)
    for module, name in _REAL_ENGINES.values():
        assert isinstance(getattr(importlib.import_module(module), name), type)
