"""results.json: the whole outcome of a run, the only input of the reports.

Pydantic models so that the file has a JSON Schema (docs/results.schema.json,
generated) and a report can refuse a file that does not follow it with a
message naming the field.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from conformance import json_files
from conformance.core.vocabulary import (
    REAL_MEASUREMENTS,
    KeyTransport,
    Measurement,
    measurement_of,
)
from conformance.errors import UserError

FORMAT: Literal["osm-conformance/results/1"] = "osm-conformance/results/1"

Verdict = Literal["pass", "partial", "fail", "unsupported", "error"]
RejectionVerdict = Literal["refuses", "accepts", "not-applicable", "error"]
# not-observed: every cell of the pair is a harness error, nothing was seen.
Interop = Literal["full", "partial", "none", "not-observed"]
Observed = Literal["by-hand", "machine"]
# How a cell's messages were carried: in memory (the default), or over real SMTP on
# loopback through the hops of its route (`run --transport smtp --via ...`).
Transport = Literal["memory", "smtp"]
# A cell's identity: sender, receiver, function, and its route (transport, hop ids joined
# by "+", "" for the plain route without a rewriting hop).
CellKey = tuple[str, str, str, str, str]


def route_label(transport: str, via: Sequence[str]) -> str:
    """A route as a person reads it: memory, smtp, smtp via 8bit-to-qp+footer."""
    if not via:
        return transport
    return f"{transport} via {'+'.join(via)}"


def cell_where(
    sender: str, receiver: str, function: str, transport: str, via: Sequence[str]
) -> str:
    """A cell as the gates and the diff name it: sender -> receiver function, and its
    route when it is not the plain one."""
    text = f"{sender} -> {receiver} {function}"
    return f"{text} ({route_label(transport, via)})" if via else text


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The version a profile-driven agent gives (RunInfo.engines): the suite's engine playing a
# profile. Here, below both, so that the report words it in French without loading the agents.
SUITE_ENGINE_VERSION: Final = "osm-conformance {version} engine, profile {profile}"


def suite_engine_version(version: str, profile: str) -> str:
    """What a profile-driven agent's `version` says for `profile` with the suite at `version`."""
    return SUITE_ENGINE_VERSION.format(version=version, profile=profile)


class RunInfo(_Model):
    seed: int
    examples: int = Field(description="examples tried per cell, basic example included")
    started: str
    finished: str | None = None
    complete: bool = Field(description="false when the run was interrupted")
    duration_s: float | None = None
    suite_version: str
    engines: dict[str, str] = Field(default_factory=dict, description="engine id -> version")
    functions: list[str] = Field(default_factory=list)
    validation_time: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


class Fact(_Model):
    """One fact of the comparison table, with where it comes from."""

    value: Any
    source: str | None = Field(
        default=None, description="id of the cited source (its title is in Results.sources)"
    )
    assumed: bool = False
    note: str | None = Field(
        default=None, description="the source's words, or why an assumed value was chosen"
    )
    note_fr: str | None = Field(
        default=None, description="why an assumed value was chosen, in French (reason_fr)"
    )


class SourceRef(_Model):
    """A cited source as the pages name it: by its title, in the page's language."""

    title: dict[str, str] = Field(description="language (fr, en) -> title")
    location: str | None = Field(default=None, description="where in the document")
    columns: list[str] = Field(
        default_factory=list, description="for a table: the profile ids of its columns, in order"
    )


class Provenance(_Model):
    """Where a fact of an agent's sends/accepts summary comes from (its profile's citation)."""

    assumed: bool = Field(default=False, description="no source gives it: a plausible choice")
    source: str | None = Field(
        default=None, description="id of the cited source (its title is in Results.sources)"
    )
    reason: str | None = Field(
        default=None, description="why the assumed value was chosen, or the source's words"
    )
    reason_fr: str | None = Field(
        default=None, description="why the assumed value was chosen, in French (reason_fr)"
    )


# How a profile's facts are keyed in results.json's agent summaries (AgentInfo.sends,
# .accepts and .provenance, RestsOn.fact): send.* as sends.*, receive.* as accepts.*.
_SUMMARY_SECTIONS: Final = {"send": "sends", "receive": "accepts"}


