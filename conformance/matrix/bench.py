"""Benchmark of the default matrix (not a test): how long, how many exchanges, where the time goes.

    python -m conformance.matrix.bench [--jobs N] [--examples N] [--seed N] [--out DIR] [--profile]
    python -m conformance.matrix.bench --results DIR/results.json   # analyse a finished run
    python -m conformance.matrix.bench --pinned [--jobs N] [--repeat N]  # `make bench-matrix`
    python -m conformance.matrix.bench --split [--sender ID ...]      # where a cell's time goes

It runs `osm-conformance run` on every shipped profile and function, then
reads results.json: wall time, exchanges per second (basic and generated
examples; shrinking's exchanges are not counted), the time per pair of
engines and the slowest cells. With --profile the run uses one worker under
cProfile and the time is also split by library (cryptography, asn1crypto, the
harness, the external tools' processes).

--pinned measures a fixed set, so that figures stay comparable while the
default run grows (issue 20): the PINNED_AGENTS, PINNED_FUNCTIONS and
PINNED_EXAMPLES below, no rejection matrix. It prints the wall time, the CPU
time per exchange (this process and all its children: workers and tools;
then with the GnuPG daemons, gpg-agent doing gpgsm's RSA, which leave the
process tree and are read from /proc while the run lasts), that CPU split by
whose processes spent it (the real engines' own, read from /proc, or the
suite's: ProcessCpu), the milliseconds per exchange of each kind of cell
(built-in, or the real engine it involves; for an engine, also its cells without
another real engine) in a one-worker run, their ratio to `make bench`'s exchange
(measured here, in this process, just before and after that run: their mean), the
wall time of `run --agent reference`, and `make bench`'s exchange again with how far
the machine's speed moved since the start.

--split runs one worker in this process and times the stages of every exchange
with wrappers (no profiler, so the figures are the real ones): the agents' send
and receive, inside them the token's and the software keys' RSA operations,
the content cipher and the calls to an engine's harness (the engine's own work
and the pipe), and around them the scenario's entity, the content comparison
and the basic example's evidence; what is left of the cells' time is
hypothesis (generating the examples) and the judgement.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import importlib
import importlib.util
import os
import pstats
import resource
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from conformance import bench as engine_bench
from conformance.check.policy import DEFAULT_POLICY
from conformance.cli import main as cli_main
from conformance.core.vocabulary import FUNCTIONS, PROCESS_AGENTS, REAL_TOOLS, RealTool
from conformance.matrix.finish import RESULTS_FILE
from conformance.matrix.routes import route_id
from conformance.matrix.spec import DEFAULT_EXAMPLES, DEFAULT_SEED, DEFAULT_VARIANTS
from conformance.results import Results, load_results


def add_selection(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--sender, --receiver, --function (repeatable), given on to `run` by `run_options`."""
    for side in ("sender", "receiver", "function"):
        parser.add_argument(f"--{side}", action="append", default=[], help="a selection")


def run_options(
    senders: Sequence[str], receivers: Sequence[str], functions: Sequence[str]
) -> list[str]:
    """The `run` options selecting these functions, senders and receivers."""
    chosen = (("function", functions), ("sender", senders), ("receiver", receivers))
    return [a for side, values in chosen for value in values for a in (f"--{side}", value)]


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
    add_selection(parser)
    parser.add_argument(
        "--results", type=Path, metavar="FILE", help="only analyse this results.json of a run"
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="one worker in this process; milliseconds per exchange of each stage",
    )
    parser.add_argument(
        "--pinned",
        action="store_true",
        help="the pinned set (issue 20's figures): 15 agents, 5 functions, 25 examples, "
        "no rejections, then `run --agent reference`; ignores the selection options",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="with --pinned: make the run with --jobs workers N times, print each and split "
        "the one of median wall time (this machine's speed drifts by about 10 %% between runs)",
    )
    return parser


