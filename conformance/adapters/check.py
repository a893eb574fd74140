"""`adapter check`: one adapter put through the whole agent contract, with what to fix.

In the spirit of the SOP test suite for OpenPGP implementations, the adapter is
driven through its own command line only, with the suite's real counterparts:
the verbs `version` and `capabilities` answered, each declared send function
read by the `reference` agent and by the openssl CLI, each declared receive
function fed `reference`'s messages, the rejection corpus (the hostile messages
its declared receive functions cover, narrowed as `--function` is), the usage
exit code, and, over every send and receive, the status JSON valid against its
schema and the exit codes consistent with it; every call made is counted, with
the time it took. The exchanges, their judge
and the rejection cells are the matrix's own (`run_cell`, `run_rejection_cell`):
the check says what the matrix would find, one line per check.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from conformance.agents import identity_files as files
from conformance.agents.base import Evidence
from conformance.agents.command import AdapterCall, CommandAgent, runnable
from conformance.agents.factory import make_agent
from conformance.agents.tools import (
    DEFAULT_TIMEOUT,  # seconds per call, when neither the caller nor a profile says
    ToolRun,
    ToolTimeout,
    run,
)
from conformance.core.vocabulary import FUNCTIONS, Capabilities, Function, Party
from conformance.errors import MissingComponent, UserError
from conformance.functions import FIRST_CONTACT, OPERATION
from conformance.matrix.cast import Cast, directories_of
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.exchange import Seat, World
from conformance.profiles.loader import load_profile, load_profiles
from conformance.profiles.schema import Profile
from conformance.rejections.model import CLASSES, Policy, RejectionCase, load_cases
from conformance.rejections.run import Receiver, RejectionSettings, run_rejection_cell
from conformance.results import RejectionCell
from conformance.status import CONTRACT_VERSION

__all__ = [
    "AdapterReport",
    "Check",
    "CheckSettings",
    "Target",
    "check_adapter",
    "resolve_target",
]

Outcome = Literal["pass", "fail", "skip"]
ADAPTER_ID = "adapter"
# The counterparts: the suite's own reader and writer, and the openssl command line.
READERS = ("reference", "openssl")
USAGE_EXIT = 2  # argparse's, and the contract's, exit code for a usage error
CONTRACT = "docs/agent-cli.md"


@dataclass(frozen=True)
class Check:
    """One line of the check: what was checked, its outcome, what was found or what to fix."""

    name: str
    outcome: Outcome
    detail: str
    seconds: float = 0.0

    def line(self) -> str:
        took = f" ({self.seconds:.2f}s)" if self.seconds else ""
        return f"{self.outcome.upper():4}  {self.name}{took}: {self.detail}"


@dataclass(frozen=True)
class CheckSettings:
    examples: int = 3  # per function and counterpart, the basic example included
    variants: int = 1  # per rejection case and producer, the basic variant included
    seed: int = 0
    timeout: float | None = None  # None: the profile's engine.timeout_s, else DEFAULT_TIMEOUT
    functions: frozenset[Function] | None = None  # None: every declared function
    cases: frozenset[str] | None = None  # rejection case ids; None: every case
    policy: Policy = "osm-2008"
    out_dir: Path | None = None  # evidence (messages, statuses, logs) when given


@dataclass(frozen=True)
class Target:
    """The adapter: its command line, and its profile when one was named."""

    argv: tuple[str, ...]
    profile: Profile | None = None
    timeout: float | None = None


@dataclass
class AdapterReport:
    argv: tuple[str, ...]
    checks: list[Check] = field(default_factory=list)
    calls: list[AdapterCall] = field(default_factory=list)
    version: str | None = None
    contract_version: int | None = None
    protocols: tuple[str, ...] = ()  # what `capabilities` lists (the harness protocol)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.outcome != "fail" for c in self.checks)

    @property
    def exchanges(self) -> list[AdapterCall]:
        """The calls of `send` and `receive` proper (`calls` has every verb the check ran)."""
        return [c for c in self.calls if c.verb in ("send", "receive")]

    def summary(self) -> str:
        """The verdict and the counts; the contract version is the suite's (what the checks
        apply), kept apart from the one the adapter states, which may be older."""
        count = {o: sum(c.outcome == o for c in self.checks) for o in ("pass", "fail", "skip")}
        verdict = "adapter conforms to the contract" if self.ok else "adapter does NOT conform"
        states = (
            f"the adapter states version {self.contract_version}"
            if self.contract_version is not None
            else "the adapter stated no version"
        )
        return (
            f"{verdict}: {count['pass']} passed, {count['fail']} failed, {count['skip']} "
            f"skipped, {len(self.calls)} calls in {self.seconds:.1f}s (checked against "
            f"contract version {CONTRACT_VERSION}; {states})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "adapter": list(self.argv),
            "ok": self.ok,
            "contract_version": CONTRACT_VERSION,
            "adapter_contract_version": self.contract_version,
            "version": self.version,
            "checks": [
                {
                    "name": c.name,
                    "outcome": c.outcome,
                    "detail": c.detail,
                    "seconds": round(c.seconds, 4),
                }
                for c in self.checks
            ],
            "calls": [
                {
                    "verb": c.verb,
                    "function": c.function,
                    "seconds": round(c.seconds, 4),
                    "exit": c.returncode,
                    "breach": c.breach,
                    "detail": c.detail,
                }
                for c in self.calls
            ],
            "summary": self.summary(),
            "seconds": round(self.seconds, 3),
        }


def resolve_target(words: Sequence[str]) -> Target:
    """ADAPTER...: a profile (file or shipped id) whose engine is `command`, or a command line."""
    if not words:
        raise UserError("adapter check: name the adapter (its command line, or its profile)")
    first = words[0]
    is_profile = len(words) == 1 and (
        first.endswith((".yaml", ".yml")) or ("/" not in first and first in load_profiles())
    )
    if not is_profile:
        # Each call runs in a temporary directory: relative paths are taken from here.
        argv = [
            str(Path(w).resolve()) if "/" in w and not Path(w).is_absolute() else w for w in words
        ]
        return Target(runnable(tuple(argv), "ADAPTER"))
    profile = load_profile(first)
    if profile.engine.type != "command":
        raise UserError(
            f"{first}: profile {profile.id!r} has engine type {profile.engine.type!r}; "
            "adapter check takes an adapter (engine type 'command') or its command line"
        )
    agent = make_agent(profile)
    assert isinstance(agent, CommandAgent)  # the factory's mapping for `command`
    return Target(
        runnable(tuple(agent.argv), f"{first}: engine.argv"), profile, profile.engine.timeout_s
    )


def _answer(
    argv: Sequence[str], verb: Sequence[str], timeout: float, report: AdapterReport
) -> tuple[ToolRun | str, float]:
    """Run one verb outside the matrix (version, capabilities, a usage error), counted
    among the report's calls like the exchanges' (the CommandAgent reports those)."""
    started = time.perf_counter()
    said = " ".join(verb)
    try:
        result = run([*argv, *verb], evidence=Evidence(), timeout=timeout)
    except ToolTimeout:
        problem = f"no answer within {timeout:g}s"
        took = time.perf_counter() - started
        report.calls.append(AdapterCall(said, None, took, None, "timeout", f"{said}: {problem}"))
        return problem, took
    except MissingComponent as exc:
        problem = f"does not start: {exc}"
        took = time.perf_counter() - started
        report.calls.append(AdapterCall(said, None, took, None, "start", problem))
        return problem, took
    report.calls.append(AdapterCall(said, None, result.seconds, result.returncode))
    return result, result.seconds


def _stderr_tail(result: ToolRun) -> str:
    text = result.stderr.decode("utf-8", "replace").strip()
    return f" (stderr: {text.splitlines()[-1][:200]})" if text else ""


def check_version(argv: Sequence[str], timeout: float, report: AdapterReport) -> Check:
    result, seconds = _answer(argv, ["version"], timeout, report)
    name = "version"
    fix = "answer `version` with one line naming the product and its version, exit 0"
    if isinstance(result, str):
        return Check(name, "fail", f"{result}: {fix}", seconds)
    text = result.stdout.decode("utf-8", "replace").strip()
    if result.returncode != 0:
        return Check(
            name, "fail", f"exit {result.returncode}{_stderr_tail(result)}: {fix}", seconds
        )
    if not text:
        return Check(name, "fail", f"printed nothing: {fix}", seconds)
    lines = text.splitlines()
    report.version = lines[0]
    if len(lines) > 1:  # the matrix records the first line only: the rest would be lost
        return Check(name, "fail", f"printed {len(lines)} lines: {fix}", seconds)
    return Check(name, "pass", report.version, seconds)


def _capabilities_problem(data: Any) -> tuple[str | None, Capabilities | None]:
    """What is wrong with a `capabilities` answer (None when nothing), and what it declares."""
    if not isinstance(data, dict):
        return "expected a JSON object", None
    version = data.get("contract_version")
    if "contract_version" not in data:
        return f"contract_version: missing (expected {CONTRACT_VERSION})", None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return f"contract_version: expected an integer, got {json.dumps(version)}", None
    if version > CONTRACT_VERSION:
        return (
            f"contract_version: {version} is newer than this suite's ({CONTRACT_VERSION})",
            None,
        )
    found: dict[str, frozenset[Function]] = {}
    for key in ("send", "receive"):
        value = data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{key}: expected an array of function names ({', '.join(FUNCTIONS)})", None
        unknown = [v for v in value if v not in FUNCTIONS]
        if unknown:
            return (
                f"{key}: unknown function {unknown[0]!r} (expected one of {', '.join(FUNCTIONS)})",
                None,
            )
        found[key] = frozenset(v for v in FUNCTIONS if v in value)
    return None, Capabilities(send=found["send"], receive=found["receive"])


def check_capabilities(
    target: Target, timeout: float, report: AdapterReport
) -> tuple[Check, Capabilities | None]:
    name = "capabilities"
    example = json.dumps(
        {"contract_version": CONTRACT_VERSION, "send": ["sign"], "receive": ["sign"]}
    )
    fix = f"print e.g. {example} and exit 0"
    result, seconds = _answer(target.argv, ["capabilities"], timeout, report)
    if isinstance(result, str):
        return Check(name, "fail", f"{result}: {fix}", seconds), None
    if result.returncode != 0:
        return (
            Check(name, "fail", f"exit {result.returncode}{_stderr_tail(result)}: {fix}", seconds),
            None,
        )
    try:
        data = json.loads(result.stdout)
    except (json.JSONDecodeError, UnicodeDecodeError):
        shown = result.stdout.decode("utf-8", "replace").strip()[:80]
        return Check(name, "fail", f"not JSON ({shown!r}): {fix}", seconds), None
    problem, caps = _capabilities_problem(data)
    if problem is not None or caps is None:
        return Check(name, "fail", f"capabilities.{problem}: {fix}", seconds), None
    report.contract_version = int(data["contract_version"])
    listed = data.get("protocols")
    if isinstance(listed, list):  # read as the CommandAgent reads it, without asking again
        report.protocols = tuple(p for p in listed if isinstance(p, str))
    if target.profile is not None:
        declared = target.profile.capabilities()
        for key in ("send", "receive"):
            said, wrote = getattr(caps, key), getattr(declared, key)
            if said != wrote:
                return (
                    Check(
                        name,
                        "fail",
                        f"{key} {sorted(said)} differs from profile {target.profile.id}'s "
                        f"{sorted(wrote)}: make the adapter and its profile declare the same",
                        seconds,
                    ),
                    caps,
                )
    older = (
        f"; states contract_version {report.contract_version}, this suite's is "
        f"{CONTRACT_VERSION} (see the history in {CONTRACT})"
        if report.contract_version < CONTRACT_VERSION
        else ""
    )
    detail = (
        f"contract_version {report.contract_version}, sends {', '.join(sorted(caps.send)) or '-'}, "
        f"receives {', '.join(sorted(caps.receive)) or '-'}{older}"
    )
    return Check(name, "pass", detail, seconds), caps


def check_usage(
    argv: Sequence[str], timeout: float, answered: bool, report: AdapterReport
) -> Check:
    """An option or a verb the adapter does not know is a usage error: exit 2. Not judged
    when the adapter answered neither `version` nor `capabilities`: an interpreter that
    cannot open its script, or a shell that cannot find a command, exits 2 too."""
    name = "usage errors"
    if not answered:
        return Check(
            name,
            "skip",
            "not run: the adapter answered neither `version` nor `capabilities`, so an exit "
            f"{USAGE_EXIT} could be its interpreter's, not its own (fix those first)",
        )
    tries = (
        ["send", "--osm-no-such-option"],
        ["receive", "--osm-no-such-option"],
        ["osm-no-such-verb"],
    )
    total = 0.0
    for words in tries:
        result, seconds = _answer(argv, words, timeout, report)
        total += seconds
        got = result if isinstance(result, str) else f"exit {result.returncode}"
        if isinstance(result, str) or result.returncode != USAGE_EXIT:
            return Check(
                name,
                "fail",
                f"`{' '.join(words)}` gave {got}: exit {USAGE_EXIT} (usage) for an option "
                "or a verb you do not know, as argparse does",
                total,
            )
    return Check(name, "pass", f"exit {USAGE_EXIT} for an unknown option or verb", total)


def _party(directory: Path, directories: frozenset[str]) -> Party:
    data = files.identity_json(directory)
    return Party(directory, str(data["email"]), str(data["name"]), directories)


def _adapter_seats(cast: Cast, agent: CommandAgent, profile: Profile | None) -> tuple[Seat, Seat]:
    """The adapter's two professionals: the first pair of identities the counterparts
    do not use (listed in the CPS directory unless its profile says otherwise)."""
    taken = {i for agent_id in cast.profiles for i in cast.users(agent_id)}
    valid = [i.id for i in cast.pki.valid_identities()][:-2]  # the last two are bystanders
    free = [i for i in valid if i not in taken]
    directories = directories_of(profile) if profile is not None else frozenset({"cps"})
    seats = []
    for identity_id in free[:2]:
        party = _party(cast.export / "identities" / identity_id, directories)
        cert = files.role_certificate(party.identity_dir, "encrypt")
        seats.append(Seat(party, cert, agent))
    return seats[0], seats[1]


def _interop(
    name: str,
    sender: Seat,
    receiver: Seat,
    function: Function,
    world: World,
    settings: CheckSettings,
) -> Check:
    cell = run_cell(
        sender,
        receiver,
        function,
        world,
        CellSettings(examples=settings.examples, seed=settings.seed, out_dir=settings.out_dir),
    )
    examples = f"{cell.examples} example{'s' if cell.examples != 1 else ''}"
    rules = (
        f"; the message breaks {', '.join(cell.nonconformant)} (osm-conformance check)"
        if cell.nonconformant
        else ""
    )
    if cell.verdict == "pass":
        return Check(
            name,
            "pass",
            f"{examples}, every service and the content intact{rules}",
            cell.duration_s,
        )
    if cell.verdict == "unsupported":
        return Check(name, "skip", cell.reason or "unsupported", cell.duration_s)
    what = {
        "fail": "the basic example failed",
        "partial": "a generated example failed",
        "error": "broke",
    }.get(cell.verdict, cell.verdict)
    counter = f" [{cell.counterexample.description}]" if cell.counterexample is not None else ""
    return Check(name, "fail", f"{what}: {cell.reason}{counter}{rules}", cell.duration_s)


def _rejections(
    receiver: Receiver, cast: Cast, declared: Capabilities, settings: CheckSettings
) -> list[Check]:
    cases = [
        c
        for c in load_cases()
        if (settings.cases is None or c.id in settings.cases) and _follows(c, settings.functions)
    ]
    found = []
    rejection = RejectionSettings(
        policy=settings.policy,
        variants=settings.variants,
        seed=settings.seed,
        out_dir=settings.out_dir,
    )
    for cls in CLASSES:
        mine = tuple(c for c in cases if c.cls == cls)
        if not mine:
            continue
        name = f"rejections {cls}"
        covered = [c for c in mine if c.function in declared.receive]
        if not covered:
            found.append(Check(name, "skip", "no case of a function it declares it receives"))
            continue
        cell = run_rejection_cell(receiver, cls, cast.pki, rejection, cases=mine)
        found.append(_rejection_check(name, cell, {c.id: c for c in mine}))
    return found


def _follows(case: RejectionCase, functions: frozenset[Function] | None) -> bool:
    """Whether a rejection case belongs to the functions checked: a receiver is not told
    the function, so a case counts for every function whose messages are protected as its
    own (an hprim-net message is signed and encrypted, as a sign-encrypt one)."""
    return functions is None or OPERATION[case.function] in {OPERATION[f] for f in functions}


def _rejection_check(name: str, cell: RejectionCell, cases: dict[str, RejectionCase]) -> Check:
    results = cell.cases
    refused = sum(r.outcome == "refuses" for r in results)
    skipped = [r for r in results if r.outcome == "not-applicable"]
    bad = [r for r in results if r.outcome in ("accepts", "error")]
    if cell.verdict == "error" and not bad:
        return Check(name, "fail", f"broke: {cell.reason}", cell.duration_s)
    if bad:
        first = bad[0]
        case = cases.get(first.case)
        title = f" ({case.title['en']})" if case is not None else ""
        producers = ", ".join(r.producer for r in bad if r.case == first.case)
        if first.outcome == "accepts":
            what = (
                f"accepts a hostile message: {first.case}{title} from {producers}, "
                f"claims {', '.join(first.claimed)}: refuse it (an error code) or withhold "
                f"those services; {first.reason}"
            )
        else:
            what = f"broke on {first.case}{title} from {producers}: {first.reason}"
        others = list(dict.fromkeys(r.case for r in bad if r.case != first.case))
        more = f"; also {', '.join(others)}" if others else ""
        return Check(name, "fail", what + more, cell.duration_s)
    note = f", {len(skipped)} not applicable" if skipped else ""
    return Check(name, "pass", f"{refused} refused{note}", cell.duration_s)


def _breaches(report: AdapterReport) -> list[Check]:
    """Over every send and receive the check made: the status JSON and the exit codes."""
    exchanges = report.exchanges
    # The statuses actually read: a receive that hung, did not start or wrote none has none.
    read = [c for c in exchanges if c.verb == "receive" and c.breach in (None, "exit-code")]
    checks = []
    for breach, name, fix in (
        (
            ("status", "no-status"),
            "status JSON",
            "write a status valid against docs/status.schema.json to --status-out",
        ),
        (
            ("exit-code",),
            "exit codes",
            f"exit with the code of the first error of the status (the order of {CONTRACT})",
        ),
    ):
        calls = [c for c in exchanges if c.breach in breach]
        if not exchanges:
            checks.append(Check(name, "skip", "no send or receive was made"))
        elif name == "status JSON" and not calls and not read:
            checks.append(Check(name, "skip", "no status to check: no receive call ended normally"))
        elif calls:
            first = calls[0]
            checks.append(
                Check(
                    name,
                    "fail",
                    f"{len(calls)} of {len(exchanges)} calls: {first.detail}; {fix}",
                )
            )
        else:
            scope = f"{len(read)} statuses valid" if name == "status JSON" else "consistent"
            checks.append(Check(name, "pass", f"{scope} over {len(exchanges)} calls"))
    return checks


def _timing(report: AdapterReport) -> Check:
    parts = []
    for verb in ("send", "receive"):
        took = [c.seconds for c in report.exchanges if c.verb == verb]
        if took:
            median = statistics.median(took)
            parts.append(f"{verb} {len(took)} calls, median {median:.3f}s, max {max(took):.3f}s")
    late = [c for c in report.calls if c.breach == "timeout"]
    if late:
        return Check("timing", "fail", f"{len(late)} calls timed out: {late[0].detail}")
    return Check("timing", "pass", "; ".join(parts) or "no send or receive was made")


def check_adapter(
    target: Target,
    settings: CheckSettings,
    progress: Callable[[Check], None] | None = None,
) -> AdapterReport:
    """Every check of the contract against one adapter (never raises on the adapter's faults)."""
    if settings.cases:
        unknown = sorted(settings.cases - {c.id for c in load_cases()})
        if unknown:
            raise UserError(f"--case: unknown rejection case {', '.join(unknown)}")
        cases = [c for c in load_cases() if c.id in settings.cases]
        outside = [c for c in cases if not _follows(c, settings.functions)]
        if outside:
            functions = ", ".join(sorted(settings.functions or ()))
            raise UserError(
                f"--case {outside[0].id}: a case of function {outside[0].function}, which "
                f"--function {functions} leaves out"
            )
    started = time.perf_counter()
    report = AdapterReport(target.argv)
    timeout = settings.timeout or target.timeout or DEFAULT_TIMEOUT

    def add(check: Check) -> None:
        report.checks.append(check)
        if progress is not None:
            progress(check)

    add(check_version(target.argv, timeout, report))
    caps_check, declared = check_capabilities(target, timeout, report)
    add(caps_check)
    # a version line, even several; capabilities in JSON, even differing from the profile's
    answered = report.version is not None or report.contract_version is not None
    add(check_usage(target.argv, timeout, answered, report))
    if declared is None:
        add(
            Check("exchanges", "skip", "not run: the capabilities are needed to know the functions")
        )
        report.seconds = time.perf_counter() - started
        return report
    wanted = settings.functions if settings.functions is not None else frozenset(FUNCTIONS)
    profiles = load_profiles()
    cast = Cast({r: profiles[r] for r in READERS}, policy=settings.policy)
    try:
        agent = CommandAgent(
            ADAPTER_ID,
            target.argv,
            declared,
            timeout=timeout,
            on_call=report.calls.append,
            protocols=report.protocols,
        )
        world = cast.world()
        mine_sender, mine_receiver = _adapter_seats(cast, agent, target.profile)
        for function in [f for f in FUNCTIONS if f in declared.send and f in wanted]:
            for reader in READERS:
                try:
                    seat = cast.seat(reader, "receiver")
                except MissingComponent as exc:
                    add(Check(f"send {function} -> {reader}", "skip", str(exc)))
                    continue
                add(
                    _interop(
                        f"send {function} -> {reader}",
                        mine_sender,
                        seat,
                        function,
                        # a first contact: the adapter looks up in the suite's own slapd
                        cast.world(directory=function in FIRST_CONTACT),
                        settings,
                    )
                )
        for function in [f for f in FUNCTIONS if f in declared.receive and f in wanted]:
            seat = cast.seat("reference", "sender")
            add(
                _interop(
                    f"receive {function} <- reference",
                    seat,
                    mine_receiver,
                    function,
                    cast.world(directory=function in FIRST_CONTACT),
                    settings,
                )
            )
        receiver = Receiver(agent, mine_receiver.party, mine_sender.party, world.trust, world.crls)
        for check in _rejections(receiver, cast, declared, settings):
            add(check)
    finally:
        cast.close()
    for check in _breaches(report):
        add(check)
    add(_timing(report))
    report.seconds = time.perf_counter() - started
    return report
