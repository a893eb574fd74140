"""What a run covers: profiles, selection of senders, receivers and functions, examples, seed,
and for the rejection matrix the policy and the hostile variants per case."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.agents.command import CommandAgent, runnable
from conformance.check.policy import DEFAULT_POLICY
from conformance.core.vocabulary import DEFAULT_LANGUAGE, FUNCTIONS, Function, Language
from conformance.errors import UserError
from conformance.matrix.routes import NAME_MAX, PLAIN, Route, evidence_folder, route_id
from conformance.paths import PROFILES_DIR
from conformance.profiles.claims import CLAIMS_FILE, Claims, load_claims, shipped_claims
from conformance.profiles.loader import (
    SOURCES_FILE,
    load_profiles,
    load_sources,
    profile_paths,
    run_paths,
)
from conformance.profiles.practice import PRACTICE_FILE, PracticeSoftware, load_practice_software
from conformance.profiles.schema import PROFILE_DRIVEN_ENGINES, Profile, Source
from conformance.rejections.model import CLASSES, POLICIES, Policy, RejectionClass
from conformance.results import Transport
from conformance.smime.options import REFERENCE_MAX_BYTES

DEFAULT_SEED = 2008
DEFAULT_EXAMPLES = 25
DEFAULT_VARIANTS = 4  # hostile variants per rejection case and producer, the basic one included

CellKey = tuple[str, str, Function]
# A cell of the run: its key and its route (the hops of its variant, () the plain route).
RoutedKey = tuple[str, str, Function, Route]
RejectionKey = tuple[str, RejectionClass]

# What one large-attachment cell writes to the temporary folder at its peak, per byte of the
# attachment: the entity and the message on files (1.4 and 1.9 times the attachment for
# sign-encrypt), the built-in engine's spools, a real engine's working files, a route's
# delivered copy. Measured with 20M and 40M (du of TMPDIR): 7.9 times (reference to itself),
# 8.8 (openssl to itself), 9.2 (reference over SMTP), 11.1 (openssl through rewrap-base64).
LARGE_DISK_FACTOR = 12


@dataclass(frozen=True)
class MatrixSpec:
    profile_paths: tuple[str, ...] = ()  # empty: the shipped profiles
    senders: tuple[str, ...] = ()  # empty: all
    receivers: tuple[str, ...] = ()
    # non-empty: only the cells where one of these sends or receives (a vendor's loop)
    agents: tuple[str, ...] = ()
    functions: tuple[Function, ...] = FUNCTIONS
    # --examples as given (None: not given); what runs is `examples`, checked by `check`
    examples_given: int | None = None
    seed: int = DEFAULT_SEED
    out_dir: Path | None = None
    policy: str = DEFAULT_POLICY  # applies to profile receivers, the validator and the judge
    variants: int = DEFAULT_VARIANTS
    lang: Language = DEFAULT_LANGUAGE  # of the report and the validator's evidence pages
    waivers: Path | None = None  # known findings recorded in results.json (waivers.py)
    large_attachment: int | None = None  # bytes: the large-attachment scenario instead
    # How the interop cells' messages travel: memory, or smtp (real SMTP on loopback, each
    # route of `via` a variant of every cell beside the plain route). The rejection
    # matrix always runs on the memory transport.
    transport: Transport = "memory"
    via: tuple[Route, ...] = ()
    max_message_bytes: int | None = None  # the SIZE the hops announce (None: their own)
    _profiles: dict[str, Profile] = field(default_factory=dict, compare=False, repr=False)
    _data: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # `--function sign --function sign` is one column: each of its cells runs once.
        object.__setattr__(self, "functions", tuple(dict.fromkeys(self.functions)))

    @property
    def examples(self) -> int:
        """The examples per cell (run.examples): as given, else DEFAULT_EXAMPLES, or the one
        example of the large-attachment scenario (where `check` refuses another number)."""
        if self.examples_given is not None:
            return self.examples_given
        return DEFAULT_EXAMPLES if self.large_attachment is None else 1

    def profiles(self) -> dict[str, Profile]:
        """The run's agents: named folders replace the shipped profiles, files join them."""
        if not self._profiles:
            if self.profile_paths:
                paths, _ = run_paths(_existing([Path(p) for p in self.profile_paths]))
                self._profiles.update(load_profiles(paths))
            else:
                self._profiles.update(load_profiles())
        return self._profiles

    def _folders(self) -> list[Path] | None:
        """The named folders whose data files apply (None: the shipped ones)."""
        if not self.profile_paths:
            return None
        _, folders = run_paths([Path(p) for p in self.profile_paths])
        return None if folders == [PROFILES_DIR] else folders

    def sources(self) -> dict[str, Source]:
        """The shared sources: the named folders' sources.yaml, else the shipped one, and
        those beside files named alone (as the loader reads them)."""
        if "sources" not in self._data:
            folders = self._folders() or [PROFILES_DIR]
            files = [f / SOURCES_FILE for f in folders if (f / SOURCES_FILE).is_file()]
            files = files or [PROFILES_DIR / SOURCES_FILE]
            for named in map(Path, self.profile_paths):
                beside = (named.parent / SOURCES_FILE).resolve()
                if named.is_file() and beside.is_file():
                    files.append(beside)
            self._data["sources"] = load_sources(dict.fromkeys(f.resolve() for f in files))[0]
        found: dict[str, Source] = self._data["sources"]
        return found

    def claims(self) -> Claims:
        """The claims the cells are compared with: the named folders' claims.yaml (none
        when they have none), else the shipped ones."""
        if "claims" not in self._data:
            folders = self._folders()
            claims = shipped_claims() if folders is None else Claims({}, {}, {})
            ids = self._ids(folders)
            for folder in folders or ():
                if (folder / CLAIMS_FILE.name).is_file():
                    found = load_claims(folder / CLAIMS_FILE.name, ids)
                    claims = Claims(
                        {**claims.cells, **found.cells},
                        {**claims.pairs, **found.pairs},
                        {**claims.compliance, **found.compliance},
                    )
            self._data["claims"] = claims
        result: Claims = self._data["claims"]
        return result

    def practice(self) -> PracticeSoftware | None:
        """The practice software table: the first named folder's that has one (none when
        none has), else the shipped one."""
        if "practice" not in self._data:
            folders = self._folders()
            table = load_practice_software() if folders is None else None
            for folder in folders or ():
                if table is None and (folder / PRACTICE_FILE.name).is_file():
                    table = load_practice_software(folder / PRACTICE_FILE.name, self._ids(folders))
            self._data["practice"] = table
        table_found: PracticeSoftware | None = self._data["practice"]
        return table_found

    def _ids(self, folders: list[Path] | None) -> set[str]:
        """Profile ids a data file of the named folders may name (abstract bases too)."""
        files = profile_paths(folders) + [Path(p) for p in self.profile_paths if Path(p).is_file()]
        return {f.stem for f in files}

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

    def check(self, option: str = "--", workers: int = 1) -> None:
        """What a run refuses before any cell, named with the options of the command that
        asks: `--` for `run`, `--osm-` for the pytest plugin (a bad option found later is
        a collection error, or lost results at the session's end). `workers`: the cells
        run at a time (a large attachment's files are on disk in each)."""
        if self.large_attachment is not None:
            self._check_large_attachment(self.large_attachment, option)
        if self.examples < 1:
            raise UserError(f"{option}examples must be at least 1 (the basic example)")
        if self.variants < 1:
            raise UserError(f"{option}variants must be at least 1 (the basic variant)")
        if self.max_message_bytes is not None and self.transport != "smtp":  # else unused
            raise UserError(
                f"{option}max-message-bytes is what the SMTP hops announce: add "
                f"{option}transport smtp"
            )
        for route in self.routes():
            self._check_chain(route, option)
        if not self.routed_cells():  # only agents can empty a selection of known profiles
            raise UserError(
                f"{option}agent {', '.join(self.agents)}: neither a selected sender nor a "
                "selected receiver, so the selection has no cell"
            )
        for agent_id in self.agent_ids():
            if self.profiles()[agent_id].engine.type == "command":
                check_startable(self.profiles()[agent_id], self.profile_file(agent_id))
        if self.large_attachment is not None:
            at_once = min(workers, len(self.routed_cells()))
            check_temporary_room(
                LARGE_DISK_FACTOR * self.large_attachment * at_once,
                f"{option}large-attachment {self.large_attachment}: {at_once} cell(s) at a time "
                f"write up to {LARGE_DISK_FACTOR} times the attachment each (the entity, the "
                "message, the engines' copies)",
            )

    def _check_large_attachment(self, size: int, option: str) -> None:
        """What the large-attachment scenario of `size` cannot run: another number of
        examples than its one (asked, not run), and a size the built-in engine cannot send
        when it sends for a selected sender (a real engine or an adapter takes the content
        whole: no limit of the suite's; a built-in receiver's own is measured, too-large)."""
        named = f"{option}large-attachment"
        if self.examples_given not in (None, 1):
            raise UserError(
                f"{option}examples {self.examples_given}: {named} runs one example per cell "
                f"(leave {option}examples out)"
            )
        profiles = self.profiles()
        streamed = [
            (sender, function)
            for sender, receiver, function in self.cells()
            if profiles[sender].engine.type in PROFILE_DRIVEN_ENGINES
            and function in profiles[sender].capabilities().send
            and function in profiles[receiver].capabilities().receive
        ]
        if streamed:
            senders = tuple(dict.fromkeys(s for s, _ in streamed))
            functions = tuple(dict.fromkeys(f for _, f in streamed))
            check_large_attachment(size, functions, named, senders)

    def _check_chain(self, route: Route, option: str) -> None:
        """A chain of --via too long for its cells' evidence folder (FUNCTION@HOP+HOP, one
        file name) is refused before any cell, not found when the first cell writes it."""
        for function in self.functions:
            size = len(evidence_folder(function, route).encode())
            if size > NAME_MAX:
                chain = route_id(route)
                shown = chain if len(chain) <= 60 else f"{chain[:60]}... ({len(route)} hops)"
                raise UserError(
                    f"{option}via {shown}: the evidence folder of its {function} cells "
                    f"({function}@HOP+HOP) would be a name of {size} bytes, over the "
                    f"{NAME_MAX} a file name may have: chain fewer hops"
                )

    def profile_file(self, agent_id: str) -> Path:
        """The file a profile of the run was read from (a profile's id is its file's name)."""
        given = run_paths([Path(p) for p in self.profile_paths])[0] if self.profile_paths else None
        return next(p for p in profile_paths(given) if p.stem == agent_id)

    def routes(self) -> tuple[Route, ...]:
        """The plain route, then each variant of --via (over SMTP only)."""
        if self.transport != "smtp":
            return (PLAIN,)
        return (PLAIN, *(r for r in self.via if r != PLAIN))

    def routed_cells(self) -> list[RoutedKey]:
        """Every cell on every route (the plain route's first, so that a variant's cell can
        be read beside it)."""
        return [(*key, route) for route in self.routes() for key in self.cells()]

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


