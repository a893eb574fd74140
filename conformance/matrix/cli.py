"""`osm-conformance run`: the interop and rejection matrices, through pytest (and
pytest-xdist for --jobs)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.agents.tools import ENGINE_MODE_ENV, ENGINE_MODES, engine_mode
from conformance.check.policy import DEFAULT_POLICY, policy_names
from conformance.cli_support import PROG, byte_size
from conformance.core.vocabulary import FUNCTIONS
from conformance.errors import UserError
from conformance.matrix.finish import RESULTS_FILE
from conformance.matrix.routes import TRANSPORTS, hops, parse_via, resolve_transport, route_id
from conformance.matrix.spec import (
    DEFAULT_EXAMPLES,
    DEFAULT_SEED,
    DEFAULT_VARIANTS,
    MatrixSpec,
)
from conformance.paths import check_output_file, hypothesis_in_cache, output_folder
from conformance.results import Results, load_results
from conformance.signals import GRACE_S, PIPE_EXIT, forget_closed_output, output_closed, write

if TYPE_CHECKING:
    import pytest

    from conformance.matrix.gates import Gate
    from conformance.matrix.waivers import Loaded


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the interop and rejection matrices and write results.json and the report",
        description="Run every sender x receiver x function of the selected profiles: a "
        "basic example per cell, then hypothesis looks for a failing one. Then every "
        "receiver gets hostile messages it must refuse (the rejection matrix). Writes "
        "OUT/results.json, the evidence under OUT/evidence/ and the HTML report.",
        epilog=_hops_epilog() + EPILOG,
        formatter_class=_KeepTables,
    )
    parser.add_argument(
        "--profiles",
        nargs="+",
        default=[],
        metavar="DIR|FILE",
        help="profile files or directories (default: the shipped profiles)",
    )
    parser.add_argument(
        "--sender", action="append", default=[], metavar="ID", help="only this sender (repeatable)"
    )
    parser.add_argument(
        "--receiver",
        action="append",
        default=[],
        metavar="ID",
        help="only this receiver (repeatable)",
    )
    parser.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="ID",
        help="only the cells where this agent sends or receives, and its rejection cells "
        "(repeatable; a vendor's row and column)",
    )
    parser.add_argument(
        "--function",
        action="append",
        default=[],
        choices=FUNCTIONS,
        metavar="F",
        help=f"only this function, one of {', '.join(FUNCTIONS)} (repeatable)",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=None,  # not given: MatrixSpec.examples (one with --large-attachment)
        help=f"examples per cell, the basic one included (default {DEFAULT_EXAMPLES}; "
        "--large-attachment runs one)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed of the run; the same seed draws the same examples (default {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--no-rejections",
        dest="rejections",
        action="store_false",
        help="skip the rejection matrix (hostile messages every receiver must refuse)",
    )
    parser.add_argument(
        "--variants",
        type=int,
        default=DEFAULT_VARIANTS,
        help="hostile variants per rejection case and producer, the basic one included "
        f"(default {DEFAULT_VARIANTS})",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="parallel workers (default: the number of cores)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("reports/latest"),
        metavar="DIR",
        help="output directory (default reports/latest)",
    )
    parser.add_argument(
        "--policy",
        choices=policy_names(),
        default=DEFAULT_POLICY,
        help="the policy every profile receiver applies, the validator judges the sent "
        "messages under and the rejection judge applies (what receivers must refuse; default "
        f"{DEFAULT_POLICY}); real engines are measured as they are",
    )
    parser.add_argument(
        "--engine-mode",
        choices=ENGINE_MODES,
        default=None,
        help="real engines (openssl, NSS, gpgsm, Go pkcs7, PKI.js, BouncyCastle) answered by "
        "their long-lived harness where one is built (harness, the default, or "
        f"${ENGINE_MODE_ENV}), or every call as a plain command line (cli: an auditor's "
        "replay with the tools themselves)",
    )
    parser.add_argument("--lang", choices=("fr", "en"), default="fr", help="report language")
    parser.add_argument(
        "--junit-xml",
        type=Path,
        metavar="FILE",
        help="also write a JUnit XML file (one test case per cell, rejection cells included)",
    )
    parser.add_argument(
        "--large-attachment",
        type=byte_size,
        metavar="SIZE",
        help="the large-attachment scenario (e.g. 200M): one example per cell, a letter with "
        "an imaging series of SIZE attached, no search, no rejection matrix; the evidence "
        "keeps each message's size, SHA-256 and first 64 kB (off by default)",
    )
    parser.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default=None,
        help="how the interop cells' messages travel: memory (default; figures as before) or "
        "smtp (real SMTP on loopback through the suite's own relays, delivered to Dovecot "
        "over IMAP when installed, else to a maildir); the rejection matrix always runs on "
        "the memory transport",
    )
    parser.add_argument(
        "--via",
        action="append",
        default=[],
        metavar="HOP[,HOP...]",
        help="implies --transport smtp: each HOP is its own variant of every cell, beside the "
        "plain route (no rewriting hop) it is compared with; HOP+HOP chains hops in one "
        "variant (repeatable; the hops are listed below)",
    )
    parser.add_argument(
        "--max-message-bytes",
        type=byte_size,
        metavar="SIZE",
        help="the SIZE limit the SMTP hops announce (e.g. 10M; default: their own; Postfix "
        "keeps its default); with --transport smtp or --via only",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _add_gate_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import pytest

    gates = _gates_before(args)
    if args.jobs < 1:
        raise UserError("--jobs must be at least 1")
    routes = parse_via(args.via, hops()) if args.via else ()  # before any cell runs
    transport = resolve_transport(args.transport, routes)
    MatrixSpec(
        profile_paths=tuple(args.profiles),
        senders=tuple(args.sender),
        receivers=tuple(args.receiver),
        agents=tuple(args.agent),
        functions=tuple(args.function) or FUNCTIONS,
        examples_given=args.examples,
        variants=args.variants,
        large_attachment=args.large_attachment,
        transport=transport,
        via=routes,
        max_message_bytes=args.max_message_bytes,
    ).check(workers=args.jobs)  # what the plugin refuses too, said here before pytest starts
    if args.junit_xml:
        # pytest writes it at the very end (making its folder): a path it cannot write
        # would then lose the whole run, results.json included.
        check_output_file(args.junit_xml.resolve(), "--junit-xml")
    out: Path = output_folder(args.out.resolve())
    stale = out / RESULTS_FILE
    if stale.exists():
        stale.unlink()
    module = Path(__file__).with_name("test_matrix.py")
    modules = [str(module)]
    if args.rejections and args.large_attachment is None:
        modules.append(str(module.with_name("test_rejections.py")))
    argv = [
        *modules,
        "--osm-matrix",
        f"--osm-variants={args.variants}",
        f"--osm-seed={args.seed}",
        f"--osm-policy={args.policy}",
        f"--osm-out={out}",
        f"--osm-lang={args.lang}",
        *_SESSION_PLUGINS,
        "-p",
        "no:terminal",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        # No assertion rewriting: the plugin's distribution (all of `conformance`) would
        # otherwise be rewritten and compiled again by every worker, for no use here.
        "--assert=plain",
        "--rootdir",
        str(module.parent),
        "--confcutdir",
        str(module.parent),
    ]
    if not args.quiet:
        argv.append("--osm-progress")
    if args.examples is not None:  # else the plugin's default, as the spec checked
        argv.append(f"--osm-examples={args.examples}")
    if args.large_attachment is not None:
        argv.append(f"--osm-large-attachment={args.large_attachment}")
    argv.append(f"--osm-transport={transport}")
    argv += [f"--osm-via={route_id(r)}" for r in routes]
    if args.max_message_bytes is not None:
        argv.append(f"--osm-max-message-bytes={args.max_message_bytes}")
    argv += [f"--osm-profiles={p}" for p in args.profiles]
    argv += [f"--osm-sender={s}" for s in args.sender]
    argv += [f"--osm-receiver={r}" for r in args.receiver]
    argv += [f"--osm-agent={a}" for a in args.agent]
    argv += [f"--osm-function={f}" for f in args.function]
    if args.waivers is not None:
        argv.append(f"--osm-waivers={args.waivers.resolve()}")
    if args.jobs > 1:
        # worksteal: an idle worker takes half of another's remaining cells, so both
        # stay busy to the end (cells last from milliseconds to seconds).
        argv += ["-p", "xdist.plugin", "-n", str(args.jobs), "--dist", "worksteal"]
    if args.junit_xml:
        # xunit1: the family whose test cases may carry the osm_cell property.
        argv += [f"--junit-xml={args.junit_xml.resolve()}", "-o", "junit_family=xunit1"]
    # Read by tools.run in every worker; the environment's value when not given.
    os.environ[ENGINE_MODE_ENV] = args.engine_mode or engine_mode()
    hypothesis_in_cache()  # for the workers too, which inherit the environment
    session = _Session()
    forget_closed_output()
    try:
        with _session_environment():
            code: int = pytest.main(argv, plugins=[session])
    except KeyboardInterrupt:  # before the plugin could take it: pytest was starting
        code = pytest.ExitCode.INTERRUPTED
    if not stale.exists():
        return _unwritten(session, code)
    results = json.loads(stale.read_text(encoding="utf-8"))
    gated = _gates_after(gates, stale)
    if output_closed():  # `| head` exited: the run stopped (or its summary was cut)
        return PIPE_EXIT
    if session.said:  # results.json written, its report not: said in one line
        return 2
    if not results["run"]["complete"]:
        return 130
    if any(c["verdict"] == "error" for c in results["cells"]):
        return 1
    rejections = results.get("rejections") or {"cells": []}
    if any(c["verdict"] == "error" for c in rejections["cells"]):
        return 1
    return gated


# The session's plugins, named: pytest's autoload of every installed plugin is off in it
# (_SESSION_ENV), and pytest-xdist is added for --jobs. hypothesis's pytest plugin is not
# needed: the cells run hypothesis themselves (conformance/search.py).
_SESSION_PLUGINS = ("-p", "conformance.pytest_plugin")
# The session's environment: a vendor's may have any pytest plugin installed, which pytest
# would load (pytest-benchmark: warnings on stderr, a .benchmarks/ folder where the run is
# started), or name its own plugins and options for its tests (PYTEST_PLUGINS,
# PYTEST_ADDOPTS): none of them is the suite's. The variable, not pytest's
# --disable-plugin-autoload, which pytest 8.0 to 8.3 lack.
_SESSION_ENV: dict[str, str | None] = {
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    "PYTEST_PLUGINS": None,
    "PYTEST_ADDOPTS": None,
}


@contextlib.contextmanager
def _session_environment() -> Iterator[None]:
    """_SESSION_ENV while the session runs, its pytest-xdist workers (started inside it)
    included; the caller's environment afterwards (`run` is also called in-process)."""
    saved = {name: os.environ.get(name) for name in _SESSION_ENV}
    _set_environment(_SESSION_ENV)
    try:
        yield
    finally:
        _set_environment(saved)