# The pinned set of issue 20: the agents and functions of the run when it was filed. Do not
# extend these lists when profiles or functions are added: the figures would stop comparing.
PINNED_AGENTS = (
    "apimail-apicrypt",
    "apimail-smime",
    "cpsure-mail",
    "docteur-net-cps",
    "easycrypt-net",
    "gpgsm",
    "messagerie-sante-ft",
    "mmua",
    "nss",
    "openssl",
    "reference",
    "security-box-mail",
    "sermentis-mms",
    "sign-and-mail",
    "smm",
)
PINNED_FUNCTIONS = ("sign", "encrypt", "sign-encrypt", "hprim-net", "attachments")
PINNED_EXAMPLES = 25
PINNED_AGENT = "reference"  # the vendor's loop: `run --agent reference`


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


def options_of_run(results: Results) -> list[str]:
    """The `run` options the run was made with, read from its settings: its selection, then
    how its messages travelled and what it ran; none for the default matrix (every shipped
    profile and function, the memory transport, the rejection matrix with its defaults)."""
    settings = results.run.settings
    functions = results.run.functions
    options = run_options(
        settings.get("senders", []),
        settings.get("receivers", []),
        functions if set(functions) != set(FUNCTIONS) else (),
    )
    options += [a for agent in settings.get("agents", []) for a in ("--agent", agent)]
    profiles = settings.get("profiles", [])
    options += ["--profiles", *profiles] if profiles else []
    return options + _run_settings(settings)


def _run_settings(settings: Mapping[str, Any]) -> list[str]:
    """The options of `run` beside the selection that made this run differ from the default
    one (results.json's run.settings; one absent, as in an older run, is not guessed)."""
    via = [a for hops in settings.get("via") or [] for a in ("--via", route_id(tuple(hops)))]
    options = via or (["--transport", "smtp"] if settings.get("transport") == "smtp" else [])
    if settings.get("max_message_bytes") is not None:
        options += ["--max-message-bytes", str(settings["max_message_bytes"])]
    large = settings.get("large_attachment")
    if large is not None:  # no rejection matrix: said by this option
        options += ["--large-attachment", str(large)]
    elif settings.get("rejections") is False:
        options.append("--no-rejections")
    if settings.get("policy", DEFAULT_POLICY) != DEFAULT_POLICY:
        options += ["--policy", str(settings["policy"])]
    if settings.get("rejection_variants", DEFAULT_VARIANTS) != DEFAULT_VARIANTS:
        options += ["--variants", str(settings["rejection_variants"])]
    return options


def title(results: Results) -> str:
    """What the analysed run covered: the default matrix, or the `run` options it was made
    with."""
    chosen = options_of_run(results)
    return f"run {' '.join(chosen)}" if chosen else "default matrix"


