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
    Problem,
    ProfileError,
    place,
    read_document,
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
    origins = doc.origins()
    practice, problems = validate(Practice, doc.data, origins, path)
    if practice is None:
        return None, problems
    known = sorted(tools)
    for i, correspondent in enumerate(practice.correspondents):
        if correspondent.tool not in tools:
            problems.append(
                place(
                    origins,
                    ("correspondents", i, "tool"),
                    f"unknown tool {correspondent.tool!r} (known: {', '.join(known)})",
                    path,
                )
            )
    name = practice.practice_software
    if name is not None and table.editor_named(name) is None:
        names = ", ".join(table.known_names())
        message = f"{name!r} is not in the practice software table (known: {names})"
        problems.append(place(origins, ("practice_software",), message, path))
    return practice, problems


def json_schema() -> dict[str, Any]:
    schema = Practice.model_json_schema()
    schema["title"] = "osm-conformance practice (choose)"
    schema["description"] = "The situation of one practice, for `osm-conformance choose`."
    return schema
