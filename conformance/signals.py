"""SIGTERM unwinds like Ctrl-C: what the suite started (slapd, Dovecot, Postfix, the
engine harnesses, their temporary directories) is stopped by the same `with` blocks and
`finally` clauses, instead of outliving a process a CI runner or `kill` terminated."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process was, so that everything unwinds."""


def _children() -> list[int]:
    """This process's children (Linux /proc), so that a termination reaches its workers."""
    found: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError):
            found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


def _terminate(signum: int, frame: FrameType | None) -> None:
    for pid in _children():  # pytest-xdist workers, each unwinding its own cells
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    raise Terminated


def unwind_on_sigterm() -> None:
    """From now on SIGTERM raises Terminated in this process, after passing the signal to
    its children; nothing outside the main thread, where Python delivers signals."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """`unwind_on_sigterm` for the block, the previous handler back after it (a command
    run in-process, by a test or a vendor's script, leaves the caller's handler as it was)."""
    previous = signal.getsignal(signal.SIGTERM)
    unwind_on_sigterm()
    try:
        yield
    finally:
        if threading.current_thread() is threading.main_thread():
            # None: a handler not set from Python, which cannot be put back: the default.
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
