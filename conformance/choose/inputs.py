"""The practice's own situation, read from a small YAML file (docs/choose.md).

What « Comment choisir ? » asks a practitioner: the practice software, the
platform, one site or several, the workstation, and who the correspondents are
(which tool each uses, how many of them, whether they send HPRIM-Net). A bad
file is a list of problems, each naming its file, line and field.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from conformance.profiles.loader import (
    Document,
    Problem,
    ProfileError,
    place,
    read_document,
    valid_id,
    validate,
)
from conformance.profiles.practice import PracticeSoftware
from conformance.profiles.schema import ProfileId, Section, Text

# The profiles' platform values a workstation can be (a webmail's `web` is not one).
PracticePlatform = Literal["windows", "macos", "linux"]
Sites = Literal["single", "multi"]


class Workstation(Section):
    """The practice's workstation, for the configuration criterion."""

    ram_mb: int | None = Field(default=None, gt=0, description="Its RAM, in MB.")
    disk_mb: int | None = Field(default=None, gt=0, description="Its free disk space, in MB.")


class Correspondent(Section):
    """Correspondents who use one tool."""

    tool: ProfileId = Field(description="The profile id of the tool they use.")
    count: int = Field(default=1, ge=1, description="How many of them.")
    hprim_net: bool = Field(
        default=False, description="They send HPRIM-Net lab results (a laboratory)."
    )


class Practice(Section):
    """One practice: what `osm-conformance choose` ranks the tools for."""

    practice_software: Text | None = Field(
        default=None,
        description="Its practice software or the software's editor, as the source's table "
        "names them (Crossway, HelloDoc, MédiStory, Sephira, ...); absent: none.",
    )
    platform: PracticePlatform = Field(description="The workstation's platform.")
    sites: Sites = Field(default="single", description="single or multi (several sites).")
    workstation: Workstation | None = Field(default=None, description="RAM and disk, optional.")
    correspondents: list[Correspondent] = Field(
        default_factory=list, description="Who the practice exchanges with, and their tools."
    )


def load_practice(path: Path, tools: Collection[str], table: PracticeSoftware) -> Practice:
    """The practice of a YAML file, checked against the known tools and the practice
    software table; every problem at once, as FILE:LINE: FIELD: message."""
    practice, problems = _read(path, tools, table)
    if practice is None or problems:
        raise ProfileError(problems)
    return practice


def _read(
    path: Path, tools: Collection[str], table: PracticeSoftware
) -> tuple[Practice | None, list[Problem]]:
    doc, problems = read_document(path)
    if doc is None:
        return None, problems
    practice, problems = validate(Practice, doc.data, doc.origins(), path)
    # Checked on the file's values, not the validated practice: said beside the schema's.
    problems += _unknown(doc, tools, table)
    return practice, sorted(problems, key=lambda p: p.line or 0)


def _unknown(doc: Document, tools: Collection[str], table: PracticeSoftware) -> list[Problem]:
    """The tools and the practice software the file names that are not known (a value of
    the wrong type or form is the schema's to say)."""
    origins, problems = doc.origins(), []
    known = ", ".join(sorted(tools))
    correspondents = doc.data.get("correspondents")
    for i, item in enumerate(correspondents if isinstance(correspondents, list) else []):
        tool = item.get("tool") if isinstance(item, dict) else None
        if isinstance(tool, str) and valid_id(tool) and tool not in tools:
            message = f"unknown tool {tool!r} (known: {known})"
            problems.append(place(origins, ("correspondents", i, "tool"), message, doc.path))
    name = doc.data.get("practice_software")
    if isinstance(name, str) and name and table.editor_named(name) is None:
        names = ", ".join(table.known_names())
        message = f"{name!r} is not in the practice software table (known: {names})"
        problems.append(place(origins, ("practice_software",), message, doc.path))
    return problems


def json_schema() -> dict[str, Any]:
    schema = Practice.model_json_schema()
    schema["title"] = "osm-conformance practice (choose)"
    schema["description"] = "The situation of one practice, for `osm-conformance choose`."
    return schema
