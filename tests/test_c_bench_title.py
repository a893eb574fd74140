"""`python -m conformance.matrix.bench --results FILE` titles the run by what it covered:
the default matrix, or the `run` options it was made with: its selection, and what made it
differ from the default run (read from run.settings; a run through gateways, of a large
attachment, without rejections or under another policy was called "default matrix")."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.check.policy import DEFAULT_POLICY
from conformance.core.vocabulary import FUNCTIONS
from conformance.matrix import bench
from conformance.matrix.spec import DEFAULT_VARIANTS
from conformance.results import Results, RunInfo

# run.settings of a default run, as finish_run writes them (those the title reads).
DEFAULT_RUN: dict[str, Any] = {
    "policy": DEFAULT_POLICY,
    "rejections": True,
    "rejection_variants": DEFAULT_VARIANTS,
    "large_attachment": None,
    "transport": "memory",
    "via": [],
    "max_message_bytes": None,
}
NO_REJECTIONS = {k: v for k, v in DEFAULT_RUN.items() if k != "rejection_variants"}
NO_REJECTIONS["rejections"] = False


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
        (list(FUNCTIONS), DEFAULT_RUN, "default matrix"),
        (list(FUNCTIONS), {"senders": ["reference"]}, "run --sender reference"),
        (
            ["sign"],
            {"receivers": ["openssl"], "agents": ["smm"]},
            "run --function sign --receiver openssl --agent smm",
        ),
        (list(FUNCTIONS), {"profiles": ["a.yaml", "MINE"]}, "run --profiles a.yaml MINE"),
        (
            list(FUNCTIONS),
            {**DEFAULT_RUN, "transport": "smtp", "via": [["footer"], ["postfix", "refold"]]},
            "run --via footer --via postfix+refold",
        ),
        (list(FUNCTIONS), {**DEFAULT_RUN, "transport": "smtp"}, "run --transport smtp"),
        (
            list(FUNCTIONS),
            {**DEFAULT_RUN, "transport": "smtp", "max_message_bytes": 10485760},
            "run --transport smtp --max-message-bytes 10485760",
        ),
        (
            ["sign-encrypt"],
            {**NO_REJECTIONS, "large_attachment": 1048576},
            "run --function sign-encrypt --large-attachment 1048576",
        ),
        (list(FUNCTIONS), NO_REJECTIONS, "run --no-rejections"),
        (list(FUNCTIONS), {**DEFAULT_RUN, "policy": "modern"}, "run --policy modern"),
        (list(FUNCTIONS), {**DEFAULT_RUN, "rejection_variants": 2}, "run --variants 2"),
    ],
)
def test_the_title_says_the_selection(
    functions: list[str], settings: dict[str, Any], title: str
) -> None:
    first = bench.report(results(functions, **settings), 1.0).splitlines()[0]
    assert first.startswith(f"{title}: 0 agents, 0 cells"), first
