"""`python -m conformance.fuzz [run] [--seconds S | --inputs N] [--seed K]` and `replay FILE`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from conformance.fuzz.harness import Target, answers_in_order
from conformance.fuzz.run import Budget, Summary, fuzz, replay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.fuzz",
        description="Fuzz the strict receiver and the validator with mutated real messages.",
    )
    verbs = parser.add_subparsers(dest="verb")
    run = verbs.add_parser("run", help="mutate the seed corpus for a budget (the default verb)")
    run.add_argument("--seconds", type=float, help="time budget (default FUZZ_SECONDS or 3600)")
    run.add_argument("--inputs", type=int, help="input budget (stops at the first budget spent)")
    run.add_argument("--seed", type=int, default=0, help="random seed (a run is replayable)")
    run.add_argument("--no-check", action="store_true", help="the receiver only, no validator")
    run.add_argument("--no-engines", action="store_true", help="no seeds from real engines")
    again = verbs.add_parser("replay", help="judge one saved input again and say what fails")
    again.add_argument("file", type=Path)
    order = verbs.add_parser(
        "statuses",
        help="read the files in the order given, then again; print their statuses as JSON",
    )
    order.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if args.verb == "statuses":
        pairs = answers_in_order(Target(check=False), [f.read_bytes() for f in args.files])
        print(json.dumps({str(f): list(p) for f, p in zip(args.files, pairs, strict=True)}))
        return 0
    if args.verb == "replay":
        outcome = replay(args.file)
        print(f"answer: {outcome.answer} ({outcome.seconds * 1000:.1f} ms)")
        for name, detail in outcome.failures.items():
            print(f"{name}: {detail}")
        return 1 if set(outcome.failures) - {"slow"} else 0
    seconds = getattr(args, "seconds", None)
    inputs = getattr(args, "inputs", None)
    if seconds is None and inputs is None:
        seconds = float(os.environ.get("FUZZ_SECONDS", "3600"))
    budget = Budget(
        seconds=seconds,
        inputs=inputs,
        seed=getattr(args, "seed", 0),
        check=not getattr(args, "no_check", False),
        engines=not getattr(args, "no_engines", False),
    )
    summary = fuzz(budget, progress=_progress)
    print("\n".join(summary.lines()))
    sys.stdout.flush()
    return 1 if summary.failed else 0


def _progress(summary: Summary, seconds: float) -> None:
    failures = ", ".join(f"{k} {v}" for k, v in summary.failures.items() if v) or "no failure"
    print(
        f"{seconds:7.0f} s  {summary.inputs} inputs ({summary.inputs / seconds:.0f}/s)  {failures}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
