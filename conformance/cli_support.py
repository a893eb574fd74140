"""Output helpers shared by the command modules, so every command prints the same way.

Kept free of heavy imports: `agent` runs thousands of times per matrix run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

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