def check_large_attachment(
    size: int, functions: Iterable[Function], named: str, senders: Sequence[str] = ()
) -> None:
    """A usage error for an attachment the built-in sender cannot send (the run would write
    its entity, then fail every cell), `named` as the user gave it (`--large-attachment`),
    `senders` the profiles it sends for (none named: the suite's reference)."""
    from conformance.scenarios.large import largest_attachment  # hypothesis: when asked

    largest = largest_attachment(functions)
    if size > largest:
        shown = ", ".join(senders[:3]) + (f" and {len(senders) - 3} more" if senders[3:] else "")
        through = f"sending for {shown}; " if shown else ""
        raise UserError(
            f"{named} {size}: over {largest} bytes ({largest // 1024**2}M), the largest "
            f"attachment the built-in sender takes ({through}the letter with the series in "
            f"base64 is a content of at most {REFERENCE_MAX_BYTES} bytes, 1G)"
        )


def check_temporary_room(need: int, what: str) -> None:
    """A usage error when the temporary folder (tempfile's: TMPDIR) has less than `need`
    bytes free, `what` saying who writes them: found before the work, not when the disk is
    full."""
    folder = tempfile.gettempdir()
    free = shutil.disk_usage(folder).free
    if need > free:
        raise UserError(
            f"{what}: {need / 1e9:.1f} GB, and the temporary folder {folder} has "
            f"{free / 1e9:.1f} GB free (TMPDIR names another; or a smaller size)"
        )