def summary_key(profile_path: str) -> str:
    """A profile fact's path (`send.encryption.content`) as results.json keys it."""
    section, _, rest = profile_path.partition(".")
    return f"{_SUMMARY_SECTIONS[section]}.{rest}"


class AgentInfo(_Model):
    id: str
    name: str
    name_fr: str | None = Field(
        default=None, description="the name on French pages, where it differs from `name`"
    )
    vendor: str | None = None
    kind: str
    homologation: str
    engine: str = Field(
        description="builtin, apicrypt-model, openssl, nss, gpgsm, go-pkcs7, gnutls, pkijs, "
        "bouncycastle, command, real-product"
    )
    measurement: Measurement = Field(
        description="what its cells measure: simulated (a profile played by the suite's "
        "engine), model (the Apicrypt model), suite-reference (the suite's own agent), "
        "real-engine, real-adapter (the real product through its adapter), real-vectors "
        "(messages of the real product, observed by hand); derived from engine, kind and "
        "observed_by_hand when absent"
    )
    reference_engine: bool = False
    keys: Literal["card", "software"] | None = Field(
        default=None,
        description="where its private keys were in this run: card (the CPS card, SoftHSM2 "
        "standing in), software (in the program, or the files it reads); null where the "
        "suite does not know (an adapter's product, the Apicrypt model, messages observed)",
    )
    mime: Literal["engine", "suite"] = Field(
        default="engine",
        description="who writes the MIME around the CMS: the engine itself, or the suite (the "
        "engine does CMS only; the report says 'CMS by <engine>'); the profile's engine.mime",
    )
    observed_by_hand: bool = Field(
        default=False, description="a person operated the product and recorded what it showed"
    )
    observed: list[Observed] = Field(
        default_factory=list,
        description="how the results of a real product the suite does not drive were "
        "obtained: by-hand (a tester's record, vectors import), machine (its messages read by "
        "the suite, vectors verify, or a record a program wrote, vectors import --observed "
        "machine)",
    )
    sends: dict[str, Any] = Field(default_factory=dict, description="what it sends (summary)")
    accepts: dict[str, Any] = Field(default_factory=dict, description="what it accepts (summary)")
    provenance: dict[str, Provenance] = Field(
        default_factory=dict,
        description="where each fact of sends/accepts comes from, keyed by its dotted path "
        "(sends.signature.digest, accepts.smime.ciphers); a fact without an entry has none",
    )
    criteria: dict[str, Fact] = Field(default_factory=dict, description="comparison table facts")

    @model_validator(mode="before")
    @classmethod
    def _measured(cls, data: Any) -> Any:
        """Fill `measurement` from what runs the agent (results written before it existed)."""
        if isinstance(data, dict) and "measurement" not in data:
            measured = measurement_of(
                str(data.get("engine", "")),
                str(data.get("kind", "")),
                bool(data.get("observed_by_hand", False)),
            )
            return {**data, "measurement": measured}
        return data

    @property
    def real(self) -> bool:
        """Real software ran (an engine, an adapter, the product's own messages)."""
        return self.measurement in REAL_MEASUREMENTS


class WaiverNote(_Model):
    """A known finding waived by the run's waivers file (docs/matrix.md, CI gates): the
    cell keeps its verdict; the gates do not count what the waiver covers."""

    verdict: str = Field(
        description="the verdict waived: a cell's, a pair's, accepts or non-conformant"
    )
    reason: str
    expires: str = Field(description="ISO date; the waiver holds through that day")
    where: str = Field(description="the waiver in its file, FILE:LINE")


# Where an example that did not go through (the basic one, a counterexample) stopped: the
# sender did not send, the route did not deliver, or the receiver did not read it as sent.
FailedAt = Literal["sender", "route", "receiver"]


class Counterexample(_Model):
    description: str = Field(description="what the failing example was, in English")
    description_fr: str | None = Field(
        default=None,
        description="the same in French (absent from results.json written before it)",
    )
    reason: str
    evidence: list[str] = Field(default_factory=list)
    failed_at: FailedAt | None = Field(
        default=None,
        description="the side the failing example stopped at, as Cell.failed_at: the sender "
        "did not send it, the route did not deliver it, or the receiver did not read it as "
        "sent (the reason is that side's answer); null in results.json written before it",
    )
    repeated: bool | None = Field(
        default=None,
        description="whether the example failed again when the search replayed it (false: "
        "what was observed stands, but did not happen again; the reason then says so); null "
        "in results.json written before it",
    )


