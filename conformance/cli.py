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


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose every sub-command rejects an unknown option itself.

    argparse parses a sub-command with `parse_known_args` and hands what it did not
    know back to the top-level parser, whose error then shows the top-level usage
    (`osm-conformance [-h] [--version] COMMAND ...`) instead of the sub-command's. The
    sub-parsers are of this class too: `add_subparsers` makes them of its parser's type.
    """

    def parse_known_args(  # type: ignore[override]  # typeshed overloads it
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:  # exits 2 with this parser's own usage line
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
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
    try:
        # Inside: a Ctrl-C while the command's modules import is an interrupt, not a traceback.
        parser = build_parser(first if args_list and args_list[0] == first else None)
        args = parser.parse_args(args_list)
        func: Handler | None = getattr(args, "func", None)
        if func is None:
            parser.print_help()
            return 2
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
