"""Shared test configuration: hypothesis profiles, SIGTERM, and the project's plugin.

- `ci` (default): derandomized, no example database, so a run is reproducible;
- `thorough`: many more examples, for a long run by hand:
  `HYPOTHESIS_PROFILE=thorough make test`.

A SIGTERM (a CI runner's timeout, `kill`) unwinds the session as Ctrl-C does, in the
controller and in each pytest-xdist worker, so that the fixtures' teardown stops what the
tests started (slapd, Dovecot, Postfix, gpg-agent, the engine harnesses) and removes their
temporary homes, instead of leaving them to outlive the run.

The interop matrix's own options (--osm-*) come from conformance/pytest_plugin.py,
registered through the pytest11 entry point.
"""

from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import HealthCheck, settings

from conformance.signals import sigterm_unwinds

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_unwinding = contextlib.ExitStack()


def pytest_configure(config: pytest.Config) -> None:
    _unwinding.enter_context(sigterm_unwinds())


def pytest_unconfigure(config: pytest.Config) -> None:
    _unwinding.close()
