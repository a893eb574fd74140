"""Shared test configuration: hypothesis profiles, and the project's plugin.

- `ci` (default): derandomized, no example database, so a run is reproducible;
- `thorough`: many more examples, for a long run by hand:
  `HYPOTHESIS_PROFILE=thorough make test`.

The interop matrix's own options (--osm-*) come from conformance/pytest_plugin.py,
registered through the pytest11 entry point.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

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
