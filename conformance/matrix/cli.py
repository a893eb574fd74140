"""`osm-conformance run`: the interop and rejection matrices, through pytest (and
pytest-xdist for --jobs)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from conformance.agents.tools import ENGINE_MODE_ENV, ENGINE_MODES, engine_mode
from conformance.check.policy import DEFAULT_POLICY, policy_names
from conformance.core.vocabulary import FUNCTIONS
from conformance.errors import UserError
from conformance.matrix.finish import RESULTS_FILE
from conformance.matrix.spec import (
    DEFAULT_EXAMPLES,
    DEFAULT_SEED,
    DEFAULT_VARIANTS,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the interop and rejection matrices and write results.json and the report",
        description="Run every sender x receiver x function of the selected profiles: a "
        "basic example per cell, then hypothesis looks for a failing one. Then every "
        "receiver gets hostile messages it must refuse (the rejection matrix). Writes "
        "OUT/results.json, the evidence under OUT/evidence/ and the HTML report.",
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
        help="only this function (repeatable)",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=DEFAULT_EXAMPLES,
        help=f"examples per cell, the basic one included (default {DEFAULT_EXAMPLES})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed of the run; the same seed gives the same results (default {DEFAULT_SEED})",
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
        help="real engines (openssl, NSS, gpgsm) answered by their long-lived harness where "
        f"one is built (harness, the default, or ${ENGINE_MODE_ENV}), or every call as a "
        "plain command line (cli: an auditor's replay with the tools themselves)",
    )
    parser.add_argument("--lang", choices=("fr", "en"), default="fr", help="report language")
    parser.add_argument(
        "--junit-xml",
        type=Path,
        metavar="FILE",
        help="also write a JUnit XML file (one test case per cell, rejection cells included)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import pytest

    if args.jobs < 1:
        raise UserError("--jobs must be at least 1")
    if args.examples < 1:
        raise UserError("--examples must be at least 1 (the basic example)")
    if args.variants < 1:
        raise UserError("--variants must be at least 1 (the basic variant)")
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    stale = out / RESULTS_FILE
    if stale.exists():
        stale.unlink()
    module = Path(__file__).with_name("test_matrix.py")
    modules = [str(module)]
    if args.rejections:
        modules.append(str(module.with_name("test_rejections.py")))
    argv = [
        *modules,
        "--osm-matrix",
        f"--osm-variants={args.variants}",
        f"--osm-examples={args.examples}",
        f"--osm-seed={args.seed}",
        f"--osm-policy={args.policy}",
        f"--osm-out={out}",
        f"--osm-lang={args.lang}",
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
    argv += [f"--osm-profiles={p}" for p in args.profiles]
    argv += [f"--osm-sender={s}" for s in args.sender]
    argv += [f"--osm-receiver={r}" for r in args.receiver]
    argv += [f"--osm-agent={a}" for a in args.agent]
    argv += [f"--osm-function={f}" for f in args.function]
    if args.jobs > 1:
        # worksteal: an idle worker takes half of another's remaining cells, so both
        # stay busy to the end (cells last from milliseconds to seconds).
        argv += ["-n", str(args.jobs), "--dist", "worksteal"]
    if args.junit_xml:
        # xunit1: the family whose test cases may carry the osm_cell property.
        argv += [f"--junit-xml={args.junit_xml.resolve()}", "-o", "junit_family=xunit1"]
    # Read by tools.run in every worker; the environment's value when not given.
    os.environ[ENGINE_MODE_ENV] = args.engine_mode or engine_mode()
    code = pytest.main(argv)
    if not stale.exists():
        raise UserError(f"the run wrote no {RESULTS_FILE} (pytest exit code {int(code)})")
    results = json.loads(stale.read_text(encoding="utf-8"))
    if not results["run"]["complete"]:
        return 130
    if any(c["verdict"] == "error" for c in results["cells"]):
        return 1
    rejections = results.get("rejections") or {"cells": []}
    if any(c["verdict"] == "error" for c in rejections["cells"]):
        return 1
    return 0
