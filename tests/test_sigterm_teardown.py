"""A SIGTERM to the test session (a CI runner's timeout) runs the fixtures' teardown, in
one process and under pytest-xdist, so nothing a test started outlives it (conftest.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_support import alive

ROOT = Path(__file__).resolve().parent.parent
PROBE = "tests/sigterm_probe.py"  # a file pytest collects only when named


@pytest.mark.parametrize(
    "workers", [[], ["-n", "1"]], ids=["one process", "xdist, the whole process group"]
)
def test_sigterm_tears_the_fixtures_down(tmp_path: Path, workers: list[str]) -> None:
    """Under xdist the whole group is terminated, as a runner stopping a job does: each
    worker gets SIGTERM itself (the controller alone going away lets a worker unwind)."""
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *workers, PROBE],
        cwd=ROOT,
        env={**os.environ, "OSM_SIGTERM_PROBE": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    child_file = tmp_path / "child"
    try:
        deadline = time.monotonic() + 60
        while not child_file.exists():
            assert session.poll() is None, session.communicate()[0].decode()
            assert time.monotonic() < deadline, "the probe's test did not start"
            time.sleep(0.05)
        time.sleep(0.1)  # the pid written whole
        child = int(child_file.read_text())
        if workers:
            os.killpg(session.pid, signal.SIGTERM)
        else:
            session.send_signal(signal.SIGTERM)
        output = session.communicate(timeout=60)[0].decode()
        left = alive(child)
    finally:
        if session.poll() is None:
            os.killpg(session.pid, signal.SIGKILL)
            session.wait()
        if child_file.exists() and alive(int(child_file.read_text())):  # not torn down
            os.kill(int(child_file.read_text()), signal.SIGKILL)
    assert not left, output
    assert (tmp_path / "torn-down").read_text() == str(child), output
