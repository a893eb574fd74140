"""`python -m conformance.matrix.bench --results FILE` titles the run by what it covered:
the default matrix, or the selection it was made with."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.core.vocabulary import FUNCTIONS
from conformance.matrix import bench
from conformance.results import Results, RunInfo


def results(functions: list[str], **settings: Any) -> Results:
    run = RunInfo(
        seed=1,
        examples=1,
        started="2026-12-05T00:00:00+00:00",
        complete=True,
        suite_version="test",
        functions=functions,
        settings={"senders": [], "receivers": [], "agents": [], "profiles": [], **settings},
    )
    return Results(run=run, agents=[], cells=[], pairs=[])


@pytest.mark.parametrize(
    ("functions", "settings", "title"),
    [
        (list(FUNCTIONS), {}, "default matrix"),
        (list(FUNCTIONS), {"senders": ["reference"]}, "selection --sender reference"),
        (
            ["sign"],
            {"receivers": ["openssl"], "agents": ["smm"]},
            "selection --function sign --receiver openssl --agent smm",
        ),
        (list(FUNCTIONS), {"profiles": ["a.yaml", "MINE"]}, "selection --profiles a.yaml MINE"),
    ],
)
def test_the_title_says_the_selection(
    functions: list[str], settings: dict[str, Any], title: str
) -> None:
    first = bench.report(results(functions, **settings), 1.0).splitlines()[0]
    assert first.startswith(f"{title}: 0 agents, 0 cells"), first
