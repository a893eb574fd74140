"""Test support: stand-ins for a server program of the machine (slapd, Dovecot, Postfix)
that is there but does not start, pointed at through the modules' constants, in the test's
own process (no system file is touched); and the cell a Cast without it records."""

from __future__ import annotations

import json
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance.core.vocabulary import Function
from conformance.matrix.cast import Cast
from conformance.matrix.test_matrix import test_cell as matrix_cell
from conformance.profiles import load_profiles


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


class SmtpSpec:
    """What a cell (and `finish.mail_settings`) reads of a MatrixSpec over SMTP."""

    transport = "smtp"
    seed = 1
    out_dir = None

    def __init__(self, routes: Sequence[tuple[str, ...]] = ()) -> None:
        self._routes = list(routes)

    def routes(self) -> list[tuple[str, ...]]:
        return self._routes


def smtp_cast(folder: Path) -> Cast:
    """The reference agent alone, its cells over SMTP, the store's files in `folder`."""
    return Cast({"reference": load_profiles()["reference"]}, workdir=folder, transport="smtp")


def not_run_cell(cast: Cast, function: Function, route: tuple[str, ...]) -> dict[str, Any]:
    """reference -> reference through `route`, as the matrix runs it, when its world cannot
    be had: the cell it records (it is skipped as not run)."""
    recorded: dict[str, object] = {}
    spec: Any = SmtpSpec()
    with pytest.raises(pytest.skip.Exception):
        matrix_cell(("reference", "reference", function, route), cast, spec, recorded.__setitem__)
    cell = json.loads(str(recorded["osm_cell"]))
    assert isinstance(cell, dict)
    return cell