def report(results: Results, wall: float) -> str:
    cells = results.cells
    exchanges = _exchanges(results)
    busy = sum(c.duration_s for c in cells)
    engine = {a.id: a.engine for a in results.agents}
    lines = [
        f"{title(results)}: {len(results.agents)} agents, {len(cells)} cells, "
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


REAL_ENGINES = PROCESS_AGENTS  # kinds that run another program


def _cpu_seconds() -> float:
    """CPU time of this process and of its waited-for children (workers, tools, harnesses)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def per_kind(results: Results, alone: bool = False) -> dict[str, tuple[int, int, float]]:
    """Kind -> (cells, exchanges, seconds in cells): "builtin" for cells between in-process
    agents, else each real engine the cell involves (a cell between two counts for both).
    With `alone`, a real engine's cells with no other real engine in them (the other side
    built in, or the engine itself): its figure without, say, gpgsm's RSA in libgcrypt
    (about ten times OpenSSL's) in the cells it shares with gpgsm."""
    engine = {a.id: a.engine for a in results.agents}
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for c in results.cells:
        if not c.examples:  # unsupported: no exchange
            continue
        kinds = {engine.get(side, "?") for side in (c.sender, c.receiver)} & set(REAL_ENGINES)
        if alone and len(kinds) > 1:
            continue
        for kind in sorted(kinds) or ["builtin"]:
            totals[kind][0] += 1
            totals[kind][1] += c.examples
            totals[kind][2] += c.duration_s
    return {k: (int(v[0]), int(v[1]), v[2]) for k, v in sorted(totals.items())}


def _results(out: Path, code: int) -> Results | None:
    """The results.json a run wrote to `out`, or None (said on stderr) when it wrote none."""
    if not (out / RESULTS_FILE).exists():
        print(f"bench: the run wrote no results (exit code {code})", file=sys.stderr)
        return None
    return load_results(out / RESULTS_FILE)


def _command(args: argparse.Namespace, jobs: int, out: Path) -> list[str]:
    """`run` on the selection given (--sender, --receiver, --function) with these settings."""
    command = ["run", "--quiet", "--jobs", str(jobs), "--examples", str(args.examples)]
    command += ["--seed", str(args.seed), "--out", str(out)]
    return command + run_options(args.sender, args.receiver, args.function)


# gpgsm starts these daemons, and they leave the process tree: RUSAGE_CHILDREN never
# counts them, yet gpg-agent does gpgsm's RSA (libgcrypt, about 4 ms a private-key
# operation here).
DAEMONS = frozenset({"gpg-agent", "dirmngr", "keyboxd", "scdaemon"})
# The real engines' own programs, and the engine each serves: the tools a call runs
# (--engine-mode cli, and the `gpgsm --server` processes the gpgsm harness keeps) and
# the GnuPG daemons. A harness program is known by its directory, harnesses/ENGINE/.
TOOL_ENGINES: dict[str, RealTool] = {
    **dict.fromkeys(DAEMONS, "gpgsm"),
    "gpgsm": "gpgsm",
    "certutil": "nss",
    "cmsutil": "nss",
    "pk12util": "nss",
    "openssl": "openssl",
    "certtool": "gnutls",
}
# Who spends the CPU ProcessCpu reads: the daemons (outside the run's process tree), the
# engines (inside it) and the gpgsm harness, a Python bridge to `gpgsm --server` (inside).
ProcessKind = Literal["daemons", "engines", "bridges"]
Spender = tuple[ProcessKind, RealTool]


class ProcStat(NamedTuple):
    """What the benchmark reads of /proc/PID/stat (stat(5))."""

    name: str
    ppid: int
    ticks: int  # user + system clock ticks of the process
    reaped: int  # and of its children it waited for
    start: int  # clock ticks after boot: with the pid, tells a reused pid apart


def proc_stat(stat: str) -> ProcStat:
    """A /proc/PID/stat line. The name is in parentheses and may hold any character, so
    the fields are counted after the last ')': the state is field 3 of stat(5)."""
    head, _, rest = stat.rpartition(")")
    f = rest.split()
    return ProcStat(
        head.partition("(")[2],
        int(f[1]),
        int(f[11]) + int(f[12]),
        int(f[13]) + int(f[14]),
        int(f[19]),
    )


def spender(pid: int, name: str, proc: Path = Path("/proc")) -> Spender | None:
    """Whose CPU a process spends: its kind and engine, or None for the suite's own."""
    if name in TOOL_ENGINES:
        return ("daemons" if name in DAEMONS else "engines"), TOOL_ENGINES[name]
    try:
        argv = (proc / str(pid) / "cmdline").read_bytes().decode("utf-8", "replace")
    except OSError:  # gone meanwhile
        return None
    for arg in argv.split("\0"):
        engine = arg.partition("/harnesses/")[2].partition("/")[0]
        if engine in REAL_TOOLS:
            return ("bridges" if name.startswith("python") else "engines"), engine
    return None


class ProcessCpu:
    """CPU seconds of the engines' processes started while it is entered, by Spender,
    read from /proc every `period` seconds.

    A process counts with its last reading, gone or not. A bridge's children (the gpgsm
    servers, some living less than a period) also count through the bridge: what its
    reaped ticks hold beyond the last readings of the children seen gone is their CPU
    that no reading saw. Missed: what any other process spends after its last reading,
    at most a period (the figures are lower bounds). `own` is the sampling thread's CPU,
    which the caller's figure for this process includes."""

    def __init__(self, period: float = 0.2, proc: Path = Path("/proc")) -> None:
        self.period, self.proc = period, proc
        self.seconds: dict[Spender, float] = defaultdict(float)
        self.own = 0.0
        self._before: set[tuple[int, int]] = set()
        self._spender: dict[tuple[int, int], Spender | None] = {}
        self._last: dict[tuple[int, int], tuple[Spender, ProcStat]] = {}
        self._gone: set[tuple[int, int]] = set()
        # bridge -> ticks of its children seen gone (reaped) while it was there: what
        # its reaped ticks hold beyond them is the CPU no reading saw
        self._seen_reaped: dict[tuple[int, int], int] = defaultdict(int)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="process-cpu", daemon=True)

    def _stats(self) -> dict[tuple[int, int], ProcStat]:
        # os.listdir and open, not Path.glob and read_text: a quarter less per reading,
        # which the run's wall time pays every period. A name may hold any bytes.
        found: dict[tuple[int, int], ProcStat] = {}
        base = str(self.proc)
        for name in os.listdir(base):
            if not name.isdigit():
                continue
            path = os.path.join(base, name, "stat")
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    stat = proc_stat(f.read())
            except OSError:  # gone meanwhile
                continue
            found[(int(name), stat.start)] = stat
        return found

    def _read(self) -> None:
        alive: dict[tuple[int, int], tuple[Spender, ProcStat]] = {}
        for key, stat in self._stats().items():
            if key in self._before:
                continue
            if key not in self._spender:
                self._spender[key] = spender(key[0], stat.name, self.proc)
            who = self._spender[key]
            if who is not None:
                alive[key] = (who, stat)
        bridges = {key[0]: key for key, (who, _) in alive.items() if who[0] == "bridges"}
        for key, (_who, stat) in self._last.items():
            if key not in alive and key not in self._gone:
                self._gone.add(key)
                if stat.ppid in bridges:  # reaped by a bridge: in its reaped ticks now
                    self._seen_reaped[bridges[stat.ppid]] += stat.ticks
        self._last.update(alive)

    def _sample(self) -> None:
        started = time.thread_time()
        while not self._stop.wait(self.period):
            self._read()
        self._read()
        self.own = time.thread_time() - started

    def __enter__(self) -> ProcessCpu:
        self._before = set(self._stats())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        tick = os.sysconf("SC_CLK_TCK")
        for key, ((kind, engine), stat) in self._last.items():
            self.seconds[(kind, engine)] += stat.ticks / tick
            if kind == "bridges":
                unseen = max(0, stat.reaped - self._seen_reaped[key])
                self.seconds[("engines", engine)] += unseen / tick


