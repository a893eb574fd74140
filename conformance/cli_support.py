"""Output helpers shared by the command modules, so every command prints the same way.

Kept free of heavy imports: `agent` runs thousands of times per matrix run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.errors import UserError

PROG = "osm-conformance"


def print_error(message: object) -> None:
    """One error line on stderr, in the form every command uses."""
    print(f"{PROG}: error: {message}", file=sys.stderr)


def print_json(data: Any) -> None:
    """Indented JSON on stdout, non-ASCII kept readable (names are French)."""
    print(json.dumps(data, indent=2, ensure_ascii=False))


def print_table(rows: Sequence[Sequence[str]]) -> None:
    """Rows (the header first) in left-aligned columns two spaces apart."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def byte_size(text: str) -> int:
    """A size as a user writes it: 1000, 64K, 200M, 1G (binary units); argparse type."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in ("K", "M", "G") else ""
    number = value[: len(value) - len(unit)]
    if not number.isdigit() or int(number) <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size (a positive number of bytes, or with K, M or G: 200M)"
        )
    return int(number) * _SIZE_UNITS[unit]


def seconds(text: str) -> float:
    """A duration as a user writes it: 0.5, 30 (positive and finite: nan or inf would
    never time out); argparse type."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{value}: expected a positive number of seconds")
    return value


def file_kind(mode: int) -> str:
    """What a path is, from its `st_mode`, for a message saying it is not what was asked
    ("X: a directory, not a CRL file"; "X: is a file, not an identity directory")."""
    kinds = (
        (stat.S_ISREG, "a file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISFIFO, "a pipe"),
    )
    return next((said for test, said in kinds if test(mode)), "not a regular file")


def require_file(
    path: Path, what: str = "", hint: str = "", *, streams: bool = True
) -> os.stat_result:
    """A file to read, given to an option: a regular file, or (`streams`, for a file read
    once) a stream such as /dev/stdin or `<(...)`; never a device such as /dev/zero, which
    would be read without end. A path that is missing and one that is something else are
    told apart. Its stat, for its size."""
    noun = f"{what} file" if what else "file"
    try:
        found = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise UserError(f"{path}: no such {noun}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(found.st_mode):
        raise UserError(f"{path}: a directory, not a {noun}")
    if not (stat.S_ISREG(found.st_mode) or (streams and stat.S_ISFIFO(found.st_mode))):
        raise UserError(f"{path}: {file_kind(found.st_mode)}, not a {noun}{hint}")
    return found


def require_address(option: str, value: str) -> None:
    """An address given on the command line is one addr-spec (local@domain): anything else
    is the user's typo, said as such, not a verdict against a message (check's HDR-008 and
    HDR-009) or a recipient not found (agent send --to-address); an empty one would
    silently mean "not given"."""
    from conformance.core.mime import addresses  # the MIME reader only when asked

    if not value.strip():
        raise UserError(f"{option}: an empty address (give the address, or omit {option})")
    try:
        found = addresses([value])
    except ValueError:  # comments nested past the reader's bound
        found = []
    local, _, domain = found[0].rpartition("@") if len(found) == 1 else ("", "", "")
    if found != [value.strip()] or not local or not domain:
        raise UserError(
            f"{option} {value!r}: not one mail address (expected local-part@domain, "
            "e.g. camille.martin@osm-test.example, without a display name)"
        )
