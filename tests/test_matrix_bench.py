"""The matrix benchmark: the stage split (every stage timed, the wrappers removed
afterwards) and the GnuPG daemons' CPU read from /proc."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from conformance.agents.profiled import ProfileAgent
from conformance.matrix import bench
from conformance.matrix import cell as cell_module


def test_split_times_the_stages_and_restores_them(capsys: pytest.CaptureFixture[str]) -> None:
    send, exchange = ProfileAgent.send, cell_module.exchange
    argv = ["--split", "--examples", "3", "--sender", "reference", "--receiver", "reference"]
    code = bench.run([*argv, "--function", "sign"])
    out = capsys.readouterr().out
    assert code == 0
    figures = dict(
        (label.strip(), float(ms))
        for ms, label in re.findall(r"^\s*([\d.]+) ms  (.+)$", out, re.MULTILINE)
    )
    rsa = figures["token RSA (SoftHSM, PKCS#11)"] + figures["software-key RSA"]
    assert figures["sender and receiver agents"] > rsa > 0
    assert (
        figures["cells (everything a cell does, per exchange)"]
        >= figures["exchange (send, carry, receive, compare)"]
    )
    assert figures["engine harness calls"] == 0  # two built-in agents: no engine
    assert ProfileAgent.send is send and cell_module.exchange is exchange


def _stat(proc: Path, pid: int, comm: str, utime: int, stime: int) -> None:
    """A /proc/PID/stat line: utime and stime are fields 14 and 15 of stat(5)."""
    (proc / str(pid)).mkdir(exist_ok=True)
    rest = ["S", "1"] + ["0"] * 9 + [str(utime), str(stime)] + ["0"] * 10
    (proc / str(pid) / "stat").write_text(f"{pid} ({comm}) {' '.join(rest)}\n")


def test_daemon_ticks_reads_the_gnupg_daemons_only(tmp_path: Path) -> None:
    _stat(tmp_path, 10, "gpg-agent", 7, 3)
    _stat(tmp_path, 11, "dirmngr", 1, 1)
    _stat(tmp_path, 12, "python (x) y", 50, 50)  # a name with parentheses and blanks
    _stat(tmp_path, 13, "gpgsm", 9, 9)  # a child of the worker: RUSAGE_CHILDREN has it
    assert bench.daemon_ticks(tmp_path) == {10: 10, 11: 2}


def test_daemon_cpu_counts_daemons_started_meanwhile_even_once_gone(tmp_path: Path) -> None:
    _stat(tmp_path, 10, "gpg-agent", 500, 500)  # already running: not the run's
    with bench.DaemonCpu(period=0.01, proc=tmp_path) as daemons:
        _stat(tmp_path, 20, "gpg-agent", 60, 40)
        deadline = time.monotonic() + 30
        while 20 not in daemons._last and time.monotonic() < deadline:
            time.sleep(0.01)
        (tmp_path / "20" / "stat").unlink()  # stopped: its last reading stays
        (tmp_path / "20").rmdir()
    assert daemons.seconds == pytest.approx(100 / os.sysconf("SC_CLK_TCK"))
    assert daemons.own >= 0
