"""A fuzzing run: mutate seeds for a budget, judge each input, count, save the failures.

`fuzz(budget)` draws a seed (the corpus and one message over the receiver's
spool threshold) and one to three mutations per input from one
`random.Random(seed)`, so a run is replayable; every failing input is saved
under `fuzz/failures/` of the cache (paths.cache_dir()) with a note holding the command that replays
it. The summary gives inputs per second, the count per answer and per
failure class, and the slowest input.
"""

from __future__ import annotations

import hashlib
import random
import shlex
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from conformance.fuzz.corpus import Seed, large_seeds, load_seeds
from conformance.fuzz.harness import FAILURE_CLASSES, Outcome, Target
from conformance.fuzz.mutate import mutate
from conformance.paths import cache_dir

__all__ = ["Budget", "Summary", "failure_dir", "fuzz", "replay"]


@dataclass(frozen=True)
class Budget:
    seconds: float | None = None
    inputs: int | None = None
    seed: int = 0
    check: bool = True  # also run the validator on each input
    engines: bool = True  # seeds from the real engines when installed
    save: bool = True


@dataclass
class Summary:
    inputs: int = 0
    seconds: float = 0.0
    answers: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    slowest: tuple[float, str] = (0.0, "")
    saved: list[Path] = field(default_factory=list)
    examples: dict[str, str] = field(default_factory=dict)  # class -> first detail

    @property
    def failed(self) -> bool:
        """Any failure class but `slow` (a figure on a shared machine, not an assertion)."""
        return any(self.failures[c] for c in FAILURE_CLASSES if c != "slow")

    def lines(self) -> list[str]:
        rate = self.inputs / self.seconds if self.seconds else 0.0
        out = [f"{self.inputs} inputs in {self.seconds:.1f} s: {rate:.1f} inputs/s"]
        out.append("failures: " + ", ".join(f"{c} {self.failures[c]}" for c in FAILURE_CLASSES))
        out.append(f"slowest input: {self.slowest[0] * 1000:.1f} ms ({self.slowest[1]})")
        out.append("answers of the receiver:")
        out += [f"  {count:8d}  {answer}" for answer, count in self.answers.most_common()]
        for name, detail in self.examples.items():
            out.append(f"first {name}: {detail.strip().splitlines()[-1][:300]}")
        out += [f"saved: {p}" for p in self.saved[:20]]
        if len(self.saved) > 20:
            out.append(f"... and {len(self.saved) - 20} more under {failure_dir()}")
        return out


def failure_dir() -> Path:
    return cache_dir() / "fuzz" / "failures"


def _save(message: bytes, seed: Seed, names: list[str], outcome: Outcome) -> Path:
    digest = hashlib.sha256(message).hexdigest()[:16]
    folder = failure_dir()
    folder.mkdir(parents=True, exist_ok=True)
    worst = min(outcome.failures, key=FAILURE_CLASSES.index)
    path = folder / f"{worst}-{digest}.eml"
    path.write_bytes(message)
    note = [
        f"seed message: {seed.name}",
        f"mutations: {', '.join(names)}",
        f"receiver's answer: {outcome.answer} ({outcome.seconds * 1000:.1f} ms)",
        *(f"{name}: {detail}" for name, detail in outcome.failures.items()),
        f"replay: python -m conformance.fuzz replay {shlex.quote(str(path))}",
    ]
    path.with_suffix(".txt").write_text("\n".join(note) + "\n", encoding="utf-8")
    return path


def fuzz(
    budget: Budget,
    target: Target | None = None,
    progress: Callable[[Summary, float], None] | None = None,
) -> Summary:
    """Run until the budget (seconds or inputs) is spent; `progress` is told every minute."""
    target = target or Target(check=budget.check)
    seeds = [*load_seeds(engines=budget.engines), *large_seeds()]
    rng = random.Random(budget.seed)
    summary = Summary()
    target.run(seeds[0].message)  # warm-up: keys, profiles and imports loaded, not timed
    start = told = time.perf_counter()
    for seed in seeds:  # the seeds themselves first: the corpus must be clean
        _one(target, seed, seed.message, [], summary, budget)
    while True:
        if budget.inputs is not None and summary.inputs >= budget.inputs:
            break
        if budget.seconds is not None and time.perf_counter() - start >= budget.seconds:
            break
        seed = rng.choice(seeds)
        message, names = mutate(rng, seed.message)
        _one(target, seed, message, names, summary, budget)
        now = time.perf_counter()
        if progress is not None and now >= told + 60:
            told = now
            progress(summary, now - start)
    summary.seconds = time.perf_counter() - start
    return summary


def _one(
    target: Target, seed: Seed, message: bytes, names: list[str], summary: Summary, budget: Budget
) -> None:
    outcome = target.run(message)
    summary.inputs += 1
    summary.answers[outcome.answer] += 1
    if outcome.seconds > summary.slowest[0]:
        label = f"{seed.name} + {', '.join(names) or 'no mutation'}"
        summary.slowest = (outcome.seconds, label)
    for name, detail in outcome.failures.items():
        summary.failures[name] += 1
        summary.examples.setdefault(name, detail)
    if outcome.failures and budget.save:
        summary.saved.append(_save(message, seed, names, outcome))


def replay(path: Path, target: Target | None = None) -> Outcome:
    """One saved input judged again (after an untimed warm-up, as in a run)."""
    target = target or Target()
    target.run(load_seeds(engines=False)[0].message)
    return target.run(path.read_bytes())
