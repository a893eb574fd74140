"""SIGTERM (a CI runner's stop, `kill`) unwinds like Ctrl-C: the slapd a command started
is stopped and its temporary directory removed, and the command says it was terminated
(exit 143). Before, the process died at once and left slapd running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_support import command_line, descendants

from conformance.directory import slapd

pytestmark = pytest.mark.skipif(
    not Path(slapd.SLAPD).exists(), reason=f"{slapd.SLAPD} missing (apt-get install slapd)"
)


def test_a_terminated_command_stops_the_slapd_it_started() -> None:
    command = [sys.executable, "-m", "conformance", "directory", "faults"]
    process = subprocess.Popen(
        [*command, "--sender", "reference", "--sender", "smm"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    started: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while not started and time.monotonic() < deadline:
            time.sleep(0.1)
            started = [p for p in descendants(process.pid) if "slapd" in command_line(p)]
        assert started, "directory faults started no slapd"
        config = command_line(started[0]).split(" -f ")[1].split()[0]  # its temporary slapd.conf
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 143
        assert process.stderr is not None
        assert "terminated" in process.stderr.read().decode()
        time.sleep(0.2)
        assert [p for p in started if "slapd" in command_line(p)] == [], "slapd outlived it"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in started:  # nothing left behind, even when the test fails
            if "slapd" in command_line(pid):
                os.kill(pid, signal.SIGKILL)
    assert not Path(config).parent.exists(), "slapd's temporary directory is left"


def test_a_command_run_in_process_leaves_the_callers_handler() -> None:
    from conformance.signals import sigterm_unwinds

    def callers(signum: int, frame: object) -> None:
        """The caller's own (the test session's is already sigterm_unwinds's: conftest.py)."""

    before = signal.signal(signal.SIGTERM, callers)
    try:
        with sigterm_unwinds():
            assert signal.getsignal(signal.SIGTERM) is not callers
        assert signal.getsignal(signal.SIGTERM) is callers
    finally:
        signal.signal(signal.SIGTERM, before)
