"""`osm-conformance choose PRACTICE.yaml`: the tools ranked for one practice.

Without `--results` it runs the sub-matrix the ranking needs (the choosable
tools x the correspondents' tools, both ways, for the rule's functions) through
`run`, with its progress on stderr; with `--results` it reads a run's
results.json. Prints the ranking (text, or `--json`); `--out DIR` also writes the
page « Choisir pour mon cabinet » (DIR/choose.html) and keeps the sub-matrix there.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.choose.inputs import Practice, load_practice
from conformance.choose.page import PAGE, SUBMATRIX_DIR, render_page
from conformance.choose.rank import Ranking, choosable, needed_functions, rank
from conformance.choose.view import ranking_json, ranking_text
from conformance.cli_support import print_json
from conformance.core.vocabulary import LANGUAGES
from conformance.errors import UserError
from conformance.matrix.spec import DEFAULT_EXAMPLES, DEFAULT_SEED
from conformance.paths import PROFILES_DIR, output_folder
from conformance.profiles.loader import SOURCES_FILE, load_profiles, load_sources
from conformance.profiles.practice import Rules, load_practice_software
from conformance.profiles.schema import Profile
from conformance.report.i18n import Translator
from conformance.results import Results, RunInfo, load_results


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "choose",
        help="rank the tools for one practice (« Choisir pour mon cabinet »)",
        description="Rank the secure mail tools for one practice, best first: not excluded "
        "(platform, workstation), then the rules' order (interoperability with the "
        "practice's own correspondents, the webmail for a multi-site practice, integration "
        "in the practice software, compliance, ease of installation), each tool with its "
        "reasons and figures. The practice is a YAML file (docs/choose.md, schema "
        "docs/practice.schema.json).",
    )
    parser.add_argument("practice", type=Path, metavar="PRACTICE.yaml")
    parser.add_argument(
        "--results",
        type=Path,
        metavar="RESULTS.json",
        help="read the verdicts from a run's results.json instead of running the sub-matrix",
    )
    parser.add_argument("--json", action="store_true", help="the ranking as JSON on stdout")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"write DIR/{PAGE} (and keep the sub-matrix run in DIR/{SUBMATRIX_DIR}/)",
    )
    parser.add_argument("--lang", choices=LANGUAGES, default="fr", help="language (default fr)")
    parser.add_argument(
        "--examples",
        type=int,
        default=DEFAULT_EXAMPLES,
        help=f"examples per cell of the sub-matrix (default {DEFAULT_EXAMPLES})",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the sub-matrix run")
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="parallel workers of the sub-matrix (default: the number of cores)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    t = Translator(args.lang)
    if args.examples < 1:
        raise UserError("--examples must be at least 1 (the basic example)")
    table = load_practice_software()
    if table.rules is None:
        raise UserError("the practice software table has no rules: section (docs/choose.md)")
    profiles = load_profiles()
    practice = load_practice(args.practice, profiles, table)
    if args.out is not None:  # before the sub-matrix runs into it
        output_folder(args.out)
    sources, _ = load_sources([PROFILES_DIR / SOURCES_FILE])
    columns = next((s.columns for s in sources.values() if s.columns), None) or []
    if args.results is not None:
        results, where = load_results(args.results), str(args.results)
    elif not practice.correspondents:  # the ranking reads no verdict: nothing to run
        results, where = _no_verdicts(), t("choose.no_matrix")
    elif args.out is not None:
        folder = args.out / SUBMATRIX_DIR
        results = _submatrix(practice, table.rules, profiles, folder.resolve(), args)
        where = str(folder / "results.json")
    else:
        with tempfile.TemporaryDirectory(prefix="osm-choose-") as tmp:
            results = _submatrix(practice, table.rules, profiles, Path(tmp), args)
        where = t("choose.submatrix")
    ranking = rank(practice, profiles, table, results, sources, columns)
    return _show(ranking, args, t, where)


def _submatrix(
    practice: Practice,
    rules: Rules,
    profiles: Mapping[str, Profile],
    out: Path,
    args: argparse.Namespace,
) -> Results:
    """Run the cells the ranking reads through `run`: every choosable tool with each
    correspondent's tool, both ways, for the rule's functions (its progress on stderr,
    its printed summary kept off stdout, which may be JSON)."""
    from conformance.matrix import cli as matrix_cli

    theirs = sorted({c.tool for c in practice.correspondents})
    tools = sorted({*(p.id for p in choosable(profiles)), *theirs})
    argv = ["run", "--no-rejections", "--jobs", str(args.jobs), "--out", str(out)]
    argv += ["--examples", str(args.examples), "--seed", str(args.seed), "--lang", args.lang]
    for tool in tools:
        argv += ["--sender", tool, "--receiver", tool]
    for tool in theirs:  # only the cells where a correspondent's tool sends or receives
        argv += ["--agent", tool]
    for function in needed_functions(practice, rules):
        argv += ["--function", function]
    if args.quiet:
        argv.append("--quiet")
    parser = argparse.ArgumentParser(prog="osm-conformance")
    matrix_cli.register(parser.add_subparsers())
    run_args = parser.parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):
        code = run_args.func(run_args)
    if code not in (0, 1):  # 1: some cell is a harness error, shown as such per tool
        raise UserError(f"the sub-matrix run failed (exit {code}); see its output above")
    return load_results(out / "results.json")


def _no_verdicts() -> Results:
    """The results of no run at all (a practice with no correspondent)."""
    run = RunInfo(seed=0, examples=0, started="", complete=True, suite_version=__version__)
    return Results(run=run, agents=[], cells=[], pairs=[])


def _show(ranking: Ranking, args: argparse.Namespace, t: Translator, results: str) -> int:
    if args.out is not None:
        page = render_page(ranking, args.out, t, results)
        print(f"wrote {page}", file=sys.stderr)
    if args.json:
        print_json(ranking_json(ranking, t, results))
    else:
        print(ranking_text(ranking, t))
    return 0
