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
from conformance.cli_support import print_error
from conformance.errors import UserError
from conformance.signals import Terminated, sigterm_unwinds

# Command -> module that registers it, in the order `--help` lists them. A command
# given on the line imports only its own module: adapters run `agent` thousands of
# times, and the other groups' imports (hypothesis, jinja2, pyhanko) cost a second.
COMMANDS = {
    "run": "conformance.matrix.cli",
    "report": "conformance.report.cli",
    "diff": "conformance.report.cli",
    "check": "conformance.check.cli",
    "agent": "conformance.agents.cli",
    "adapter": "conformance.adapters.cli",
    "profiles": "conformance.profiles.cli",
    "vectors": "conformance.vectors.cli",
    "pki": "conformance.pki.cli",
    "token": "conformance.token.cli",
    "choose": "conformance.choose.cli",
    "directory": "conformance.directory_cli",
    "serve": "conformance.serve.cli",
    "schemas": "conformance.schemas",
}
COMMAND_MODULES = list(dict.fromkeys(COMMANDS.values()))

Handler = Callable[[argparse.Namespace], int]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="osm-conformance",
        description=(
            "Interoperability and conformance test suite for French secure health "
            "messaging (S/MIME with the CPS card)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES
    for name in modules:
        try:
            module: Any = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command group is not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(first if args_list and args_list[0] == first else None)
    args = parser.parse_args(args_list)
    func: Handler | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        with sigterm_unwinds():
            return func(args)
    except UserError as exc:
        print_error(exc)
        return exc.exit_code
    except Terminated:
        print("osm-conformance: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("osm-conformance: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
