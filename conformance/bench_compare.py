"""`make bench`'s exchange, this checkout against another one, in alternating runs.

    .venv/bin/python -m conformance.bench_compare OTHER_CHECKOUT [--pairs N] [--seconds S]

"Keeps at least today's ratio to the RSA bound" (issue 13) and every before/after
figure of the engine compare two versions of the code on one machine, whose speed
drifts by tens of percent within minutes. One run of each says little; so this runs
the software-key measurement of `conformance.bench` in a fresh process per run, each
with its checkout's code first on the path, alternating which goes first in each
pair, and reports the mean of the paired differences with its standard error. The
same interpreter and libraries run both, so only our code differs.

Each child says which `conformance` it imported; a run that imported the other
checkout's code (an installed copy first on the path) is an error, not a figure.
The other checkout must have `conformance.bench` with `Exchange`, `measure`,
`letter` and `_software_keys` (every version since the benchmark's first).

--matrix compares the whole of a cell instead (scenarios, agents, evidence,
hypothesis): each run is `osm-conformance run` on one worker, without the
rejection matrix, on a selection (by default MATRIX_AGENTS as senders and
receivers and the pinned matrix's functions and examples), and its figure is the CPU time of
the run's process tree per exchange (lower is faster). The default selection is
of built-in agents only: every process they use is the run's own, while gpgsm's
GnuPG daemons leave the tree and would not be counted. The two checkouts'
verdicts are compared too: a difference means they did not do the same work.
Two checkouts that ran the real engines differently (a harness built in one
only) are an error: the figures would compare a process per call with a
long-lived harness.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.matrix.bench import PINNED_EXAMPLES, PINNED_FUNCTIONS, add_selection, run_options
from conformance.matrix.spec import DEFAULT_SEED

# Run in the checkout's directory with `python -c`: its code is first on the path.
_CHILD = """
import json, sys
import conformance
from conformance import bench
from conformance.pki.model import load_pki
seconds, size = float(sys.argv[1]), int(sys.argv[2])
pki = load_pki()
signer, decryptor = bench._software_keys(pki)
exchange = bench.Exchange(
    pki, bench.letter(size), signer, decryptor,
    pki.identities[bench.SENDER], pki.identities[bench.RECEIVER],
)
timings = bench.measure(exchange, seconds)
rate = timings.count / (timings.build + timings.read)
print(json.dumps({"module": conformance.__file__, "rate": rate, "count": timings.count}))
"""


class CompareError(Exception):
    """A checkout that cannot be measured: the message says which and why."""


@dataclass(frozen=True)
class Checkout:
    path: Path
    label: str  # short commit, or why there is none


def checkout(path: Path) -> Checkout:
    """`path` as a checkout of the suite, with its commit."""
    root = path.resolve()
    if not (root / "conformance" / "bench.py").is_file():
        raise CompareError(f"{path}: not a checkout of osm-conformance (no conformance/bench.py)")
    try:
        head = _git(root, "rev-parse", "--short", "HEAD")
    except FileNotFoundError:
        return Checkout(root, "git not installed")
    if head is None:
        return Checkout(root, "not a git checkout")
    # Tracked files that differ from the commit: the figures are not the commit's.
    changed = _git(root, "status", "--porcelain", "--untracked-files=no")
    return Checkout(root, head + (" with uncommitted changes" if changed else ""))


def _git(root: Path, *args: str) -> str | None:
    """What `git -C root ARGS` prints, stripped; None when it fails."""
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else None


def _child(where: Checkout, code: str, args: Sequence[str], timeout: float, what: str) -> str:
    """What `python -c CODE ARGS` prints, run in a fresh process with `where`'s code first
    on the path; CompareError naming `what` failed, with its last words, when it fails."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=where.path,
        env={**os.environ, "PYTHONPATH": str(where.path)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CompareError(f"{where.path}: {what} failed (exit code {done.returncode}): {tail}")
    return done.stdout


def _imported(where: Checkout, module: str) -> None:
    """CompareError when the child imported `conformance` from elsewhere than `where`."""
    path = Path(module).resolve()
    if not path.is_relative_to(where.path):
        raise CompareError(f"{where.path}: the child imported another copy of the suite ({path})")


def exchanges_per_second(where: Checkout, seconds: float, size: int) -> float:
    """One software-key measurement, in a fresh process running `where`'s code."""
    answer = json.loads(
        _child(where, _CHILD, [str(seconds), str(size)], 600, "the measurement").splitlines()[-1]
    )
    _imported(where, answer["module"])
    return float(answer["rate"])


# --matrix's default selection: built-in agents (no process outside the run's tree) on
# the functions of issue 20's pinned matrix (PINNED_FUNCTIONS).
MATRIX_AGENTS = ("reference", "cpsure-mail", "mmua", "smm")

# `osm-conformance ARGS` in the checkout, after saying which `conformance` it imported.
_RUN_CHILD = """
import sys
import conformance
print(conformance.__file__, flush=True)
from conformance.cli import main
sys.exit(main(sys.argv[1:]))
"""

Verdicts = tuple[tuple[str, str, str, str], ...]


@dataclass(frozen=True)
class MatrixRun:
    ms_per_exchange: float  # CPU of the run's process tree
    verdicts: Verdicts  # (sender, receiver, function, verdict), sorted
    engines: str  # how the real engines ran: the mode, and the harnesses built


def matrix_run(where: Checkout, selection: Sequence[str]) -> MatrixRun:
    """One `osm-conformance run` of `selection` (one worker, no rejections), in a fresh
    process running `where`'s code, and the CPU time of its process tree per exchange."""
    with tempfile.TemporaryDirectory(prefix="osm-compare-") as out:
        command = ["run", "--quiet", "--no-rejections", "--jobs", "1", *selection, "--out", out]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        printed = _child(where, _RUN_CHILD, command, 3600, "the run")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        results = Path(out) / "results.json"
        if not results.is_file():
            raise CompareError(f"{where.path}: the run wrote no results.json")
        written = json.loads(results.read_text(encoding="utf-8"))
    _imported(where, printed.splitlines()[0])
    cells = written["cells"]
    settings = written["run"].get("settings", {})
    harnesses = ", ".join(settings.get("engine_harnesses") or []) or "none"
    engines = f"{settings.get('engine_mode', 'unknown')} mode, harnesses built: {harnesses}"
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    exchanges = sum(int(c["examples"]) for c in cells)
    if not exchanges:
        raise CompareError(f"{where.path}: the run made no exchange (an empty selection?)")
    verdicts = tuple(
        sorted((c["sender"], c["receiver"], c["function"], c["verdict"]) for c in cells)
    )
    return MatrixRun(cpu / exchanges * 1000, verdicts, engines)


def matrix_selection(args: argparse.Namespace) -> list[str]:
    """The `run` options of --matrix: the selection given, else the default one."""
    senders = args.sender or ([] if args.receiver else list(MATRIX_AGENTS))
    receivers = args.receiver or ([] if args.sender else list(MATRIX_AGENTS))
    selection = ["--examples", str(args.examples), "--seed", str(args.seed)]
    return selection + run_options(senders, receivers, args.function or PINNED_FUNCTIONS)


@dataclass(frozen=True)
class Comparison:
    this_mean: float
    other_mean: float
    difference: float  # mean of the paired differences, this minus other
    standard_error: float  # of that mean; NaN with one pair

    @property
    def percent(self) -> float:
        return self.difference / self.other_mean * 100

    @property
    def error_percent(self) -> float:
        return self.standard_error / self.other_mean * 100


def compare(this: Sequence[float], other: Sequence[float]) -> Comparison:
    """The paired comparison of two series of rates measured pair by pair."""
    if len(this) != len(other) or not this:
        raise ValueError("two series of the same, non-zero length")
    diffs = [a - b for a, b in zip(this, other, strict=True)]
    error = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else math.nan
    return Comparison(
        statistics.fmean(this), statistics.fmean(other), statistics.fmean(diffs), error
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.bench_compare",
        description="make bench's software-key exchange, or with --matrix a matrix run: this "
        "checkout against another, in alternating runs (a fresh process each).",
    )
    parser.add_argument("other", type=Path, help="the other checkout (e.g. a git worktree)")
    parser.add_argument("--pairs", type=int, default=6, help="pairs of runs (default 6)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per run (default 3)")
    parser.add_argument("--size", type=int, default=10_000, help="letter size in bytes")
    matrix = parser.add_argument_group(
        "--matrix",
        "compare `osm-conformance run` (one worker, no rejections): CPU per exchange of the "
        f"run's processes; by default {', '.join(MATRIX_AGENTS)} sending and receiving",
    )
    matrix.add_argument("--matrix", action="store_true", help="compare a matrix run")
    matrix.add_argument(
        "--examples",
        type=int,
        default=PINNED_EXAMPLES,
        help=f"examples per cell ({PINNED_EXAMPLES})",
    )
    matrix.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"the run's seed ({DEFAULT_SEED})"
    )
    add_selection(matrix)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.seconds < 0:
        parser.error("--pairs must be at least 1 and --seconds not negative")
    selection = matrix_selection(args)
    verdicts: dict[str, Verdicts] = {}
    engines: dict[str, str] = {}

    def measure(where: Checkout, side: str) -> float:
        if not args.matrix:
            return exchanges_per_second(where, args.seconds, args.size)
        run = matrix_run(where, selection)
        verdicts.setdefault(side, run.verdicts)
        engines.setdefault(side, run.engines)
        if len(set(engines.values())) > 1:
            # A harness not built in one checkout makes its engine run a process per
            # call there: the figures would compare that, not the code.
            raise CompareError(
                "the checkouts ran the real engines differently (build the harnesses of "
                f"both: make setup): this: {engines['this']}; other: {engines['other']}"
            )
        return run.ms_per_exchange

    try:
        this = checkout(Path(__file__).parents[1])
        other = checkout(args.other)
        print(f"this checkout:  {this.path} ({this.label})")
        print(f"other checkout: {other.path} ({other.label})")
        if args.matrix:
            print(f"CPU ms per exchange of `run {' '.join(selection)}`, {args.pairs} pairs:")
        else:
            print(
                f"software-key exchanges per second, {args.pairs} pairs of {args.seconds:g} s runs:"
            )
        ours: list[float] = []
        theirs: list[float] = []
        for n in range(args.pairs):
            sides = [(this, "this", ours), (other, "other", theirs)]
            for where, side, figures in sides if n % 2 == 0 else reversed(sides):
                figures.append(measure(where, side))
            first = "this" if n % 2 == 0 else "other"
            print(
                f"  pair {n + 1}: this {ours[-1]:7.2f}, other {theirs[-1]:7.2f}  ({first} first)",
                flush=True,
            )
    except CompareError as exc:
        print(f"bench_compare: {exc}", file=sys.stderr)
        return 2
    result = compare(ours, theirs)
    error = (
        "; one pair: no error estimate"
        if math.isnan(result.error_percent)
        else f" ± {result.error_percent:.1f} %, standard error of the paired differences"
    )
    unit = "ms per exchange (lower is faster)" if args.matrix else "exchanges/s"
    print(f"mean: this {result.this_mean:.2f}, other {result.other_mean:.2f}")
    print(f"this - other: {result.difference:+.2f} {unit} ({result.percent:+.1f} %{error})")
    if args.matrix:
        differ = set(verdicts["this"]) ^ set(verdicts["other"])
        cells = len({v[:3] for v in differ})
        print(
            "verdicts: the same in both checkouts"
            if not differ
            else f"verdicts: {cells} cell(s) differ between the checkouts: not the same work"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
