"""The two manifests: what `vectors export` writes, what `vectors verify` reads.

Both are JSON with a pydantic model, so that a bad file is refused with a
message naming the file and the field at fault (documented in docs/vectors.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conformance import json_files
from conformance.core.vocabulary import FUNCTIONS
from conformance.errors import UserError
from conformance.profiles.loader import Loc, describe_errors
from conformance.profiles.schema import section_model
from conformance.profiles.yaml_lines import format_loc
from conformance.results import Verdict

MANIFEST_FILE = "manifest.json"
M = TypeVar("M", bound=BaseModel)
EXPORT_FORMAT: Literal["osm-conformance/vectors/1"] = "osm-conformance/vectors/1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Claim(_Model):
    """The published claim about this cell (profiles/claims.yaml), when there is one."""

    value: str
    claim: str
    source: str
    quote: str


class Vector(_Model):
    file: str = Field(description="the message, relative to the export directory")
    sender: str = Field(description="profile id of the agent that wrote it")
    sender_identity: str
    function: str
    expected: Verdict | None = Field(
        description="verdict of a reader that follows the standard (expected_reader: the "
        "reference agent with software keys under osm-2008; the product's profile for an "
        "Apicrypt-model message), judged as in the matrix; null when the harness broke"
    )
    expected_reason: str | None = None
    expected_services: dict[str, bool] = Field(default_factory=dict)
    expected_reader: str = Field(
        default="reference (software keys)", description="who read the message for `expected`"
    )
    profile_expected: Verdict | None = Field(
        default=None,
        description="what the product's own profile predicts (its agent, software keys: no "
        "token limits)",
    )
    profile_reason: str | None = None
    claim: Claim | None = None
    plaintext: str = Field(description="the MIME entity the sender's user composed")
    readable: str = Field(description="the same content for a human: letter text, file digests")
    sha256: str


class Skipped(_Model):
    sender: str
    function: str
    reason: str


class NegativeVector(_Model):
    """A hostile message the product must refuse (the rejection matrix's basic variant)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    file: str = Field(description="the message, relative to the export directory")
    case: str = Field(description="rejection case id (conformance/rejections/cases.yaml)")
    cls: str = Field(validation_alias="class", serialization_alias="class")
    function: str
    producer: str = Field(description="who made the valid message the case alters")
    variant: str = Field(description="what was changed and where")
    variant_fr: str | None = Field(
        default=None,
        description="the same in French, for the French report pages (absent from "
        "manifests written before it)",
    )
    expected: dict[str, str] = Field(
        description="per policy: refuse, withhold:<service> or warn (see docs/vectors.md)"
    )
    breaks: list[str] = Field(description="the services the product must not show")
    profile_outcome: str | None = Field(
        default=None,
        description="what the product's own profile agent did with it under osm-2008 "
        "(refuses, accepts, not-applicable, error)",
    )
    title: str
    explanation: str
    spec: str
    sha256: str
    crls: list[str] = Field(
        default_factory=list,
        description="PEM CRLs of the issuers the case made, relative to the export directory: "
        "the product is given them with the message, as it would fetch an issuer's CRL "
        "(absent from manifests written before them)",
    )


class ExportManifest(_Model):
    format: Literal["osm-conformance/vectors/1"] = EXPORT_FORMAT
    product: str = Field(description="profile id the vectors are for")
    recipient: str = Field(description="identity id every vector is addressed to")
    recipient_email: str
    sender_identity: str = Field(description="identity id the product sends from")
    seed: int
    date: str
    vectors: list[Vector]
    skipped: list[Skipped] = Field(default_factory=list)
    negatives: list[NegativeVector] = Field(
        default_factory=list, description="hostile messages the product must refuse"
    )


class Message(_Model):
    """One message the product wrote (verify's input)."""

    file: str = Field(description="the .eml file, relative to the manifest")
    recipient: str = Field(description="the identity id the product addressed it to")
    function: str = Field(description="one of " + ", ".join(FUNCTIONS))
    plaintext: str | None = Field(
        default=None, description="file with what the product's user composed (MIME or text)"
    )
    sender: str | None = Field(default=None, description="identity id the product signed as")
    crls: list[str] = Field(
        default_factory=list,
        description="CRL files, relative to the manifest, the message needs beside the "
        "identities' (an issuer's CRL a product would fetch: a negative vector's `crls`)",
    )


class VerifyManifest(_Model):
    messages: list[Message] = Field(min_length=1)


@dataclass
class Entry:
    """One entry of verify's manifest as far as its shape goes: its message (None when a
    field is missing or of the wrong type: then checked no further) and its shape's
    problems (an unknown key leaves the other fields readable, so they are checked too)."""

    message: Message | None
    problems: list[str]


@dataclass
class VerifyEntries:
    """verify's manifest as far as its shape goes: each entry, and what is wrong with the
    manifest's own keys."""

    messages: list[Entry]
    problems: list[str]


def _shape_problems(
    model: type[BaseModel], exc: ValidationError, path: Path, at: Loc = ()
) -> list[tuple[Loc, str]]:
    """Every error of `exc` (`model` validated at `at` in the file), one line each, placed as
    verify's other checks place theirs (`manifest.json: messages[2].file: ...`) in the words
    `profiles lint` uses, with what a missing field holds."""
    lines = []
    for (loc, message), error in zip(describe_errors(model, exc), exc.errors(), strict=True):
        if error["type"] == "missing":
            wanted = _description(model, loc)
            message += f"; expected {wanted}" if wanted else ""
        elif error["type"] == "too_short":
            message = f"empty; expected at least {(error.get('ctx') or {}).get('min_length')} entry"
        place = format_loc((*at, *loc)) or "(top level)"
        lines.append(((*at, *loc), f"{path}: {place}: {message}"))
    return lines


def _description(model: type[BaseModel], loc: Loc) -> str | None:
    """The description of the field at `loc` (list indexes skipped), if it has one."""
    current: type[BaseModel] | None = model
    found = None
    for part in (p for p in loc if isinstance(p, str)):
        if current is None or part not in current.model_fields:
            return None
        found = current.model_fields[part]
        current = section_model(found.annotation)
    return found.description if found is not None else None


def _validate(model: type[M], data: Any, path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UserError("\n".join(line for _, line in _shape_problems(model, exc, path))) from None


def load_export_manifest(directory: Path) -> ExportManifest:
    path = directory / MANIFEST_FILE if directory.is_dir() else directory
    return _validate(ExportManifest, json_files.load_object(path), path)


def load_verify_manifest(directory: Path) -> VerifyEntries:
    """Every entry of DIR/manifest.json with its shape's problems, so that verify lists them
    with the other checks' in one pass; a manifest with no list of messages at all is
    refused here."""
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory (expected the product's messages)")
    path = directory / MANIFEST_FILE
    data = json_files.load_object(path)
    try:
        messages = VerifyManifest.model_validate(data).messages
        return VerifyEntries([Entry(m, []) for m in messages], [])
    except ValidationError as exc:
        problems = _shape_problems(VerifyManifest, exc, path)
    raw = data.get("messages")
    if not isinstance(raw, list) or not raw:
        raise UserError("\n".join(line for _, line in problems))
    entries = [_entry(item, path, index) for index, item in enumerate(raw)]
    own = [line for loc, line in problems if not (loc[:1] == ("messages",) and len(loc) > 1)]
    return VerifyEntries(entries, own)


def _entry(item: Any, path: Path, index: int) -> Entry:
    """One entry of verify's manifest: with only unknown keys wrong, its message without them
    (their lines kept), so that its other fields are checked in the same pass."""
    try:
        return Entry(Message.model_validate(item), [])
    except ValidationError as exc:
        errors = exc.errors()
        lines = [line for _, line in _shape_problems(Message, exc, path, ("messages", index))]
    if not all(error["type"] == "extra_forbidden" for error in errors):
        return Entry(None, lines)
    known = {key: value for key, value in item.items() if key in Message.model_fields}
    return Entry(Message.model_validate(known), lines)


def dump(model: BaseModel, path: Path) -> None:
    path.write_text(model.model_dump_json(indent=2) + "\n", encoding="utf-8")
