"""A run whose output loses its reader (`run ... | head` exited: a broken pipe) stops as on
Ctrl-C, writes results.json, stops the CPS directory (slapd) it started, and exits with
141, without a traceback.

Before, the BrokenPipeError of a line printed at the session's end skipped pytest's own
end, which tears the session fixtures down: the slapd of the first-contact cells was
left running, its parent gone (seen with `--jobs 1 2>&1 | head -8`)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from process_support import command_line, descendants

from conformance.directory import slapd
from conformance.results import load_results
from conformance.signals import PIPE_EXIT

pytestmark = pytest.mark.skipif(slapd.missing() is not None, reason=slapd.missing() or "")

ENV = {**os.environ, "OSM_CONFORMANCE_TOKEN": "software"}
# Every first-contact cell received by the reference (its slapd starts at the first),
# in one process (--jobs 1): the run's own slapd is its child. The reference's rejection
# cells follow them (with them, the old end lost the slapd whatever line failed).
FIRST_CONTACTS = ["--receiver", "reference", "--function", "first-contact", "--examples", "2"]
FIRST_CONTACTS += ["--jobs", "1"]


def _running(config: str) -> list[int]:
    """The processes (anyone's children by now) whose command line names `config`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and config in command_line(int(entry.name)):
            found.append(int(entry.name))
    return found


class Run:
    """The run's process and the slapd configs seen among its descendants."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.configs: set[str] = set()

    def watch(self) -> None:
        for pid in descendants(self.proc.pid):
            words = command_line(pid).split()
            if words and words[0].endswith("slapd") and "-f" in words:
                self.configs.add(words[words.index("-f") + 1])  # its own slapd.conf


@pytest.fixture
def started() -> Iterator[list[Run]]:
    runs: list[Run] = []
    yield runs
    for run in runs:  # nothing left behind, even when the test fails
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()
        for config in run.configs:
            for pid in _running(config):
                os.kill(pid, signal.SIGKILL)


def _assert_stopped(run: Run) -> None:
    assert run.configs, "the run started no slapd: the test saw nothing"
    time.sleep(0.2)  # a killed server's exit, if any, has been reaped
    for config in run.configs:
        assert _running(config) == [], f"slapd ({config}) outlived the run"
        assert not Path(config).parent.exists(), "slapd's folder is left"


def test_stdout_closed_before_the_summary(tmp_path: Path, started: list[Run]) -> None:
    """`run | true`: only the summary goes to stdout, at the very end; it fails."""
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "conformance", "run", *FIRST_CONTACTS, "--no-rejections"]
    argv += ["-q", "--out", str(out)]
    read, write = os.pipe()
    os.close(read)  # its reader is gone before it prints anything
    proc = subprocess.Popen(argv, stdout=write, stderr=subprocess.PIPE, env=ENV, cwd=tmp_path)
    os.close(write)
    run = Run(proc)
    started.append(run)
    assert proc.stderr is not None
    while proc.poll() is None:
        run.watch()
        time.sleep(0.02)
    stderr = proc.stderr.read().decode()
    assert proc.returncode == PIPE_EXIT, stderr[-2000:]
    assert "Traceback" not in stderr and "Error" not in stderr, stderr[-2000:]
    assert load_results(out / "results.json").run.complete  # every cell had run
    _assert_stopped(run)


def test_output_closed_during_the_run(tmp_path: Path, started: list[Run]) -> None:
    """`run 2>&1 | head -1`: the progress line after the first fails; the run stops."""
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "conformance", "run", *FIRST_CONTACTS, "--out", str(out)]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENV, cwd=tmp_path
    )
    run = Run(proc)
    started.append(run)
    assert proc.stdout is not None
    seen, deadline = b"", time.monotonic() + 60
    while b"osm-conformance: cells " not in seen and time.monotonic() < deadline:
        run.watch()
        ready, _, _ = select.select([proc.stdout], [], [], 0.02)
        chunk = os.read(proc.stdout.fileno(), 4096) if ready else b""
        if ready and not chunk:
            break
        seen += chunk
    assert b"osm-conformance: cells " in seen, seen[-2000:]
    run.watch()
    proc.stdout.close()  # as `head -1` exits
    while proc.poll() is None and time.monotonic() < deadline:
        run.watch()
        time.sleep(0.02)
    assert proc.wait(timeout=30) == PIPE_EXIT
    results = load_results(out / "results.json")
    assert not results.run.complete
    assert results.run.settings["cells_done"] < results.run.settings["cells_planned"]
    _assert_stopped(run)
