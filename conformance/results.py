"""results.json: the whole outcome of a run, the only input of the reports.

Pydantic models so that the file has a JSON Schema (docs/results.schema.json,
generated) and a report can refuse a file that does not follow it with a
message naming the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conformance.errors import UserError

FORMAT: Literal["osm-conformance/results/1"] = "osm-conformance/results/1"

Verdict = Literal["pass", "partial", "fail", "unsupported", "error"]
RejectionVerdict = Literal["refuses", "accepts", "not-applicable", "error"]
Interop = Literal["full", "partial", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class AgentInfo(_Model):
    id: str
    name: str
    vendor: str | None = None
    kind: str
    homologation: str
    engine: str = Field(description="builtin, apicrypt-model, openssl, nss, gpgsm, command")
    reference_engine: bool = False
    observed_by_hand: bool = False
    sends: dict[str, Any] = Field(default_factory=dict, description="what it sends (summary)")
    accepts: dict[str, Any] = Field(default_factory=dict, description="what it accepts (summary)")
    criteria: dict[str, Fact] = Field(default_factory=dict, description="comparison table facts")


class Counterexample(_Model):
    description: str
    reason: str
    evidence: list[str] = Field(default_factory=list)


class Cell(_Model):
    sender: str
    receiver: str
    function: str
    verdict: Verdict
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
        description="what the basic message really used, read from it: signature_format, "
        "digest, signature, content_cipher, key_transport (engine option names or OIDs)",
    )
    nonconformant: list[str] = Field(
        default_factory=list,
        description="rule ids the basic message breaks with an ERROR under the run's policy "
        "(the sender's fault; the verdict is unchanged)",
    )
    duration_s: float = 0.0


class Pair(_Model):
    sender: str
    receiver: str
    interop: Interop
    expected: Interop | None = None
    expected_source: str | None = None
    contradiction: bool = False


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


class RejectionCaseResult(_Model):
    """One case of a rejection cell: the hostile message a receiver got and what it did."""

    case: str
    producer: str = Field(description="who made the valid message the case alters")
    outcome: RejectionVerdict
    expected: str = Field(description="refuse, withhold:<service> or warn, under the run's policy")
    variant: str = Field(default="", description="what was changed and where (shrunk example)")
    claimed: list[str] = Field(default_factory=list, description="services wrongly claimed")
    reason: str = ""
    evidence: list[str] = Field(default_factory=list, description="paths relative to results.json")
    seed: int | None = Field(default=None, description="hypothesis seed that replays the variant")
    examples: int = 0


class RejectionCell(_Model):
    """One receiver against one class: refuses only when every case of the class is refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    receiver: str
    cls: str = Field(validation_alias="class", serialization_alias="class")
    verdict: RejectionVerdict
    reason: str | None = None
    cases: list[RejectionCaseResult] = Field(default_factory=list)
    duration_s: float = 0.0


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

    def cell(self, sender: str, receiver: str, function: str) -> Cell | None:
        for c in self.cells:
            if (c.sender, c.receiver, c.function) == (sender, receiver, function):
                return c
        return None

    def dump(self, path: Path) -> None:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(path)  # atomic: an interrupted write never leaves half a file


def load_results(path: Path) -> Results:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no such file") from exc
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from exc
    try:
        return Results.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise UserError(f"{path}: {loc}: {first['msg']} ({exc.error_count()} error(s))") from exc


def interop_of(verdicts: list[str]) -> Interop:
    """A pair is full when every function it does passes, none when nothing passes."""
    considered = [v for v in verdicts if v != "unsupported"]
    if considered and all(v == "pass" for v in considered):
        return "full"
    if any(v in ("pass", "partial") for v in considered):
        return "partial"
    return "none"


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