# Why the suite looked a recipient up on a tool's behalf (SuiteLookup.why), and how the
# evidence and the run's summary say it in English (the pages word it in their language).
SuiteLookupWhy = Literal["no-directory-client", "no-dirmngr"]
SUITE_LOOKUP_WHY: dict[str, str] = {
    "no-directory-client": "no directory client",
    "no-dirmngr": "dirmngr is not installed",
}


class LookupFound(_Model):
    mail: str = Field(description="the recipient's address")
    dn: str = Field(description="the directory entry found for it")
    serial: str = Field(description="the serial number (hex) of the encryption certificate chosen")


class SuiteLookup(_Model):
    """The suite's lookup in the CPS directory on behalf of a tool without a directory
    client (agents.base.SuiteLookup), as facts: the report words them in each language."""

    tool: str = Field(description="the agent the suite looked up for")
    why: SuiteLookupWhy = Field(
        description="why the tool did not look up itself: it has no directory client, or "
        "gpgsm's dirmngr is not installed here"
    )
    directory: str = Field(description="the directory, ldap://HOST:PORT/BASE")
    found: list[LookupFound] = Field(
        default_factory=list, description="the recipients found (before a failure, if any)"
    )
    failure: str | None = Field(
        default=None,
        description="the failure's kind (conformance.directory.lookup.FailureKind: absent, "
        "unreachable, timeout, ...), null when every recipient was found; a failed lookup "
        "is the suite's, never the tool's: nothing of the tool was observed",
    )
    reason: str | None = Field(
        default=None, description="the failure's reason (English, naming the address)"
    )


# Why nothing of the products was observed in a cell (NotObserved.kind): an engine not
# installed or built here, a hop of the route that cannot run here, the suite's mailbox at
# the end of every route (its Dovecot, there but not started), the suite's directory (slapd)
# missing, the message over the size the tester set on the suite's relays, the suite's own
# lookup on a tool's behalf failed.
NotObservedKind = Literal[
    "engine-missing",
    "hop-missing",
    "store-missing",
    "directory-missing",
    "route-size-limit",
    "suite-lookup-failed",
]


class NotObserved(_Model):
    """Why a cell was not observed, as facts (the reason says it in English): the report
    words them in each language."""

    kind: NotObservedKind
    agent: str | None = Field(
        default=None,
        description="engine-missing: the agent whose engine is not here; suite-lookup-failed: "
        "the tool the suite looked up for (the lookup's facts are Cell.suite_lookup)",
    )
    hop: str | None = Field(default=None, description="hop-missing: the hop that cannot run")
    size: int | None = Field(default=None, description="route-size-limit: the message's bytes")
    limit: int | None = Field(
        default=None, description="route-size-limit: the limit set (--max-message-bytes)"
    )
    detail: str | None = Field(
        default=None,
        description="the English words of what is missing or refused (a path and the package "
        "to install, the relay's answer), quoted as they are",
    )


# What a verdict rests on that its cell did not measure (RestsOn.kind): a fact of an
# agent's profile, or the layout of the suite's CPS directory (directory.tree.ASSUMED).
RestsOnKind = Literal["profile", "directory-layout"]


class RestsOn(_Model):
    """A fact a cell's verdict rests on, set where the exchange is judged, so that a verdict
    resting on an assumed fact says so: a profile fact is assumed when its agent's
    AgentInfo.provenance says so; the directory's layout is assumed (no source gives it)."""

    kind: RestsOnKind
    agent: str | None = Field(default=None, description="profile: whose profile")
    fact: str | None = Field(
        default=None,
        description="profile: the fact's dotted path, as AgentInfo.provenance keys it "
        "(accepts.smime.key_transports, sends.encryption.key_transport); directory-layout: "
        "the assumed part of the tree",
    )
    reason: str | None = Field(
        default=None, description="directory-layout: why that part is assumed (English)"
    )


