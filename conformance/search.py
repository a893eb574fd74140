"""How a cell searches with hypothesis: the one set of settings the interop and the
rejection matrices share, so that their seeds replay and shrink the same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hypothesis_settings

T = TypeVar("T", bound=Callable[..., Any])


def searched(test: T, *, examples: int, phases: Sequence[Phase], seed: int) -> T:
    """`test` (a hypothesis `given` test) run quietly under `seed`: no example database
    (a run is replayed by its seed, not by files), no deadline, no health checks (the
    examples are real exchanges, slow on purpose), one failure reported."""
    settings = hypothesis_settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=list(phases),
        report_multiple_bugs=False,
        print_blob=False,
        verbosity=Verbosity.quiet,
    )
    result: T = hypothesis_seed(seed)(settings(test))
    return result
