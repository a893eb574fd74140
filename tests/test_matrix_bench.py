"""The matrix benchmark: the stage split (every stage timed, the wrappers removed
afterwards) and the CPU of the engines' processes and the GnuPG daemons, read from /proc."""

from __future__ import annotations

import os
import py_compile
import re
import sys
from pathlib import Path

import pytest

from conformance.agents.profiled import ProfileAgent
from conformance.matrix import bench
from conformance.matrix import cell as cell_module


def test_split_times_the_stages_and_restores_them(capsys: pytest.CaptureFixture[str]) -> None:
    # the name `exchange` in the cell module (imported there, not re-exported): what bench wraps
    send, exchange = ProfileAgent.send, vars(cell_module)["exchange"]
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
    assert ProfileAgent.send is send and vars(cell_module)["exchange"] is exchange


def _stat(
    proc: Path,
    pid: int,
    comm: str,
    ticks: int,
    *,
    ppid: int = 1,
    reaped: int = 0,
    argv: bytes = b"",
) -> None:
    """A /proc/PID/stat line (stat(5): ppid is field 4, utime and stime fields 14 and 15,
    cutime and cstime 16 and 17, starttime 22) and its cmdline."""
    (proc / str(pid)).mkdir(exist_ok=True)
    rest = ["S", str(ppid)] + ["0"] * 9 + [str(ticks), "0", str(reaped), "0"] + ["0"] * 4
    rest += [str(pid * 7)] + ["0"] * 5
    # Written aside, then renamed: the sampling thread never reads half a line.
    (proc / "new").write_bytes(argv)
    (proc / "new").replace(proc / str(pid) / "cmdline")
    (proc / "new").write_text(f"{pid} ({comm}) {' '.join(rest)}\n")
    (proc / "new").replace(proc / str(pid) / "stat")


def _gone(proc: Path, pid: int) -> None:
    for name in ("stat", "cmdline"):
        (proc / str(pid) / name).unlink()
    (proc / str(pid)).rmdir()


def test_proc_stat_reads_the_fields_after_the_name(tmp_path: Path) -> None:
    _stat(tmp_path, 12, "python (x) y", 100, ppid=3, reaped=40)  # parentheses and blanks
    stat = bench.proc_stat((tmp_path / "12" / "stat").read_text())
    assert stat == bench.ProcStat("python (x) y", 3, 100, 40, 84)


def test_spender_tells_daemons_engines_and_bridges_from_the_suite(tmp_path: Path) -> None:
    cases = {
        10: ("gpg-agent", b"gpg-agent\0--daemon\0", ("daemons", "gpgsm")),
        11: ("gpgsm", b"gpgsm\0--server\0", ("engines", "gpgsm")),
        12: ("osm-nss-harness", b"/repo/harnesses/nss/osm-nss-harness\0", ("engines", "nss")),
        13: ("python3", b"python3\0/repo/harnesses/gpgsm/harness.py\0", ("bridges", "gpgsm")),
        14: ("python", b"python\0-m\0xdist\0", None),  # a worker: the suite's
        15: ("certutil", b"certutil\0-L\0", ("engines", "nss")),
        16: (
            "java",
            b"java\0-cp\0/r/harnesses/bouncycastle/build/x.jar\0",
            ("engines", "bouncycastle"),
        ),
        17: ("python", b"python\0/r/harnesses/bench.py\0", None),  # not an engine's directory
    }
    for pid, (name, argv, _) in cases.items():
        _stat(tmp_path, pid, name, 1, argv=argv)
    found = {pid: bench.spender(pid, name, tmp_path) for pid, (name, _, _) in cases.items()}
    assert found == {pid: who for pid, (_, _, who) in cases.items()}


def test_process_cpu_counts_what_started_meanwhile_even_once_gone(tmp_path: Path) -> None:
    tick = os.sysconf("SC_CLK_TCK")
    _stat(tmp_path, 10, "gpg-agent", 1000)  # already running: not the run's
    bridge = b"python3\0/r/harnesses/gpgsm/harness.py\0"
    harness = b"/r/harnesses/nss/osm-nss-harness\0"
    # Read by hand (`_read`), not by the thread (its period is an hour; it reads once
    # more when the block ends): each reading sees exactly the state written before it.
    with bench.ProcessCpu(period=3600, proc=tmp_path) as cpu:
        _stat(tmp_path, 20, "gpg-agent", 100)
        _stat(tmp_path, 21, "osm-nss-harness", 30, argv=harness)
        _stat(tmp_path, 22, "python3", 5, argv=bridge)
        _stat(tmp_path, 23, "gpgsm", 50, ppid=22)
        _stat(tmp_path, 24, "python", 999, argv=b"python\0-m\0pytest\0")  # the suite's
        cpu._read()
        _stat(tmp_path, 21, "osm-nss-harness", 40, argv=harness)
        cpu._read()
        # The daemon and the harness stop: their last readings stay. The bridge reaps its
        # gpgsm, which spent 5 ticks more after its last reading, and another gpgsm that
        # lived between two readings (20 ticks): its reaped ticks hold 75, 25 unseen.
        _gone(tmp_path, 20)
        _gone(tmp_path, 21)
        _gone(tmp_path, 23)
        _stat(tmp_path, 22, "python3", 6, reaped=75, argv=bridge)
        cpu._read()
        # At the end the bridge reaps its last gpgsm and exits before the next reading:
        # that gpgsm counts with its last reading (30), not lost with the bridge.
        _stat(tmp_path, 25, "gpgsm", 30, ppid=22)
        cpu._read()
        _gone(tmp_path, 25)
        _gone(tmp_path, 22)
    assert dict(cpu.seconds) == pytest.approx(
        {
            ("daemons", "gpgsm"): 100 / tick,
            ("engines", "nss"): 40 / tick,
            ("engines", "gpgsm"): (75 + 30) / tick,
            ("bridges", "gpgsm"): 6 / tick,
        }
    )
    run = bench.TimedRun(0, 1.0, 2.0, cpu.seconds)
    assert run.of(engine="gpgsm") == pytest.approx((100 + 105 + 6) / tick)
    assert run.suite == pytest.approx(2.0 - (40 + 105 + 6) / tick)  # the daemons: outside
    assert cpu.own >= 0


