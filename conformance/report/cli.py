"""`osm-conformance report` (HTML from results.json) and `osm-conformance diff`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from conformance.cli_support import print_json
from conformance.paths import output_folder
from conformance.report.diff import INTERMITTENT_NOTE, diff_results, policy_note, summary
from conformance.report.i18n import DEFAULT_LANGUAGE, LANGUAGES
from conformance.report.render import render_report
from conformance.results import load_results


def register(subparsers: Any) -> None:
    report = subparsers.add_parser(
        "report",
        help="render the HTML report (matrix, comparison table, product sheets)",
        description=(
            "Render results.json into DIR/index.html (the interop matrix), "
            "DIR/comparison.html (the source document's comparison table) and "
            "DIR/products/<id>.html. Evidence paths in results.json are relative to "
            "its directory (the run folder); the links are written relative to DIR, and a "
            "path that leaves the run folder is dropped with a warning."
        ),
    )
    report.add_argument("results", type=Path, metavar="RESULTS.json")
    report.add_argument("--out", type=Path, help="output directory (default: beside RESULTS.json)")
    report.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=DEFAULT_LANGUAGE,
        help="language of the pages (default: %(default)s)",
    )
    report.add_argument(
        "--baseline",
        type=Path,
        metavar="OLD.json",
        help="an earlier results.json: mark and list the cells that changed",
    )
    report.set_defaults(func=_report)

    diff = subparsers.add_parser(
        "diff",
        help="list the cells whose verdict changed between two runs",
        description=(
            "Compare two results.json files cell by cell: regressions (pass -> partial "
            "or fail, partial -> fail), improvements, and other changes (unsupported, "
            "harness errors, cells only in one run). A cell is keyed by its route too "
            "(transport and hops): a cell through a gateway is compared with the same "
            "cell through that gateway. The rejection matrix's cells follow, by receiver "
            "and class: refuses -> accepts is a regression, accepts -> refuses an "
            "improvement, and `intermittent` when the acceptance did not happen again on "
            "replay (not the product's change). Always exits 0 when both files load."
        ),
    )
    diff.add_argument("old", type=Path, metavar="OLD.json")
    diff.add_argument("new", type=Path, metavar="NEW.json")
    diff.add_argument("--json", action="store_true", help="machine-readable output")
    diff.set_defaults(func=_diff)


def _report(args: argparse.Namespace) -> int:
    results = load_results(args.results)
    baseline = load_results(args.baseline) if args.baseline else None
    note = policy_note(baseline, results) if baseline is not None else None
    if note is not None:
        print(f"osm-conformance report: warning: {note}", file=sys.stderr)
    out = _out_folder(args)
    index = render_report(
        results, out, lang=args.lang, baseline=baseline, run_dir=args.results.parent
    )
    print(index)
    return 0


def _out_folder(args: argparse.Namespace) -> Path:
    """--out, or by default the results folder, named as such: the user gave no --out."""
    if args.out is not None:
        return output_folder(args.out)
    return output_folder(args.results.parent, "the results folder (report's default --out)")


def _diff(args: argparse.Namespace) -> int:
    old, new = load_results(args.old), load_results(args.new)
    note = policy_note(old, new)
    if note is not None:
        print(f"osm-conformance diff: warning: {note}", file=sys.stderr)
    changes = diff_results(old, new)
    counts = summary(changes)
    if args.json:
        print_json({"summary": counts, "changes": [c.as_dict() for c in changes]})
        return 0
    for change in changes:
        before = change.before or "(absent)"
        after = change.after or "(absent)"
        accepted = f" ({', '.join(change.cases)})" if change.cases else ""
        print(f"{change.kind:<12} {change.where()}: {before} -> {after}{accepted}")
    intermittent = f", {counts['intermittent']} intermittent" if counts["intermittent"] else ""
    print(
        f"{counts['regression']} regression(s), {counts['improvement']} improvement(s)"
        f"{intermittent}, {counts['other']} other change(s)"
    )
    if counts["intermittent"]:
        print(INTERMITTENT_NOTE)
    return 0
