"""Benchmark of the default matrix (not a test): how long, how many exchanges, where the time goes.

    python -m conformance.matrix.bench [--jobs N] [--examples N] [--seed N] [--out DIR] [--profile]
    python -m conformance.matrix.bench --results DIR/results.json   # analyse a finished run

It runs `osm-conformance run` on every shipped profile and function, then
reads results.json: wall time, exchanges per second (basic and generated
examples; shrinking's exchanges are not counted), the time per pair of
engines and the slowest cells. With --profile the run uses one worker under
cProfile and the time is also split by library (cryptography, asn1crypto, the
harness, the external tools' processes).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from conformance.cli import main as cli_main
from conformance.matrix.finish import RESULTS_FILE
from conformance.matrix.spec import DEFAULT_EXAMPLES, DEFAULT_SEED
from conformance.results import Results, load_results


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.matrix.bench",
        description="Time `osm-conformance run` on the default matrix and say where time goes.",
    )
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, help="keep the run here (default: a temporary dir)")
    parser.add_argument(
        "--profile", action="store_true", help="one worker under cProfile; time per library"
    )
    for side in ("sender", "receiver", "function"):
        parser.add_argument(f"--{side}", action="append", default=[], help="a selection")
    parser.add_argument(
        "--results", type=Path, metavar="FILE", help="only analyse this results.json of a run"
    )
    return parser


def _library(filename: str, function: str) -> str:
    """The library a profiled function belongs to (cProfile gives file names only)."""
    if filename == "~":  # built-in: C and Rust extension functions
        if "cryptography" in function or "_rust" in function:
            return "cryptography (Rust/OpenSSL)"
        if any(w in function for w in ("poll", "select", "waitpid", "read", "fork_exec")):
            return "external tools (waiting on processes)"
        return "builtins"
    path = filename.replace(os.sep, "/")
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/conformance/" in path:
        parts = path.split("/conformance/", 1)[1].split("/")
        return "conformance." + (parts[0].removesuffix(".py") if len(parts) > 1 else "(top)")
    if "/lib/python" in path:
        return "stdlib"
    return "other"


def by_library(stats: pstats.Stats) -> list[tuple[str, float]]:
    totals: dict[str, float] = defaultdict(float)
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        totals[_library(filename, function)] += tottime
    return sorted(totals.items(), key=lambda kv: -kv[1])


def report(results: Results, wall: float) -> str:
    cells = results.cells
    exchanges = sum(c.examples for c in cells)
    busy = sum(c.duration_s for c in cells)
    engine = {a.id: a.engine for a in results.agents}
    lines = [
        f"default matrix: {len(results.agents)} agents, {len(cells)} cells, "
        f"{results.run.examples} examples per cell, seed {results.run.seed}",
        f"wall time {wall:.1f} s (run.duration_s {results.run.duration_s}), "
        f"{exchanges} exchanges, {exchanges / max(wall, 1e-9):.0f} exchanges/s",
        f"time inside cells {busy:.1f} s ({busy / max(wall, 1e-9):.2f} x wall: workers' overlap "
        "minus start-up and gathering)",
        "",
        "time in cells by engines (sender -> receiver):",
    ]
    seconds_of: dict[tuple[str, str], float] = defaultdict(float)
    exchanges_of: dict[tuple[str, str], int] = defaultdict(int)
    for c in cells:
        key = (engine.get(c.sender, "?"), engine.get(c.receiver, "?"))
        seconds_of[key] += c.duration_s
        exchanges_of[key] += c.examples
    for (s, r), seconds in sorted(seconds_of.items(), key=lambda kv: -kv[1]):
        n = exchanges_of[(s, r)]
        rate = n / seconds if seconds else 0.0
        lines.append(f"  {s:>14} -> {r:<14} {seconds:7.1f} s  {n:6d} exchanges  {rate:6.0f}/s")
    lines += ["", "slowest cells:"]
    for c in sorted(cells, key=lambda c: -c.duration_s)[:10]:
        lines.append(
            f"  {c.duration_s:6.2f} s  {c.sender} -> {c.receiver} {c.function}: "
            f"{c.verdict} ({c.examples} examples)"
        )
    return "\n".join(lines)


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.results is not None:
        results = load_results(args.results)
        print(report(results, results.run.duration_s or 0.0))
        return 0
    jobs = 1 if args.profile else args.jobs
    with tempfile.TemporaryDirectory(prefix="osm-bench-") as tmp:
        out: Path = args.out or Path(tmp)
        command = ["run", "--quiet", "--jobs", str(jobs), "--examples", str(args.examples)]
        command += ["--seed", str(args.seed), "--out", str(out)]
        for side in ("sender", "receiver", "function"):
            command += [a for value in getattr(args, side) for a in (f"--{side}", value)]
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        code = cli_main(command)
        if profiler is not None:
            profiler.disable()
        wall = time.perf_counter() - started
        if not (out / RESULTS_FILE).exists():
            print(f"bench: the run wrote no results (exit code {code})", file=sys.stderr)
            return code or 1
        print()
        print(report(load_results(out / RESULTS_FILE), wall))
    if profiler is not None:
        stats = pstats.Stats(profiler)
        total = sum(t for _, t in by_library(stats)) or 1.0
        print("\nprofiled time by library (own time of its functions):")
        for name, seconds in by_library(stats)[:15]:
            print(f"  {seconds:7.1f} s  {100 * seconds / total:5.1f} %  {name}")
        print("\ntop functions by own time:")
        stats.sort_stats("tottime").print_stats(15)
    return code


if __name__ == "__main__":
    raise SystemExit(run())
