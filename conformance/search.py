"""How a cell searches with hypothesis: the one set of settings the interop and the
rejection matrices share, so that their seeds replay and shrink the same way."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import FlakyFailure
from hypothesis.internal.conjecture import providers as _providers

_DATABASE_KEY = "_hypothesis_internal_database_key"


def searched(
    test: Callable[[], Any], *, examples: int, phases: Sequence[Phase], seed: int
) -> Callable[[], bool]:
    """`test` (a hypothesis `given` test) run quietly under `seed`: no example database
    (a run is replayed by its seed, not by files), no deadline, no health checks (the
    examples are real exchanges, slow on purpose), one failure reported; its draws
    depend on the seed and the strategies alone (`_source_constants_left_out`).

    Calling it raises the test's failure, as hypothesis does, or returns whether a
    failure found happened again when hypothesis replayed its example (True as well when
    none was found). False: the products answered the same input differently, e.g.
    openssl decrypting with a random key when handed one not for it; hypothesis calls
    that flaky (`FlakyFailure`), here the failure observed stands and the caller says
    it was not repeated (replay_note.NOT_REPEATED)."""
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
    configured = hypothesis_seed(seed)(settings(test))
    # No database, so no key to name the examples in it by, as `hypothesis.find` does;
    # hypothesis would otherwise read, tokenise and hash the test's source to make one,
    # for every cell (each cell's test is a new closure).
    setattr(configured, _DATABASE_KEY, None)

    def run() -> bool:
        with _source_constants_left_out():
            try:
                configured()
            except FlakyFailure:
                return False
        return True

    return run


# Written by hand because hypothesis has no setting for it: hypothesis (6.1xx) draws, one
# string, byte string or number in twenty, a constant found in the source of the "local"
# modules loaded in the process (outside site-packages, test files excepted). Which those
# are depends on what the worker imported before (a cell's examples would change with the
# cells run before it in the same worker), on the working directory's conftest.py and on
# whether the suite is installed editable; and each new module loaded is parsed, and the
# pool filtered again for every kind of draw. The pool is emptied, for the search only,
# through the one function hypothesis reads it from, and the permitted constants it
# derived from the pool (a cache keyed by the draw's constraints only) are forgotten on
# both sides. Were either gone from a later hypothesis, nothing is patched and
# tests/test_search.py fails.


def _forget_permitted_constants() -> None:
    cache = getattr(getattr(_providers, "CONSTANTS_CACHE", None), "cache", None)
    if isinstance(cache, dict):
        cache.clear()


@contextlib.contextmanager
def _source_constants_left_out() -> Iterator[None]:
    reader = getattr(_providers, "_get_local_constants", None)
    if reader is None:  # a hypothesis without the pool, or with another mechanism
        yield
        return
    from hypothesis.internal.constants_ast import Constants  # there with the pool

    none = Constants()
    _providers._get_local_constants = lambda: none
    _forget_permitted_constants()
    try:
        yield
    finally:
        _providers._get_local_constants = reader
        _forget_permitted_constants()
