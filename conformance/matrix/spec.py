"""What a run covers: profiles, selection of senders, receivers and functions, examples, seed,
and for the rejection matrix the policy and the hostile variants per case."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from conformance.check.policy import DEFAULT_POLICY
from conformance.core.vocabulary import FUNCTIONS, Function
from conformance.errors import UserError
from conformance.profiles.loader import load_profiles
from conformance.profiles.schema import Profile
from conformance.rejections.model import CLASSES, POLICIES, Policy, RejectionClass

DEFAULT_SEED = 2008
DEFAULT_EXAMPLES = 25
DEFAULT_VARIANTS = 4  # hostile variants per rejection case and producer, the basic one included

CellKey = tuple[str, str, Function]
RejectionKey = tuple[str, RejectionClass]


@dataclass(frozen=True)
class MatrixSpec:
    profile_paths: tuple[str, ...] = ()  # empty: the shipped profiles
    senders: tuple[str, ...] = ()  # empty: all
    receivers: tuple[str, ...] = ()
    # non-empty: only the cells where one of these sends or receives (a vendor's loop)
    agents: tuple[str, ...] = ()
    functions: tuple[Function, ...] = FUNCTIONS
    examples: int = DEFAULT_EXAMPLES
    seed: int = DEFAULT_SEED
    out_dir: Path | None = None
    policy: str = DEFAULT_POLICY  # applies to profile receivers, the validator and the judge
    variants: int = DEFAULT_VARIANTS
    _profiles: dict[str, Profile] = field(default_factory=dict, compare=False, repr=False)

    def profiles(self) -> dict[str, Profile]:
        if not self._profiles:
            paths = [Path(p) for p in self.profile_paths] if self.profile_paths else None
            loaded = load_profiles(_existing(paths) if paths else None)
            self._profiles.update(loaded)
        return self._profiles

    def _select(self, wanted: tuple[str, ...], what: str) -> list[str]:
        known = sorted(self.profiles())
        if not wanted:
            return known
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise UserError(
                f"--{what}: unknown profile {', '.join(unknown)} (known: {', '.join(known)})"
            )
        return [k for k in known if k in wanted]

    def cells(self) -> list[CellKey]:
        if self.examples < 1:
            raise UserError("--examples must be at least 1 (the basic example)")
        senders = self._select(self.senders, "sender")
        receivers = self._select(self.receivers, "receiver")
        agents = set(self._select(self.agents, "agent"))
        return [
            (s, r, f)
            for s in senders
            for r in receivers
            if not self.agents or s in agents or r in agents
            for f in self.functions
        ]

    def rejection_cells(self) -> list[RejectionKey]:
        """Every receiver of the run (of --agent's, if given) against every rejection class."""
        self.rejection_policy()  # an unknown policy fails before any cell runs
        receivers = self._select(self.receivers, "receiver")
        if self.agents:
            receivers = [r for r in receivers if r in self.agents]
        return [(r, c) for r in receivers for c in CLASSES]

    def rejection_policy(self) -> Policy:
        """The run's policy as the rejection cases know it (each case has one expectation
        per policy)."""
        for known in POLICIES:
            if self.policy == known:
                return known
        raise UserError(f"--policy {self.policy}: the rejection cases know {', '.join(POLICIES)}")

    def agent_ids(self) -> list[str]:
        keys = self.cells()
        return sorted({k[0] for k in keys} | {k[1] for k in keys})


def _existing(paths: list[Path]) -> list[Path]:
    for path in paths:
        if not path.exists():
            raise UserError(f"{path}: no such profile file or directory")
    return paths