# Programs that run their first argument that is not an option as a script.
INTERPRETERS = re.compile(
    r"(python|pypy|node|nodejs|deno|bun|bash|sh|dash|zsh|ksh|perl|ruby|php|lua|Rscript)"
    r"[0-9.]*"
)
# Their options whose next word is code or a module (`python3 -m pkg`): no script.
NO_SCRIPT = frozenset({"-c", "-m", "-e", "-E", "-p", "--eval", "--print"})


def check_startable(profile: Profile, file: Path) -> None:
    """A vendor adapter (engine `command`) whose program cannot start: a usage error naming
    the profile file, engine.argv and the path as resolved, before any cell (else each of
    its cells is a harness error, found after the whole run). What would start is let
    through: a program on PATH, a path that exists from the directory the suite runs in."""
    from conformance.agents.factory import make_agent  # every engine's module: when needed

    written = profile.engine.argv
    if profile.engine.type != "command" or not written:
        return
    agent = make_agent(profile)  # the argv each call runs: relative paths resolved
    assert isinstance(agent, CommandAgent)  # the factory's mapping for `command`
    where = f"{file}: engine.argv"
    runnable(tuple(agent.argv), where)  # the program: on PATH, or an executable file
    found = _script(agent.argv)
    if found is None:
        return
    index, interpreter = found
    if "/" in written[index] and not Path(agent.argv[index]).exists():  # a path, as resolved
        raise UserError(
            f"{where}: {written[index]}: no such file ({agent.argv[index]}, the script "
            f"{interpreter} runs: a relative path is taken from the directory the suite "
            "runs in)"
        )


def _script(argv: list[str]) -> tuple[int, str] | None:
    """Where in `argv` the script is that an interpreter runs, and the interpreter
    (`python3 -u adapter.py`, `/usr/bin/env node adapter.js`); None when `argv[0]` is no
    interpreter or is given its code inline (`-c`, `-m`, `-e`)."""
    words = [w for w in argv if not w.startswith("-") and "=" not in w]
    program = words[1] if Path(argv[0]).name == "env" and len(words) > 1 else argv[0]
    name = Path(program).name
    if not INTERPRETERS.fullmatch(name):
        return None
    for index in range(argv.index(program) + 1, len(argv)):
        if argv[index] in NO_SCRIPT:
            return None
        if not argv[index].startswith("-"):
            return index, name
    return None


def _existing(paths: list[Path]) -> list[Path]:
    for path in paths:
        if not os.path.exists(path):  # os.path: False, not an OSError, for a name too long
            raise UserError(f"{path}: no such profile file or directory")
    return paths
