"""The harness client: one long-lived child process answering agent calls over JSON lines.

Starting a process per call (openssl, cmsutil, gpgsm or a vendor adapter) costs
more than the cryptography it does; a harness starts once per worker and
answers every call of the run (the protocol "osm-harness/1", docs/agent-cli.md).
The child first writes a hello line; then each request
``{"id", "argv", "stdin", "cwd"}`` gets one reply ``{"id", "exit", "stdout",
"stderr"}`` (bytes base64-encoded), and EOF on its stdin ends it.

A child that crashes, hangs or answers nonsense raises `HarnessError` (the
caller makes an ``error`` cell, never a verdict) and is killed; the next call
starts a fresh one, so one bad message never costs the worker. The loop is
written on `selectors` rather than threads so that a hung child that stops
reading its stdin, or fills its stderr, still times out, and so that nothing
is left running in a forked worker. What the child prints on its own stderr
is kept (the last `STDERR_KEPT` bytes) for the error message and evidence.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import json
import os
import selectors
import shlex
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.loopback import kill_group

PROTOCOL = "osm-harness/1"
HELLO_TIMEOUT = 30.0
STDERR_KEPT = 64 * 1024
_CHUNK = 1 << 16


class HarnessError(Exception):
    """The harness crashed, hung or broke the protocol: a harness error, not a verdict."""


class HarnessTimeout(HarnessError):
    """The harness did not answer in time (it was killed): it hung."""


@dataclass(frozen=True)
class Reply:
    """What one call returned, as a one-shot run of the same argv would have."""

    exit: int
    stdout: bytes
    stderr: bytes
    seconds: float


class Harness:
    """One long-lived child speaking the harness protocol; restarted after a failure."""

    hello: dict[str, str]

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        hello_timeout: float = HELLO_TIMEOUT,
    ) -> None:
        if not argv:
            raise ValueError("a harness needs a command")
        self.argv = [str(a) for a in argv]
        self.name = shlex.join(self.argv)[-160:]  # in error messages
        self.env = dict(env) if env else None
        self.cwd = cwd
        # A child that does not say hello in this time is killed (and the call fails).
        self.hello_timeout = hello_timeout
        self.hello = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr = bytearray()
        self._pending = bytearray()  # stdout read past the last complete line
        self._next_id = 0
        self._lock = threading.Lock()
        self.starts = 0  # how many children were started (a restart shows as 2 or more)
        with self._lock:
            self._start()

    # -- the child's life ------------------------------------------------------------

    def _start(self) -> None:
        full_env = dict(os.environ)
        full_env["LC_ALL"] = "C"  # messages in English, as the one-shot path runs them
        if self.env:
            full_env.update(self.env)
        self._stderr.clear()
        self._pending.clear()
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=full_env,
                cwd=self.cwd,
                close_fds=True,
                process_group=0,  # a failure kills what the child started too (`_kill`)
            )
        except OSError as exc:
            raise HarnessError(f"cannot start harness {self.name}: {exc}") from exc
        self.starts += 1
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            os.set_blocking(stream.fileno(), False)
        line = self._exchange(b"", time.monotonic() + self.hello_timeout, "the hello line")
        try:
            hello = _decode(line, "hello line")
            if hello.get("protocol") != PROTOCOL:
                raise HarnessError(
                    f"harness {self.name} speaks {hello.get('protocol')!r}, not {PROTOCOL!r}"
                )
        except HarnessError:
            self._kill()  # no child outlives a failed start
            raise
        self.hello = {str(k): str(v) for k, v in hello.items()}

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            kill_group(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):  # one that ignores SIGKILL
            proc.wait(timeout=5)
        if proc.stderr is not None:  # its last words, e.g. a crash's message
            while chunk := _read(proc.stderr.fileno()):
                self._stderr += chunk
            del self._stderr[:-STDERR_KEPT]
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def close(self) -> None:
        """EOF on the child's stdin (it exits 0); killed if it does not within 5 s."""
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            try:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._kill()

    @property
    def stderr(self) -> bytes:
        """What the child printed on its own stderr (the last STDERR_KEPT bytes)."""
        return bytes(self._stderr)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # -- one call --------------------------------------------------------------------

    def call(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes = b"",
        cwd: str | None = None,
        timeout: float = 60.0,
    ) -> Reply:
        """Run one request; HarnessError (child killed, restarted next call) if it fails."""
        with self._lock:
            if self._proc is None:
                self._start()
            self._next_id += 1
            rid = self._next_id
            request = {
                "id": rid,
                "argv": [str(a) for a in argv],
                "stdin": base64.b64encode(stdin).decode("ascii"),
                "cwd": None if cwd is None else str(cwd),
            }
            data = json.dumps(request, separators=(",", ":")).encode("utf-8") + b"\n"
            start = time.monotonic()
            line = self._exchange(data, start + timeout, f"request {rid} ({_brief(argv)})")
            seconds = time.monotonic() - start
            try:
                return self._reply(_decode(line, f"reply to request {rid}"), rid, seconds)
            except HarnessError:
                self._kill()
                raise

    def _reply(self, reply: dict[str, Any], rid: int, seconds: float) -> Reply:
        if reply.get("id") != rid:
            if reply.get("id") is None and reply.get("exit") == 2:
                # The child could not read our request: a fault of ours or its own.
                message = _b64(reply.get("stderr", ""), "stderr").decode("utf-8", "replace")
                raise HarnessError(f"harness {self.name} rejected request {rid}: {message}")
            raise HarnessError(
                f"harness {self.name} answered id {reply.get('id')!r} to request {rid}"
            )
        code = reply.get("exit")
        if not isinstance(code, int) or isinstance(code, bool):
            raise HarnessError(f"harness {self.name}: reply {rid} has no integer exit")
        return Reply(
            code,
            _b64(reply.get("stdout", ""), "stdout"),
            _b64(reply.get("stderr", ""), "stderr"),
            seconds,
        )

    def _exchange(self, data: bytes, deadline: float, what: str) -> bytes:
        """Write `data`, then return the next stdout line; kill the child on any failure."""
        proc = self._proc
        assert proc is not None and proc.stdin and proc.stdout and proc.stderr
        out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
        view = memoryview(data)
        sel = selectors.DefaultSelector()
        try:
            sel.register(out_fd, selectors.EVENT_READ)
            sel.register(err_fd, selectors.EVENT_READ)
            if view:
                sel.register(proc.stdin.fileno(), selectors.EVENT_WRITE)
            out_open = True
            while True:
                newline = self._pending.find(b"\n")
                if newline >= 0:
                    line = bytes(self._pending[:newline])
                    del self._pending[: newline + 1]
                    return line
                if not out_open:
                    raise self._failure(f"harness {self.name} exited during {what}")
                left = deadline - time.monotonic()
                if left <= 0:
                    message = f"harness {self.name} did not answer {what} in time"
                    raise self._failure(message, HarnessTimeout)
                for key, _ in sel.select(left):
                    fd = key.fd
                    if fd == out_fd:
                        chunk = _read(fd)
                        if chunk:
                            self._pending += chunk
                        elif chunk is not None:
                            out_open = False
                            sel.unregister(fd)
                    elif fd == err_fd:
                        chunk = _read(fd)
                        if chunk:
                            self._stderr += chunk
                            del self._stderr[:-STDERR_KEPT]
                        elif chunk is not None:
                            sel.unregister(fd)
                    else:
                        try:
                            written = os.write(fd, view[:_CHUNK])
                        except BlockingIOError:
                            continue
                        except OSError as exc:  # EPIPE: the child is gone
                            raise self._failure(
                                f"harness {self.name} stopped reading during {what}: {exc}"
                            ) from exc
                        view = view[written:]
                        if not view:
                            sel.unregister(fd)
        finally:
            sel.close()

    def _failure(self, message: str, kind: type[HarnessError] = HarnessError) -> HarnessError:
        proc = self._proc
        self._kill()
        if proc is not None and proc.returncode is not None:
            message += f" (exit {proc.returncode})"
        tail = bytes(self._stderr[-2000:]).decode("utf-8", "replace").strip()
        return kind(message + (f"; it printed: {tail}" if tail else ""))


