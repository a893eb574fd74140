"""The cell procedure: a fixed basic example, then hypothesis looks for a failing one.

- basic example fails            -> fail (with its reason)
- a generated example fails      -> partial (the shrunk counterexample kept)
- none fails                     -> pass
- a side does not do the function -> unsupported
- the route's own size limit (run --max-message-bytes) refuses the basic example,
  or the suite's lookup on a tool's behalf fails for it
                                 -> unsupported (nothing of the products observed)
- the harness breaks             -> error (never fail)
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hypothesis import Phase, given

from conformance.agents.profiled import ProfileAgent
from conformance.core.vocabulary import DEFAULT_LANGUAGE, Function, Language
from conformance.directory.tree import ASSUMED
from conformance.functions import FIRST_CONTACT, REQUIRED_SERVICES
from conformance.matrix.evidence import EvidenceWriter, nonconformant, validate
from conformance.matrix.exchange import HarnessError, Observation, Seat, World, exchange
from conformance.matrix.exchange_large import LargeObservation, exchange_large
from conformance.matrix.sent import (
    DECLARED_BY,
    algorithms,
    algorithms_in,
    declared,
    with_format,
)
from conformance.profiles.schema import Profile
from conformance.replay_note import as_observed
from conformance.results import (
    SENT_FORMAT,
    Cell,
    Counterexample,
    NotObserved,
    RestsOn,
    SuiteLookup,
    Transport,
    summary_key,
)
from conformance.scenarios import basic_scenario, scenarios
from conformance.scenarios.large import large_description
from conformance.scenarios.model import Scenario
from conformance.search import searched
from conformance.status import ErrorCode


@dataclass(frozen=True)
class CellSettings:
    examples: int = 25  # basic example included
    seed: int = 0
    out_dir: Path | None = None
    lang: Language = DEFAULT_LANGUAGE  # of the validator's pages in the evidence
    # Shrinking runs many exchanges; past this many, the best counterexample so far is kept.
    shrink_budget: int = 60
    # `run --large-attachment SIZE`: one example per cell, a letter with an attachment of
    # SIZE bytes, no search (scenarios.large).
    large_attachment: int | None = None
    # The route the cell's messages travel (`run --transport smtp --via`): the transport
    # and its hops, () the plain route. The examples are the same on every route (the
    # cell's seed does not depend on it), so that a variant compares with the plain one.
    transport: Transport = "memory"
    route: tuple[str, ...] = ()


def cell_seed(run_seed: int, sender: str, receiver: str, function: str) -> int:
    """Each cell draws from its own seed, so cells are reproducible in any order or worker."""
    digest = hashlib.sha256(f"{run_seed}/{sender}/{receiver}/{function}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class _Failed(Exception):
    pass


def run_cell(
    sender: Seat, receiver: Seat, function: Function, world: World, settings: CellSettings
) -> Cell:
    started = time.perf_counter()
    cell = Cell(
        sender=sender.agent.id,
        receiver=receiver.agent.id,
        function=function,
        verdict="error",
        services_required=list(REQUIRED_SERVICES[function]),
        transport=settings.transport,
        via=list(settings.route),
    )
    evidence = EvidenceWriter(
        settings.out_dir,
        cell.sender,
        cell.receiver,
        function,
        lang=settings.lang,
        route=settings.route,
    )
    try:
        _judge(cell, sender, receiver, function, world, settings, evidence)
    except HarnessError as exc:
        cell.verdict = "error"
        cell.reason = str(exc)
    except Exception as exc:  # a bug anywhere in the harness is an error, not a verdict
        cell.verdict = "error"
        cell.reason = f"harness error: {type(exc).__name__}: {exc}"
    cell.evidence = evidence.paths
    cell.duration_s = round(time.perf_counter() - started, 4)
    return cell


def _judge(
    cell: Cell,
    sender: Seat,
    receiver: Seat,
    function: Function,
    world: World,
    settings: CellSettings,
    evidence: EvidenceWriter,
) -> None:
    if function not in sender.agent.capabilities().send:
        cell.verdict, cell.reason = "unsupported", f"{cell.sender} does not send {function}"
        return
    if function not in receiver.agent.capabilities().receive:
        cell.verdict, cell.reason = "unsupported", f"{cell.receiver} does not receive {function}"
        return
    if function in FIRST_CONTACT and world.directory is None:
        # Not the products' doing: the suite could not run its directory here.
        cell.verdict, cell.observed = "unsupported", False
        cell.reason = f"not run: {world.directory_missing or 'no directory'}"
        cell.not_observed = NotObserved(kind="directory-missing", detail=world.directory_missing)
        return

    if settings.large_attachment is not None:
        _judge_large(cell, sender, receiver, function, world, settings.large_attachment, evidence)
        return
    basic = basic_scenario(function)
    obs = exchange(basic, sender, receiver, world)
    cell.examples = 1
    cell.services = obs.services
    # A tool without a directory client is never credited with the suite's lookup for it.
    cell.suite_lookup = _suite_lookup(obs)
    evidence.observation("basic", obs, basic.describe())
    checked = validate(obs, sender, receiver, world)
    report = checked.report if checked is not None else None
    if checked is not None and obs.message is not None:
        # The validator read the sent message (`validate`): its layers give the algorithms.
        cell.sent = with_format(obs.message, algorithms_in(checked.layers), checked.layers)
    apicrypt = cell.sent.get(SENT_FORMAT) == ["apicrypt"]  # read from the message
    cell.nonconformant = nonconformant(report, apicrypt)
    cell.checks = evidence.report("basic", report)
    if not obs.ok:
        _not_through(cell, obs)
        cell.rests_on = rests_on(cell, obs, sender, receiver)
        return

    found = _search(sender, receiver, function, world, settings)
    cell.examples = found.tried + 1
    if found.counterexample is None:
        cell.verdict = "pass"
        if found.not_observed:
            cell.reason = (
                f"{found.not_observed} more generated example(s) not counted, "
                f"{found.not_observed_reason}"
            )
        return
    scenario, failing = found.counterexample
    described = scenario.description()
    paths = evidence.observation("counterexample", failing, described.en)
    checks = evidence.checks("counterexample", failing, sender, receiver, world)
    if checks is not None:
        paths.append(checks)
    reason = as_observed(failing.reason, found.repeated)
    cell.verdict, cell.reason = "partial", reason
    cell.counterexample = Counterexample(
        description=described.en,
        description_fr=described.fr,
        reason=reason or "",
        evidence=paths,
        failed_at=failing.failed_at,
        repeated=found.repeated,
    )


def _judge_large(
    cell: Cell,
    sender: Seat,
    receiver: Seat,
    function: Function,
    world: World,
    size: int,
    evidence: EvidenceWriter,
) -> None:
    """One exchange of the large scenario, on files (`exchange_large`): pass, or fail with
    the side's answer (a product's size limit is a finding). The validator is not run on
    it (it reads in memory)."""
    with tempfile.TemporaryDirectory(prefix="osm-large-") as work:
        obs = exchange_large(function, size, sender, receiver, world, Path(work))
    cell.examples = 1
    cell.services = obs.services
    cell.suite_lookup = _suite_lookup(obs)
    evidence.large_observation("large", obs, large_description(function, size))
    if obs.ok:
        cell.verdict = "pass"
    else:
        _not_through(cell, obs)
        cell.rests_on = rests_on(cell, obs, sender, receiver)


def _suite_lookup(obs: Observation | LargeObservation) -> SuiteLookup | None:
    """The facts of the suite's lookup on the sender's behalf, if it made one."""
    return obs.send.evidence.suite_lookup if obs.send else None


def _not_through(cell: Cell, obs: Observation | LargeObservation) -> None:
    """A basic example that did not go through: `fail`, unless the route's own size limit
    refused it (`exchange.undelivered`) or the suite's lookup for the sender failed
    (`exchange.send_refusal`): then nothing of the products was observed, and
    the cell is `unsupported` with that reason, as a cell the suite could not run here
    (`Cell.observed` false): never the products' failure (the pairs, the claims and the
    finding gate leave it out)."""
    cell.verdict = "fail" if obs.observed else "unsupported"
    cell.reason, cell.observed, cell.failed_at = obs.reason, obs.observed, obs.failed_at
    cell.not_observed = obs.not_observed


# The profile fields of the envelope's algorithms (DECLARED_BY's content_cipher, key_transport).
_ENVELOPE = "send.encryption."


def rests_on(
    cell: Cell, obs: Observation | LargeObservation, sender: Seat, receiver: Seat
) -> list[RestsOn]:
    """What a failed basic example's verdict rests on beside what was measured (Cell.rests_on):
    the profile facts that refused an algorithm the message used (the receiver's list of what
    it reads, and the sender's choice of that algorithm), or, for a sender whose own lookup
    found no certificate, the suite directory's layout, partly assumed (tree.ASSUMED)."""
    if not cell.observed or cell.verdict != "fail":
        return []
    # A real engine's agent carries its profile too (factory._Named): its choices are facts
    # of that profile, assumed where its provenance says so.
    profile: Profile | None = getattr(sender.agent, "profile", None)
    if cell.failed_at == "sender":
        sent = obs.send
        own = profile is None or profile.send.recipient_certificate == "directory"
        if (
            own
            and cell.function in FIRST_CONTACT
            and sent is not None
            and sent.error is ErrorCode.NO_RECIPIENT_CERTIFICATE
            and sent.evidence.suite_lookup is None
        ):
            return [RestsOn(kind="directory-layout", fact=w, reason=y) for w, y in ASSUMED]
        return []
    if isinstance(obs, Observation):
        status = obs.reception.status if obs.reception is not None else None
    else:
        status = obs.status
    error = status.primary_error() if status is not None else None
    if error is None or error.code is not ErrorCode.UNSUPPORTED_ALGORITHM:
        return []
    found: list[RestsOn] = []
    used = algorithms(cell.sent)
    chose = declared(profile) if profile is not None else {}
    if isinstance(receiver.agent, ProfileAgent):
        refused = receiver.agent.refusing_facts(used)
        kinds = list(refused)
        found += [RestsOn(kind="profile", agent=cell.receiver, fact=f) for f in refused.values()]
    else:
        # The receiver does not say which algorithm it refused; one that did not open the
        # envelope refused one of the envelope's, never one of a signature inside it.
        could = used
        if status is not None and status.encrypted and not status.decrypted:
            could = {k: v for k, v in used.items() if DECLARED_BY[k].startswith(_ENVELOPE)}
        assumed = profile is not None and all(
            (c := profile.citation(DECLARED_BY[k])) is not None and c.assumed for k in could
        )
        # Every one it could have refused is the sender's assumed choice: whichever it was,
        # the verdict rests on one.
        kinds = list(could) if assumed else []
    for kind in kinds:
        if chose.get(kind) in used[kind]:
            fact = summary_key(DECLARED_BY[kind])
            found.append(RestsOn(kind="profile", agent=cell.sender, fact=fact))
    return found


@dataclass
class _Search:
    tried: int = 0
    counterexample: tuple[Scenario, Observation] | None = None
    repeated: bool = True  # False: the counterexample did not fail again when replayed
    not_observed: int = 0  # generated examples not observed (route's size limit, suite's lookup)
    not_observed_reason: str | None = None  # the first one's


def _search(
    sender: Seat, receiver: Seat, function: Function, world: World, settings: CellSettings
) -> _Search:
    state = _Search()
    failures = 0
    if settings.examples <= 1:
        return state

    def check(scenario: Scenario) -> None:
        nonlocal failures
        best = state.counterexample
        spent = best is not None and failures >= settings.shrink_budget
        if best is not None and spent and scenario != best[0]:
            # Budget spent: no other example is exchanged, so the shrinker stops at the
            # best counterexample so far.
            return
        # (With the budget spent, this is hypothesis's replay of the best: exchanged for
        # real, so that whether it failed again is measured, and failing from the same
        # line as the first time, as hypothesis compares where a failure comes from.)
        obs = exchange(scenario, sender, receiver, world)
        if not obs.observed:
            # Over the route's own size limit, or the suite's lookup failed: not an example
            # of the products, neither counted nor a failure (the search keeps its number
            # of examples).
            if best is None:
                state.not_observed += 1
                state.not_observed_reason = state.not_observed_reason or obs.reason
            return
        if best is None:
            state.tried += 1  # shrinking's exchanges are not examples of the cell
        if not obs.ok:
            if not spent:
                failures += 1
                state.counterexample = (scenario, obs)
            raise _Failed(obs.reason)

    search = searched(
        given(scenarios(function))(check),
        examples=settings.examples - 1,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        seed=cell_seed(settings.seed, sender.agent.id, receiver.agent.id, function),
    )
    with contextlib.suppress(_Failed):
        state.repeated = search()
    if not state.repeated and state.counterexample is None:
        # What failed was the harness (an exception, not an observation), once.
        raise HarnessError("an exchange raised an exception once, not when it was replayed")
    return state