# Cell.sent's entry for the format the basic message was in (smime, apicrypt, plain),
# beside the kinds of algorithm it used (matrix.sent.DECLARED_BY).
SENT_FORMAT = "format"
# How a cell's reason begins when nothing reached the receiver: the sender refused, or the
# route lost the message (matrix.exchange writes them, the report words them)
SENDER_REFUSED: Final = "sender cannot send: "
UNDELIVERED: Final = "not delivered: "


class Cell(_Model):
    sender: str
    receiver: str
    function: str
    verdict: Verdict
    observed: bool = Field(
        default=True,
        description="false when nothing of the products could be observed here (an engine "
        "not installed, a mail hop or the directory missing, a message over the size limit "
        "the tester set on the suite's relays): the verdict is unsupported, the reason says "
        "why, and the cell counts in no pair and contradicts no claim",
    )
    not_observed: NotObserved | None = Field(
        default=None,
        description="when observed is false: why, as facts the report words in its language; "
        "null on observed cells and in results.json written before it (the reason only)",
    )
    expected: Verdict | None = None
    expected_source: str | None = None
    contradiction: bool = False
    examples: int = 0
    reason: str | None = None
    counterexample: Counterexample | None = None
    services: dict[str, bool] = Field(default_factory=dict, description="services held")
    services_required: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list, description="paths relative to results.json")
    checks: str | None = Field(default=None, description="validator report of the basic message")
    sent: dict[str, list[str]] = Field(
        default_factory=dict,
        description="what the basic message really used, read from it: format (smime, "
        "apicrypt, or plain: no S/MIME layer; absent when it could not be read, and in "
        "results.json written before it), then signature_format, digest, signature, "
        "content_cipher, key_transport (engine option names or OIDs)",
    )
    nonconformant: list[str] = Field(
        default_factory=list,
        description="rule ids the basic message breaks with an ERROR under the run's policy "
        "(the sender's fault; the verdict is unchanged)",
    )
    waived: list[WaiverNote] = Field(
        default_factory=list, description="the waivers that cover this cell (run --waivers)"
    )
    failed_at: FailedAt | None = Field(
        default=None,
        description="where the basic example stopped when it did not go through: the sender "
        "did not send it, the route did not deliver it, or the receiver did not read it as "
        "sent (the reason is that side's answer); null when it went through, or when "
        "nothing of the products was observed",
    )
    rests_on: list[RestsOn] = Field(
        default_factory=list,
        description="the facts the verdict of a basic example that did not go through rests "
        "on, beside what was measured: the profile facts that refused an algorithm the "
        "message used (the receiver's accepts.smime list, the sender's choice of it), or the "
        "suite directory's assumed layout when a sender's own lookup found no certificate; "
        "empty when none is known",
    )
    suite_lookup: SuiteLookup | None = Field(
        default=None,
        description="at a first contact whose sender has no directory client of its own: "
        "the suite's lookup on its behalf (the basic example's). The recipient's certificate "
        "came from the suite, not from the tool: the verdict measures the tool's encryption "
        "and the reading; when the lookup failed, the cell is unsupported and not observed",
    )

    duration_s: float = 0.0
    transport: Transport = Field(
        default="memory",
        description="how the messages were carried: memory, or smtp (real SMTP on loopback)",
    )
    via: list[str] = Field(
        default_factory=list,
        description="the route's rewriting hops in order (gateway ids, postfix); empty: the "
        "plain route, the one every hop is compared with",
    )

    def key(self) -> CellKey:
        """The cell's identity: who, which function, and the route its messages took."""
        return (self.sender, self.receiver, self.function, self.transport, "+".join(self.via))

    @property
    def route(self) -> str:
        """The route as a person reads it (memory, smtp, smtp via footer)."""
        return route_label(self.transport, self.via)

    def where(self) -> str:
        """The cell as the gates name it (`cell_where`)."""
        return cell_where(self.sender, self.receiver, self.function, self.transport, self.via)

    @property
    def plain(self) -> bool:
        """On the plain route (no rewriting hop): the cells the matrix, the pairs and the
        published claims are about."""
        return not self.via