@dataclass(frozen=True)
class TimedRun:
    """A run's exit code, wall seconds and CPU seconds: `cpu` of this process and its
    children (workers, tools and harnesses; the sampling thread's own taken off), and
    `spent`, what the engines' processes spent (ProcessCpu): the daemons besides `cpu`,
    the engines and bridges within it."""

    code: int
    wall: float
    cpu: float
    spent: Mapping[Spender, float]

    def of(self, kind: ProcessKind | None = None, engine: str | None = None) -> float:
        """The CPU seconds of one kind of process, or one engine's, or both."""
        return sum(
            seconds
            for (k, e), seconds in self.spent.items()
            if kind in (None, k) and engine in (None, e)
        )

    @property
    def suite(self) -> float:
        """The suite's own CPU: workers and the rest, engines and bridges taken off."""
        return self.cpu - self.of("engines") - self.of("bridges")


def _timed_run(command: list[str]) -> TimedRun:
    """`osm-conformance COMMAND` in this process, timed (TimedRun)."""
    cpu, started = _cpu_seconds(), time.perf_counter()
    with ProcessCpu() as processes:
        code = cli_main(command)
    wall = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu - processes.own
    return TimedRun(code, wall, cpu, dict(processes.seconds))


_SUITE = Path(__file__).resolve().parent.parent  # the conformance package


