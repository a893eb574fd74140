"""The source document's table of practice software, as data.

Which editor of practice software ("logiciel de gestion de cabinet", LGC)
will offer an OSM-homologable secure mail, in the source's own words, and
which shipped profiles are its products. Reports show it beside the matrix.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Literal

from pydantic import Field

from conformance.paths import PROFILES_DIR
from conformance.profiles.loader import (
    Loc,
    Problem,
    ProfileError,
    load_sources,
    place,
    profile_paths,
    read_document,
    validate,
)
from conformance.profiles.schema import DateText, ProfileId, Section, SourceId, Text

PRACTICE_FILE = PROFILES_DIR / "practice-software.yaml"

EditorStatus = Literal[
    "planned", "developed-homologation-pending", "marketed", "in-development", "no"
]


class Editor(Section):
    editor: Text = Field(description="Editor of practice software ('Editeur de LGC').")
    practice_software: list[Text] = Field(description="Its practice software named by the source.")
    offers_osm: bool = Field(description="Will offer an OSM-homologable secure mail (Oui/Non).")
    status: EditorStatus = Field(description="Where that stands, from the source's answer.")
    products: list[ProfileId] = Field(description="Shipped profiles of its secure mail tools.")
    answer: Text = Field(description="The source's answer, verbatim.")


class Situation(Section):
    editors: list[Text] = Field(min_length=1, description="Editors the advice is for.")
    products: list[ProfileId] = Field(description="Profiles the advice names.")
    text: Text = Field(description="The advice, verbatim (French).")


class Advice(Section):
    source: SourceId
    date: DateText
    situations: list[Situation]


class PracticeSoftware(Section):
    source: SourceId = Field(description="Source of the table.")
    question: Text = Field(description="The table's column heading, verbatim.")
    editors: list[Editor] = Field(min_length=1)
    advice: Advice | None = None


def load_practice_software(
    path: Path = PRACTICE_FILE, profile_ids: Collection[str] | None = None
) -> PracticeSoftware:
    table, problems = _load(path, profile_ids)
    if table is None or problems:
        raise ProfileError(problems)
    return table


def lint_practice_software(
    path: Path = PRACTICE_FILE, profile_ids: Collection[str] | None = None
) -> list[Problem]:
    return _load(path, profile_ids)[1]


def _load(
    path: Path, profile_ids: Collection[str] | None
) -> tuple[PracticeSoftware | None, list[Problem]]:
    doc, problems = read_document(path)
    if doc is None:
        return None, problems
    origins = doc.origins()
    table, problems = validate(PracticeSoftware, doc.data, origins, path)
    if table is None:
        return None, problems
    ids = set(profile_ids) if profile_ids is not None else {p.stem for p in profile_paths()}
    sources, found = load_sources([path.parent / "sources.yaml"])
    problems += found
    names = {e.editor for e in table.editors}

    def check(loc: Loc, ok: bool, message: str) -> None:
        if not ok:
            problems.append(place(origins, loc, message, path))

    check(("source",), table.source in sources, f"unknown source {table.source!r}")
    for i, editor in enumerate(table.editors):
        for j, product in enumerate(editor.products):
            check(("editors", i, "products", j), product in ids, f"unknown profile {product!r}")
    if table.advice is not None:
        check(("advice", "source"), table.advice.source in sources, "unknown source")
        for i, situation in enumerate(table.advice.situations):
            for j, name in enumerate(situation.editors):
                check(
                    ("advice", "situations", i, "editors", j),
                    name in names,
                    f"unknown editor {name!r}",
                )
            for j, product in enumerate(situation.products):
                loc: Loc = ("advice", "situations", i, "products", j)
                check(loc, product in ids, f"unknown profile {product!r}")
    return table, problems
