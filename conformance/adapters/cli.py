"""`osm-conformance adapter check ADAPTER...`: an adapter put through the agent contract."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from conformance.cli_support import print_json, seconds
from conformance.core.vocabulary import FUNCTIONS
from conformance.errors import UserError
from conformance.paths import hypothesis_in_cache, output_folder
from conformance.rejections.model import POLICIES

EXAMPLES = 3
VARIANTS = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "adapter",
        help="check a vendor adapter against the agent contract (docs/agent-cli.md)",
        description="Tools for adapter authors (docs/agent-cli.md).",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    check = verbs.add_parser(
        "check",
        help="put an adapter through the whole contract and say what to fix",
        description="Put an adapter through the whole agent contract: `version` and "
        "`capabilities` answered (with contract_version), exit 2 for an unknown option, "
        "each declared send function read by the reference agent and by openssl, each "
        "declared receive function fed the reference agent's messages, the rejection "
        "corpus (every hostile message its declared receive functions cover must be "
        "refused), the status JSON valid against docs/status.schema.json and the exit "
        "codes consistent with it, the time of each call. One line per check (PASS, FAIL "
        "with what to fix, SKIP with why), then a summary. Exit codes: 0 every check "
        "holds; 1 a check failed; 2 usage error.",
    )
    check.add_argument(
        "adapter",
        nargs="+",
        metavar="ADAPTER",
        help="the adapter's command line (as a profile's engine.argv), or a profile "
        "(file or shipped id) whose engine is `command`; put `--` before a command line "
        "whose words start with -",
    )
    check.add_argument(
        "--function",
        action="append",
        choices=FUNCTIONS,
        dest="functions",
        help="check only this function (repeatable; default: every declared one); the "
        "rejection cases follow it: those whose messages are signed, encrypted or both as "
        "its are",
    )
    check.add_argument(
        "--case",
        action="append",
        dest="cases",
        metavar="CASE_ID",
        help="run only this rejection case, one --function keeps (repeatable; default: "
        "every case, docs/rejection-cases.md)",
    )
    check.add_argument("--no-rejections", action="store_true", help="skip the rejection corpus")
    check.add_argument(
        "--examples",
        type=int,
        default=EXAMPLES,
        help=f"messages per function and counterpart, the basic one included (default {EXAMPLES})",
    )
    check.add_argument(
        "--variants",
        type=int,
        default=VARIANTS,
        help=f"hostile variants per rejection case and producer (default {VARIANTS})",
    )
    check.add_argument("--seed", type=int, default=0, help="seed of the generated messages")
    check.add_argument(
        "--policy",
        choices=POLICIES,
        default="osm-2008",
        help="the policy the rejection judge applies (default osm-2008)",
    )
    check.add_argument(
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        help="seconds per call (default: the profile's engine.timeout_s, else 60)",
    )
    check.add_argument(
        "--out", type=Path, metavar="DIR", help="keep the evidence (messages, statuses, logs) here"
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    from conformance.adapters.check import CheckSettings, check_adapter, resolve_target

    if args.examples < 1:
        raise UserError("--examples: at least 1 (the basic example)")
    if args.variants < 1:
        raise UserError("--variants: at least 1 (the basic variant)")
    cases: frozenset[str] | None = frozenset(args.cases) if args.cases else None
    if args.no_rejections:
        cases = frozenset()
    target = resolve_target(args.adapter)
    settings = CheckSettings(
        examples=args.examples,
        variants=args.variants,
        seed=args.seed,
        timeout=args.timeout,
        functions=frozenset(args.functions) if args.functions else None,
        cases=cases,
        policy=args.policy,
        # Checked (and made) before any call: a file there is the tester's mistake, not
        # the adapter breaking in every exchange.
        out_dir=output_folder(args.out.resolve()) if args.out else None,
    )

    def show(check: Any) -> None:
        print(check.line(), flush=True)

    hypothesis_in_cache()  # the cells draw their examples with hypothesis, as in `run`
    report = check_adapter(target, settings, None if args.json else show)
    if args.json:
        print_json(report.to_json())
    else:
        print(report.summary())
    sys.stdout.flush()
    return 0 if report.ok else 1