def uncompiled_modules(sources: Iterable[Path]) -> int:
    """How many of these modules have no bytecode as new as their source (_bytecode_note)."""
    stale = 0
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.exists() or cached.stat().st_mtime < source.stat().st_mtime:
            stale += 1
    return stale


def _loaded_suite_modules() -> list[Path]:
    """The suite's modules this process has imported: after a run in this process, those
    a worker imports, and the main process's."""
    files = (getattr(m, "__file__", None) for m in list(sys.modules.values()))
    return [Path(f) for f in files if f and Path(f).is_relative_to(_SUITE) and f.endswith(".py")]


def _bytecode_note() -> None:
    """Said after the runs, when this process has imported what they did: with
    PYTHONDONTWRITEBYTECODE, every process of a run compiles the stale modules again,
    which a user's second run does not, and the figures include it."""
    if not sys.dont_write_bytecode:
        return
    loaded = _loaded_suite_modules()
    stale = uncompiled_modules(loaded)
    if stale:
        print(
            f"note: PYTHONDONTWRITEBYTECODE is set and {stale} of the {len(loaded)} suite "
            "modules these runs imported have no current bytecode: each process compiled "
            "them again (the whole suite: about a second of CPU per process), which the "
            "figures include and a user's second run does not; run once without it for "
            "steady-state figures"
        )


# How much make bench's exchange may move between the start and the end of the pinned
# runs before the figures are called incomparable with runs made at another time.
DRIFT_LIMIT = 0.10


def run_line(n: int, run: TimedRun, exchanges: int, speed_ms: float) -> str:
    """One of the repeated runs: wall, CPU per exchange without and with the GnuPG daemons,
    and the machine's speed then (make bench's exchange just before it)."""
    per = 1000 / max(exchanges, 1)
    return (
        f"run {n}: {run.wall:5.1f} s, {run.cpu * per:.2f} / "
        f"{(run.cpu + run.of('daemons')) * per:.2f} ms, make bench {speed_ms:.2f} ms"
    )


def drift_line(before: float, after: float) -> str:
    """make bench's SoftHSM exchange again after the runs: this machine's speed has moved
    by more than half within an hour, and a run compares only with runs of the same speed."""
    drift = after / before - 1
    line = f"make bench's exchange after the runs: keys on SoftHSM {after:.2f} ms ({drift:+.0%})"
    if abs(drift) > DRIFT_LIMIT:
        line += (
            ": the machine's speed changed during the runs; compare these figures only with "
            "runs made alongside them (make bench-compare OTHER=... COMPARE_ARGS=--matrix)"
        )
    return line


