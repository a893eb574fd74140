"""Test support: stand-ins for a server program of the machine (slapd, Dovecot, Postfix)
that is there but does not start, pointed at through the modules' constants, in the test's
own process (no system file is touched)."""

from __future__ import annotations

import stat
from pathlib import Path


def stand_in(
    folder: Path,
    name: str,
    said: str,
    *,
    version: str = "1.0",
    status: int = 1,
    version_flag: str = "--version",
) -> Path:
    """A program `folder/name` that answers `version_flag` with `version`, and otherwise
    says `said` on stderr and exits `status` at once, counting its starts (`starts`)."""
    path = folder / name
    path.write_text(
        f'#!/bin/sh\n[ "$1" = "{version_flag}" ] && {{ echo "{version}"; exit 0; }}\n'
        f'echo x >> "{folder / "starts"}"\necho "{said}" >&2\nexit {status}\n',
        encoding="utf-8",
    )
    path.chmod(stat.S_IRWXU)
    return path


def starts(folder: Path) -> int:
    """How many times the stand-ins in `folder` were started (not asked their version)."""
    counted = folder / "starts"
    return len(counted.read_text().split()) if counted.exists() else 0
