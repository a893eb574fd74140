"""The source document's table of practice software, as data, with the rules of choice.

Which editor of practice software ("logiciel de gestion de cabinet", LGC)
will offer an OSM-homologable secure mail, in the source's own words, and
which shipped profiles are its products. Reports show it beside the matrix.
The same table holds the rules of « Comment choisir ? » that `osm-conformance
choose` applies (which tools a practice software integrates, the multi-site,
Macintosh and configuration rules, the order of the ranked criteria), each
quoting the source or marked assumed with its reason (docs/choose.md).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from conformance.core.vocabulary import Function
from conformance.paths import PROFILES_DIR
from conformance.profiles.checks import citation_rules
from conformance.profiles.loader import (
    Loc,
    Problem,
    ProfileError,
    load_sources,
    place,
    profile_paths,
    read_document,
    sources_file,
    validate,
)
from conformance.profiles.schema import (
    Citation,
    DateText,
    Kind,
    ProfileId,
    Section,
    SourceId,
    Text,
    UniqueList,
)

PRACTICE_FILE = PROFILES_DIR / "practice-software.yaml"

EditorStatus = Literal[
    "planned", "developed-homologation-pending", "marketed", "in-development", "no"
]


# The ranked criteria of `choose`, after "not excluded" (rules.order gives their order).
RankKey = Literal["interoperability", "multi-site", "integration", "compliance", "installation"]
RANK_KEYS: tuple[RankKey, ...] = (
    "interoperability",
    "multi-site",
    "integration",
    "compliance",
    "installation",
)


class Integration(Section):
    """How well the editor's practice software takes each tool, in the source's words."""

    same_for_all: bool = Field(
        default=False,
        description="The source says importing and exporting is the same whatever the tool.",
    )
    tools: UniqueList[ProfileId] = Field(
        default_factory=list, description="Profiles of the tools it integrates."
    )
    cite: Citation = Field(description="The source's words, or assumed with its reason.")

    @model_validator(mode="after")
    def _one_kind(self) -> Integration:
        if self.same_for_all == bool(self.tools):
            raise ValueError("give either same_for_all: true or the tools it integrates")
        return self


class Editor(Section):
    editor: Text = Field(description="Editor of practice software ('Editeur de LGC').")
    practice_software: list[Text] = Field(description="Its practice software named by the source.")
    also_named: UniqueList[Text] = Field(
        default_factory=list,
        description="Other names the source gives the editor (a practice may name it so).",
    )
    offers_osm: bool = Field(description="Will offer an OSM-homologable secure mail (Oui/Non).")
    status: EditorStatus = Field(description="Where that stands, from the source's answer.")
    products: list[ProfileId] = Field(description="Shipped profiles of its secure mail tools.")
    answer: Text = Field(description="The source's answer, verbatim.")
    integration: Integration | None = Field(
        default=None, description="The rule of choice for its practice software (choose)."
    )

    def names(self) -> list[str]:
        """Every name a practice may give: the editor's, its software's, its other names."""
        return [self.editor, *self.practice_software, *self.also_named]


class Situation(Section):
    editors: list[Text] = Field(min_length=1, description="Editors the advice is for.")
    products: list[ProfileId] = Field(description="Profiles the advice names.")
    text: Text = Field(description="The advice, verbatim (French).")


class Advice(Section):
    source: SourceId
    date: DateText
    situations: list[Situation]


class Rule(Section):
    """A rule of choice: the source's words (or assumed, with the reason)."""

    cite: Citation = Field(description="The source's words, or assumed with its reason.")


class InteropRule(Rule):
    functions: UniqueList[Function] = Field(
        min_length=1,
        description="Functions that must pass both ways with a correspondent for it to count.",
    )
    hprim_function: Function = Field(
        description="The function that must pass from a correspondent marked hprim_net."
    )


class MultiSiteRule(Rule):
    kinds: UniqueList[Kind] = Field(
        min_length=1, description="Kinds of tool a multi-site practice gets first (webmail)."
    )


class Rules(Section):
    """The rules of « Comment choisir ? » that `osm-conformance choose` applies."""

    order: UniqueList[RankKey] = Field(
        description="The ranked criteria, best first, after 'not excluded'; each once."
    )
    order_cite: Citation = Field(description="Why this order.")
    interoperability: InteropRule
    multi_site: MultiSiteRule = Field(alias="multi-site")
    integration: Rule
    compliance: Rule
    installation: Rule
    platform: Rule = Field(description="Excludes a tool known not to run on the platform.")
    configuration: Rule = Field(description="Excludes a tool that needs more than the workstation.")
    cost: Rule = Field(description="Not a criterion: shown as the source says it.")

    @model_validator(mode="after")
    def _every_key(self) -> Rules:
        missing = [k for k in RANK_KEYS if k not in self.order]
        if missing:
            raise ValueError(f"order: missing {', '.join(missing)}")
        return self

    def cited(self) -> list[tuple[str, Citation]]:
        """Every rule's citation, keyed by the rule's name in the file."""
        out: list[tuple[str, Citation]] = [("order_cite", self.order_cite)]
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, Rule):
                out.append((field.alias or name, value.cite))
        return out


class PracticeSoftware(Section):
    source: SourceId = Field(description="Source of the table.")
    question: Text = Field(description="The table's column heading, verbatim.")
    editors: list[Editor] = Field(min_length=1)
    advice: Advice | None = None
    rules: Rules | None = Field(default=None, description="The rules of choice (choose).")

    def editor_named(self, name: str) -> Editor | None:
        """The editor a practice names by any of its names (case and accents aside)."""
        wanted = fold(name)
        return next((e for e in self.editors if wanted in map(fold, e.names())), None)

    def known_names(self) -> list[str]:
        return [n for e in self.editors for n in e.names()]


def fold(name: str) -> str:
    """A name compared without case or accents (MédiStory, Medistory, medistory)."""
    decomposed = unicodedata.normalize("NFKD", name.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


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
    sources, found = load_sources([sources_file(path.parent)])
    problems += found
    names = {e.editor for e in table.editors}

    def check(loc: Loc, ok: bool, message: str) -> None:
        if not ok:
            problems.append(place(origins, loc, message, path))

    check(("source",), table.source in sources, f"unknown source {table.source!r}")
    cited: list[tuple[Loc, Citation]] = []
    for i, editor in enumerate(table.editors):
        for j, product in enumerate(editor.products):
            check(("editors", i, "products", j), product in ids, f"unknown profile {product!r}")
        if editor.integration is not None:
            loc_i: Loc = ("editors", i, "integration")
            for j, product in enumerate(editor.integration.tools):
                check((*loc_i, "tools", j), product in ids, f"unknown profile {product!r}")
            cited.append(((*loc_i, "cite"), editor.integration.cite))
    if table.rules is not None:
        for name, citation in table.rules.cited():
            loc_r: Loc = ("rules", name) if name == "order_cite" else ("rules", name, "cite")
            cited.append((loc_r, citation))
    for loc_c, citation in cited:  # a rule of choice quotes the source, or says why assumed
        for where, message in citation_rules(loc_c, citation, sources):
            check(where, False, message)
        if citation.source is not None and not citation.quote:
            check((*loc_c, "quote"), False, "a rule quotes the source's words (quote:)")
        if citation.assumed and not citation.reason_fr:
            check(loc_c, False, "an assumed rule needs its reason in French too (reason_fr:)")
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