def pinned(jobs: int, bench_seconds: float = 3.0, repeat: int = 1) -> int:
    """The pinned figures of issue 20 (see the module docstring); the run with `jobs`
    workers `repeat` times, the one of median wall time split."""
    software, token = _exchange_ms(bench_seconds)
    print(f"make bench's exchange (in this process): software keys {software:.2f} ms", end="")
    print(f", keys on SoftHSM {token:.2f} ms" if token is not None else " (no SoftHSM here)")
    selection = ["--no-rejections", "--quiet"]
    selection += ["--examples", str(PINNED_EXAMPLES), "--seed", str(DEFAULT_SEED)]
    selection += run_options(PINNED_AGENTS, PINNED_AGENTS, PINNED_FUNCTIONS)
    totals: dict[str, float] = defaultdict(float)
    runs: list[tuple[TimedRun, Results]] = []
    with tempfile.TemporaryDirectory(prefix="osm-bench-") as tmp:
        # make bench's exchange just before each run (the first: the one above): the runs
        # compare with one another only at the same speed of the machine
        speeds = [token if token is not None else software]
        for n in range(repeat):
            if n:
                again = _exchange_ms(bench_seconds)
                speeds.append(again[1] if again[1] is not None else again[0])
            out = Path(tmp) / f"m{n}"
            timed = _timed_run(["run", *selection, "--jobs", str(jobs), "--out", str(out)])
            written = _results(out, timed.code)
            if written is None:
                return timed.code or 1
            runs.append((timed, written))
        timed, results = sorted(runs, key=lambda run: run[0].wall)[(repeat - 1) // 2]
        code = max(run[0].code for run in runs)
        # make bench's exchange again just before and after the one-worker run, the ratio's
        # base: this machine's speed drifts by a quarter within minutes (a fixed base
        # measured before the runs above moved the ratios as much)
        around = [_exchange_ms(bench_seconds)]
        with _timed_stages(totals):
            alone_code = cli_main(["run", *selection, "--jobs", "1", "--out", tmp + "/one"])
        around.append(_exchange_ms(bench_seconds))
        alone = _results(Path(tmp) / "one", alone_code)
        if alone is None:
            return code or alone_code or 1
        one = [*selection, "--jobs", str(jobs), "--out", tmp + "/agent", "--agent", PINNED_AGENT]
        agent = _timed_run(["run", *one])
        agent_path = Path(tmp) / "agent" / RESULTS_FILE
        agent_cells = len(load_results(agent_path).cells) if agent_path.exists() else 0
    cells = results.cells
    exchanges = _exchanges(results)
    verdicts: dict[str, int] = defaultdict(int)
    for c in cells:
        verdicts[c.verdict] += 1
    print(
        f"pinned matrix: {len(PINNED_AGENTS)} agents x {len(PINNED_FUNCTIONS)} functions, "
        f"{len(cells)} cells, {PINNED_EXAMPLES} examples per cell, {jobs} workers, "
        f"exit code {code}"
    )
    print("  verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(verdicts.items())))
    same = _verdicts(alone)
    same_verdicts = same == _verdicts(results)
    if repeat > 1:
        keys = "SoftHSM" if token is not None else "software"
        print(
            f"  {repeat} runs (wall, CPU per exchange without / with the GnuPG daemons; make "
            f"bench's exchange just before, keys on {keys}):"
        )
        for n, ((run, written), speed) in enumerate(zip(runs, speeds, strict=True), 1):
            differ = "" if _verdicts(written) == same else ", verdicts DIFFERENT"
            median = " (median: split below)" if run is timed else ""
            print("    " + run_line(n, run, _exchanges(written), speed) + differ + median)
    print(f"  wall time {timed.wall:.1f} s, {exchanges} exchanges")
    for line in _cpu_lines(timed, results):
        print("  " + line)
    base_software = sum(a[0] for a in around) / len(around)
    tokens = [a[1] for a in around if a[1] is not None]
    base_token = sum(tokens) / len(tokens) if len(tokens) == len(around) else None
    print(
        "  make bench's exchange just before / after the one-worker run: software keys "
        + " / ".join(f"{a[0]:.2f}" for a in around)
        + " ms"
        + (", keys on SoftHSM " + " / ".join(f"{t:.2f}" for t in tokens) + " ms" if tokens else "")
    )
    print(
        "  cells' time per exchange by kind, one worker (as make bench runs: no other "
        "worker competing for the cores; ratio to the mean of those two make bench's "
        "exchanges, software / SoftHSM):"
    )
    for line in kind_lines(alone, base_software, base_token):
        print("    " + line)
    print(f"  the one-worker run's verdicts are {'the same' if same_verdicts else 'DIFFERENT'}")
    print("  where that run's time went:")
    for line in _stage_lines(totals, alone):
        print("    " + line)
    print(
        f"run --agent {PINNED_AGENT}: {agent_cells} cells, wall time {agent.wall:.1f} s, "
        f"CPU {agent.cpu:.1f} s (and {agent.of('daemons'):.1f} s in the GnuPG daemons), "
        f"exit code {agent.code}"
    )
    if token is not None:
        after = engine_bench.exchange_ms(bench_seconds, softhsm=True)
        if after is not None:
            print(drift_line(token, after))
    _bytecode_note()
    return code


def _exchange_ms(seconds: float) -> tuple[float, float | None]:
    """make bench's exchange now: software keys, keys on SoftHSM (None without SoftHSM)."""
    return engine_bench.exchange_ms(seconds) or 1.0, engine_bench.exchange_ms(seconds, softhsm=True)


def kind_lines(results: Results, software: float, token: float | None) -> list[str]:
    """Each kind's milliseconds per exchange and ratios to make bench's exchange; under a real
    engine, its cells without another real engine when some have one."""
    by_itself = per_kind(results, alone=True)
    lines = []
    for kind, (n, ex, seconds) in per_kind(results).items():
        lines.append(f"{kind:>8}: " + _kind_line(n, ex, seconds, software, token))
        alone = by_itself.get(kind)
        if kind in REAL_TOOLS and alone is None:
            lines.append(f"{'':>8}  (every cell of it has another real engine)")
        elif kind in REAL_TOOLS and alone is not None and alone[0] < n:
            figures = _kind_line(*alone, software, token)
            lines.append(f"{'':>8}  {figures}  (no other real engine in the cell)")
    return lines


def _kind_line(n: int, ex: int, seconds: float, software: float, token: float | None) -> str:
    ms = seconds / max(ex, 1) * 1000
    ratios = f"{ms / software:4.1f} x" + (f" / {ms / token:4.1f} x" if token else "")
    return f"{ms:6.2f} ms  ({ratios})  {n:4d} cells, {ex:6d} exchanges"


def _exchanges(results: Results) -> int:
    """The exchanges of a run: each cell's examples (basic and generated)."""
    return sum(c.examples for c in results.cells)


def _verdicts(results: Results) -> list[tuple[str, str, str, str]]:
    return sorted((c.sender, c.receiver, c.function, c.verdict) for c in results.cells)


def _cpu_lines(timed: TimedRun, results: Results) -> list[str]:
    """The run's CPU, in all and per exchange, then whose processes spent it."""
    per = 1000 / max(_exchanges(results), 1)
    daemons, bridges = timed.of("daemons"), timed.of("bridges")
    engines = timed.of("engines") + daemons
    lines = [
        f"CPU time {timed.cpu:.1f} s ({timed.cpu / max(timed.wall, 1e-9):.0%} of wall), "
        f"{timed.cpu * per:.2f} ms per exchange; with the GnuPG daemons ({daemons:.1f} s: "
        f"they leave the process tree) {(timed.cpu + daemons) * per:.2f} ms",
        "whose processes spent it (read from /proc: the engines' figures are lower bounds):",
        f"  {engines * per:6.2f} ms per exchange  the real engines' own processes (harness "
        f"programs, tools, the GnuPG daemons): {engines:.1f} s",
        f"  {bridges * per:6.2f} ms per exchange  the gpgsm harness, a Python bridge to "
        f"`gpgsm --server`: {bridges:.1f} s",
        f"  {timed.suite * per:6.2f} ms per exchange  the suite (workers: cells, agents, "
        f"hypothesis, evidence): {timed.suite:.1f} s",
        "each real engine's own processes, per exchange of its cells (a cell between two "
        "engines counts for both; bridge excluded):",
    ]
    for kind, (_n, ex, _seconds) in per_kind(results).items():
        if kind in REAL_TOOLS:
            own = timed.of(engine=kind) - timed.of("bridges", kind)
            lines.append(f"  {kind:>8}: {own / max(ex, 1) * 1000:6.2f} ms  ({own:.1f} s)")
    return lines


# The stages --split times: (label, module, attribute), the attribute looked up where it
# is called (a class's method, or a function by the name its caller imported). Labels
# starting with two spaces are parts of the stage above them.
SPLIT_STAGES = (
    ("exchange (send, carry, receive, compare)", "conformance.matrix.cell", "exchange"),
    ("  scenario entity (MIME, QP)", "conformance.matrix.exchange", "build_entity"),
    ("  sender and receiver agents", "conformance.agents.profiled", "ProfileAgent.send"),
    ("  sender and receiver agents", "conformance.agents.profiled", "ProfileAgent.receive"),
    ("  sender and receiver agents", "conformance.agents.tool_agent", "ToolAgent.send"),
    ("  sender and receiver agents", "conformance.agents.tool_agent", "ToolAgent.receive"),
    ("    token RSA (SoftHSM, PKCS#11)", "conformance.token.pkcs11", "Pkcs11Key.sign"),
    ("    token RSA (SoftHSM, PKCS#11)", "conformance.token.pkcs11", "Pkcs11Key.decrypt"),
    ("    software-key RSA", "conformance.token.software", "SoftwareKey.sign"),
    ("    software-key RSA", "conformance.token.software", "SoftwareKey.decrypt"),
    ("    content cipher (CBC)", "conformance.smime.ciphers", "_cbc"),
    ("    engine harness calls", "conformance.agents.harness", "Harness.call"),
    ("    LDAP searches (ldap3, slapd)", "conformance.directory.lookup", "Lookup._search"),
    ("  content comparison", "conformance.matrix.exchange", "compare"),
    ("evidence of the basic example", "conformance.matrix.cell", "validate"),
    ("evidence of the basic example", "conformance.matrix.cell", "algorithms_in"),
    ("evidence of the basic example", "conformance.matrix.cell", "with_format"),
    ("evidence of the basic example", "conformance.matrix.cell", "EvidenceWriter.report"),
)


@contextlib.contextmanager
def _timed_stages(totals: dict[str, float]) -> Iterator[None]:
    """Wrap each stage's callable so that its wall time adds to `totals[label]`."""
    undo: list[tuple[Any, str, Any]] = []

    def timed(label: str, original: Any) -> Any:
        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - started

        return wrapper

    try:
        for label, module_name, attribute in SPLIT_STAGES:
            owner: Any = importlib.import_module(module_name)
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part)
            original = vars(owner)[name] if isinstance(owner, type) else getattr(owner, name)
            undo.append((owner, name, original))
            setattr(owner, name, timed(label, original))
        yield
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def _stage_lines(totals: dict[str, float], results: Results) -> list[str]:
    """Milliseconds per exchange of each stage timed in `results`' one-worker run."""
    cells = sum(c.duration_s for c in results.cells)
    per = 1000 / max(_exchanges(results), 1)
    lines = [f"{cells * per:8.2f} ms  cells (everything a cell does, per exchange)"]
    labels = list(dict.fromkeys(label for label, _m, _a in SPLIT_STAGES))
    lines += [f"{totals[label] * per:8.2f} ms  {label}" for label in labels]
    # What the outermost stages (labels not indented) leave of the cells' time.
    rest = cells - sum(totals[label] for label in labels if label == label.lstrip())
    lines.append(f"{rest * per:8.2f} ms  the rest: hypothesis (generating examples), judgement")
    return lines


def split(args: argparse.Namespace) -> int:
    """`--split`: one worker in this process, the wall time of each stage per exchange."""
    totals: dict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory(prefix="osm-bench-") as tmp:
        with _timed_stages(totals):
            code = cli_main([*_command(args, 1, Path(tmp)), "--no-rejections"])
        results = _results(Path(tmp), code)
    if results is None:
        return code or 1
    print(f"{len(results.cells)} cells, {_exchanges(results)} exchanges")
    print("\n".join(_stage_lines(totals, results)))
    return code


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.repeat < 1 or (args.repeat > 1 and not args.pinned):
        _parser().error("--repeat goes with --pinned and is at least 1")
    if args.pinned:
        return pinned(args.jobs, repeat=args.repeat)
    if args.split:
        return split(args)
    if args.results is not None:
        results = load_results(args.results)
        print(report(results, results.run.duration_s or 0.0))
        return 0
    jobs = 1 if args.profile else args.jobs
    with tempfile.TemporaryDirectory(prefix="osm-bench-") as tmp:
        out: Path = args.out or Path(tmp)
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        code = cli_main(_command(args, jobs, out))
        if profiler is not None:
            profiler.disable()
        wall = time.perf_counter() - started
        written = _results(out, code)
        if written is None:
            return code or 1
        print()
        print(report(written, wall))
    _bytecode_note()
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
