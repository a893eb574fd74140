"""Run by test_sigterm_teardown.py in a pytest of its own (not collected otherwise: the
name is not test_*): a fixture that starts a process, and a test that waits to be
terminated. OSM_SIGTERM_PROBE names the folder for what it shows."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PROBE = os.environ.get("OSM_SIGTERM_PROBE")


@pytest.fixture
def started() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(["sleep", "300"])
    try:
        yield child
    finally:
        child.terminate()
        child.wait()
        assert PROBE is not None
        (Path(PROBE) / "torn-down").write_text(str(child.pid))


@pytest.mark.skipif(PROBE is None, reason="run by test_sigterm_teardown.py only")
def test_waits_to_be_terminated(started: subprocess.Popen[bytes]) -> None:
    assert PROBE is not None
    (Path(PROBE) / "child").write_text(str(started.pid))
    time.sleep(120)