class Pair(_Model):
    sender: str
    receiver: str
    interop: Interop = Field(
        description="over the observed cells only (harness errors left out); full only "
        "when every function of the pair was observed"
    )
    observed: int | None = Field(
        default=None, description="functions of the pair observed (a verdict, not an error)"
    )
    functions: int | None = Field(default=None, description="functions the pair was run for")
    expected: Interop | None = None
    expected_source: str | None = None
    contradiction: bool = False
    waived: list[WaiverNote] = Field(
        default_factory=list, description="the waivers that cover this pair (run --waivers)"
    )


class Contradiction(_Model):
    sender: str
    receiver: str
    function: str | None
    expected: str
    observed: str
    source: str | None = None


class PracticeSoftware(_Model):
    editor: str
    statement: str
    status: str | None = None
    source: str | None = None


class KeyTransportChange(_Model):
    """Why a rejection case's envelopes took another key transport than the usual one
    (rejections.run.control_status): the receiver answered `usual_status` to the valid
    message made with `usual`, and was given it again with `used`."""

    used: KeyTransport = Field(
        description="the key transport of the case's envelopes (rsa-oaep-sha256)"
    )
    usual: KeyTransport = Field(description="the usual one, tried first (rsa-pkcs1v15)")
    usual_status: str = Field(
        description="the receiver's status code for the valid message with `usual` "
        "(unsupported-algorithm)"
    )
    read: bool = Field(
        description="whether the receiver read the valid message with `used` (false: it "
        "broke on it, the case is an error)"
    )


# How a case the receiver passed (outcome refuses) passed, as the judge decided it
# (rejections.judge): it refused the message, or delivered it and the policy only warns
# while it claimed a service the attack breaks, or delivered it without those services.
Passed = Literal["refused", "tolerated", "withheld"]


class RejectionCaseResult(_Model):
    """One case of a rejection cell: the hostile message a receiver got and what it did."""

    case: str
    producer: str = Field(description="who made the valid message the case alters")
    outcome: RejectionVerdict
    expected: str = Field(description="refuse, withhold:<service> or warn, under the run's policy")
    variant: str = Field(
        default="", description="what was changed and where (shrunk example), in English"
    )
    variant_fr: str | None = Field(
        default=None,
        description="the same in French (absent from results.json written before it)",
    )
    claimed: list[str] = Field(default_factory=list, description="services wrongly claimed")
    reason: str = ""
    evidence: list[str] = Field(default_factory=list, description="paths relative to results.json")
    seed: int | None = Field(default=None, description="hypothesis seed that replays the variant")
    examples: int = 0
    waived: list[WaiverNote] = Field(
        default_factory=list, description="the waivers that cover this case (run --waivers)"
    )
    key_transport: KeyTransportChange | None = Field(
        default=None,
        description="the key transport the case's envelopes used when not the usual "
        "PKCS#1 v1.5 (null: the usual one, or no envelope), and why: the suite's choice, "
        "never part of what the receiver said",
    )
    repeated: bool | None = Field(
        default=None,
        description="for an accepted case, whether the receiver accepted the same hostile "
        "message again when it was replayed (false: an intermittent acceptance, e.g. openssl "
        "decrypting with a random key whose padding happened to be valid; it still stands); "
        "null when the case was not accepted, or in results.json written before it",
    )
    passed: Passed | None = Field(
        default=None,
        description="how a case the receiver passed (outcome refuses) passed: refused (it "
        "answered with an error), tolerated (it delivered the message claiming a service the "
        "attack breaks, and the policy only warns), withheld (it delivered the message "
        "without the services the attack breaks, or without the one `expected` withholds); "
        "null for the other outcomes, and in results.json written before it",
    )


