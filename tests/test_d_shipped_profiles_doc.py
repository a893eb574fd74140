"""The hand-written lists of shipped profiles in the docs hold every profile of
profiles/*.yaml, so a new profile cannot be left out of them."""

from __future__ import annotations

import re
from pathlib import Path

from conformance.profiles import Profile, load_profiles

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _shipped() -> dict[str, Profile]:
    return load_profiles(include_abstract=True)


def _table_rows() -> list[str]:
    text = (DOCS / "profiles.md").read_text(encoding="utf-8")
    start = text.index("## The shipped profiles")
    section = text[start : text.index("\n## ", start + 1)]
    return [line for line in section.splitlines() if line.startswith("| `")]


def _ids(row: str) -> list[str]:
    return re.findall(r"`([\w-]+)`", row.split("|")[1])


def test_every_shipped_profile_has_one_row_in_the_table() -> None:
    named = [i for row in _table_rows() for i in _ids(row)]
    assert sorted(named) == sorted(_shipped())


def test_the_cms_only_row_names_every_cms_only_engine() -> None:
    (row,) = [r for r in _table_rows() if "`engine.mime: suite`" in r]
    suite = {k for k, p in _shipped().items() if p.engine.mime == "suite"}
    assert set(_ids(row)) == suite


def test_reports_names_every_cms_only_engine() -> None:
    text = " ".join((DOCS / "reports.md").read_text(encoding="utf-8").split())
    start = text.index("An engine that does CMS only (`engine.mime: suite`")
    sentence = text[start : text.index(")", start)]
    for profile in _shipped().values():
        if profile.engine.mime == "suite":
            assert profile.identity.name in sentence, profile.id
