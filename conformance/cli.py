"""The `osm-conformance` command line: one sub-command per module.

Each command module exposes `register(subparsers)`, which adds its parser and
sets `func` (returning an exit code). A `UserError` anywhere becomes a clear
one-line message and its exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from conformance import __version__
from conformance.errors import UserError

# Module paths of the command groups, in the order `--help` lists them.
COMMAND_MODULES = [
    "conformance.matrix.cli",
    "conformance.report.cli",
    "conformance.check.cli",
    "conformance.agents.cli",
    "conformance.profiles.cli",
    "conformance.vectors.cli",
    "conformance.pki.cli",
    "conformance.token.cli",
    "conformance.schemas",
]

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="osm-conformance",
        description=(
            "Interoperability and conformance test suite for French secure health "
            "messaging (S/MIME with the CPS card)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module: Any = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command group is not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Handler | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except UserError as exc:
        print(f"osm-conformance: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("osm-conformance: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
