"""No process the suite starts outlives a failure: a one-shot tool or adapter that times
out is killed with everything it started, and a harness that fails to start is killed.

Each test runs a real child (a shell, a Python script) and checks by process id.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from process_support import alive

from conformance.agents import harness as harness_module
from conformance.agents.base import Evidence
from conformance.agents.command import CommandAgent
from conformance.agents.harness import PROTOCOL, Harness, HarnessError
from conformance.agents.tools import ToolTimeout, run
from conformance.core.vocabulary import Capabilities


def _gone(pid: int, within: float = 3.0) -> bool:
    """Whether `pid` ends within a few seconds (an orphan is reaped by init, not at once)."""
    deadline = time.monotonic() + within
    while alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, 9)  # leave nothing behind, even when the test fails
            return False
        time.sleep(0.02)
    return True


def test_a_timeout_kills_what_the_tool_started() -> None:
    # An adapter whose `receive` execs a shell: the shell's `sleep` is its grandchild.
    evidence = Evidence()
    script = "sleep 1000 & echo $!; wait"
    start = time.monotonic()
    with pytest.raises(ToolTimeout, match="did not finish within"):
        run(["sh", "-c", script], evidence=evidence, timeout=0.5)
    assert time.monotonic() - start < 5
    sleeper = int(evidence.stdout.split(b"\n")[1])  # after the "# command" header
    assert _gone(sleeper), f"sleep {sleeper} outlived the timeout"


def test_the_normal_path_is_unchanged(tmp_path: Path) -> None:
    result = run(
        [sys.executable, "-c", "import os,sys; d=sys.stdin.read(); print(d[::-1], os.getcwd())"],
        input=b"abc",
        cwd=tmp_path,
    )
    assert (result.returncode, result.stdout) == (0, f"cba {tmp_path}\n".encode())
    assert run(["sh", "-c", "echo oops >&2; exit 3"]).returncode == 3


def _script(tmp_path: Path, name: str, body: str) -> list[str]:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return [sys.executable, str(path)]


HELLO = '{"protocol": "osm-harness/1", "implementation": "t", "sleeper": "%d"}'


def test_a_harness_killed_for_a_hang_takes_its_children_along(tmp_path: Path) -> None:
    command = _script(
        tmp_path,
        "parent.py",
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '1000'])\n"
        f"print('{HELLO}' % child.pid, flush=True)\n"
        "time.sleep(1000)\n",
    )
    served = Harness(command)
    sleeper = int(served.hello["sleeper"])
    with pytest.raises(HarnessError, match="in time"):
        served.call(["anything"], timeout=0.3)
    assert _gone(sleeper), f"sleep {sleeper} outlived its harness"


def test_a_hello_that_is_not_json_kills_the_child(tmp_path: Path) -> None:
    command = _script(
        tmp_path, "chatty.py", "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(1000)\n"
    )
    with pytest.raises(HarnessError, match="bad hello line") as failure:
        Harness(command)
    pid = int(str(failure.value).rsplit("b'", 1)[1].strip("'"))
    assert _gone(pid, within=1.0), "the child of a failed start was left running"


def test_the_hello_wait_is_the_callers(tmp_path: Path) -> None:
    command = _script(tmp_path, "mute.py", "import time\ntime.sleep(1000)\n")
    start = time.monotonic()
    with pytest.raises(HarnessError, match="did not answer the hello line in time"):
        Harness(command, hello_timeout=0.3)
    assert time.monotonic() - start < 5


def test_an_adapter_serve_that_never_says_hello_costs_one_call_timeout(tmp_path: Path) -> None:
    adapter = _script(tmp_path, "mute_adapter.py", "import time\ntime.sleep(1000)\n")
    agent = CommandAgent(
        "mute", adapter, Capabilities(frozenset(), frozenset()), timeout=1, protocols=[PROTOCOL]
    )
    start = time.monotonic()
    try:
        assert agent.version() == "unknown"  # the harness error, as a broken adapter's
    finally:
        harness_module.close_all()
    assert time.monotonic() - start < 5  # not HELLO_TIMEOUT (30 s)


def test_a_reply_that_is_not_json_kills_the_child(tmp_path: Path) -> None:
    """Its real reply may follow the stray line: the next call must not read it."""
    command = _script(
        tmp_path,
        "stray.py",
        "import base64, json, os, sys\n"
        f"print('{HELLO}' % os.getpid(), flush=True)\n"
        "for line in sys.stdin:\n"
        "    rid = json.loads(line)['id']\n"
        "    print('a library said hello on stdout', flush=True)\n"
        "    print(json.dumps({'id': rid, 'exit': 0, 'stdout': '', 'stderr': ''}), flush=True)\n",
    )
    served = Harness(command)
    first = int(served.hello["sleeper"])
    with pytest.raises(HarnessError, match="bad reply to request 1"):
        served.call(["one"])
    assert _gone(first, within=1.0), "the child that broke the protocol was left running"
    with pytest.raises(HarnessError, match="bad reply to request 2"):  # not "answered id 1"
        served.call(["two"])
    assert served.starts == 2
    served.close()
