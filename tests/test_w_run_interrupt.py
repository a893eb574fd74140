"""An interrupted `run` always writes results.json, marked incomplete, and says nothing of
pytest's: a Ctrl-C at a terminal (SIGINT to the whole process group: the workers get it
too), a second one 0.3 s later, a SIGTERM to the run alone and another after it.

Before, the controlling process stopped at once and tore its workers down while they
were still ending their sessions: the late delivery of its own signal, or the second one,
landed in that teardown and the results were lost (3 runs in 4, and every time with two
Ctrl-C), with pytest-xdist's and pluggy's warnings on stderr."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.results import load_results

ENV = {**os.environ, "OSM_CONFORMANCE_TOKEN": "software"}
# Lines a run prints on stderr: its progress, where its files are. Nothing else.
OWN_LINES = ("osm-conformance: cells ", "results: ", "report: ")


def read_until(stream: int, marker: bytes, timeout_s: float) -> bytes:
    """What the run printed on `stream` until `marker` (or its end, or the timeout)."""
    seen = b""
    deadline = time.monotonic() + timeout_s
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(stream, 4096) if ready else b""
        if ready and not chunk:
            break
        seen += chunk
    return seen


@pytest.mark.parametrize(
    ("to_group", "signum"),
    [(True, signal.SIGINT), (False, signal.SIGTERM)],
    ids=["ctrl-c-twice-to-the-group", "sigterm-twice-to-the-run"],
)
def test_an_interrupted_run_writes_its_results_quietly(
    tmp_path: Path, to_group: bool, signum: signal.Signals
) -> None:
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "conformance", "run", "--agent", "reference"]
    argv += ["--examples", "2", "--no-rejections", "--jobs", "2", "--out", str(out)]
    # Its own process group, as a terminal's foreground job: a Ctrl-C reaches every process.
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        cwd=tmp_path,
        start_new_session=True,
    )
    assert proc.stderr is not None

    def send() -> None:
        if to_group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)

    try:
        # The first progress line: the workers run the cells (a tenth of 234 done).
        seen = read_until(proc.stderr.fileno(), b"osm-conformance: cells ", 60)
        assert b"osm-conformance: cells " in seen, seen[-2000:]
        send()
        time.sleep(0.3)
        send()
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = (seen + stderr).decode()
    assert proc.returncode == 130, text[-2000:]
    noise = [line for line in text.splitlines() if line and not line.startswith(OWN_LINES)]
    assert noise == [], "\n".join(noise[:40])
    results = load_results(out / "results.json")
    settings = results.run.settings
    assert not results.run.complete
    assert 1 <= settings["cells_done"] < settings["cells_planned"] == 234
    assert len(results.cells) == settings["cells_done"]
    # A cell the signal cut short is not done: not a harness error.
    assert [c for c in results.cells if c.verdict == "error"] == []
    assert b"INCOMPLETE RUN" in stdout


def test_results_that_cannot_be_written_are_said_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file cannot be put in place (here its temporary name is a folder): one line
    naming it, exit 2, and pytest's end still run; before, a traceback."""
    from conformance.cli import main

    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")
    out = tmp_path / "out"
    (out / "results.json.tmp").mkdir(parents=True)
    argv = ["run", "--sender", "reference", "--receiver", "reference", "--function", "sign"]
    argv += ["--examples", "1", "--no-rejections", "-q", "--jobs", "1", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        f"osm-conformance: error: results.json not written: {out}/results.json.tmp: "
        "Is a directory\n"
    )
