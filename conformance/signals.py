"""SIGTERM unwinds like Ctrl-C: what the suite started (slapd, Dovecot, Postfix, the
engine harnesses, their temporary directories) is stopped by the same `with` blocks and
`finally` clauses, instead of outliving a process a CI runner or `kill` terminated.

A run of the matrix must also end by writing what it gathered: `RunSignals` keeps a
second signal from cutting that short, and `write` keeps an output whose reader went
away (SIGPIPE, which Python ignores: `| head` exited) from doing it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TextIO

import psutil

# A later signal this soon after the first is taken note of only: a second Ctrl-C, or the
# terminal's SIGINT reaching a worker beside the one its controller passed on, while the
# first unwinds (a cell's servers stopped). After it, one more stops what still hangs.
GRACE_S = 10.0
# A shell's code for a command its reader left (128 + SIGPIPE).
PIPE_EXIT = 141


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process was, so that everything unwinds."""


def children() -> list[int]:
    """This process's children, so that a termination reaches its workers."""
    with contextlib.suppress(psutil.Error):
        return [child.pid for child in psutil.Process().children()]
    return []


def pass_on(signum: int) -> None:
    """`signum` to this process's children (pytest-xdist workers, each unwinding its own
    cells; under a single process, its tools and servers)."""
    for pid in children():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _terminate(signum: int, frame: FrameType | None) -> None:
    pass_on(signal.SIGTERM)
    raise Terminated


def _put_back(
    signum: int, previous: Callable[[int, FrameType | None], object] | int | None
) -> None:
    """A handler as it was (a command run in-process, by a test or a vendor's script,
    leaves the caller's). None: a handler not set from Python, which cannot be put back:
    the default."""
    signal.signal(signum, signal.SIG_DFL if previous is None else previous)


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """For the block, SIGTERM raises Terminated in this process after passing the signal to
    its children (nothing outside the main thread, where Python delivers signals); the
    previous handler back after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        _put_back(signal.SIGTERM, previous)


class RunSignals:
    """SIGINT and SIGTERM in a process of a run that must end by writing what it gathered
    (the matrix's pytest session: the controlling process and each worker).

    The first signal stops the run: raised where the process is (KeyboardInterrupt, or
    Terminated after SIGTERM is passed on to the children), unless `soft` takes it (a
    controlling process whose workers run the cells passes it on to them and gathers their
    reports until they have stopped). A later one within GRACE_S is taken note of only;
    after `finishing()`, every one is, until `restore()`: the results are written and the
    servers stopped whatever arrives meanwhile (two Ctrl-C lost the whole run).
    """

    def __init__(self, soft: Callable[[int], bool] | None = None) -> None:
        self.first: int | None = None  # the first signal received
        self._first_at = 0.0
        self._finishing = False
        self._soft = soft
        self._previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}

    def install(self) -> None:
        """Ours from now on (in the main thread, where Python delivers signals); a signal
        ignored by whoever started the process (a background job's SIGINT) stays ignored."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if previous is not signal.SIG_IGN and signum not in self._previous:
                self._previous[signum] = previous
                signal.signal(signum, self._handle)

    def finishing(self) -> None:
        """The run is ending: no signal interrupts what is left (writing, stopping)."""
        self._finishing = True

    def restore(self) -> None:
        """The handlers as they were before `install` (a run in-process, by a test or a
        vendor's script, leaves the caller's)."""
        for signum, previous in self._previous.items():
            _put_back(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if self._finishing or (self.first is not None and now - self._first_at < GRACE_S):
            return
        if self.first is None:
            self.first, self._first_at = signum, now
            if self._soft is not None and self._soft(signum):
                return
        if signum == signal.SIGTERM:
            _terminate(signum, frame)
        raise KeyboardInterrupt


_closed_output = False  # this process's stdout or stderr lost its reader


def write(text: str, stream: TextIO) -> bool:
    """`text` and a newline to `stream`, flushed; False when its reader is gone (a broken
    pipe: `| head` exited), the stream then muted (`mute`) and the closure noted."""
    try:
        stream.write(text + "\n")
        stream.flush()
    except BrokenPipeError:
        mute(stream)
        return False
    return True


def mute(stream: TextIO) -> None:
    """`stream`, whose reader is gone, writes to os.devnull from now on: what is still
    printed, and Python's own flush at exit, fail no more (the Python docs' recipe)."""
    global _closed_output
    _closed_output = True
    with contextlib.suppress(OSError, ValueError):  # not a file (a test's capture): nothing
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)


def output_closed() -> bool:
    """Whether stdout or stderr lost its reader since `forget_closed_output` (`mute`)."""
    return _closed_output


def forget_closed_output() -> None:
    """A new run starts: an earlier one's closed output (a command run in-process, as the
    tests run them) is not this one's."""
    global _closed_output
    _closed_output = False
