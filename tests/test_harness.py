"""The harness client against a tiny harness written here: calls, crashes, hangs, bad replies.

The child is a real process speaking the protocol (docs/agent-cli.md, "osm-harness/1");
each verb of its argv makes it misbehave in one way, so every failure path of the client
runs against a real pipe, not a mock.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest
from process_support import alive

from conformance.agents import harness as harness_module
from conformance.agents.harness import Harness, HarnessError, harness_for

CHILD = textwrap.dedent(
    """
    import base64, json, os, sys, time
    out = sys.stdout
    out.write(json.dumps({"protocol": "osm-harness/1", "implementation": "tiny",
                          "version": "1.0"}) + "\\n")
    out.flush()
    print("tiny harness started", file=sys.stderr, flush=True)
    for line in sys.stdin:
        try:
            req = json.loads(line)
            rid, argv = req["id"], req["argv"]
            data = base64.b64decode(req["stdin"])
        except Exception as exc:
            msg = base64.b64encode(str(exc).encode()).decode()
            out.write(json.dumps({"id": None, "exit": 2, "stderr": msg}) + "\\n")
            out.flush()
            continue
        verb = argv[0]
        if verb == "crash":
            print("tiny harness: segmentation fault (simulated)", file=sys.stderr, flush=True)
            os._exit(139)
        if verb == "hang":
            time.sleep(3600)
        if verb == "bad":
            out.write("this is not json\\n")
            out.flush()
            continue
        if verb == "wrong-id":
            out.write(json.dumps({"id": rid + 100, "exit": 0, "stdout": "", "stderr": ""}) + "\\n")
            out.flush()
            continue
        if verb == "chatty":  # more stderr than a pipe holds, before answering
            sys.stderr.write("x" * 300000 + "\\n")
            sys.stderr.flush()
        if verb == "pid":
            data = str(os.getpid()).encode()
        if verb == "cwd":
            data = os.getcwd().encode()
        if verb == "file":  # a file named in argv, written as a CLI would
            with open(argv[1], "wb") as f:
                f.write(data)
            data = b""
        code = int(argv[1]) if verb == "exit" else 0
        out.write(json.dumps({
            "id": rid,
            "exit": code,
            "stdout": base64.b64encode(data[::-1] if verb == "reverse" else data).decode(),
            "stderr": base64.b64encode(("said " + verb).encode()).decode(),
        }) + "\\n")
        out.flush()
    sys.exit(0)
    """
)


@pytest.fixture
def command(tmp_path: Path) -> list[str]:
    script = tmp_path / "tiny_harness.py"
    script.write_text(CHILD, encoding="utf-8")
    return [sys.executable, str(script)]


@pytest.fixture
def harness(command: list[str]) -> object:
    h = Harness(command)
    yield h
    h.close()


def test_hello_and_calls(harness: Harness) -> None:
    assert harness.hello == {
        "protocol": "osm-harness/1",
        "implementation": "tiny",
        "version": "1.0",
    }
    reply = harness.call(["echo"], stdin=b"hello")
    assert (reply.exit, reply.stdout, reply.stderr) == (0, b"hello", b"said echo")
    assert reply.seconds >= 0
    assert harness.call(["reverse"], stdin=b"abc").stdout == b"cba"
    assert harness.call(["exit", "4"]).exit == 4
    assert harness.starts == 1  # every call went to the one child


def test_files_and_cwd(harness: Harness, tmp_path: Path) -> None:
    target = tmp_path / "written.bin"
    assert harness.call(["file", str(target)], stdin=b"\x00\xff").exit == 0
    assert target.read_bytes() == b"\x00\xff"
    # cwd is the request's; the child's own working directory is its business
    assert harness.call(["cwd"], cwd=str(tmp_path)).exit == 0


def test_large_stdin_and_stdout(harness: Harness) -> None:
    data = os.urandom(3 * 1024 * 1024)
    reply = harness.call(["reverse"], stdin=data, timeout=60)
    assert reply.stdout == data[::-1]


def test_crash_mid_call_then_restart(harness: Harness) -> None:
    first = int(harness.call(["pid"]).stdout)
    with pytest.raises(HarnessError, match=r"(?s)exited during request .*exit 139.*segmentation"):
        harness.call(["crash"])
    assert "segmentation fault" in harness.stderr.decode()
    second = int(harness.call(["pid"]).stdout)  # a fresh child
    assert second != first
    assert harness.starts == 2


def test_hang_is_killed_and_restarted(harness: Harness) -> None:
    first = int(harness.call(["pid"]).stdout)
    start = time.monotonic()
    with pytest.raises(HarnessError, match=r"did not answer .* in time"):
        harness.call(["hang"], timeout=0.5)
    assert time.monotonic() - start < 10
    assert not alive(first)  # killed, not left behind
    assert harness.call(["echo"], stdin=b"again").stdout == b"again"


def test_hang_of_a_child_that_stops_reading(tmp_path: Path) -> None:
    script = tmp_path / "deaf.py"
    script.write_text(
        "import sys, time\n"
        'print(\'{"protocol": "osm-harness/1", "implementation": "deaf"}\', flush=True)\n'
        "time.sleep(3600)\n",
        encoding="utf-8",
    )
    deaf = Harness([sys.executable, str(script)])
    start = time.monotonic()
    with pytest.raises(HarnessError, match="in time"):
        # 8 MB cannot fit in the pipe: the write itself must time out, not block forever
        deaf.call(["echo"], stdin=b"x" * (8 << 20), timeout=0.5)
    assert time.monotonic() - start < 10
    deaf.close()


def test_bad_reply_line(harness: Harness) -> None:
    with pytest.raises(HarnessError, match=r"bad reply to request .*not json"):
        harness.call(["bad"])
    assert harness.call(["echo"], stdin=b"ok").stdout == b"ok"
    with pytest.raises(HarnessError, match="answered id"):
        harness.call(["wrong-id"])
    assert harness.call(["echo"], stdin=b"ok").stdout == b"ok"


def test_stderr_is_kept_and_drained(harness: Harness) -> None:
    harness.call(["echo"])
    assert "tiny harness started" in harness.stderr.decode()
    reply = harness.call(["chatty"], stdin=b"still answers", timeout=30)
    assert reply.stdout == b"still answers"
    assert len(harness.stderr) <= harness_module.STDERR_KEPT


def test_not_a_harness(tmp_path: Path) -> None:
    script = tmp_path / "mute.py"
    script.write_text("print('hello, I am a normal program')\n", encoding="utf-8")
    with pytest.raises(HarnessError, match="bad hello line"):
        Harness([sys.executable, str(script)])
    script.write_text('print(\'{"protocol": "other/9"}\')\n', encoding="utf-8")
    with pytest.raises(HarnessError, match="speaks 'other/9'"):
        Harness([sys.executable, str(script)])
    with pytest.raises(HarnessError, match="cannot start"):
        Harness([str(tmp_path / "missing")])


def test_close_ends_the_child(command: list[str]) -> None:
    h = Harness(command)
    pid = int(h.call(["pid"]).stdout)
    h.close()
    assert not alive(pid)
    assert h.call(["echo"], stdin=b"reopened").stdout == b"reopened"  # a call restarts it
    h.close()


def test_pool_shares_per_command_and_env(command: list[str]) -> None:
    try:
        a = harness_for(command)
        assert harness_for(command) is a
        b = harness_for(command, env={"OSM_TEST": "1"})
        assert b is not a
        assert harness_for(command, env={"OSM_TEST": "1"}) is b
    finally:
        harness_module.close_all()
    assert harness_for(command) is not a  # closed pools start afresh
    harness_module.close_all()


def test_forked_child_starts_its_own(command: list[str]) -> None:
    parent = harness_for(command)
    parent_pid = int(parent.call(["pid"]).stdout)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked process
        try:
            mine = harness_for(command)
            os.write(write, mine.call(["pid"]).stdout)
            harness_module.close_all()
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    forked_pid = int(os.read(read, 100))
    os.close(read)
    assert forked_pid != parent_pid
    assert int(parent.call(["pid"]).stdout) == parent_pid  # the parent's is untouched
    harness_module.close_all()