def test_process_cpu_reads_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    """A process may name itself with any bytes: the reading goes on, never stops."""
    _stat(tmp_path, 30, "x", 1)
    line = (tmp_path / "30" / "stat").read_bytes().replace(b"(x)", b"(\xff\xfe)")
    (tmp_path / "30" / "stat").write_bytes(line)
    stats = bench.ProcessCpu(proc=tmp_path)._stats()
    assert [s.ticks for s in stats.values()] == [1]


@pytest.mark.parametrize("argv", [["--pinned", "--repeat", "0"], ["--repeat", "2"]])
def test_repeat_goes_with_pinned_and_is_at_least_one(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        bench.run(argv)
    assert exit_.value.code == 2
    assert "--repeat goes with --pinned and is at least 1" in capsys.readouterr().err


def test_uncompiled_modules_counts_sources_without_current_bytecode(tmp_path: Path) -> None:
    """What the pinned figures would include: modules each process compiles again."""
    compiled, bare = tmp_path / "compiled.py", tmp_path / "sub" / "bare.py"
    bare.parent.mkdir()
    compiled.write_text("x = 1\n")
    bare.write_text("y = 2\n")
    py_compile.compile(str(compiled), doraise=True)  # writes whatever PYTHONDONTWRITEBYTECODE says
    assert bench.uncompiled_modules([compiled, bare]) == 1
    later = compiled.stat().st_mtime + 60
    os.utime(compiled, (later, later))  # edited since it was compiled
    assert bench.uncompiled_modules([compiled, bare]) == 2
    loaded = bench._loaded_suite_modules()
    assert Path(bench.__file__) in loaded and Path(pytest.__file__) not in loaded


def test_drift_line_says_when_the_machine_changed_speed() -> None:
    steady = bench.drift_line(2.00, 2.10)
    assert steady.endswith("2.10 ms (+5%)")
    slower = bench.drift_line(2.32, 3.78)  # two pinned runs one after the other, session 14
    assert "(+63%)" in slower and "the machine's speed changed" in slower
    assert "changed" in bench.drift_line(2.00, 1.70)


def test_the_bytecode_note_only_when_python_may_not_write_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = tmp_path / "bare.py"
    bare.write_text("y = 2\n")
    monkeypatch.setattr(bench, "_loaded_suite_modules", lambda: [bare])
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    bench._bytecode_note()
    assert "1 of the 1 suite modules these runs imported" in capsys.readouterr().out
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # the runs wrote it
    bench._bytecode_note()
    assert capsys.readouterr().out == ""


def test_per_kind_counts_a_cell_of_two_engines_for_both_and_alone_for_neither() -> None:
    from conformance.core.vocabulary import Measurement
    from conformance.results import AgentInfo, Cell, Results, RunInfo

    def agent(agent_id: str, engine: str) -> AgentInfo:
        measurement: Measurement = "simulated" if engine == "builtin" else "real-engine"
        return AgentInfo(
            id=agent_id,
            name=agent_id,
            kind="client",
            homologation="none",
            engine=engine,
            measurement=measurement,
        )

    def cell(sender: str, receiver: str, examples: int, seconds: float) -> Cell:
        return Cell(
            sender=sender,
            receiver=receiver,
            function="sign",
            verdict="pass",
            examples=examples,
            duration_s=seconds,
        )

    results = Results(
        run=RunInfo(
            seed=1,
            examples=1,
            started="2026-12-05T00:00:00+00:00",
            complete=True,
            suite_version="test",
        ),
        agents=[agent("nss", "nss"), agent("gpgsm", "gpgsm"), agent("sim", "builtin")],
        cells=[
            cell("nss", "sim", 10, 0.05),
            cell("nss", "gpgsm", 10, 0.15),
            cell("sim", "sim", 10, 0.03),
            cell("sim", "nss", 0, 0.0),  # unsupported: no exchange, counted nowhere
        ],
        pairs=[],
    )
    assert bench.per_kind(results) == {
        "builtin": (1, 10, 0.03),
        "gpgsm": (1, 10, 0.15),
        "nss": (2, 20, pytest.approx(0.20)),
    }
    assert bench.per_kind(results, alone=True) == {
        "builtin": (1, 10, 0.03),
        "nss": (1, 10, 0.05),
    }
    lines = bench.kind_lines(results, software=1.0, token=2.0)
    assert lines == [
        " builtin:   3.00 ms  ( 3.0 x /  1.5 x)     1 cells,     10 exchanges",
        "   gpgsm:  15.00 ms  (15.0 x /  7.5 x)     1 cells,     10 exchanges",
        "          (every cell of it has another real engine)",
        "     nss:  10.00 ms  (10.0 x /  5.0 x)     2 cells,     20 exchanges",
        "            5.00 ms  ( 5.0 x /  2.5 x)     1 cells,     10 exchanges  "
        "(no other real engine in the cell)",
    ]


def test_run_line_gives_each_run_with_the_speed_of_the_machine_then() -> None:
    run = bench.TimedRun(code=0, wall=61.25, cpu=100.0, spent={("daemons", "gpgsm"): 10.0})
    line = bench.run_line(2, run, 20_000, 2.134)
    assert line == "run 2:  61.2 s, 5.00 / 5.50 ms, make bench 2.13 ms"
