"""Test support: the processes a test's subprocess started, read with psutil (what a run
left running after it stopped is what those tests look for)."""

from __future__ import annotations

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
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def alive(pid: int) -> bool:
    """Running: a zombie, or a process gone, is not."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