class RejectionCell(_Model):
    """One receiver against one class: refuses only when every case of the class is refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    receiver: str
    cls: str = Field(validation_alias="class", serialization_alias="class")
    verdict: RejectionVerdict
    reason: str | None = None
    not_observed: NotObserved | None = Field(
        default=None,
        description="when nothing of the receiver ran here (its engine not installed or not "
        "built: not-applicable): why, as facts the report words in its language, as "
        "Cell.not_observed; null otherwise and in results.json written before it",
    )
    cases: list[RejectionCaseResult] = Field(default_factory=list)
    waived: list[WaiverNote] = Field(
        default_factory=list,
        description="when every accepted case is waived, their waivers (run --waivers)",
    )
    duration_s: float = 0.0

    @property
    def intermittent(self) -> bool:
        """Accepts, but no accepted case was accepted again when replayed: the acceptance is
        real yet another run may refuse (diff and the regression gate do not call such a
        change the product's). `repeated` null (results.json written before it) is not."""
        accepted = [c for c in self.cases if c.outcome == "accepts"]
        return (
            self.verdict == "accepts"
            and bool(accepted)
            and all(c.repeated is False for c in accepted)
        )


class RejectionCaseInfo(_Model):
    """A case as the report explains it (copied from the case data, so the report
    needs nothing but results.json)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    id: str
    cls: str = Field(validation_alias="class", serialization_alias="class")
    function: str
    title: dict[str, str] = Field(default_factory=dict, description="language -> title")
    explanation: dict[str, str] = Field(default_factory=dict, description="one sentence")
    spec: str = ""
    spec_fr: str | None = Field(
        default=None,
        description="the spec reference with its notes in French (absent from results.json "
        "written before it)",
    )
    expected: str = Field(description="the expectation under the run's policy")


class RejectionSummary(_Model):
    receiver: str
    refuses: int = 0
    accepts: int = 0
    not_applicable: int = 0
    error: int = 0
    accepted_classes: list[str] = Field(default_factory=list)


class Rejections(_Model):
    """The rejection matrix: every receiver against hostile messages it must refuse."""

    policy: str
    duration_s: float | None = Field(default=None, description="wall time of the rejection cells")
    classes: list[str] = Field(default_factory=list)
    cases: list[RejectionCaseInfo] = Field(default_factory=list)
    cells: list[RejectionCell] = Field(default_factory=list)
    receivers: list[RejectionSummary] = Field(default_factory=list)

    def cell(self, receiver: str, cls: str) -> RejectionCell | None:
        for c in self.cells:
            if (c.receiver, c.cls) == (receiver, cls):
                return c
        return None

    def accepting(self) -> set[str]:
        """The receivers with at least one false accept."""
        return {c.receiver for c in self.cells if c.verdict == "accepts"}


class Results(_Model):
    format: Literal["osm-conformance/results/1"] = FORMAT
    run: RunInfo
    agents: list[AgentInfo]
    cells: list[Cell]
    pairs: list[Pair]
    contradictions: list[Contradiction] = Field(default_factory=list)
    practice_software: list[PracticeSoftware] = Field(default_factory=list)
    rejections: Rejections | None = Field(default=None, description="absent with --no-rejections")
    sources: dict[str, SourceRef] = Field(
        default_factory=dict, description="the sources that facts and claims cite, by id"
    )

    def cell(
        self,
        sender: str,
        receiver: str,
        function: str,
        via: Sequence[str] = (),
        transport: str | None = None,
    ) -> Cell | None:
        """The cell on the route `via` (default: the plain route), over `transport` (default:
        the one the run used; a run has one)."""
        for c in self.cells:
            if (c.sender, c.receiver, c.function) == (sender, receiver, function) and (
                tuple(c.via) == tuple(via) and transport in (None, c.transport)
            ):
                return c
        return None

    def plain_cells(self) -> list[Cell]:
        """The cells of the plain route (all of them on the memory transport)."""
        return [c for c in self.cells if c.plain]

    def variant_cells(self) -> list[Cell]:
        """The cells through a rewriting hop (`run --via`)."""
        return [c for c in self.cells if not c.plain]

    def evidence_lists(self) -> Iterator[tuple[str, list[str]]]:
        """Every list of evidence paths in the run (cells, their counterexamples, the
        rejection cases'), each with where it is, in words: changed in place by a caller
        that moves the run (`vectors import --out`)."""
        for cell in self.cells:
            where = f"cell {cell.sender} -> {cell.receiver} {cell.function}"
            yield where, cell.evidence
            if cell.counterexample is not None:
                yield f"{where} (counterexample)", cell.counterexample.evidence
        for rejection in self.rejections.cells if self.rejections else []:
            for case in rejection.cases:
                where = f"rejection cell {rejection.receiver} {rejection.cls} ({case.case})"
                yield where, case.evidence

    def dump(self, path: Path) -> None:
        tmp = path.with_suffix(".json.tmp")
        try:
            tmp.write_text(self.model_dump_json(indent=2), encoding="utf-8")
            tmp.replace(path)  # atomic: an interrupted write never leaves half a file
        except OSError:  # a full disk, PATH a folder: no stray X.json.tmp left beside it
            with contextlib.suppress(OSError):  # the first error is the one to tell
                tmp.unlink(missing_ok=True)
            raise


def load_results(path: Path) -> Results:
    """A run's results.json; UserError naming the file and what is wrong (not an object,
    no `format` or another one: not this suite's results, said before any field is)."""
    data = json_files.load(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a results.json (a JSON {_json_kind(data)}, not an object)")
    if "format" not in data:
        raise UserError(f'{path}: not a results.json (no "format")')
    if data["format"] != FORMAT:
        found = json.dumps(data["format"], ensure_ascii=False)
        found = found if len(found) <= 60 else f"{found[:60]}..."
        raise UserError(f'{path}: format {found}, this suite reads "{FORMAT}"')
    try:
        return Results.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise UserError(f"{path}: {loc}: {first['msg']} ({exc.error_count()} error(s))") from exc


URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def relative_evidence(path: str) -> bool:
    """Whether an evidence path is a plain relative one, relative to the run folder (an
    absolute path or a URL never becomes a link, nor follows the results elsewhere)."""
    return bool(path) and not path.startswith(("/", "\\")) and not URL_SCHEME.match(path)


def _json_kind(value: Any) -> str:
    kinds = ((list, "list"), (str, "string"), (bool, "boolean"), ((int, float), "number"))
    return next((word for kind, word in kinds if isinstance(value, kind)), "null")


# What a pair's verdict list may hold that says nothing of the products: a harness error,
# a cell the suite could not observe here (`pair_verdict`).
NOT_SEEN = ("error", "not-observed")


def pair_verdict(cell: Cell) -> str:
    """The cell's verdict as the pair counts it: "not-observed" for a cell not observed."""
    return cell.verdict if cell.observed else "not-observed"


def interop_of(verdicts: list[str], functions: int | None = None) -> Interop:
    """The pair's interoperability over what was observed.

    Harness errors and cells not observed (`Cell.observed`, given here as the verdict
    "not-observed") are left out: a pair of those only is not-observed, not none.
    A pair is full when every function it does passes and every one of its
    `functions` (default: one per verdict) was observed; partial when something
    passes; none when nothing does.
    """
    observed = [v for v in verdicts if v not in NOT_SEEN]
    if not observed:
        return "not-observed"
    complete = len(observed) >= (len(verdicts) if functions is None else functions)
    considered = [v for v in observed if v != "unsupported"]
    if considered and all(v == "pass" for v in considered):
        return "full" if complete else "partial"
    if any(v in ("pass", "partial") for v in considered):
        return "partial"
    return "none"


def interop_contradicts(
    expected: Interop, verdicts: list[str], functions: int | None = None
) -> bool:
    """Does what was observed of a pair contradict the claimed interoperability?

    Only a certain contradiction counts: with functions not observed, a claim of
    full is contradicted by a failure seen, a claim of none by a pass seen, and a
    claim of partial by nothing yet (the missing functions could make it true).
    """
    found = interop_of(verdicts, functions)
    if found == "not-observed":
        return False
    observed = [v for v in verdicts if v not in NOT_SEEN]
    if len(observed) >= (len(verdicts) if functions is None else functions):
        return found != expected
    if expected == "full":
        return interop_of(observed) != "full"
    if expected == "none":
        return found != "none"
    return False


def rejection_summaries(cells: list[RejectionCell]) -> list[RejectionSummary]:
    """Per receiver, how many classes it refuses, accepts, ... (in the cells' order)."""
    found: dict[str, RejectionSummary] = {}
    for cell in cells:
        summary = found.setdefault(cell.receiver, RejectionSummary(receiver=cell.receiver))
        key = cell.verdict.replace("-", "_")
        setattr(summary, key, getattr(summary, key) + 1)
        if cell.verdict == "accepts":
            summary.accepted_classes.append(cell.cls)
    return list(found.values())


def json_schema() -> dict[str, Any]:
    return Results.model_json_schema()