def _read(fd: int) -> bytes | None:
    """The next bytes, b"" at EOF (or a broken pipe), None when there is nothing yet."""
    try:
        return os.read(fd, _CHUNK)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _decode(line: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HarnessError(f"bad {what}: {exc}: {line[:200]!r}") from exc
    if not isinstance(value, dict):
        raise HarnessError(f"bad {what}: not a JSON object: {line[:200]!r}")
    return value


def _b64(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise HarnessError(f"bad reply: {field} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HarnessError(f"bad reply: {field} is not base64: {exc}") from exc


def _brief(argv: Sequence[str]) -> str:
    text = " ".join(str(a) for a in argv[:4])
    return text if len(argv) <= 4 else text + " ..."


# -- the per-process pool ---------------------------------------------------------------

_PoolKey = tuple[tuple[str, ...], tuple[tuple[str, str], ...] | None]
_pool: dict[_PoolKey, Harness] = {}
_pool_pid = os.getpid()
_pool_lock = threading.Lock()


def harness_for(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    hello_timeout: float = HELLO_TIMEOUT,
) -> Harness:
    """The running harness for `command` in this process, started on first use
    (`hello_timeout` is the started harness's, whoever asks for it next).

    A failed call kills its child and the next call starts a fresh one (in
    `Harness.call`). A forked worker does not share its parent's children: it
    starts its own (the pool is keyed on the process id).
    """
    global _pool_pid
    key: _PoolKey = (tuple(str(c) for c in command), tuple(sorted(env.items())) if env else None)
    with _pool_lock:
        if _pool_pid != os.getpid():
            _pool.clear()  # the parent's children: not ours to talk to or to close
            _pool_pid = os.getpid()
        harness = _pool.get(key)
        if harness is None:
            harness = _pool[key] = Harness(command, env=env, hello_timeout=hello_timeout)
        return harness


def close_all(env: Mapping[str, str] | None = None) -> None:
    """Close every harness this process started (at exit; a forked child closes none), or,
    given `env`, those started with exactly that environment (a tool's home whose daemons
    were restarted: its harness's servers hold connections to the old ones)."""
    with _pool_lock:
        if _pool_pid != os.getpid():
            _pool.clear()
            return
        wanted = tuple(sorted(env.items())) if env is not None else None
        keys = [key for key in _pool if wanted is None or key[1] == wanted]
        harnesses = [_pool.pop(key) for key in keys]
    for harness in harnesses:
        harness.close()


def _forget_after_fork() -> None:
    global _pool_pid, _pool_lock
    _pool.clear()
    _pool_pid = os.getpid()
    _pool_lock = threading.Lock()


atexit.register(close_all)
os.register_at_fork(after_in_child=_forget_after_fork)
