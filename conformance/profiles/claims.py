"""The interoperability claims of the source document, as expectations.

`profiles/claims.yaml` says what the source publishes (OSM products all
interoperate; Apicrypt and the OSM clients do not; Apicrypt and EASYCRYPT.net
only for encryption; HPRIM-Net is read by the OSM tools and not by
Apicrypt). The matrix puts `expected(...)` beside each observed verdict, so
the report can show where measurement and claim agree, with the citation.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Generic, Literal, TypeVar

from pydantic import Field

from conformance.core.vocabulary import Function
from conformance.paths import PROFILES_DIR
from conformance.profiles.loader import (
    Loc,
    Problem,
    ProfileError,
    load_sources,
    place,
    read_document,
    sources_file,
    validate,
)
from conformance.profiles.schema import ComplianceClaim, Section, SourceId, Text

Verdict = Literal["pass", "partial", "fail", "unsupported"]
Interop = Literal["full", "partial", "none"]
V = TypeVar("V")

CLAIMS_FILE = PROFILES_DIR / "claims.yaml"


class _Cited(Section):
    source: SourceId = Field(description="Source id (profiles/sources.yaml).")
    quote: Text = Field(description="The source's own words.")
    note: str | None = Field(default=None, description="How the words became this claim.")


class Group(_Cited):
    members: list[str] = Field(min_length=1, description="Profile ids.")


class PairClaim(_Cited):
    id: Text
    senders: list[str] = Field(min_length=1, description="Profile ids or @group.")
    receivers: list[str] = Field(min_length=1, description="Profile ids or @group.")
    both_ways: bool = Field(description="The claim also holds from receivers to senders.")
    interoperability: Interop
    functions: dict[Function, Verdict] = Field(description="Expected verdict per function.")


class HprimNetClaim(_Cited):
    read_by: list[str]
    not_read_by: list[str]


class ComplianceEntry(_Cited):
    products: list[str] = Field(min_length=1)
    compliance: ComplianceClaim
    reason: str | None = None


class ClaimsFile(Section):
    groups: dict[str, Group] = Field(default_factory=dict)
    pairs: list[PairClaim] = Field(default_factory=list)
    hprim_net: HprimNetClaim | None = None
    compliance: list[ComplianceEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class Expectation(Generic[V]):
    """An expected value and where the source says it."""

    value: V
    claim: str
    source: str
    quote: str


@dataclass
class Claims:
    cells: dict[tuple[str, str, Function], Expectation[Verdict]]
    pairs: dict[tuple[str, str], Expectation[Interop]]
    compliance: dict[str, Expectation[ComplianceClaim]]

    def expected(
        self, sender: str, receiver: str, function: Function
    ) -> Expectation[Verdict] | None:
        return self.cells.get((sender, receiver, function))

    def expected_pair(self, sender: str, receiver: str) -> Expectation[Interop] | None:
        return self.pairs.get((sender, receiver))


def load_claims(path: Path = CLAIMS_FILE, profile_ids: Collection[str] | None = None) -> Claims:
    """Read and check a claims file; `profile_ids` (default: the shipped profiles) are its ids."""
    claims, problems = _load(path, profile_ids)
    if claims is None or problems:
        raise ProfileError(problems)
    return claims


def lint_claims(
    path: Path = CLAIMS_FILE, profile_ids: Collection[str] | None = None
) -> list[Problem]:
    return _load(path, profile_ids)[1]


def _load(path: Path, profile_ids: Collection[str] | None) -> tuple[Claims | None, list[Problem]]:
    doc, problems = read_document(path)
    if doc is None:
        return None, problems
    origins = doc.origins()
    data, problems = validate(ClaimsFile, doc.data, origins, path)
    if data is None:
        return None, problems
    if profile_ids is None:
        from conformance.profiles.loader import profile_paths

        profile_ids = {p.stem for p in profile_paths()}
    sources, found = load_sources([sources_file(path.parent)])
    problems += found
    builder = _Builder(data, set(profile_ids), set(sources), origins, path)
    claims = builder.build()
    return claims, problems + builder.problems


class _Builder:
    def __init__(
        self,
        data: ClaimsFile,
        ids: set[str],
        sources: set[str],
        origins: dict[Loc, tuple[Path, int]],
        path: Path,
    ) -> None:
        self.data, self.ids, self.sources, self.origins, self.path = (
            data,
            ids,
            sources,
            origins,
            path,
        )
        self.problems: list[Problem] = []
        self.claims = Claims({}, {}, {})

    def problem(self, loc: Loc, message: str) -> None:
        self.problems.append(place(self.origins, loc, message, self.path))

    def members(self, names: list[str], loc: Loc) -> list[str]:
        out: list[str] = []
        for index, name in enumerate(names):
            if name.startswith("@"):
                group = self.data.groups.get(name[1:])
                if group is None:
                    self.problem((*loc, index), f"unknown group {name!r}")
                else:
                    out.extend(group.members)
            elif name not in self.ids:
                self.problem((*loc, index), f"unknown profile {name!r}")
            else:
                out.append(name)
        return out

    def cite(self, loc: Loc, cited: _Cited) -> None:
        if cited.source not in self.sources:
            self.problem((*loc, "source"), f"unknown source {cited.source!r}")

    def set_cell(self, loc: Loc, key: tuple[str, str, Function], exp: Expectation[Verdict]) -> None:
        old = self.claims.cells.get(key)
        if old is not None and old.value != exp.value:
            self.problem(
                loc,
                f"{'→'.join(key[:2])} {key[2]}: {exp.value} contradicts "
                f"{old.value} of claim {old.claim!r}",
            )
        self.claims.cells.setdefault(key, exp)

    def build(self) -> Claims:
        for name, group in self.data.groups.items():
            self.cite(("groups", name), group)
            self.members(group.members, ("groups", name, "members"))
        for index, pair in enumerate(self.data.pairs):
            self.pair(("pairs", index), pair)
        if self.data.hprim_net is not None:
            self.hprim(("hprim_net",), self.data.hprim_net)
        for index, entry in enumerate(self.data.compliance):
            loc: Loc = ("compliance", index)
            self.cite(loc, entry)
            for product in self.members(entry.products, (*loc, "products")):
                self.claims.compliance[product] = Expectation(
                    entry.compliance, f"compliance[{index}]", entry.source, entry.quote
                )
        return self.claims

    def pair(self, loc: Loc, pair: PairClaim) -> None:
        self.cite(loc, pair)
        senders = self.members(pair.senders, (*loc, "senders"))
        receivers = self.members(pair.receivers, (*loc, "receivers"))
        directions = [(s, r) for s in senders for r in receivers]
        if pair.both_ways:
            directions += [(r, s) for s, r in directions]
        for sender, receiver in directions:
            key = (sender, receiver)
            exp = Expectation(pair.interoperability, pair.id, pair.source, pair.quote)
            old = self.claims.pairs.get(key)
            if old is not None and old.value != exp.value:
                self.problem(
                    (*loc, "interoperability"),
                    f"{sender}→{receiver}: {exp.value} contradicts "
                    f"{old.value} of claim {old.claim!r}",
                )
            self.claims.pairs.setdefault(key, exp)
            for function, verdict in pair.functions.items():
                cell = Expectation(verdict, pair.id, pair.source, pair.quote)
                self.set_cell((*loc, "functions", function), (sender, receiver, function), cell)

    def hprim(self, loc: Loc, claim: HprimNetClaim) -> None:
        self.cite(loc, claim)
        readers = self.members(claim.read_by, (*loc, "read_by"))
        others = self.members(claim.not_read_by, (*loc, "not_read_by"))
        for sender in readers:
            for receiver in readers:
                exp: Expectation[Verdict] = Expectation(
                    "pass", "hprim_net", claim.source, claim.quote
                )
                self.set_cell((*loc, "read_by"), (sender, receiver, "hprim-net"), exp)
            for receiver in others:
                exp = Expectation("unsupported", "hprim_net", claim.source, claim.quote)
                self.set_cell((*loc, "not_read_by"), (sender, receiver, "hprim-net"), exp)


@lru_cache(maxsize=1)
def shipped_claims() -> Claims:
    """The claims shipped in profiles/claims.yaml (loaded once per process)."""
    return load_claims()


def expected(sender: str, receiver: str, function: Function) -> Expectation[Verdict] | None:
    """The verdict the source document leads to expect for a cell, with its citation."""
    return shipped_claims().expected(sender, receiver, function)


def expected_pair(sender: str, receiver: str) -> Expectation[Interop] | None:
    """The interoperability the source document claims for a pair (one direction)."""
    return shipped_claims().expected_pair(sender, receiver)