def _set_environment(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class _Session:
    """Given to pytest.main: whether the matrix plugin (conformance.pytest_plugin, by its
    name as the options above name it) said why it wrote no results.json."""

    said = False

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        plugin = config.pluginmanager.get_plugin("osm-matrix")
        self.said = getattr(plugin, "unwritten", None) is not None


def _unwritten(session: _Session, code: int) -> int:
    """The exit code of a run that wrote no results.json, and why in one line unless the
    plugin said it: interrupted while pytest was starting, before the plugin was."""
    import pytest

    interrupted = code == pytest.ExitCode.INTERRUPTED
    if not session.said:
        why = (
            "interrupted before the run started" if interrupted else f"pytest exit code {int(code)}"
        )
        write(f"{PROG}: error: no {RESULTS_FILE} written ({why})", sys.stderr)
    if output_closed():
        return PIPE_EXIT
    return 130 if interrupted else 2


def _hops_epilog() -> str:
    """The hops of --via, each with what it stands for (conformance/mail)."""
    from conformance.matrix.routes import via_help

    return f"hops of --via (over SMTP on loopback):\n{via_help(hops())}\n\n"


# --- CI gates: --fail-on, --baseline, --waivers (conformance/matrix/gates.py) ----------------

EPILOG = f"""CI gates (--fail-on, any of, comma-separated):
  contradiction   a cell or pair contradicts a published claim, or a sender's message
                  used another algorithm than its profile declares
  regression      against --baseline OLD.json: an interop cell got worse (pass > partial
                  > fail), or a rejection cell that refused now accepts (not when
                  the acceptance did not happen again on replay: intermittent)
  finding         a fail or partial cell with a real implementation on one side (a real
                  engine, a vendor's adapter or a real product), or a real receiver
                  accepting a rejection case (an intermittent acceptance too)
  non-conformant  a real sender's basic message breaks a rule with an ERROR
A waiver (--waivers FILE, docs/matrix.md) covers the item of the cell, pair or
rejection case it names with the verdict observed; an unused waiver is a warning.

exit codes:
  0    the run completed, no harness error, no gate failed
  1    a harness error (a cell, interop or rejection, is `error`)
  2    usage error (bad option, profile file, waivers file or baseline, --baseline
       without --fail-on regression, a selected adapter whose engine.argv cannot
       start: its program, or an interpreter's script, not found; a --via chain
       out of order or too long; a --large-attachment a selected built-in sender or
       the temporary folder cannot hold, or with --examples other than 1 or
       --fail-on non-conformant),
       before any cell;
       or results.json written but its report not (the reason on stderr)
  3    a required component is missing
  4    a --fail-on gate holds an item no waiver covers, or a waiver has expired
  130  interrupted by Ctrl-C (SIGINT) or SIGTERM (results.json is written, marked
       incomplete; more signals while it is written are ignored, and for
       {GRACE_S:.0f} s after the first while the cells running stop); 143 for a
       SIGTERM before the cells start or after they ended
  {PIPE_EXIT}  its output (stdout or stderr) was closed, e.g. `| head` exited: the run
       stopped as on Ctrl-C (results.json is written, marked incomplete if cells
       were left)
"""


class _KeepTables(argparse.HelpFormatter):
    """Fills a one-line text (the description) as usual; keeps a text of several lines (the
    epilog's tables) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" not in text:
            return super()._fill_text(text, width, indent)
        return "".join(indent + line for line in text.splitlines(keepends=True))


def _add_gate_options(parser: argparse.ArgumentParser) -> None:
    from conformance.matrix.gates import GATE_EXIT, GATES

    parser.add_argument(
        "--fail-on",
        type=_gate_list,
        action="extend",
        default=[],
        metavar="GATE[,GATE...]",
        help=f"exit {GATE_EXIT} when one of these gates holds an unwaived item: "
        f"{', '.join(GATES)} (below)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="OLD.json",
        help="an earlier results.json, for the regression gate (only with --fail-on regression)",
    )
    parser.add_argument(
        "--waivers",
        type=Path,
        metavar="FILE",
        help="known findings (YAML list; schema docs/waivers.schema.json): recorded as waived "
        "in results.json and the report, not counted by the gates; an expired one fails",
    )


def _gate_list(text: str) -> list[str]:
    from conformance.matrix.gates import parse_gates

    try:
        return list(parse_gates(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


@dataclass(frozen=True)
class _Gates:
    fail_on: list[Gate]
    baseline: Results | None
    waivers: list[Loaded]


def _gates_before(args: argparse.Namespace) -> _Gates:
    """Everything the gates need, checked before the run: a bad or expired waivers file, a
    missing baseline fail in a second, not after the matrix."""
    from conformance.matrix.gates import GATES, LARGE_ATTACHMENT_BLIND
    from conformance.matrix.waivers import expired, expired_message, load_waivers, today

    if "regression" in args.fail_on and args.baseline is None:
        raise UserError("--fail-on regression needs --baseline OLD.json (the run to compare with)")
    if args.baseline is not None and "regression" not in args.fail_on:
        # The gate is its only use in `run`: loaded and ignored, it would look compared.
        raise UserError(
            f"--baseline {args.baseline}: used only by --fail-on regression (add it; to see "
            "the changes: osm-conformance report RESULTS.json --baseline OLD.json)"
        )
    blind = [g for g in args.fail_on if g in LARGE_ATTACHMENT_BLIND]
    if blind and args.large_attachment is not None:
        # Reported ok with nothing counted, it would pass a CI that judged nothing.
        raise UserError(
            f"--fail-on {blind[0]}: cannot be evaluated with --large-attachment, which "
            f"{LARGE_ATTACHMENT_BLIND[blind[0]]} (leave the gate out)"
        )
    baseline = load_results(args.baseline) if args.baseline is not None else None
    waivers = load_waivers(args.waivers) if args.waivers is not None else []
    stale = expired(waivers, today())
    if stale:
        raise _ExpiredWaivers(expired_message(stale, today()))
    return _Gates([g for g in GATES if g in args.fail_on], baseline, waivers)


class _ExpiredWaivers(UserError):
    exit_code = 4


def _gates_after(gates: _Gates, path: Path) -> int:
    """The unused waivers (warnings) and the gates' verdict: 4 when one fails, else 0."""
    from conformance.matrix.gates import GATE_EXIT, evaluate, partly, report
    from conformance.matrix.waivers import apply_waivers

    results = load_results(path)
    for unused in apply_waivers(results, gates.waivers):
        write(f"warning: {unused}", sys.stderr)
    if not gates.fail_on:
        return 0
    items = evaluate(results, gates.fail_on, gates.baseline)
    text, failed = report(items, gates.fail_on, partly(results, gates.baseline))
    write(text, sys.stdout)
    return GATE_EXIT if failed else 0
