"""The two manifests: what `vectors export` writes, what `vectors verify` reads.

Both are JSON with a pydantic model, so that a bad file is refused with a
message naming the file and the field at fault (documented in docs/vectors.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conformance import json_files
from conformance.errors import UserError
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
    recipient: str = Field(description="identity id the product addressed it to")
    function: str
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


def _validate(model: type[M], data: Any, path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"{path}: {loc}: {err['msg']}")
        more = exc.error_count() - len(problems)
        tail = f"\n... and {more} more" if more > 0 else ""
        raise UserError("\n".join(problems) + tail) from None


def load_export_manifest(directory: Path) -> ExportManifest:
    path = directory / MANIFEST_FILE if directory.is_dir() else directory
    return _validate(ExportManifest, json_files.load(path), path)


def load_verify_manifest(directory: Path) -> VerifyManifest:
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory (expected the product's messages)")
    path = directory / MANIFEST_FILE
    return _validate(VerifyManifest, json_files.load(path), path)


def dump(model: BaseModel, path: Path) -> None:
    path.write_text(model.model_dump_json(indent=2) + "\n", encoding="utf-8")
