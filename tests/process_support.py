"""Test support: the processes a test's subprocess started, read from /proc (what a run
left running after it stopped is what those tests look for)."""

from __future__ import annotations

from pathlib import Path

import psutil


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, ...), as they are now."""
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:  # gone
        return []


def command_line(pid: int) -> str:
    """The process's command line, words joined by blanks ("" when it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running: a zombie, or a process gone, is not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
